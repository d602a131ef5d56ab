/* counter: every worker calls bump() `iterations` times; bump advances two
 * counters by the same step under one lock. The patches change the step
 * (counter-fix) or only the code (counter-identity), so a call that mixes the
 * old and the new meaning shows up as total_a != total_b, and a run where
 * calls were lost or doubled falls outside [calls, 3 * calls] (3: the step of
 * counter-fix2, stacked on counter-fix in sequences). */
#include <patchvet/target.h>

/* Static, as kernel data usually is: patches reach them by their local
 * symbol names (as kpatch does). `used` keeps each one a real symbol. */
static pv_lock_t counter_lock __attribute__((used));
static long total_a __attribute__((used));
static long total_b __attribute__((used));

/* Calls each worker made; one slot per worker, so no lock is needed. */
static unsigned long calls[PV_MAX_WORKERS];

/* Extra attributes of bump: corpora/targets/hotpatch gives it a
 * hot-patchable prologue and includes this file. */
#ifndef PV_BUMP_ATTRS
#define PV_BUMP_ATTRS
#endif

/* noipa: bump stays one real function that every call goes through, so an
 * engine that redirects it redirects every call. */
__attribute__((noipa)) PV_BUMP_ATTRS void bump(void)
{
	pv_lock(&counter_lock);
	total_a += 1;
	total_b += 1;
	pv_unlock(&counter_lock);
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	unsigned long n = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		bump();
		n++;
	}
	calls[index] = n;
}

/* For string literals only; no libc, so the emulator build needs none. */
#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	unsigned long sum = 0;
	for (unsigned i = 0; i < w->workers; i++)
		sum += calls[i];
	if (sum != (unsigned long)w->workers * w->iterations) {
		SAY("counter: a worker did not finish its calls\n");
		return 1;
	}
	if (total_a != total_b) {
		SAY("counter: total_a != total_b (a call mixed old and new code)\n");
		return 1;
	}
	/* Each call adds 1 (original), 2 (counter-fix) or 3 (counter-fix2,
	 * stacked on it in sequences). */
	if (total_a < 0 || (unsigned long)total_a < sum || (unsigned long)total_a > 3 * sum) {
		SAY("counter: total outside [calls, 3*calls] (a call was lost or doubled)\n");
		return 1;
	}
	return 0;
}
