/* counter-call: bump as the target has it, plus one call of an empty
 * function per operation: the smallest cost a patch can add. `patchvet
 * bench` must find it (tests/test_bench.c): a REFUTED "under 2%" on counter. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern pv_lock_t counter_lock;
extern long total_a;
extern long total_b;

/* noipa: the call stays a call. */
__attribute__((noipa)) static void nothing(void)
{
	__asm__ volatile("");
}

void bump_v2(void)
{
	nothing();
	pv_lock(&counter_lock);
	total_a += 1;
	total_b += 1;
	pv_unlock(&counter_lock);
}

PV_REPLACE(bump, bump_v2);
