/* signals: the function the patch replaces is also called from a signal
 * handler, so it runs on top of itself and of whatever the engine does.
 * Worker 0 sends SIGUSR1 to the other workers (tgkill) while they call
 * tick() in a loop; the handler calls tick() too. tick() advances two
 * counters by the same step with atomic adds (so a handler on top of an
 * interrupted tick keeps them equal); the patch doubles the step. A correct
 * engine keeps total_a == total_b, and the totals within [n, 2n] where n is
 * every call made, from the loops and from the handlers.
 *
 * The scenario runs on ptrace only; the emulator build links but never runs. */
#include <patchvet/target.h>

#if __STDC_HOSTED__
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

static long total_a __attribute__((used));
static long total_b __attribute__((used));
static unsigned long calls[PV_MAX_WORKERS];
static unsigned long handled;   /* handler calls, every thread */
static int tids[PV_MAX_WORKERS];
static volatile int running;    /* workers still calling tick */

/* noipa: one real function that the loops and the handler go through. */
__attribute__((noipa)) void tick(void)
{
	__atomic_add_fetch(&total_a, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total_b, 1, __ATOMIC_RELAXED);
}

#if __STDC_HOSTED__
static void on_usr1(int sig)
{
	(void)sig;
	tick();
	__atomic_add_fetch(&handled, 1, __ATOMIC_RELAXED);
}

static int install(void)
{
	struct sigaction sa;
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGUSR1, &sa, NULL);
}

static int my_tid(void)
{
	return (int)syscall(SYS_gettid);
}

static void poke(int tid)
{
	syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
}

static void pause_us(long us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};
	nanosleep(&ts, NULL);
}
#else
static int install(void) { return -1; }
static int my_tid(void) { return 0; }
static void poke(int tid) { (void)tid; }
static void pause_us(long us) { (void)us; }
#endif

static int failed_install;

void pv_worker(unsigned index, const struct pv_workload *w)
{
	if (index == 0) {
		if (install())
			failed_install = 1;
		/* Wait for the others, then signal them until they are done. */
		for (unsigned k = 1; k < w->workers; k++)
			while (!__atomic_load_n(&tids[k], __ATOMIC_ACQUIRE))
				pv_yield();
		__atomic_store_n(&running, (int)w->workers - 1, __ATOMIC_RELEASE);
		for (unsigned n = 0; __atomic_load_n(&running, __ATOMIC_ACQUIRE) > 0; n++) {
			unsigned k = 1 + n % (w->workers - 1);
			poke(__atomic_load_n(&tids[k], __ATOMIC_ACQUIRE));
			pause_us(20);
		}
		return;
	}
	__atomic_store_n(&tids[index], my_tid(), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&running, __ATOMIC_ACQUIRE))
		pv_yield();
	unsigned long n = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		tick();
		n++;
	}
	calls[index] = n;
	__atomic_sub_fetch(&running, 1, __ATOMIC_RELEASE);
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	if (w->workers < 2 || failed_install) {
		SAY("signals: needs 2 workers or more, and a SIGUSR1 handler\n");
		return 1;
	}
	unsigned long n = handled;
	for (unsigned i = 1; i < w->workers; i++) {
		if (calls[i] != w->iterations) {
			SAY("signals: a worker did not finish its calls\n");
			return 1;
		}
		n += calls[i];
	}
	if (total_a != total_b) {
		SAY("signals: total_a != total_b (a call mixed old and new code)\n");
		return 1;
	}
	if (total_a < 0 || (unsigned long)total_a < n || (unsigned long)total_a > 2 * n) {
		SAY("signals: total outside [calls, 2*calls] (a call was lost or doubled)\n");
		return 1;
	}
	return 0;
}
