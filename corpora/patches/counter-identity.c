/* counter-identity: bump with the same meaning, written differently (the
 * counters advance in the other order, through a helper), so a correct engine
 * must leave every result unchanged. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

/* The target's static data, resolved by local symbol name. */
extern pv_lock_t counter_lock;
extern long total_a;
extern long total_b;

/* noipa: keeps a call inside the patch, which the relocated image must
 * get right too. */
__attribute__((noipa)) static void advance(long step)
{
	total_b += step;
	total_a += step;
}

void bump_v2(void)
{
	pv_lock(&counter_lock);
	advance(1);
	pv_unlock(&counter_lock);
}

PV_REPLACE(bump, bump_v2);
