/* fpu-fix: step with the same meaning, written differently (an explicit
 * table instead of i & 7), so a correct engine leaves every result, and
 * every register, unchanged. */
#include <patchvet/patch.h>

static const double addend[8] = {0, 1, 2, 3, 4, 5, 6, 7};

double step_v2(double acc, unsigned long i)
{
	return acc + addend[i % 8];
}

PV_REPLACE(step, step_v2);
