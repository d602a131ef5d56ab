/* The campaign driver: for each job (engine x scenario on one backend), open
 * the backend, let the engine plan, run the explorer's schedules, and record
 * the verdict and the violations in the campaign's result model; the first
 * violation of each check becomes a reproducer file. No printing: progress
 * goes to a callback. */
#ifndef PV_HARNESS_DRIVER_H
#define PV_HARNESS_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>
#include <patchvet/target.h>

#include "../model/backend.h"
#include "../model/campaign.h"
#include "../explore/explore.h"
#include "../explore/registry.h"
#include "../util/hash.h"
#include "../model/sequence.h"
#include "../checks/registry.h"

/* Another flavour of a job's scenario: its name, target and the target's hash. */
struct pv_job_alt {
	const char *flavour;
	const char *target;
	char target_sha256[PV_SHA256_HEX_LEN + 1];
};

/* One engine on one scenario, everything resolved and checked by the caller. */
struct pv_job {
	const struct pv_engine *engine;
	/* A plugin's or exec engine's spec and its file's SHA-256, for
	 * reproducers (harness/campaign/engine_load.h); NULL for a built-in engine. */
	const char *engine_spec, *engine_sha256;
	const char *scenario;         /* name */
	const char *scenario_file;    /* its description file, for reproducers */
	const char *flavour;          /* "plain", ... */
	const char *target;           /* the backend's binary of the target */
	const char *patch;            /* the patch .so */
	char target_sha256[PV_SHA256_HEX_LEN + 1];
	char patch_sha256[PV_SHA256_HEX_LEN + 1];
	struct pv_workload workload;
	/* Lifecycles (harness/campaign/driver_sequence.h). */
	const struct pv_sequence *sequence; /* NULL: one apply, one revert */
	const char *const *extra_patches;   /* the sequence's patches after `patch` */
	size_t nextra;
	enum pv_fault fault;                /* injected after apply */
	const struct pv_job_alt *alts;      /* flavours to try when the engine
	                                       refuses `flavour` (not asked for) */
	size_t nalts;
	/* A real program (the scenario's [program]), NULL: a corpus target;
	 * its {workdir}s go under work_dir (--out). A program that does not
	 * pass its run without an engine at open ends the campaign (exit 2). */
	const struct pv_program *program;
	const char *work_dir;
	int attach_pid;          /* > 0: every run in this running process (--pid) */
};

/* What the progress callback sees: this job and the whole campaign. */
struct pv_progress {
	size_t job, njobs;            /* 0-based index of the job, number of jobs */
	const char *engine, *scenario;
	uint64_t done, schedules;     /* runs made and planned for this job */
	uint64_t campaign_done, campaign_schedules;
	uint64_t violating;           /* runs with a violation, whole campaign */
	double seconds;               /* running time so far, whole campaign */
	bool job_finished;            /* the last call for this job */
	const struct pv_result *result; /* when job_finished: its result */
};

struct pv_drive_config {
	const struct pv_backend_ops *backend;
	struct pv_explorer explorer;  /* kind: a row of explorers */
	const struct pv_explorer_table *explorers; /* NULL: the built-in ones */
	uint64_t schedules;           /* per job: random and pct run the indices
	                                 0..schedules-1 (those of the partition);
	                                 bounded runs at most this many */
	struct pv_partition part;     /* {0, 0} or {0, 1}: all of it */
	double time_budget;           /* seconds per job, 0: none */
	bool stop_at_violation;       /* a job ends with its first violating run */
	size_t story_max;             /* > 0: keep the story (at most this many
	                                 events) of each check's first violation */
	enum pv_mem_model mem_model;
	const char *out_dir;          /* reproducers go to OUT_DIR/repro/; NULL: none */
	void (*progress)(void *ctx, const struct pv_progress *p); /* may be NULL */
	void *progress_ctx;
	/* --resume: per job of this drive, its result from before the
	 * interruption (copied, not run again), or NULL. May be NULL. */
	const struct pv_result *const *finished;
	/* Called once a job's result is final (not for finished ones), so it
	 * can be kept; a non-zero return ends the campaign. May be NULL. */
	int (*job_done)(void *ctx, size_t job, const struct pv_result *r, struct pv_error *err);
	void *job_done_ctx;
	/* The checks: after each run, those judged from the finished run
	 * (an at_end row) add their violations. NULL: the built-in ones. */
	const struct pv_check_registry *checks;
};

/* Runs every job, appending one result per job to c (whose explorer, seed,
 * schedules and stream_len it sets). A job's own failure (the backend cannot
 * open the target, a run fails, the engine errs) becomes its ERROR verdict
 * and the campaign goes on; the return is non-zero only when the campaign
 * itself cannot go on (out of memory, a reproducer cannot be written). */
int pv_drive(const struct pv_drive_config *cfg, const struct pv_job *jobs, size_t njobs,
             struct pv_campaign *c, struct pv_error *err);

/* A finished job's result r (from before an interruption) appended to c as
 * if it had just run, reported to the progress callback. */
int pv_drive_adopt(const struct pv_drive_config *cfg, size_t job, size_t njobs,
                   const struct pv_result *r, struct pv_campaign *c, struct pv_error *err);

/* OUT_DIR-relative name of the reproducer of (engine, scenario, check):
 * "repro/ENGINE--SCENARIO--CHECK.pvr", with any character outside
 * [A-Za-z0-9._-] replaced by '_'. PV_ERANGE when buf is too small. */
int pv_repro_name(const char *engine, const char *scenario, const char *check, char *buf,
                  size_t len);

#endif
