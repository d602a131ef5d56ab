#include "fuzzjob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engines/catalogue.h"
#include "../util/files.h"
#include "../load/scenario.h"

static unsigned pick_flavour(const struct pv_scenario *sc, const char *name,
                             struct pv_error *err)
{
	for (unsigned b = 1; name && b <= PV_FLAVOUR_ALL; b <<= 1)
		if (!strcmp(name, pv_flavour_name(b))) {
			if (sc->flavours & b)
				return b;
			pv_error_set(err, PV_EINVAL, "scenario %s is not built in flavour %s (%s)",
			             sc->name, name, sc->file);
			return 0;
		}
	if (name) {
		pv_error_set(err, PV_EINVAL, "unknown flavour '%s' (plain, pad, fentry or cet)", name);
		return 0;
	}
	for (unsigned b = 1; b <= PV_FLAVOUR_ALL; b <<= 1)
		if (sc->flavours & b)
			return b; /* plain is bit 0: first when present */
	pv_error_set(err, PV_EINVAL, "scenario %s lists no flavour (%s)", sc->name, sc->file);
	return 0;
}

static int resolve(struct pv_fuzzjob *j, const char *scenario, const char *flavour,
                   struct pv_error *err)
{
	char data[PATH_MAX];
	struct pv_scenario *sc = NULL;
	int rc = pv_data_dir(data, sizeof(data), err);
	if (!rc)
		rc = pv_scenario_load(scenario, data, &sc, err);
	if (rc)
		return rc;
	unsigned fl = pick_flavour(sc, flavour, err);
	if (!fl)
		rc = err->code;
	else if (!(sc->backends & PV_BACKEND_EMU))
		rc = pv_error_set(err, PV_EINVAL, "scenario %s does not list emu among its backends "
		                                  "(%s)", sc->name, sc->file);
	else if (!sc->patch)
		rc = pv_error_set(err, PV_EINVAL, "scenario %s has no patch (%s)", sc->name,
		                  sc->file);
	if (!rc)
		rc = pv_scenario_emu_target_path(sc, data, fl, j->target, sizeof(j->target), err);
	if (!rc)
		rc = pv_scenario_patch_path(sc, data, j->patch, sizeof(j->patch), err);
	if (!rc) {
		snprintf(j->scenario, sizeof(j->scenario), "%s", sc->name);
		snprintf(j->flavour, sizeof(j->flavour), "%s", pv_flavour_name(fl));
		if (!realpath(sc->file, j->scenario_file))
			snprintf(j->scenario_file, sizeof(j->scenario_file), "%s", sc->file);
		j->workload = (struct pv_workload){
			.workers = sc->workers, .iterations = sc->iterations, .param = sc->param};
	}
	pv_scenario_free(sc);
	if (!rc)
		rc = pv_sha256_file(j->target, j->target_sha256, err);
	if (!rc)
		rc = pv_sha256_file(j->patch, j->patch_sha256, err);
	return rc;
}

int pv_fuzzjob_open(const char *engine, const char *scenario, const char *flavour,
                    pv_emu_block_fn block_fn, void *block_ctx, struct pv_fuzzjob **out,
                    struct pv_error *err)
{
	*out = NULL;
	const struct pv_engine_entry *entry = pv_engine_find(engine);
	if (!entry)
		return pv_error_set(err, PV_ENOENT, "no built-in engine called '%s' (see patchvet "
		                                    "list engines)", engine);
	struct pv_fuzzjob *j = calloc(1, sizeof(*j));
	if (!j)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	j->engine = entry->engine;
	j->mem_model = PV_MEM_BYTE;
	int rc = resolve(j, scenario, flavour, err);
	if (!rc) {
		struct pv_emu_config cfg = {.target_path = j->target, .patch_path = j->patch,
		                            .workload = j->workload, .mem_model = j->mem_model};
		rc = pv_emu_open(&cfg, &j->emu, err);
	}
	if (!rc && block_fn)
		rc = pv_emu_set_block_hook(j->emu, block_fn, block_ctx, err);
	if (!rc) {
		struct pv_error perr;
		pv_error_clear(&perr);
		rc = j->engine->plan(pv_emu_patch(j->emu), &j->state, &perr);
		if (rc)
			pv_error_set(err, rc, "%s on %s: %s%s", engine, j->scenario,
			             rc == PV_EREFUSED ? "the engine refuses the patch: " : "plan failed: ",
			             perr.msg[0] ? perr.msg : pv_strerror(rc));
	}
	if (rc) {
		pv_fuzzjob_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

int pv_fuzzjob_run(struct pv_fuzzjob *j, const uint8_t *stream, size_t len,
                   struct pv_run_result *res, struct pv_error *err)
{
	memset(res, 0, sizeof(*res));
	return pv_emu_run(j->emu, j->engine, j->state, stream, len, res, err);
}

void pv_fuzzjob_close(struct pv_fuzzjob *j)
{
	if (!j)
		return;
	if (j->state && j->engine->release)
		j->engine->release(j->state);
	if (j->emu)
		pv_emu_close(j->emu);
	free(j);
}
