/* The emu backend: one Unicorn x86-64 instance holding a target (its
 * freestanding emulator build) and a relocated patch, running the target's
 * workers as register contexts switched by a scheduler that a decision
 * stream drives. The same stream gives the same run, byte for byte.
 *
 * Lifecycle: pv_emu_open (load once) -> pv_emu_run (many times; each run
 * starts from a reset machine) -> pv_emu_close.
 *
 * The decision stream. Every choice of a run reads the next byte; once the
 * bytes are used up, a fixed default answers every further choice, so any
 * stream (the empty one included) gives a run that ends. Choices, in the
 * order a run makes them:
 *
 *   phase byte     how many slice decisions run before apply (and, the
 *                  second time, between apply and revert): byte & 15.
 *                  Default 2.
 *   slice byte     which thread runs and for how long, among R, the workers
 *                  that can run (not done, not stopped by the engine, not
 *                  blocked on a lock), in index order: thread
 *                  R[(byte >> 2) % |R|], at most {0, 5, 50, 500}[byte & 3]
 *                  instructions (0: nobody runs this time). Default: the
 *                  next runnable worker after the previous choice, 500
 *                  instructions. No byte is read when R is empty.
 *   preempt byte   read before each instruction a thread is about to execute
 *                  inside a hot window while apply or revert runs, except
 *                  the first instruction of a slice: preempt (end the slice
 *                  before it) when byte < 0x20. Default: no.
 *
 * Where slice decisions happen: `pre` of them before apply (phase byte);
 * one before every space operation of the engine; one between consecutive
 * atomic units of a space write; `hint - 1` more in advance(hint); `mid` of
 * them between apply and revert (phase byte); then as many as it takes for
 * every worker to finish. A slice also ends early when its thread blocks on
 * a lock, yields, finishes, crashes or is preempted. Hot windows: every
 * replaced function from its entry - 16 to entry + max(size, 32) + 16, the
 * patch's code, and the engine mapping area. pv_run_result.decisions counts
 * every choice made (bytes read plus defaults); violations record that count
 * as their `step`. */
#ifndef PV_EMULATOR_EMU_H
#define PV_EMULATOR_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>
#include <patchvet/target.h>

#include "../harness/model/backend.h"
#include "../harness/model/run.h"
#include "../harness/util/must_check.h"

struct pv_emu_config {
	const char *target_path;       /* emulator build of the target */
	const char *patch_path;        /* the patch .so (required) */
	struct pv_workload workload;   /* workers, iterations, param */
	enum pv_mem_model mem_model;   /* default PV_MEM_BYTE */
	uint64_t step_budget;          /* instructions per run before `liveness`
	                                  fails; 0 picks a default (20 million) */
	enum pv_fault fault;           /* injected after a successful apply */
	const char *const *extra_patches; /* a sequence's patches after patch_path,
	                                     at most 3 (pv_emu_run_sequence) */
	size_t nextra;
};


struct pv_emu;

/* Loads the target's PT_LOAD segments and the patch image (mapped within
 * +-2 GiB of the target so a jmp rel32 reaches it, relocated against the
 * target), analyses every replaced function, and prepares threads. */
PV_MUST_CHECK int pv_emu_open(const struct pv_emu_config *cfg, struct pv_emu **out, struct pv_error *err);

void pv_emu_close(struct pv_emu *emu);

/* The patch as loaded, for engine->plan. Valid until pv_emu_close. */
const struct pv_patch_desc *pv_emu_patch(const struct pv_emu *emu);

