/* zlib-crc32z-identity: zlib's crc32_z(crc, buf, len) as zlib defines it
 * (CRC-32, polynomial 0xedb88320 reflected, with pre- and post-inversion;
 * crc32_z(x, NULL, n) is the initial value 0), written anew: one table byte at
 * a time where zlib 1.2.13 braids words. pigz calls crc32 once per block on
 * each of its compression threads, and zlib's crc32 is a wrapper that jumps to
 * crc32_z through libz's PLT, where a thread then spends the block's
 * computation: threads are inside crc32_z, not in the 7-byte wrapper. pigz
 * combines the blocks' values itself, so the gzip trailer of the output shows
 * any wrong value. Same behaviour, new code: the overhead scenario.
 * crc32_z begins with test %rsi,%rsi; je (rel32): a 5-byte jmp covers the test
 * and the start of the je, which an engine relocating displaced instructions
 * must rewrite. */
#include <stddef.h>
#include <stdint.h>
#include <patchvet/patch.h>
#include "crc-table.h"

static const uint32_t table[256] = CRC_TABLE(uint32_t, 0xedb88320u);

unsigned long crc32_z_v2(unsigned long crc, const unsigned char *buf, size_t len)
{
	if (buf == NULL)
		return 0;
	uint32_t c = ~(uint32_t)crc;
	while (len--)
		c = table[(c ^ *buf++) & 0xff] ^ (c >> 8);
	return ~c;
}

#ifdef PV_PRELOAD
/* The native check (LD_PRELOAD; zlib's crc32 reaches crc32_z through libz's
 * PLT): the same code under zlib's name. */
unsigned long crc32_z(unsigned long crc, const unsigned char *buf, size_t len)
	__attribute__((alias("crc32_z_v2")));
#endif

PV_REPLACE(crc32_z, crc32_z_v2);
