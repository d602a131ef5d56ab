/* tiny: tiny_zero is 3 bytes in the plain flavour (xor %eax,%eax; ret), too
 * short for a 5-byte jmp; an engine that writes one anyway overwrites the
 * bytes that follow it (alignment padding here, the next function when
 * functions are packed). The other flavours add bytes at the entry
 * (NOPs, endbr64) and so make it long enough. */
#include <patchvet/target.h>

/* noipa: stays a real function called from the workers, not folded into
 * them. (gcc sets up no frame for it despite -fno-omit-frame-pointer: it is
 * a leaf that uses no stack.) */
__attribute__((noipa)) int tiny_zero(void)
{
	return 0;
}

static unsigned long results[PV_MAX_WORKERS];

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

void pv_worker(unsigned index, const struct pv_workload *w)
{
	unsigned long acc = 0;
	for (unsigned long i = 0; i < w->iterations; i++)
		acc += 1 + (unsigned long)tiny_zero();
	results[index] = acc;
}

int pv_verify(const struct pv_workload *w)
{
	for (unsigned k = 0; k < w->workers; k++) {
		if (results[k] != w->iterations) {
			SAY("tiny: tiny_zero returned a wrong value\n");
			return 1;
		}
	}
	return 0;
}
