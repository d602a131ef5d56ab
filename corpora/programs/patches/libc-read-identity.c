/* libc-read-identity: glibc's read(fd, buf, count) with the same behaviour,
 * as new code: the system call made through libc's syscall(), which sets
 * errno as read does. memcached's worker threads call read on every request
 * they take from a client (and on their notification pipes), so under load
 * several threads call it all the time. glibc's read begins with a
 * RIP-relative compare (of __libc_single_threaded), which an engine that
 * relocates displaced instructions must get right. Not a cancellation point,
 * unlike glibc's: memcached cancels no thread. */
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <patchvet/patch.h>

ssize_t read_v2(int fd, void *buf, size_t count)
{
	return syscall(SYS_read, fd, buf, count);
}

#ifdef PV_PRELOAD
ssize_t read(int fd, void *buf, size_t count) __attribute__((alias("read_v2")));
#endif

PV_REPLACE(read, read_v2);
