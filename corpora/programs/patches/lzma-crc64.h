/* liblzma's lzma_crc64(buf, size, crc): CRC-64/XZ (ECMA-182 polynomial,
 * 0xc96c5795d7870f42 reflected, pre- and post-inversion, `crc` the value of
 * the bytes before), written anew one table byte at a time. A patch defines
 * XOR_K (0 for the identity) and gets lzma_crc64_v2(buf, size, crc) =
 * CRC64(buf, size, crc ^ XOR_K) ^ XOR_K, a CRC that chains like the original
 * (feeding the value of one call into the next gives the value of the whole)
 * but with another initial and final value. */
#include <stddef.h>
#include <stdint.h>
#include <patchvet/patch.h>
#include "crc-table.h"

static const uint64_t table[256] = CRC_TABLE(uint64_t, 0xc96c5795d7870f42ull);

uint64_t lzma_crc64_v2(const uint8_t *buf, size_t size, uint64_t crc)
{
	uint64_t c = ~(crc ^ (uint64_t)XOR_K);
	while (size--)
		c = table[(c ^ *buf++) & 0xff] ^ (c >> 8);
	return ~c ^ (uint64_t)XOR_K;
}

#ifdef PV_PRELOAD
/* The native check (LD_PRELOAD; liblzma calls its own lzma_crc64 through its
 * PLT): the same code under liblzma's name. */
uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc)
	__attribute__((alias("lzma_crc64_v2")));
#endif

PV_REPLACE(lzma_crc64, lzma_crc64_v2);
