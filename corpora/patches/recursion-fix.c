/* recursion-fix: each level now counts two, and the new depth calls itself
 * (not the target's), so a chain that starts new stays new. */
#include <patchvet/patch.h>

__attribute__((noipa)) long depth_v2(long d)
{
	volatile long two = 2;
	if (d <= 0)
		return 0;
	long r = depth_v2(d - 1);
	return r + two;
}

PV_REPLACE(depth, depth_v2);
