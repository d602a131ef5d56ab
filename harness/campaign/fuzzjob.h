/* One built-in engine on one scenario on the emu backend, opened once and run
 * for many decision streams: what the AFL schedule harness (fuzz/schedule.c)
 * runs per input, and what `patchvet import-crashes` replays AFL's crashes
 * with. Both must resolve the same binaries and workload, so they share this. */
#ifndef PV_HARNESS_FUZZJOB_H
#define PV_HARNESS_FUZZJOB_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>
#include <patchvet/target.h>

#include "../../emulator/emu.h"
#include "../util/hash.h"

struct pv_fuzzjob {
	const struct pv_engine *engine;
	char scenario[128];            /* its name */
	char scenario_file[PATH_MAX];  /* absolute when it can be resolved */
	char flavour[16];
	char target[PATH_MAX];         /* the emulator build */
	char patch[PATH_MAX];
	char target_sha256[PV_SHA256_HEX_LEN + 1];
	char patch_sha256[PV_SHA256_HEX_LEN + 1];
	struct pv_workload workload;
	enum pv_mem_model mem_model;   /* always byte: the model `run` uses by default */
	struct pv_emu *emu;
	void *state;                   /* the engine's plan */
};

/* Resolves engine (a built-in name) and scenario (a built-in name or a path)
 * in the data directory (pv_data_dir), in flavour (NULL: plain, or the
 * scenario's first flavour when it is not built plain), opens the emulator,
 * installs block_fn (may be NULL; see pv_emu_set_block_hook) and lets the
 * engine plan. PV_EREFUSED with the engine's reason when it refuses: there
 * is no schedule to fuzz. */
int pv_fuzzjob_open(const char *engine, const char *scenario, const char *flavour,
                    pv_emu_block_fn block_fn, void *block_ctx, struct pv_fuzzjob **out,
                    struct pv_error *err);

/* One run of stream (pv_emu_run). */
int pv_fuzzjob_run(struct pv_fuzzjob *j, const uint8_t *stream, size_t len,
                   struct pv_run_result *res, struct pv_error *err);

void pv_fuzzjob_close(struct pv_fuzzjob *j);

#endif
