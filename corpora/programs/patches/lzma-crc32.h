/* liblzma's lzma_crc32(buf, size, crc): CRC-32 (the IEEE polynomial,
 * 0xedb88320 reflected, pre- and post-inversion, `crc` the value of
 * the bytes before), written anew one table byte at a time. A patch defines
 * XOR_K (0 for the identity) and gets lzma_crc32_v2(buf, size, crc) =
 * CRC32(buf, size, crc ^ XOR_K) ^ XOR_K, a CRC that chains like the original
 * (feeding the value of one call into the next gives the value of the whole)
 * but with another initial and final value. */
#include <stddef.h>
#include <stdint.h>
#include <patchvet/patch.h>
#include "crc-table.h"

static const uint32_t table[256] = CRC_TABLE(uint32_t, 0xedb88320u);

uint32_t lzma_crc32_v2(const uint8_t *buf, size_t size, uint32_t crc)
{
	uint32_t c = ~(crc ^ (uint32_t)XOR_K);
	while (size--)
		c = table[(c ^ *buf++) & 0xff] ^ (c >> 8);
	return ~c ^ (uint32_t)XOR_K;
}

#ifdef PV_PRELOAD
/* The native check (LD_PRELOAD; liblzma calls its own lzma_crc32 through its
 * PLT): the same code under liblzma's name. */
uint32_t lzma_crc32(const uint8_t *buf, size_t size, uint32_t crc)
	__attribute__((alias("lzma_crc32_v2")));
#endif

PV_REPLACE(lzma_crc32, lzma_crc32_v2);
