/* recursion: depth(d) calls itself d times and returns one per level; the
 * patch's depth returns two per level (and calls itself). So one call
 * chain must run wholly old or wholly new code: depth(param) is param or
 * 2 * param, anything between means old and new levels met in one chain,
 * which pv_verify rejects. An entry redirect (call consistency) does that
 * to a thread that is in the middle of a chain when the entry changes; an
 * engine with global or thread consistency waits until no thread has depth
 * on its stack. */
#include <patchvet/target.h>

static pv_lock_t rec_lock __attribute__((used));
static long total __attribute__((used));

static unsigned long calls[PV_MAX_WORKERS];
static unsigned long mixed[PV_MAX_WORKERS];

/* noipa and the volatile read after the call: a real recursive call per
 * level (gcc would turn `1 + depth(d - 1)` into a loop). */
__attribute__((noipa)) long depth(long d)
{
	volatile long one = 1;
	if (d <= 0)
		return 0;
	long r = depth(d - 1);
	return r + one;
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	long d = w->param > 0 ? w->param : 4;
	for (unsigned long i = 0; i < w->iterations; i++) {
		long r = depth(d);
		if (r != d && r != 2 * d)
			mixed[index]++;
		pv_lock(&rec_lock);
		total += r;
		pv_unlock(&rec_lock);
		calls[index]++;
	}
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	long d = w->param > 0 ? w->param : 4;
	unsigned long sum = 0, bad = 0;
	for (unsigned i = 0; i < w->workers; i++) {
		sum += calls[i];
		bad += mixed[i];
	}
	if (sum != (unsigned long)w->workers * w->iterations) {
		SAY("recursion: a worker did not finish its calls\n");
		return 1;
	}
	if (bad) {
		SAY("recursion: a call chain mixed old and new levels\n");
		return 1;
	}
	if (total < (long)sum * d || total > 2 * (long)sum * d) {
		SAY("recursion: total outside [calls*d, 2*calls*d]\n");
		return 1;
	}
	return 0;
}
