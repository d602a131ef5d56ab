/* lzma-crc64-identity: liblzma's lzma_crc64 with the same behaviour, in new
 * code (a byte-at-a-time table where liblzma 5.4 uses slice-by-4 or CLMUL):
 * the overhead scenario of xz. */
#define XOR_K 0
#include "lzma-crc64.h"
