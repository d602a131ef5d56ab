/* The native runtime of patchvet corpus targets (include/patchvet/target.h):
 * supplies main, runs pv_worker on real pthreads, then pv_verify.
 *
 *     TARGET [WORKERS [ITERATIONS [PARAM]]]    defaults: 2 1000 0
 *
 * Exit status: 0 accepted, 1 rejected by pv_verify, 2 bad command line,
 * 3 the runtime itself failed (a thread could not be started).
 *
 * Bench mode (`patchvet bench`, harness/ptrace/bench.c): with PV_BENCH_GATE
 * (a FIFO) and PV_BENCH_REPORT (a file) in the environment, the workers
 * start only once a byte arrives on the gate, so the harness can patch the
 * process first; each worker's CPU and wall time are measured around
 * pv_worker, and after the last one the report file receives them with the
 * process's Rss and Pss (/proc/self/smaps_rollup):
 *     ops N
 *     worker I CPU_NS WALL_NS
 *     rss_kb N
 *     pss_kb N
 * With PV_BENCH_LATENCY=1 too, pv_op_done records each operation's latency
 * (the time since the worker's previous operation) in a log-linear
 * histogram, one for steady state and one for the patch window (while
 * patchvet sets pv__bench_window through /proc/PID/mem), appended as
 *     lat WINDOW BUCKET COUNT      (WINDOW 0 or 1, non-empty buckets)
 * where bucket b holds latencies in [pv_bench_bucket_lo(b), lo(b + 1)) ns. */
#include <patchvet/target.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ lock */

/* Drepper, "Futexes Are Tricky", mutex 3: 0 free, 1 locked, 2 locked with
 * (possible) waiters, so an uncontended unlock makes no system call. */
static int *lock_word(pv_lock_t *lock)
{
	return (int *)&lock->state;
}

static int cmpxchg(int *word, int expected, int desired)
{
	__atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_ACQUIRE,
	                            __ATOMIC_RELAXED);
	return expected;
}

static void futex_wait(int *word, int val)
{
	/* EAGAIN (the word changed) and EINTR both just mean "look again". */
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_one(int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void pv_lock(pv_lock_t *lock)
{
	int *w = lock_word(lock);
	int c = cmpxchg(w, 0, 1);
	if (c == 0)
		return;
	if (c != 2)
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		futex_wait(w, 2);
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	}
}

void pv_unlock(pv_lock_t *lock)
{
	int *w = lock_word(lock);
	if (__atomic_fetch_sub(w, 1, __ATOMIC_RELEASE) != 1) {
		__atomic_store_n(w, 0, __ATOMIC_RELEASE);
		futex_wake_one(w);
	}
}

/* ------------------------------------------------------------ the rest */

void pv_yield(void)
{
	sched_yield();
}

void *pv_alloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void pv_free(void *ptr)
{
	free(ptr);
}

long pv_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (long)done;
}

/* ----------------------------------------------------- bench latencies */

/* 8 sub-buckets per power of two: 12.5% resolution, 64-bit range. */
#define LAT_SUB 8
#define LAT_BUCKETS (64 * LAT_SUB)

/* Set to 1 by `patchvet bench` (a write to /proc/PID/mem) around apply and
 * revert; read by the workers. */
volatile int pv__bench_window __attribute__((used));
/* Set by the first pv_op_done in bench latency mode, so patchvet can tell a
 * target that never calls it without waiting for the end. */
volatile int pv__bench_lat_used __attribute__((used));

struct lat {
	long long last;                        /* previous pv_op_done, ns */
	unsigned counts[2][LAT_BUCKETS];
};

/* Allocated in bench latency mode only; one per worker. */
static struct lat *lat_books;

static unsigned lat_bucket(unsigned long long ns)
{
	if (ns < LAT_SUB)
		return (unsigned)ns;
	unsigned e = 63u - (unsigned)__builtin_clzll(ns);  /* >= 3 */
	unsigned sub = (unsigned)(ns >> (e - 3)) & (LAT_SUB - 1);
	return (e - 2) * LAT_SUB + sub;
}

void pv_op_done(unsigned index)
{
	if (!lat_books || index >= PV_MAX_WORKERS)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = ts.tv_sec * 1000000000ll + ts.tv_nsec;
	struct lat *l = &lat_books[index];
	if (l->last)
		l->counts[pv__bench_window ? 1 : 0][lat_bucket((unsigned long long)(now - l->last))]++;
	else
		pv__bench_lat_used = 1;
	l->last = now;
}

/* ------------------------------------------------------------------ main */

struct worker_arg {
	unsigned index;
	const struct pv_workload *w;
	pthread_barrier_t *start;
	long long cpu_ns, wall_ns; /* bench mode: around pv_worker */
};

