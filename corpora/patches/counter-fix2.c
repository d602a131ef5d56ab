/* counter-fix2: the second counter patch, meant to be stacked on counter-fix
 * (lifecycle sequences): bump advances both counters by 3, so a run shows
 * which version was live (counter's pv_verify accepts steps 1 to 3). A call
 * still runs wholly one version, so total_a == total_b must hold. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern pv_lock_t counter_lock;
extern long total_a;
extern long total_b;

void bump_v3(void)
{
	pv_lock(&counter_lock);
	total_a += 3;
	total_b += 3;
	pv_unlock(&counter_lock);
}

PV_REPLACE(bump, bump_v3);
