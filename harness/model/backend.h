/* A backend as the campaign driver sees it: open a target with a patch
 * loaded, hand out the patch description for planning, run one schedule
 * from a decision stream, close. The driver is written against this table so
 * that tests drive it with a mock and the ptrace backend can slot in. */
#ifndef PV_MODEL_BACKEND_H
#define PV_MODEL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>
#include <patchvet/target.h>

#include "run.h"
#include "campaign.h"
#include "program.h"
#include "sequence.h"

struct pv_backend_config {
	const char *target_path;      /* the binary this backend runs */
	const char *patch_path;       /* the patch .so */
	struct pv_workload workload;
	enum pv_mem_model mem_model;
	uint64_t step_budget;         /* 0: the backend's default */
	const char *const *extra_patches; /* a sequence's patches after the first,
	                                     loaded next to it; NULL when none */
	size_t nextra;
	enum pv_fault fault;          /* injected after apply (backends that can) */
	/* A real program (the scenario's [program] section; valid until
	 * close), NULL: the target runs as `TARGET WORKERS ITERATIONS PARAM`.
	 * Its per-run {workdir}s are made under work_dir (the campaign's --out
	 * directory) and removed after each run. */
	const struct pv_program *program;
	const char *work_dir;
	/* > 0: every run attaches to this running process instead of starting
	 * one, and leaves it running, untraced (ptrace: `run --pid`). */
	int attach_pid;
};

struct pv_backend_ops {
	const char *name;             /* "emu" */
	int (*open)(const struct pv_backend_config *cfg, void **handle, struct pv_error *err);
	/* Valid until close. */
	const struct pv_patch_desc *(*patch)(void *handle);
	int (*run)(void *handle, const struct pv_engine *engine, void *engine_state,
	           const uint8_t *stream, size_t len, struct pv_run_result *res,
	           struct pv_error *err);
	void (*close)(void *handle);
	/* Optional (NULL when the backend cannot): a run whose choices ch
	 * makes, recording the stream that replays it (pv_emu_run_chosen). */
	int (*run_chosen)(void *handle, const struct pv_engine *engine, void *engine_state,
	                  const struct pv_chooser *ch, uint8_t *record, size_t cap, size_t *len,
	                  struct pv_run_result *res, struct pv_error *err);
	/* Optional: hot-window coverage of every run since open, into cov
	 * (missed pairs symbolized, at most PV_COVERAGE_MISSED_MAX). */
	int (*coverage)(void *handle, struct pv_coverage *cov, struct pv_error *err);
	/* Optional: collect the story of later runs (NULL events: stop). */
	void (*story)(void *handle, struct pv_story_event **events, size_t *nevents, size_t max);
	/* Optional: "counter_add+4 (0x401004)". */
	void (*symbolize)(void *handle, uint64_t addr, char *buf, size_t len);
	/* Optional: the description of patch i (0: the patch, then
	 * the config's extra_patches), NULL beyond them. */
	const struct pv_patch_desc *(*patch_at)(void *handle, size_t i);
	/* Optional: one run of a lifecycle sequence. states[i] is the engine's
	 * plan of patch i (the sequence's patches, in the order patch_at gives).
	 * Every step runs after a stream-chosen delay; after each, the live
	 * version of every replaced function is recorded in res->steps and
	 * judged (`ineffective`), and rollback-bytes and rollback-leak once no
	 * patch is applied any more. res->apply_rc and revert_rc keep the first
	 * failure that is not a clean give-up or refusal (0 / 1 otherwise). */
	int (*run_sequence)(void *handle, const struct pv_engine *engine, void *const *states,
	                    const struct pv_sequence *seq, const uint8_t *stream, size_t len,
	                    struct pv_run_result *res, struct pv_error *err);
	/* Optional: run_sequence whose choices ch makes, as run_chosen does
	 * (adaptive explorers over a sequence). */
	int (*run_sequence_chosen)(void *handle, const struct pv_engine *engine,
	                           void *const *states, const struct pv_sequence *seq,
	                           const struct pv_chooser *ch, uint8_t *record, size_t cap,
	                           size_t *len, struct pv_run_result *res, struct pv_error *err);
};

#define PV_COVERAGE_MISSED_MAX 4096

#endif
