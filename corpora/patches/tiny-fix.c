/* tiny-fix: tiny_zero with the same result, written differently; the hazard
 * is the old function's size (3 bytes in the plain flavour). */
#include <patchvet/patch.h>

int tiny_zero_v2(void)
{
	volatile int zero = 0;
	return zero;
}

PV_REPLACE(tiny_zero, tiny_zero_v2);
