/* busy-fix: serve counts down instead of up; the same steps, other code. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

extern void step(unsigned index);

void serve_v2(unsigned index, unsigned long n)
{
	while (n--) {
		step(index);
		pv_yield();
	}
}

PV_REPLACE(serve, serve_v2);
