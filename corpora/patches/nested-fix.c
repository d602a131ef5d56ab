/* nested-fix: inner now returns 2 and outer adds 2 to total_b, a change of
 * contract between the two: each is correct only with the other. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern pv_lock_t nested_lock;
extern long total_a;
extern long total_b;

__attribute__((noipa)) long inner_v2(void)
{
	return 2;
}

void outer_v2(void)
{
	pv_lock(&nested_lock);
	long step = inner_v2();
	total_a += step;
	total_b += 2;
	pv_unlock(&nested_lock);
}

PV_REPLACE(inner, inner_v2);
PV_REPLACE(outer, outer_v2);
