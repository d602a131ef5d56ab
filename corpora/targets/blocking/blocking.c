/* blocking: workers that spend their time blocked in the kernel inside the
 * function the patch replaces, so an engine meets threads stopped in the
 * middle of a system call. Worker 0 produces one item per iteration (about
 * every 50 us); every other worker consumes them, blocking in wait_item() by
 * the kind its index gives:
 *     index % 3 == 1   read() of an 8-byte item from its own pipe
 *     index % 3 == 2   futex wait on its own sequence word
 *     index % 3 == 0   nanosleep()
 * and then rests a little outside wait_item (so an engine that waits for the
 * threads to leave it gets its chance). Verification fails on any EINTR, any
 * short read or out-of-order item, and on a consumer that saw too few items:
 * a blocked system call must be restarted, never interrupted, by the engine.
 *
 * The scenario runs on ptrace only; the emulator build (freestanding, no
 * libc) links stubs that are never run. */
#include <patchvet/target.h>

#if __STDC_HOSTED__
#include <errno.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

enum { KIND_SLEEP = 0, KIND_PIPE = 1, KIND_FUTEX = 2 };

#define REST_NS 40000L   /* consumers rest this long outside wait_item */
#define PERIOD_NS 50000L /* between the producer's items */
#define SLEEP_NS 30000L  /* a sleeper's sleep inside wait_item */

/* Per worker; static so a patch reaches them by their local names. */
static int pipes[PV_MAX_WORKERS][2] __attribute__((used));
static volatile unsigned long seq[PV_MAX_WORKERS] __attribute__((used));
static unsigned long got[PV_MAX_WORKERS] __attribute__((used));
static unsigned long errors[PV_MAX_WORKERS] __attribute__((used));
static unsigned long last_error[PV_MAX_WORKERS] __attribute__((used));
static volatile int ready;

/* --------------------------------------------- the system, as the target sees it */

#if __STDC_HOSTED__
/* noipa: real functions in the target, which a patch can call too. They
 * return -errno on failure, like the kernel. */
__attribute__((noipa)) long blk_read(int fd, void *buf, unsigned long len)
{
	long n = read(fd, buf, len);
	return n < 0 ? -errno : n;
}

__attribute__((noipa)) long blk_write(int fd, const void *buf, unsigned long len)
{
	long n = write(fd, buf, len);
	return n < 0 ? -errno : n;
}

__attribute__((noipa)) long blk_futex_wait(volatile unsigned long *word, unsigned long val)
{
	/* The low 32 bits are the futex (little endian). */
	long r = syscall(SYS_futex, (int *)word, FUTEX_WAIT_PRIVATE, (int)val, NULL, NULL, 0);
	return r < 0 ? -errno : r;
}

static void futex_wake(volatile unsigned long *word)
{
	syscall(SYS_futex, (int *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

__attribute__((noipa)) long blk_sleep(long ns)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};
	return nanosleep(&ts, NULL) ? -errno : 0;
}

static int make_pipe(int fds[2])
{
	return pipe(fds);
}

static void quiet_timers(void)
{
	/* Sleeps of tens of microseconds, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
}
#else
long blk_read(int fd, void *buf, unsigned long len) { (void)fd, (void)buf, (void)len; return -1; }
long blk_write(int fd, const void *buf, unsigned long len) { (void)fd, (void)buf, (void)len; return -1; }
long blk_futex_wait(volatile unsigned long *w, unsigned long v) { (void)w, (void)v; return -1; }
long blk_sleep(long ns) { (void)ns; return -1; }
static void futex_wake(volatile unsigned long *word) { (void)word; }
static int make_pipe(int fds[2]) { fds[0] = fds[1] = -1; return -1; }
static void quiet_timers(void) {}
#endif

#define EINTR_CODE 4

static void failed(unsigned index, long code)
{
	errors[index]++;
	last_error[index] = (unsigned long)code;
}

/* ------------------------------------------------------------ the patched path */

/* Blocks until item i is there for worker `index`; 0, or a negative code
 * when the kernel said something a correct run never sees. */
__attribute__((noipa)) long wait_item(unsigned index, unsigned long i)
{
	switch (index % 3) {
	case KIND_PIPE: {
		unsigned long v = 0;
		long n = blk_read(pipes[index][0], &v, sizeof(v));
		if (n != (long)sizeof(v))
			return n < 0 ? n : -1000 - n; /* EINTR, or a short read */
		return v == i ? 0 : -2000;        /* an item lost or out of order */
	}
	case KIND_FUTEX:
		while (seq[index] < i) {
			long r = blk_futex_wait(&seq[index], seq[index]);
			if (r == -EINTR_CODE)
				return r;
		}
		return 0;
	default:
		return blk_sleep(SLEEP_NS);
	}
}

/* ------------------------------------------------------------ workers */

static void produce(const struct pv_workload *w)
{
	for (unsigned c = 1; c < w->workers; c++)
		if (c % 3 == KIND_PIPE && make_pipe(pipes[c]))
			failed(0, -1);
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	for (unsigned long i = 1; i <= w->iterations; i++) {
		for (unsigned c = 1; c < w->workers; c++) {
			if (c % 3 == KIND_PIPE) {
				long n = blk_write(pipes[c][1], &i, sizeof(i));
				if (n != (long)sizeof(i))
					failed(0, n);
			} else if (c % 3 == KIND_FUTEX) {
				__atomic_store_n(&seq[c], i, __ATOMIC_RELEASE);
				futex_wake(&seq[c]);
			}
		}
		long r = blk_sleep(PERIOD_NS);
		if (r)
			failed(0, r);
	}
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	quiet_timers();
	if (index == 0) {
		produce(w);
		return;
	}
	while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		pv_yield();
	/* Every consumer takes every item (a sleeper: sleeps once per item). */
	for (unsigned long i = 1; i <= w->iterations; i++) {
		long r = wait_item(index, i);
		if (r)
			failed(index, r);
		else
			got[index]++;
		r = blk_sleep(REST_NS);
		if (r)
			failed(index, r);
	}
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	if (w->workers < 2) {
		SAY("blocking: needs a producer and at least one consumer (2 workers or more)\n");
		return 1;
	}
	int bad = 0;
	for (unsigned i = 0; i < w->workers; i++) {
		if (!errors[i])
			continue;
		if (last_error[i] == (unsigned long)-EINTR_CODE)
			SAY("blocking: a blocked system call returned EINTR\n");
		else
			SAY("blocking: a short read, a lost item or a failed system call\n");
		bad = 1;
	}
	for (unsigned i = 1; i < w->workers && !bad; i++)
		if (i % 3 == KIND_PIPE && got[i] != w->iterations) {
			SAY("blocking: a pipe consumer did not get every item\n");
			bad = 1;
		}
	return bad;
}
