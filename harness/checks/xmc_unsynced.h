/* Check `xmc-unsynced`: a strict model of cross-modifying code (Intel SDM
 * vol. 3, 8.1.3). A code change becomes visible to another core only once
 * that core serializes; until then it may execute the old bytes, or a mix.
 *
 * The model: every change of code bytes gives each thread that is not
 * stopped (it runs, or waits in a system call, and may have fetched the old
 * bytes) a stale range. A thread's stale ranges go when it serializes: the
 * engine's sync_core serializes every thread; stopping a thread does too
 * (stop_all models the IPI / stop_machine path, and a ptrace stop is a trip
 * through the kernel). A thread that executes an instruction overlapping
 * one of its stale ranges is a violation, with one exception, the first
 * step of the breakpoint protocol the SDM allows: a single byte changed to
 * or from int3 (0xcc) is never stale, as long as it is the only change
 * there since the thread last serialized. An atomic store is no exception:
 * the SDM sanctions none (see docs/engines.md on hotpatch-pad). */
#ifndef PV_HARNESS_JUDGE_XMC_H
#define PV_HARNESS_JUDGE_XMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

struct pv_xmc_finding {
	int thread;
	uint64_t addr;          /* the instruction executed */
	uint64_t stale_lo, stale_hi; /* the changed bytes it overlapped */
};

struct pv_xmc_judge;

/* A judge for threads 0 .. nthreads - 1. */
int pv_xmc_judge_open(unsigned nthreads, struct pv_xmc_judge **out, struct pv_error *err);

void pv_xmc_judge_close(struct pv_xmc_judge *j);

/* Start of a run: no thread holds stale code. */
void pv_xmc_judge_reset(struct pv_xmc_judge *j);

/* A store changed the code bytes [addr, addr + n) from old to new;
 * running[t] says whether thread t was not stopped then. */
void pv_xmc_judge_write(struct pv_xmc_judge *j, uint64_t addr, const uint8_t *old,
                        const uint8_t *new_bytes, size_t n, const bool *running);

/* Thread t serialized (it was stopped). */
void pv_xmc_judge_serialize(struct pv_xmc_judge *j, unsigned t);

/* sync_core: every thread serialized. */
void pv_xmc_judge_sync_all(struct pv_xmc_judge *j);

/* Thread t executes len bytes at addr: 1 and *f when they overlap a stale
 * range of t, else 0. */
int pv_xmc_judge_insn(const struct pv_xmc_judge *j, unsigned t, uint64_t addr, unsigned len,
                      struct pv_xmc_finding *f);

#endif