static long long now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void *worker_main(void *p)
{
	struct worker_arg *a = p;
	/* Start every worker together, so they overlap as much as possible. */
	pthread_barrier_wait(a->start);
	long long c0 = now_ns(CLOCK_THREAD_CPUTIME_ID), w0 = now_ns(CLOCK_MONOTONIC);
	pv_worker(a->index, a->w);
	a->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	a->wall_ns = now_ns(CLOCK_MONOTONIC) - w0;
	return NULL;
}

/* Bench mode: wait for the harness's byte on the gate FIFO. */
static int bench_gate(const char *gate)
{
	int fd = open(gate, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char c;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	return n == 1 ? 0 : -1;
}

static void bench_report(const char *path, const struct pv_workload *w,
                         const struct worker_arg *args)
{
	FILE *out = fopen(path, "we");
	if (!out)
		return;
	fprintf(out, "ops %lu\n", (unsigned long)w->workers * w->iterations);
	for (unsigned i = 0; i < w->workers; i++)
		fprintf(out, "worker %u %lld %lld\n", i, args[i].cpu_ns, args[i].wall_ns);
	FILE *in = fopen("/proc/self/smaps_rollup", "re");
	char line[256];
	long kb;
	while (in && fgets(line, sizeof(line), in)) {
		if (sscanf(line, "Rss: %ld kB", &kb) == 1)
			fprintf(out, "rss_kb %ld\n", kb);
		else if (sscanf(line, "Pss: %ld kB", &kb) == 1)
			fprintf(out, "pss_kb %ld\n", kb);
	}
	if (in)
		fclose(in);
	for (unsigned i = 0; lat_books && i < w->workers; i++)
		for (unsigned win = 0; win < 2; win++)
			for (unsigned b = 0; b < LAT_BUCKETS; b++)
				if (lat_books[i].counts[win][b])
					fprintf(out, "lat %u %u %u\n", win, b, lat_books[i].counts[win][b]);
	fclose(out);
}

/* Decimal only, whole string, no sign: strtoul alone accepts " -1". */
static int parse_ulong(const char *s, unsigned long *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_long(const char *s, long *out)
{
	const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
	if (*digits < '0' || *digits > '9')
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int usage(const char *prog, const char *why, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'; usage: %s [WORKERS(1-%d) [ITERATIONS [PARAM]]]\n", prog,
	        why, arg, prog, PV_MAX_WORKERS);
	return 2;
}

int main(int argc, char **argv)
{
	const char *prog = argc > 0 ? argv[0] : "target";
	struct pv_workload w = {.workers = 2, .iterations = 1000, .param = 0};
	unsigned long ul;

	if (argc > 4)
		return usage(prog, "too many arguments, starting at", argv[4]);
	if (argc > 1) {
		if (parse_ulong(argv[1], &ul) || ul < 1 || ul > PV_MAX_WORKERS)
			return usage(prog, "bad number of workers", argv[1]);
		w.workers = (unsigned)ul;
	}
	if (argc > 2) {
		if (parse_ulong(argv[2], &ul))
			return usage(prog, "bad number of iterations", argv[2]);
		w.iterations = ul;
	}
	if (argc > 3 && parse_long(argv[3], &w.param))
		return usage(prog, "bad parameter", argv[3]);

	pthread_t threads[PV_MAX_WORKERS];
	struct worker_arg args[PV_MAX_WORKERS];
	pthread_barrier_t start;
	const char *gate = getenv("PV_BENCH_GATE"), *report = getenv("PV_BENCH_REPORT");
	const char *latency = getenv("PV_BENCH_LATENCY");
	if (report && latency && !strcmp(latency, "1"))
		lat_books = calloc(w.workers, sizeof(*lat_books));
	/* In bench mode main passes the barrier too, after the gate. */
	int e = pthread_barrier_init(&start, NULL, w.workers + (gate != NULL));
	if (e) {
		fprintf(stderr, "%s: cannot create the start barrier: %s\n", prog, strerror(e));
		return 3;
	}
	for (unsigned i = 0; i < w.workers; i++) {
		args[i] = (struct worker_arg){.index = i, .w = &w, .start = &start};
		e = pthread_create(&threads[i], NULL, worker_main, &args[i]);
		if (e) {
			/* The started workers wait at the barrier forever; exit
			 * ends them with the process. */
			fprintf(stderr, "%s: cannot start worker %u of %u: %s\n", prog, i + 1,
			        w.workers, strerror(e));
			exit(3);
		}
	}
	if (gate) {
		if (bench_gate(gate)) {
			fprintf(stderr, "%s: cannot read the bench gate %s: %s\n", prog, gate,
			        strerror(errno));
			exit(3);
		}
		pthread_barrier_wait(&start);
	}
	for (unsigned i = 0; i < w.workers; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&start);
	if (report)
		bench_report(report, &w, args);

	if (pv_verify(&w) != 0) {
		fprintf(stderr, "%s: the target's self-check rejected the results "
		                "(%u workers, %lu iterations, param %ld)\n",
		        prog, w.workers, w.iterations, w.param);
		return 1;
	}
	return 0;
}
