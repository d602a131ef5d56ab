/* fptr: the workers never call bump by name: they call through a table of
 * function pointers in data, filled when the program was linked. A redirect
 * at bump's entry covers those calls; one that only rewrites GOT/PLT slots
 * does not (the table holds bump's own address), so it stays ineffective.
 * bump advances both totals by one under the lock (the patch: by two), as
 * in counter. */
#include <patchvet/target.h>

static pv_lock_t fptr_lock __attribute__((used));
static long total_a __attribute__((used));
static long total_b __attribute__((used));

static unsigned long calls[PV_MAX_WORKERS];

__attribute__((noipa)) void bump(void)
{
	pv_lock(&fptr_lock);
	total_a += 1;
	total_b += 1;
	pv_unlock(&fptr_lock);
}

__attribute__((noipa)) void idle(void)
{
	pv_yield();
}

/* Writable data, as a vtable or callback registry is; volatile so every
 * call loads the pointer. */
static void (*volatile ops[2])(void) = {bump, idle};

void pv_worker(unsigned index, const struct pv_workload *w)
{
	for (unsigned long i = 0; i < w->iterations; i++) {
		ops[0]();
		if (i % 8 == 7)
			ops[1]();
		calls[index]++;
	}
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	unsigned long sum = 0;
	for (unsigned i = 0; i < w->workers; i++)
		sum += calls[i];
	if (sum != (unsigned long)w->workers * w->iterations) {
		SAY("fptr: a worker did not finish its calls\n");
		return 1;
	}
	if (total_a != total_b) {
		SAY("fptr: total_a != total_b (a call mixed old and new code)\n");
		return 1;
	}
	if (total_a < 0 || (unsigned long)total_a < sum || (unsigned long)total_a > 2 * sum) {
		SAY("fptr: total outside [calls, 2*calls]\n");
		return 1;
	}
	return 0;
}
