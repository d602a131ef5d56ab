/* duo-cumul: the cumulative patch that replaces duo-fix and duo-fix2 at once
 * (the replace step); bump advances by 3, tick is not replaced, so it runs
 * the original again. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern pv_lock_t duo_lock;
extern long bumps_a;
extern long bumps_b;

void bump_v3(void)
{
	pv_lock(&duo_lock);
	bumps_a += 3;
	bumps_b += 3;
	pv_unlock(&duo_lock);
}

PV_REPLACE(bump, bump_v3);