/* One run: reset memory and threads; run the workers a stream-chosen while;
 * engine->apply through the emu space (every space operation and every atomic
 * unit of a write is a decision point); with cfg.fault PV_FAULT_CRASH, the
 * first unfinished worker dies there (PV_FAULT_STALL: every running worker
 * stops until the patch is reverted) and an engine declaring automatic
 * rollback gets its monitor called once per slice, up to its bound
 * (`liveness` when it has not rolled back by then; res->info says what
 * happened); run on; engine->revert (only when apply returned 0 and no
 * monitor rolled back); run to the end; run pv_verify; judge the checks. An
 * exhausted stream continues with a fixed default rule. Returns 0 when the
 * run happened (violations are in *res), a negative code when it could not.
 *
 * The checks of a run:
 *   crash          a thread faults (unmapped or protected access, invalid
 *                  instruction, CPU exception, int3 without a trap redirect,
 *                  hlt or syscall outside the runtime); that thread ends.
 *   torn-exec      an instruction executed inside a hot window (not the
 *                  engine mapping area) starts on no instruction boundary of
 *                  the original code, the code when the current apply/revert
 *                  began or when it ended, or mixes their bytes
 *                  (harness/checks/torn_exec.h).
 *   xmc-unsynced   a thread executes an instruction overlapping code bytes
 *                  that changed while it was not stopped, with neither a
 *                  sync_core nor a stop of it since; a single byte changed
 *                  to or from int3 is exempt (harness/checks/xmc_unsynced.h).
 *   consistency    engines declaring PV_CONSISTENCY_GLOBAL: when an atomic
 *                  unit changes code of a replaced function (padding before
 *                  its entry included), every unfinished worker is stopped
 *                  and none has its pc or a return address in a replaced
 *                  function (harness/checks/consistency_global.h). PV_CONSISTENCY_THREAD:
 *                  a thread that changes between old and new code has no
 *                  frame of the version it leaves on its stack;
 *                  PV_CONSISTENCY_CALL: no activation of a replaced function
 *                  runs code of both versions (harness/checks/consistency_version.h).
 *   ineffective    after apply returned 0 and before revert begins, a
 *                  thread executes the old code right after the bytes the
 *                  engine changed in a replaced function (its entry when it
 *                  changed none); threads already there then pass once
 *                  (harness/checks/ineffective.h).
 *   use-after-revert  a thread fetches an instruction in a range the engine
 *                  unmapped during the run (instead of `crash`).
 *   rollback-leak  after revert returned 0, or apply returned PV_EBUSY, a
 *                  mapping the engine made with map_near is still there
 *                  (harness/checks/rollback_leak.h).
 *   rollback-bytes after revert returned 0, or after apply returned PV_EBUSY
 *                  (nothing changed, it says): every target code byte the
 *                  engine wrote equals the file's.
 *   liveness       the workers do not finish within step_budget
 *                  instructions; they deadlock on locks (not after a crash);
 *                  apply or revert makes more than 100,000 space operations
 *                  (later ones fail with PV_ETIMEDOUT) or returns with
 *                  threads stopped (they are resumed); a hijacked call
 *                  blocks; pv_verify blocks or runs over 10 million
 *                  instructions.
 *   target-verify  pv_verify returns non-zero; it runs, on thread index
 *                  `workers`, only when every worker finished and none
 *                  crashed. */
int pv_emu_run(struct pv_emu *emu, const struct pv_engine *engine, void *engine_state,
               const uint8_t *stream, size_t len, struct pv_run_result *res,
               struct pv_error *err);

/* pv_emu_run with the choices made by ch instead of read from a stream.
 * record[0..*len) receives the stream that replays the run (trailing
 * default choices trimmed); once cap bytes are recorded, the remaining
 * choices take the default without asking ch, so the record stays exact. */
int pv_emu_run_chosen(struct pv_emu *emu, const struct pv_engine *engine, void *engine_state,
                      const struct pv_chooser *ch, uint8_t *record, size_t cap, size_t *len,
                      struct pv_run_result *res, struct pv_error *err);

/* Patch i of the emulator: 0 the patch, then cfg.extra_patches; NULL
 * beyond them. Valid until pv_emu_close. */
const struct pv_patch_desc *pv_emu_patch_at(const struct pv_emu *emu, size_t i);

