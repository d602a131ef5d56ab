/* lzma-crc32-identity: liblzma's lzma_crc32 with the same behaviour, in new
 * code (a byte-at-a-time table where liblzma 5.4 uses slice-by-8). With
 * `xz --check=crc32` each worker thread computes its block's check with it,
 * 16 KiB a call, inside the function's own body (276 bytes; the first 5 bytes
 * are mov %edx,%eax; push %rbp; mov %rdi,%rcx). */
#define XOR_K 0
#include "lzma-crc32.h"
