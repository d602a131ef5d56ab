/* nested: outer() calls inner(), and the patch replaces both, changing the
 * contract between them: the old inner returns 1 and the old outer adds 1 to
 * total_b; the new ones return and add 2. A thread that runs the old outer
 * and the new inner in one call (or the reverse) adds different amounts to
 * the two totals, which pv_verify rejects.
 *
 * Engines that switch a whole function at a time (consistency `call`) can do
 * exactly that to a thread inside outer when inner changes; `thread` and
 * `global` engines must not: a thread with the old outer on its stack keeps
 * the old inner until it leaves. */
#include <patchvet/target.h>

static pv_lock_t nested_lock __attribute__((used));
static long total_a __attribute__((used));
static long total_b __attribute__((used));

static unsigned long calls[PV_MAX_WORKERS];

/* noipa: both stay real functions, so every call goes through each. */
__attribute__((noipa)) long inner(void)
{
	return 1;
}

__attribute__((noipa)) void outer(void)
{
	pv_lock(&nested_lock);
	long step = inner();
	total_a += step;
	total_b += 1;
	pv_unlock(&nested_lock);
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	unsigned long n = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		outer();
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
		SAY("nested: a worker did not finish its calls\n");
		return 1;
	}
	if (total_a != total_b) {
		SAY("nested: total_a != total_b (an old outer met a new inner, or the reverse)\n");
		return 1;
	}
	return 0;
}
