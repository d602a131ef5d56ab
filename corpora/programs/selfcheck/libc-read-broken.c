/* Preloaded by selfcheck.sh into memcached: glibc's read, except that from
 * call PV_BREAK_AT (default 2000) on, the first read of at least 1000 bytes
 * (a set's value, in memaslap's load) comes back with one byte flipped. The
 * oracle must reject the run. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long calls;
static atomic_int done;

ssize_t read(int fd, void *buf, size_t count)
{
	ssize_t (*real)(int, void *, size_t) = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	ssize_t n = real(fd, buf, count);
	const char *at = getenv("PV_BREAK_AT");
	if (atomic_fetch_add(&calls, 1) >= (at ? atol(at) : 2000) && n >= 1000 &&
	    !atomic_exchange(&done, 1))
		((char *)buf)[n / 2] ^= 0x20;
	return n;
}
