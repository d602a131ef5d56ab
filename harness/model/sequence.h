/* Patch lifecycles: a sequence of steps over several patches of
 * one target ("apply:p1,apply:p2,revert:p1,revert-all"), the stack model
 * that says which version of every replaced function must be live after
 * each step, and the judge that finds which version is live in the code.
 * No backend here: backends run the steps, this says what they must see. */
#ifndef PV_HARNESS_SEQUENCE_H
#define PV_HARNESS_SEQUENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>
#include "../util/must_check.h"

#define PV_SEQ_MAX_PATCHES 8
#define PV_SEQ_MAX_STEPS 16

enum pv_step_kind {
	PV_STEP_APPLY = 0,      /* apply:NAME */
	PV_STEP_REVERT = 1,     /* revert:NAME */
	PV_STEP_REVERT_ALL = 2, /* revert-all: every applied patch, newest first */
	PV_STEP_RESTART = 3,    /* restart: the target killed and started again
	                           while patched; the engine's state is kept */
	PV_STEP_FAULT = 4,      /* fault:crash|stall|slowdown, injected there; the
	                           automatic-rollback judgement applies to the most
	                           recent apply still applied */
	PV_STEP_REPLACE = 5,    /* replace:NAME: NAME applied as a cumulative patch
	                           that atomically replaces every applied one; the
	                           stack is then {NAME} */
};

struct pv_step {
	enum pv_step_kind kind;
	unsigned patch;          /* index into pv_sequence.patches (apply, revert, replace) */
	unsigned fault;          /* PV_STEP_FAULT: an enum pv_fault (run.h) */
};

/* "crash", "stall", "slowdown" (enum pv_fault 1..3), "none" for 0 and
 * anything else. */
const char *pv_fault_name(unsigned fault);
/* The enum pv_fault value named, 0 when the name is none of them. */
unsigned pv_fault_parse(const char *name, size_t len);

struct pv_sequence {
	char *patches[PV_SEQ_MAX_PATCHES]; /* names as written, first use first; owned */
	size_t npatches;
	struct pv_step steps[PV_SEQ_MAX_STEPS];
	size_t nsteps;
	unsigned max_depth;      /* most patches applied at once */
	bool replaces;           /* a replace step is in it */
};

/* Parses "apply:p1,apply:p2,fault:crash,revert:p1,restart,revert-all" (blanks
 * around items allowed; "replace:p3" too). Rejects, with a sentence naming
 * the step, an unknown step or fault, an apply or replace of a patch
 * already applied, a revert of one not
 * applied, a fault with no patch applied, and more than PV_SEQ_MAX_PATCHES
 * patches or PV_SEQ_MAX_STEPS steps (PV_EINVAL). After a fault step, the
 * most recent apply may have been rolled back by the engine: the run
 * decides, as after a restart. */
PV_MUST_CHECK int pv_sequence_parse(const char *text, struct pv_sequence *seq, struct pv_error *err);
void pv_sequence_free(struct pv_sequence *seq);

/* "apply:counter-fix", "revert-all". */
void pv_step_name(const struct pv_sequence *seq, size_t step, char *buf, size_t len);

/* The patches applied now, oldest first. */
struct pv_stack {
	unsigned order[PV_SEQ_MAX_PATCHES];
	size_t n;
};

bool pv_stack_has(const struct pv_stack *s, unsigned patch);
/* -1 when empty. */
int pv_stack_top(const struct pv_stack *s);
void pv_stack_push(struct pv_stack *s, unsigned patch);
void pv_stack_remove(struct pv_stack *s, unsigned patch);

/* The version of the function named `old_name` that must run: the newest
 * patch of the stack among descs (one per patch) that replaces it, or -1
 * for the original. */
int pv_stack_live(const struct pv_stack *s, const struct pv_patch_desc *const *descs,
                  const char *old_name);

/* A restart step, for both backends: the engine's `restarted` answered r
 * for patch `which` (1 when it has none). When the patch is not applied
 * again (r != 0) it joins lost ("p1, p2") and leaves the stack unless the
 * engine claims persistence. */
void pv_restart_lost(const struct pv_sequence *seq, struct pv_stack *st, unsigned which, int r,
                     bool persists, char *lost, size_t len);

/* The information line of that step into info: "unpatched-after-restart:
 * LOST (not applied again)", left as it is when nothing was lost or the
 * engine claims persistence (the live check judges it then). */
void pv_restart_info(const char *lost, bool persists, char *info, size_t len);

/* Reads target memory for pv_live_resolve. */
typedef int (*pv_live_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* Where a call of the function at `entry` goes: follows NOPs, endbr64 and
 * jumps (jmp rel8/rel32, jmp *disp(%rip)) from the entry, at most 8 of
 * them, to the first other instruction, into *dest. PV_ENOENT when the path
 * is not made of those (a call, an int3, a loop): the version cannot be
 * told from the code alone. */
int pv_live_resolve(pv_live_read_fn read, void *ctx, uint64_t entry, uint64_t *dest);

/* The version *dest belongs to, for replaced function `old_name`: -1 the
 * original (its padding included), a patch index when inside that patch's
 * replacement of it, -2 anything else. */
int pv_live_classify(const struct pv_patch_desc *const *descs, size_t npatches,
                     const char *old_name, uint64_t dest);

/* After a step: resolves every function the sequence's patches replace
 * (each once) and writes "name=version,..." into live ("original", a patch
 * name, "?" when the code does not say). For each one that runs another
 * version than the stack says, mismatch(ctx, func, got, want) (got and want
 * are version names). */
void pv_live_check(const struct pv_sequence *seq, const struct pv_patch_desc *const *descs,
                   const struct pv_stack *st, pv_live_read_fn read, void *rctx, char *live,
                   size_t len,
                   void (*mismatch)(void *ctx, const struct pv_patch_func *f, const char *got,
                                    const char *want),
                   void *mctx);

#endif
