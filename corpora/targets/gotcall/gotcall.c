/* gotcall: counter's bump, reached through the GOT. Built (plain flavour)
 * with -fPIC -fno-plt and linked with --no-relax (Makefile), so a call to
 * the global, interposable bump is `call *bump@GOTPCREL(%rip)`: rewriting
 * that one GOT slot redirects it. With param 1, every other call goes to
 * bump_direct instead, a hidden alias of bump (as glibc calls its own
 * functions internally): a direct call that no GOT slot covers, so a
 * GOT-only redirect leaves it on the old code (check `ineffective`).
 *
 * bump advances both totals by one under the lock (the patch: by two). */
#include <patchvet/target.h>

static pv_lock_t got_lock __attribute__((used));
static long total_a __attribute__((used));
static long total_b __attribute__((used));

static unsigned long calls[PV_MAX_WORKERS];

__attribute__((noipa)) void bump(void)
{
	pv_lock(&got_lock);
	total_a += 1;
	total_b += 1;
	pv_unlock(&got_lock);
}

extern void bump_direct(void) __attribute__((alias("bump"), visibility("hidden")));

void pv_worker(unsigned index, const struct pv_workload *w)
{
	for (unsigned long i = 0; i < w->iterations; i++) {
		if (w->param && i % 2)
			bump_direct();
		else
			bump();
		calls[index]++;
	}
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	unsigned long sum = 0;
	for (unsigned i = 0; i < w->workers; i++)
		sum += calls[i];
	if (sum != (unsigned long)w->workers * w->iterations) {
		SAY("gotcall: a worker did not finish its calls\n");
		return 1;
	}
	if (total_a != total_b) {
		SAY("gotcall: total_a != total_b (a call mixed old and new code)\n");
		return 1;
	}
	if (total_a < 0 || (unsigned long)total_a < sum || (unsigned long)total_a > 2 * sum) {
		SAY("gotcall: total outside [calls, 2*calls]\n");
		return 1;
	}
	return 0;
}
