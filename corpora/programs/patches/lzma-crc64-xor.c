/* lzma-crc64-xor: a change of behaviour that shows, block by block, in the
 * output. lzma_crc64 becomes CRC64(buf, size, crc ^ K) ^ K: xz's worker
 * threads feed each block to it 16 KiB at a time, chaining the values, so a
 * block whose calls all ran the new code stores CRC64 with another initial
 * and final value, one whose calls all ran the old code the standard CRC64,
 * and one whose calls were cut by apply or revert a value the oracle
 * (oracles/xz-blocks.c) recognises as old calls then new calls (or new then
 * old, or old-new-old) with the switches at byte offsets it finds. Anything
 * else is a block no sequence of whole calls produces. */
#define XOR_K 0x5a17c0de5a17c0deull
#include "lzma-crc64.h"
