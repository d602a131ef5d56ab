/* datachange: workers add to a global struct through config_add(). The patch
 * datachange redefines `config` with an extra member, a data layout change:
 * its config_add_v2 updates the patch's own, larger object, so every call
 * made after a redirect is missing from the target's `config` and pv_verify
 * rejects the run. An engine must refuse such a patch (or migrate the data). */
#include <patchvet/target.h>

struct config {
	long count; /* config_add calls */
	long total; /* sum of their arguments */
};

/* Non-static and initialised: a real object in .data with st_size 16. */
struct config config = {0, 0};

static pv_lock_t config_lock __attribute__((used));

__attribute__((noipa)) void config_add(long v)
{
	pv_lock(&config_lock);
	config.count += 1;
	config.total += v;
	pv_unlock(&config_lock);
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

void pv_worker(unsigned index, const struct pv_workload *w)
{
	(void)index;
	for (unsigned long i = 0; i < w->iterations; i++)
		config_add((long)(i % 7) + w->param);
}

int pv_verify(const struct pv_workload *w)
{
	long per_worker = 0;
	for (unsigned long i = 0; i < w->iterations; i++)
		per_worker += (long)(i % 7) + w->param;
	if (config.count != (long)(w->workers * w->iterations) ||
	    config.total != per_worker * (long)w->workers) {
		SAY("datachange: config lost updates (calls went to another object)\n");
		return 1;
	}
	return 0;
}
