/* counter-fix: bump now advances both counters by 2. A call runs wholly old
 * (+1, +1) or wholly new (+2, +2) code, so total_a == total_b must still
 * hold and the totals land between calls and 2 * calls. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

/* The target's static data, resolved by local symbol name. */
extern pv_lock_t counter_lock;
extern long total_a;
extern long total_b;

void bump_v2(void)
{
	pv_lock(&counter_lock);
	total_a += 2;
	total_b += 2;
	pv_unlock(&counter_lock);
}

PV_REPLACE(bump, bump_v2);