/* One run of a lifecycle sequence (harness/model/sequence.h; states[i] the plan
 * of patch i): reset and start the workers; for each step, a phase of
 * stream-chosen slices (the phase byte), then the step: apply (apply_on_top
 * over the patch on top when one is), revert of one patch or of all,
 * newest first, each an engine operation judged as apply and revert are;
 * `restart`: memory and workers start again from the loaded image (the
 * engine's states kept), and the engine's `restarted` decides for each
 * applied patch. After each step, res->steps[i].live and `ineffective` as
 * on ptrace (the code followed from each entry); rollback-bytes and
 * rollback-leak once no patch is applied after a revert; then the run ends
 * as pv_emu_run's. */
struct pv_sequence;
int pv_emu_run_sequence(struct pv_emu *emu, const struct pv_engine *engine, void *const *states,
                        const struct pv_sequence *seq, const uint8_t *stream, size_t len,
                        struct pv_run_result *res, struct pv_error *err);

/* pv_emu_run_sequence with the choices made by ch (pv_emu_run_chosen's
 * record rules): an adaptive explorer sees every step's choices, one run
 * of the whole sequence being one schedule. */
int pv_emu_run_sequence_chosen(struct pv_emu *emu, const struct pv_engine *engine,
                               void *const *states, const struct pv_sequence *seq,
                               const struct pv_chooser *ch, uint8_t *record, size_t cap,
                               size_t *len, struct pv_run_result *res, struct pv_error *err);

/* Writes a line per decision, space operation, hot-window instruction
 * during apply and revert (disassembled), note and violation of every later
 * run to out (NULL: no trace, the default; tracing slows runs). */
void pv_emu_set_trace(struct pv_emu *emu, FILE *out);

/* Hot-window coverage, summed over every run since open or the last reset:
 * pairs (instruction boundary of a replaced function's original code,
 * worker) at which a code write found that worker (pc there, unfinished).
 * pv_emu_coverage writes the pair count, those reached and up to
 * max_missed of those never reached (address and worker). */
struct pv_emu_pair {
	uint64_t address;
	unsigned thread;
};
void pv_emu_coverage(const struct pv_emu *emu, uint64_t *pairs, uint64_t *reached,
                     struct pv_emu_pair *missed, size_t max_missed, size_t *nmissed);
void pv_emu_coverage_reset(struct pv_emu *emu);

/* "counter_add+4 (0x401004)" for addr. */
void pv_emu_symbolize(const struct pv_emu *emu, uint64_t addr, char *buf, size_t len);

/* Later runs append their story (struct pv_story_event of
 * harness/model/campaign.h: hot-window instructions during apply and revert,
 * engine operations, code write units, preemptions, violations) to *events,
 * which grows up to max events; NULL stops it. The caller owns *events. */
struct pv_story_event;
void pv_emu_set_story(struct pv_emu *emu, struct pv_story_event **events, size_t *nevents,
                      size_t max);

/* Coverage for coverage-guided fuzzing (fuzz/schedule.c): fn(ctx, address,
 * thread) at the start of every basic block any emulated thread executes
 * (target, patch and engine-made code alike). Install it before the first
 * pv_emu_run (PV_EINVAL after it): Unicorn never hooks blocks it already
 * translated. One hook per emulator; PV_EINVAL for a second one. */
typedef void (*pv_emu_block_fn)(void *ctx, uint64_t address, int thread);
int pv_emu_set_block_hook(struct pv_emu *emu, pv_emu_block_fn fn, void *ctx,
                          struct pv_error *err);

/* What the target wrote with pv_write during the last run (every fd,
 * truncated to 1 KiB), NUL-terminated. */
const char *pv_emu_output(const struct pv_emu *emu);

/* The Unicorn backend's table (emulator/backend.c). */
extern const struct pv_backend_ops pv_backend_emu_ops;

#endif
