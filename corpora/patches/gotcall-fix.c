/* gotcall-fix: bump advances both totals by 2. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern pv_lock_t got_lock;
extern long total_a;
extern long total_b;

void bump_v2(void)
{
	pv_lock(&got_lock);
	total_a += 2;
	total_b += 2;
	pv_unlock(&got_lock);
}

PV_REPLACE(bump, bump_v2);
