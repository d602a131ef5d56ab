/* Check `consistency` for engines that declare `thread` or `call`
 * consistency. The backend hands over every instruction executed inside a
 * replaced function's old code or its replacement; this judge says which
 * version it belongs to and holds each thread to the claim.
 *
 * Versions. An instruction is old code when it lies in a replaced function
 * and its bytes are the original ones (a redirect the engine wrote is
 * neither version), new code when it lies in the replacement.
 *
 * `thread` (kGraft / livepatch): a thread runs only old or only new code
 * and switches at a safe point, where no replaced function is on its
 * stack. The judge tracks the version each thread ran last; when it
 * changes, the backend looks for a frame of the version the thread leaves
 * (a return address into that code on its live stack, as judge_global.h
 * finds them): one there means the thread switched in the middle of a call
 * chain, so old and new code now run in one thread (a violation).
 *
 * `call`: each call runs wholly old or wholly new code. A thread whose last
 * instruction in function f was old (new) code that does not transfer
 * control (call, ret, jmp, branch), and whose next instruction in f is new
 * (old) code, changed versions within one activation of f. */
#ifndef PV_HARNESS_JUDGE_VERSION_H
#define PV_HARNESS_JUDGE_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

enum pv_version {
	PV_VERSION_NONE = 0,  /* not code of a replaced function or its replacement */
	PV_VERSION_OLD = 1,
	PV_VERSION_NEW = 2,
};

struct pv_version_func_spec {
	const char *name;
	uint64_t old_lo, old_hi;    /* the old function */
	const uint8_t *old_code;    /* its original bytes, [old_lo, old_hi) */
	uint64_t new_lo, new_hi;    /* its replacement */
};

struct pv_version_finding {
	int thread;
	const char *func;           /* the function concerned */
	enum pv_version was, now;   /* the version before and the one executed */
};

struct pv_version_judge;

int pv_version_judge_open(const struct pv_version_func_spec *f, size_t n, unsigned nthreads,
                          struct pv_version_judge **out, struct pv_error *err);

void pv_version_judge_close(struct pv_version_judge *j);

/* Start of a run: no thread ran anything yet. */
void pv_version_judge_reset(struct pv_version_judge *j);

/* The version of the len bytes executed at addr, and in *func the index of
 * the replaced function (when not PV_VERSION_NONE). */
enum pv_version pv_version_classify(const struct pv_version_judge *j, uint64_t addr,
                                    const uint8_t *bytes, unsigned len, int *func);

/* `thread`: thread t executes code of version v. Returns the version it
 * leaves when it changes version now (the backend then looks for a frame of
 * that version on its stack), else PV_VERSION_NONE. */
enum pv_version pv_version_thread_step(struct pv_version_judge *j, unsigned t,
                                       enum pv_version v);

/* `call`: thread t executes the len bytes at addr, code of version v of
 * function func. 1 and *f when the activation mixes versions, else 0. */
int pv_version_call_step(struct pv_version_judge *j, unsigned t, int func, enum pv_version v,
                         const uint8_t *bytes, unsigned len, struct pv_version_finding *f);

/* The name of function func, for messages. */
const char *pv_version_func_name(const struct pv_version_judge *j, int func);

#endif
