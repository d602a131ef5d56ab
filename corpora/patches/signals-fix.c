/* signals-fix: tick now advances both counters by 2. A call runs wholly old
 * (+1, +1) or wholly new (+2, +2) code, from a loop or from the signal
 * handler on top of it, so total_a == total_b still holds. */
#include <patchvet/patch.h>

extern long total_a;
extern long total_b;

void tick_v2(void)
{
	__atomic_add_fetch(&total_a, 2, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total_b, 2, __ATOMIC_RELAXED);
}

PV_REPLACE(tick, tick_v2);
