/* prologue-branch-fix: pb_triangle in closed form, the same results without
 * the loop; the hazard is in the old code, whose loop re-enters its first 5
 * bytes. */
#include <patchvet/patch.h>

unsigned long pb_triangle_v2(unsigned long n)
{
	return n * (n + 1) / 2;
}

PV_REPLACE(pb_triangle, pb_triangle_v2);
