/* duo: every worker calls bump() then tick() `iterations` times; each
 * advances its own two counters by the same step under one lock. Two
 * replaceable functions, so a sequence can have an older patch replace one
 * that a later cumulative patch does not (the replace step: that one must
 * run the original again). Steps 1 (original) to 3 are accepted. */
#include <patchvet/target.h>

static pv_lock_t duo_lock __attribute__((used));
static long bumps_a __attribute__((used));
static long bumps_b __attribute__((used));
static long ticks_a __attribute__((used));
static long ticks_b __attribute__((used));

static unsigned long calls[PV_MAX_WORKERS];

__attribute__((noipa)) void bump(void)
{
	pv_lock(&duo_lock);
	bumps_a += 1;
	bumps_b += 1;
	pv_unlock(&duo_lock);
}

__attribute__((noipa)) void tick(void)
{
	pv_lock(&duo_lock);
	ticks_a += 1;
	ticks_b += 1;
	pv_unlock(&duo_lock);
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	unsigned long n = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		bump();
		tick();
		n++;
	}
	calls[index] = n;
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	unsigned long sum = 0;
	for (unsigned i = 0; i < w->workers; i++)
		sum += calls[i];
	if (sum != (unsigned long)w->workers * w->iterations) {
		SAY("duo: a worker did not finish its calls\n");
		return 1;
	}
	if (bumps_a != bumps_b || ticks_a != ticks_b) {
		SAY("duo: the two counters of a function differ (a call mixed old and new code)\n");
		return 1;
	}
	if (bumps_a < 0 || (unsigned long)bumps_a < sum || (unsigned long)bumps_a > 3 * sum ||
	    ticks_a < 0 || (unsigned long)ticks_a < sum || (unsigned long)ticks_a > 3 * sum) {
		SAY("duo: a total outside [calls, 3*calls] (a call was lost or doubled)\n");
		return 1;
	}
	return 0;
}
