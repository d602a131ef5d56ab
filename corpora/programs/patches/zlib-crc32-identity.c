/* zlib-crc32-identity: zlib's crc32(crc, buf, len) as zlib defines it (CRC-32,
 * polynomial 0xedb88320 reflected, with pre- and post-inversion; crc32(x,
 * NULL, n) is the initial value 0), written anew: one table byte at a time
 * where zlib 1.2.13 braids words. pigz calls it once per block on each of its
 * compression threads; pigz combines the blocks' values itself, so the gzip
 * trailer of the output shows any wrong value. Same behaviour, new code: the
 * overhead scenario. */
#include <stddef.h>
#include <stdint.h>
#include <patchvet/patch.h>
#include "crc-table.h"

static const uint32_t table[256] = CRC_TABLE(uint32_t, 0xedb88320u);

unsigned long crc32_v2(unsigned long crc, const unsigned char *buf, unsigned int len)
{
	if (buf == NULL)
		return 0;
	uint32_t c = ~(uint32_t)crc;
	while (len--)
		c = table[(c ^ *buf++) & 0xff] ^ (c >> 8);
	return ~c;
}

#ifdef PV_PRELOAD
/* The native check (LD_PRELOAD, the call crossing pigz's PLT): the same code
 * under zlib's name. */
unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len)
	__attribute__((alias("crc32_v2")));
#endif

PV_REPLACE(crc32, crc32_v2);
