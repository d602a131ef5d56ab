/* transform, the same answers by another route. */
#include <patchvet/patch.h>

long transform_v2(long x)
{
	return (x << 1) + x + 1;
}

PV_REPLACE(transform, transform_v2);
