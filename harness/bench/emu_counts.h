/* The emulator's part of `patchvet bench` (harness/bench/bench.h): exact
 * instruction counts patched and unpatched, and the engine's mappings over
 * repeated apply/revert cycles, both deterministic. */
#ifndef PV_HARNESS_BENCH_EMU_H
#define PV_HARNESS_BENCH_EMU_H

#include <stdbool.h>
#include <stdint.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>

/* Instructions of one emu run of target with `iterations` per worker:
 * unpatched (an engine that does nothing), or patched (the engine's apply
 * before any worker runs, and the patch kept to the end). A run with any
 * violation but the ones this set-up causes by design is an error. */
int pv_bench_emu_insns(const char *target, const char *patch, unsigned workers,
                       unsigned long iterations, long param, const struct pv_engine *engine,
                       bool patched, uint64_t *insns, struct pv_error *err);

/* The same run's instructions split by where they ran. */
struct pv_bench_emu_count {
	uint64_t total;
	uint64_t replaced;   /* inside the replaced functions' original ranges */
	uint64_t patch;      /* inside the patch's code */
};

int pv_bench_emu_count(const char *target, const char *patch, unsigned workers,
                       unsigned long iterations, long param, const struct pv_engine *engine,
                       bool patched, struct pv_bench_emu_count *out, struct pv_error *err);

/* `cycles` apply/revert cycles of the engine (planned once) inside one emu
 * run, before any worker runs, through a space that books every map_near
 * and unmap: after cycle i, left[i] receives the bytes of the engine's
 * mappings still mapped (in total) and mapped[i] those while it was
 * applied. *done: how many completed (an apply or revert that failed ends
 * the series, with its sentence in err and its code returned). */
int pv_bench_emu_cycles(const char *target, const char *patch, unsigned workers,
                        unsigned long iterations, long param, const struct pv_engine *engine,
                        unsigned cycles, double *left, double *mapped, unsigned *done,
                        struct pv_error *err);

#endif
