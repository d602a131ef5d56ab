/* The emu backend behind the driver's table: a thin binding of emu.h. */
#include "backend.h"

#include <string.h>

static int emu_open(const struct pv_backend_config *cfg, void **handle, struct pv_error *err)
{
	struct pv_emu_config ec = {
		.target_path = cfg->target_path,
		.patch_path = cfg->patch_path,
		.workload = cfg->workload,
		.mem_model = cfg->mem_model,
		.step_budget = cfg->step_budget,
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

static void emu_close(void *handle)
{
	pv_emu_close(handle);
}

const struct pv_backend_ops pv_backend_emu_ops = {
	.name = "emu",
	.open = emu_open,
	.patch = emu_patch,
	.run = emu_run,
	.close = emu_close,
};
