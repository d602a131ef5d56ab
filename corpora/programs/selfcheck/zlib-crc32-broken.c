/* Preloaded by selfcheck.sh into pigz: zlib's crc32, except that call
 * number PV_BREAK_AT (default 100) with data returns a value off by one bit.
 * The oracle must reject the output. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_long calls;

unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len)
{
	unsigned long (*real)(unsigned long, const unsigned char *, unsigned int) =
		(unsigned long (*)(unsigned long, const unsigned char *, unsigned int))dlsym(RTLD_NEXT, "crc32");
	unsigned long v = real(crc, buf, len);
	const char *at = getenv("PV_BREAK_AT");
	if (buf && atomic_fetch_add(&calls, 1) == (at ? atol(at) : 100))
		v ^= 1;
	return v;
}
