/* busy-wrong: a wrong step (only total_a advances), so that a test can show
 * busy's pv_verify rejecting results; no scenario uses it. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern pv_lock_t busy_lock;
extern long total_a;

void step_wrong(unsigned index)
{
	(void)index;
	pv_lock(&busy_lock);
	total_a += 1;
	pv_unlock(&busy_lock);
}

PV_REPLACE(step, step_wrong);
