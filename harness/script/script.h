/* The run script: what a lifecycle sequence does, step by step, for every
 * backend. It owns the steps (apply, apply on top, replace, revert,
 * revert-all, restart, fault), the patch stack, which engine return a
 * result keeps, the live-version check after each step, the automatic
 * rollback judgement after a fault and the rollback checks once no patch is
 * applied. A backend hands it a table of primitives: how it calls the
 * engine through its space, waits, reads code, restarts the target, injects
 * a fault and tells what the engine left behind. The backend keeps how its
 * target runs (emu: the scheduler and memory; ptrace: processes, probes,
 * steering). */
#ifndef PV_SCRIPT_SCRIPT_H
#define PV_SCRIPT_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>

#include "../checks/registry.h"
#include "../checks/rollback_bytes.h"
#include "../model/run.h"
#include "../model/sequence.h"
#include "../util/must_check.h"

/* An engine entry point the script calls. */
enum pv_script_op {
	PV_SCRIPT_APPLY = 0,
	PV_SCRIPT_APPLY_ON_TOP = 1, /* apply_on_top(state, below) */
	PV_SCRIPT_REPLACE = 2,      /* apply_replace(state, replaced, nreplaced) */
	PV_SCRIPT_REVERT = 3,
	PV_SCRIPT_RESTARTED = 4,
	PV_SCRIPT_MONITOR = 5,
};

/* The name the backends give an operation in messages and traces:
 * "apply" for the three applies, "revert", "restarted", "monitor". */
const char *pv_script_op_name(enum pv_script_op op);

struct pv_script_call {
	enum pv_script_op op;
	void *state;               /* the plan of the patch concerned */
	void *below;               /* APPLY_ON_TOP: the plan of the patch below */
	void *const *replaced;     /* REPLACE: the applied patches' plans, oldest first */
	size_t nreplaced;
};

/* The backend's primitives; ctx is the backend's own. Members marked
 * optional may be NULL. */
struct pv_script_ops {
	/* One engine operation through the backend's space; the engine's
	 * return into *rc. Nonzero: the backend itself failed (err filled). */
	int (*call)(void *ctx, const struct pv_script_call *c, int *rc, struct pv_error *err);
	/* Before every step: the stream-chosen time the workers run first. */
	void (*delay)(void *ctx);
	/* Target memory as the engine left it (for the live-version check). */
	pv_live_read_fn read;
	/* The description of patch i of the sequence. */
	const struct pv_patch_desc *(*patch_at)(void *ctx, size_t i);
	/* The restart step: the target killed and started again from its file,
	 * nothing applied, the engine's states kept. Nonzero: err filled. */
	int (*restart)(void *ctx, struct pv_error *err);
	/* Injects fault with patch `patch` the most recent one applied: NULL
	 * when injected, else the information line saying why not. */
	const char *(*inject)(void *ctx, enum pv_fault fault, size_t patch);
	/* A worker is still at work (something for a monitor to observe). */
	bool (*workers_left)(void *ctx);
	/* Between two monitor calls: the workers run on. */
	void (*tick)(void *ctx);
	/* The patch that caused a stall or slowdown is gone: it ends. */
	void (*unstall)(void *ctx);
	/* Optional: after a step's live check; st is what is applied now. */
	void (*stepped)(void *ctx, const struct pv_sequence *seq,
	                const struct pv_patch_desc *const *descs, const struct pv_stack *st);
	/* rollback-bytes: the first code range that differs from its original
	 * byte (*f) and where it is, in words; false when none does. */
	bool (*rollback_diff)(void *ctx, struct pv_rollback_finding *f, char *where, size_t len);
	/* rollback-leak: how many of the engine's mappings are still there,
	 * with the first one's address and length; 0 when none is. */
	size_t (*leaked)(void *ctx, uint64_t *addr, uint64_t *len);
	/* Records a violation (the first of each check is kept). */
	void (*violation)(void *ctx, enum pv_check_id check, int thread, uint64_t addr,
	                  const char *detail);
	/* Optional: the target has ended (no more steps); NULL: it never does
	 * before the script is over. */
	bool (*ended)(void *ctx);
	/* Optional: the target crashed (no further step begins). */
	bool (*crashed)(void *ctx);
	/* When a sequence judges rollback: false, at the first revert that
	 * leaves no patch applied (emu); true, at every such revert and after
	 * an apply that gave up with none applied (ptrace). Kept apart so that
	 * neither backend's results change. */
	bool rollback_every_time;
};

struct pv_script {
	const struct pv_script_ops *ops;
	void *ctx;
	const struct pv_engine *engine;
	struct pv_run_result *res;
};

/* A clean answer: done, gave up or refused with the target unchanged. */
bool pv_script_clean_rc(int rc);

/* rollback-bytes and rollback-leak "after" (after "revert", after "apply
 * gave up"), as violations through the primitives, worded by the checks. */
void pv_script_rollback(const struct pv_script *s, const char *after);

/* The injected fault after patch `patch`'s apply (state its plan): an
 * engine declaring automatic rollback must revert by itself within its
 * bound of monitor calls, one per tick. 1 when the engine took revert
 * over (rolled back, or its monitor failed: res->revert_rc), 0 when the
 * caller must revert as usual, negative when the backend failed. The
 * information line (res->info) says what happened. */
PV_MUST_CHECK int pv_script_auto_rollback(const struct pv_script *s, void *state,
                                          size_t patch, enum pv_fault fault,
                                          struct pv_error *err);

/* The steps of seq (states[i]: the plan of patch i), each after the
 * backend's delay, into res->steps; res->apply_rc and revert_rc keep the
 * first failure that is not a clean give-up or refusal (0 / 1 otherwise,
 * PV_EBUSY when no apply ever succeeded). What happens after the last step
 * (the target's end, verify) is the backend's. Nonzero: the backend
 * failed (err filled). */
PV_MUST_CHECK int pv_script_sequence(const struct pv_script *s, void *const *states,
                                     const struct pv_sequence *seq, struct pv_error *err);

#endif
