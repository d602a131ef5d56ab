/* busy: every worker spends its whole run inside serve(), a loop that
 * never returns until the worker's work is done; the patch replaces serve.
 * So serve is on some thread's stack whenever apply can run: an engine that
 * waits for no thread to be inside (stw-jmp, ksplice) or switches a thread
 * only at a safe point (klp) must give up cleanly (PV_EBUSY) rather than
 * patch, and an entry redirect (call consistency) takes effect only for
 * calls that start later, which here is none.
 *
 * Each step adds the same amount to both totals under the lock; the patch
 * keeps that meaning (it counts steps in a different order), so any verdict
 * but SAFE, or REFUSED, is an engine's fault. */
#include <patchvet/target.h>

static pv_lock_t busy_lock __attribute__((used));
static long total_a __attribute__((used));
static long total_b __attribute__((used));

static unsigned long steps[PV_MAX_WORKERS];

/* noipa: a real call per step, so a thread in serve is often in step. */
__attribute__((noipa)) void step(unsigned index)
{
	pv_lock(&busy_lock);
	total_a += 1;
	total_b += 1;
	pv_unlock(&busy_lock);
	steps[index]++;
}

/* The emulator's freestanding build yields after every step, so that each
 * of an engine's retries lets only a few steps run; natively (where the
 * ptrace backend runs 1000 times the iterations) every 16th step, or a run
 * would last seconds. */
static inline void busy_yield(unsigned long i)
{
#if __STDC_HOSTED__
	if (i % 16 != 15)
		return;
#endif
	(void)i;
	pv_yield();
}

/* The long-running function, an event loop that yields between steps:
 * returns only when the worker is done. The yields give every engine's
 * retries (each lets the threads run a few slices) less time than the
 * workload lasts. */
__attribute__((noipa)) void serve(unsigned index, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		step(index);
		busy_yield(i);
	}
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	serve(index, w->iterations);
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	unsigned long sum = 0;
	for (unsigned i = 0; i < w->workers; i++)
		sum += steps[i];
	if (sum != (unsigned long)w->workers * w->iterations) {
		SAY("busy: a worker did not do all its steps\n");
		return 1;
	}
	if (total_a != total_b || total_a < 0 || (unsigned long)total_a != sum) {
		SAY("busy: the totals do not match the steps taken\n");
		return 1;
	}
	return 0;
}
