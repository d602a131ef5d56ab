/* The exec adapter: an external patcher described by an exec file
 * (execfile.h) as an engine of `patchvet run --engine exec:FILE`.
 *
 * Its runs belong to pv_backend_exec_ops, a backend on the native target
 * (the ptrace backend's pieces): spawn it (with the file's env), let it run
 * a stream-chosen while, then for prepare, apply, status and revert: stop
 * every thread, detach (the tool must trace the target itself), a
 * stream-chosen delay, run the command (own process group, a timeout, the
 * whole group killed after it), seize and stop the target again, judge.
 * Checks: crash, liveness (a command past its timeout, the target still
 * traced by someone else), ineffective (apply succeeded but no replaced
 * function's first bytes differ from the file, or status says it is not
 * applied), rollback-bytes (after revert, every code byte as in the file),
 * rollback-leak (after revert, an executable mapping that was not there
 * before the tool first ran), target-verify; state-mem, state-regs and
 * state-os around every command (exec_state.h). docs/exec-adapter.md. */
#ifndef PV_HARNESS_EXEC_ADAPTER_H
#define PV_HARNESS_EXEC_ADAPTER_H

#include <stdbool.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>

#include "../model/backend.h"
#include "../util/must_check.h"

#define PV_EXEC_PREFIX "exec:"

/* Exit status of a command that gave up cleanly (busy, like EX_TEMPFAIL):
 * apply counts as a give-up (PV_EBUSY), not as a failure. */
#define PV_EXEC_BUSY_STATUS 75

struct pv_exec;

/* True when an --engine argument is "exec:FILE". */
bool pv_exec_is_spec(const char *arg);

/* Loads the exec file of "exec:FILE" (execfile.h's errors: PV_EFORMAT with
 * FILE:LINE, PV_ENOENT); PV_EINVAL when its name is a built-in engine's. */
PV_MUST_CHECK int pv_exec_open(const char *spec, struct pv_exec **out, struct pv_error *err);
void pv_exec_close(struct pv_exec *x);

/* The engine, valid until pv_exec_close. Its apply and revert refuse to run
 * (PV_EUNSUPPORTED): only pv_backend_exec_ops runs it. */
const struct pv_engine *pv_exec_engine(const struct pv_exec *x);

/* True when e came from pv_exec_engine. */
bool pv_exec_engine_is(const struct pv_engine *e);

/* The backend for exec engines, named "ptrace": it runs native targets. */
extern const struct pv_backend_ops pv_backend_exec_ops;

#endif
