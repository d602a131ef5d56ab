/* duo-fix: the first duo patch; bump and tick advance their counters by 2. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern pv_lock_t duo_lock;
extern long bumps_a;
extern long bumps_b;
extern long ticks_a;
extern long ticks_b;

void bump_v2(void)
{
	pv_lock(&duo_lock);
	bumps_a += 2;
	bumps_b += 2;
	pv_unlock(&duo_lock);
}

void tick_v2(void)
{
	pv_lock(&duo_lock);
	ticks_a += 2;
	ticks_b += 2;
	pv_unlock(&duo_lock);
}

PV_REPLACE(bump, bump_v2);
PV_REPLACE(tick, tick_v2);
