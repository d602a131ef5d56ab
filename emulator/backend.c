/* The emu backend behind the driver's table: a thin binding of emu.h. */
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int emu_open(const struct pv_backend_config *cfg, void **handle, struct pv_error *err)
{
	struct pv_emu_config ec = {
		.target_path = cfg->target_path,
		.patch_path = cfg->patch_path,
		.workload = cfg->workload,
		.mem_model = cfg->mem_model,
		.step_budget = cfg->step_budget,
		.fault = cfg->fault,
		.extra_patches = cfg->extra_patches,
		.nextra = cfg->nextra,
	};
	struct pv_emu *emu = NULL;
	int rc = pv_emu_open(&ec, &emu, err);
	*handle = rc ? NULL : emu;
	return rc;
}

static const struct pv_patch_desc *emu_patch(void *handle)
{
	return pv_emu_patch(handle);
}

static int emu_run(void *handle, const struct pv_engine *engine, void *engine_state,
                   const uint8_t *stream, size_t len, struct pv_run_result *res,
                   struct pv_error *err)
{
	return pv_emu_run(handle, engine, engine_state, stream, len, res, err);
}

static const struct pv_patch_desc *emu_patch_at(void *handle, size_t i)
{
	return pv_emu_patch_at(handle, i);
}

static int emu_run_sequence(void *handle, const struct pv_engine *engine, void *const *states,
                            const struct pv_sequence *seq, const uint8_t *stream, size_t len,
                            struct pv_run_result *res, struct pv_error *err)
{
	return pv_emu_run_sequence(handle, engine, states, seq, stream, len, res, err);
}

static int emu_run_sequence_chosen(void *handle, const struct pv_engine *engine,
                                   void *const *states, const struct pv_sequence *seq,
                                   const struct pv_chooser *ch, uint8_t *record, size_t cap,
                                   size_t *len, struct pv_run_result *res,
                                   struct pv_error *err)
{
	return pv_emu_run_sequence_chosen(handle, engine, states, seq, ch, record, cap, len, res,
	                                  err);
}

static void emu_close(void *handle)
{
	pv_emu_close(handle);
}

static int emu_run_chosen(void *handle, const struct pv_engine *engine, void *engine_state,
                          const struct pv_chooser *ch, uint8_t *record, size_t cap,
                          size_t *len, struct pv_run_result *res, struct pv_error *err)
{
	return pv_emu_run_chosen(handle, engine, engine_state, ch, record, cap, len, res, err);
}

static int emu_coverage(void *handle, struct pv_coverage *cov, struct pv_error *err)
{
	struct pv_emu_pair *missed = calloc(PV_COVERAGE_MISSED_MAX, sizeof(*missed));
	if (!missed)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	size_t n = 0;
	pv_emu_coverage(handle, &cov->pairs, &cov->reached, missed, PV_COVERAGE_MISSED_MAX, &n);
	free(cov->missed);
	cov->missed = n ? calloc(n, sizeof(*cov->missed)) : NULL;
	cov->nmissed = 0;
	if (n && !cov->missed) {
		free(missed);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct pv_coverage_pair *p = &cov->missed[cov->nmissed++];
		p->address = missed[i].address;
		p->thread = (int)missed[i].thread;
		char where[160];
		pv_emu_symbolize(handle, p->address, where, sizeof(where));
		/* "name+off (0x...)": the report has the address already. */
		char *paren = strstr(where, " (");
		if (paren)
			*paren = '\0';
		snprintf(p->symbol, sizeof(p->symbol), "%.63s", where);
	}
	free(missed);
	return 0;
}

static void emu_story(void *handle, struct pv_story_event **events, size_t *nevents,
                      size_t max)
{
	pv_emu_set_story(handle, events, nevents, max);
}

static void emu_symbolize(void *handle, uint64_t addr, char *buf, size_t len)
{
	pv_emu_symbolize(handle, addr, buf, len);
}

const struct pv_backend_ops pv_backend_emu_ops = {
	.name = "emu",
	.open = emu_open,
	.patch = emu_patch,
	.run = emu_run,
	.close = emu_close,
	.run_chosen = emu_run_chosen,
	.coverage = emu_coverage,
	.story = emu_story,
	.symbolize = emu_symbolize,
	.patch_at = emu_patch_at,
	.run_sequence = emu_run_sequence,
	.run_sequence_chosen = emu_run_sequence_chosen,
};
