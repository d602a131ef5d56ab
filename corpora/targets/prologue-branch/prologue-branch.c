/* prologue-branch: workers call pb_triangle (triangle.S), whose loop jumps
 * back into its own first 5 bytes, and check every result against the closed
 * form; pv_verify checks the per-worker sums. */
#include <patchvet/target.h>

unsigned long pb_triangle(unsigned long n);

/* Keep n small: loop lengths 0..63 make the back-edge hot. */
#define PB_MAX_N 64

static unsigned long sums[PV_MAX_WORKERS];
static unsigned long wrong[PV_MAX_WORKERS];

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

static unsigned long closed_form(unsigned long n)
{
	return n * (n + 1) / 2;
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	unsigned long sum = 0, bad = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		unsigned long n = (i + index) % PB_MAX_N;
		unsigned long r = pb_triangle(n);
		if (r != closed_form(n))
			bad++;
		sum += r;
	}
	sums[index] = sum;
	wrong[index] = bad;
}

int pv_verify(const struct pv_workload *w)
{
	for (unsigned k = 0; k < w->workers; k++) {
		unsigned long want = 0;
		for (unsigned long i = 0; i < w->iterations; i++)
			want += closed_form((i + k) % PB_MAX_N);
		if (wrong[k] || sums[k] != want) {
			SAY("prologue-branch: pb_triangle returned a wrong sum\n");
			return 1;
		}
	}
	return 0;
}
