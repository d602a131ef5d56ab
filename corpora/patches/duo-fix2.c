/* duo-fix2: the second duo patch, stacked on duo-fix; bump advances by 3 (tick keeps
 * duo-fix's). */
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
