/* The state checks of the exec adapter (state-mem, state-regs, state-os)
 * around each command of an external tool. The ptrace backend compares
 * state across a pause in which nothing of the target runs; around a
 * tool's command the target runs too (the tool resumes it between its own
 * looks, and patchvet lets it run before the command starts), so only what
 * the target's own execution cannot explain is judged:
 *   state-mem   words of the executable's writable segments (.data, .bss;
 *               not .got/.got.plt, which a GOT-redirecting tool may change)
 *               that changed during a command but never changed while the
 *               target ran on its own (learned before the first command, with
 *               the signals the adapter sends, and between commands);
 *   state-regs  of every thread: fs_base, gs_base and the segment registers
 *               (no target code changes them); of a thread parked at
 *               pv_verify before and after: every register (and
 *               syscall-disrupted). A thread that runs, or blocks in a system
 *               call, may change the others itself (it may wake, loop and
 *               block again at the same pc);
 *   state-os    the fd table and signal dispositions; the mappings (those new
 *               during prepare or apply, at addresses no mapping held, are
 *               the tool's: the patch, a trampoline), unless the target
 *               changed its mappings on its own before the first command; no
 *               thread left behind by the tool.
 * Every function expects every thread stopped (attached). */
#ifndef PV_HARNESS_EXEC_STATE_H
#define PV_HARNESS_EXEC_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <patchvet/error.h>

#include "../load/image.h"
#include "../ptrace/ptrace.h"
#include "../util/must_check.h"

struct pv_exec_state;

/* The first look at the target (every thread stopped), after its workers
 * started. p->run must stay valid (engine mappings are recorded there). */
PV_MUST_CHECK int pv_exec_state_open(struct pt_proc *p, const struct pv_image *target, uint64_t bias,
                       struct pv_exec_state **out, struct pv_error *err);
void pv_exec_state_close(struct pv_exec_state *s);

/* The target ran on its own since the last look: what changed is its own
 * doing (words become volatile; mappings that changed make state-os skip
 * the mappings). */
void pv_exec_state_learn(struct pv_exec_state *s);

/* Just before a command (every thread stopped): learn, and remember the
 * registers and OS state to compare after it. */
void pv_exec_state_before(struct pv_exec_state *s);

/* Just after command `cmd` (every thread stopped again): judged.
 * tool_maps: mappings new at free addresses are the tool's (prepare,
 * apply), not a violation. */
void pv_exec_state_after(struct pv_exec_state *s, const char *cmd, bool tool_maps);

/* One line for the result: what was judged (and what was not). */
void pv_exec_state_info(const struct pv_exec_state *s, char *buf, size_t len);

#endif
