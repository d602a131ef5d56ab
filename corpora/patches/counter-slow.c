/* counter-slow: bump that takes and releases the lock twice per call, with
 * the same result: a patch that clearly costs more CPU, for the native
 * bench's own test (tests/test_bench.c: REFUTED on counter). */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern pv_lock_t counter_lock;
extern long total_a;
extern long total_b;

void bump_v2(void)
{
	pv_lock(&counter_lock);
	total_a += 1;
	pv_unlock(&counter_lock);
	pv_lock(&counter_lock);
	total_b += 1;
	pv_unlock(&counter_lock);
}

PV_REPLACE(bump, bump_v2);
