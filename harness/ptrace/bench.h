/* What `patchvet bench` (harness/bench/bench.c) measures on real processes, through
 * the ptrace backend: one process of an A/B CPU comparison, and repeated
 * apply/revert cycles on one long-running process. Every process is spawned
 * by the backend (PDEATHSIG, EXITKILL while traced) and killed and reaped
 * before these return. */
#ifndef PV_HARNESS_PTRACE_BENCH_H
#define PV_HARNESS_PTRACE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>

/* One process: its workers' CPU and wall time per operation, as the runtime
 * measured them around pv_worker (corpora/runtime/native.c, bench mode). */
struct pv_native_proc {
	double cpu_ns_per_op;    /* sum of the workers' thread CPU time / operations */
	double wall_ns_per_op;   /* the slowest worker's wall time / its operations */
	unsigned long ops;
	double rss_kb, pss_kb;   /* after the workers, before exit */
	double apply_pause_ms;   /* patched: the longest pause of apply */
	uint64_t engine_bytes;   /* patched: the engine's live mappings after apply */
};

/* Runs one process of scenario handle (pv_backend_ptrace_ops.open) with
 * `iterations` per worker. patched: the engine plans, applies through the
 * space while the workers wait at their start (so every operation runs
 * patched), then patchvet detaches and the process runs free; unpatched: the
 * same preparation without the engine. dir: a private directory for the
 * runtime's gate FIFO and report. */
int pv_ptrace_bench_proc(void *handle, const struct pv_engine *engine, bool patched,
                         unsigned workers, unsigned long iterations, const char *dir,
                         struct pv_native_proc *out, struct pv_error *err);

/* Operation latencies of one process (from pv_op_done, a log-linear
 * histogram: see corpora/runtime/native.c), steady state [0] and the patch
 * window [1]: apply and revert, each from just before it starts to
 * PV_BENCH_WINDOW_GRACE_MS after it returns. */
#define PV_BENCH_LAT_BUCKETS 512
#define PV_BENCH_WINDOW_GRACE_MS 5.0
struct pv_native_latency {
	uint64_t counts[2][PV_BENCH_LAT_BUCKETS];
	double apply_pause_ms, revert_pause_ms;
};

/* Runs one process with `workers` x `iterations` (about a second of work),
 * lets it run steady, applies, runs on, reverts, and lets it finish, traced
 * throughout. PV_ENOENT when the target records no latencies. */
int pv_ptrace_bench_latency(void *handle, const struct pv_engine *engine, unsigned workers,
                            unsigned long iterations, const char *dir,
                            struct pv_native_latency *out, struct pv_error *err);

/* The lower bound, in ns, of histogram bucket b. */
double pv_bench_bucket_lo(unsigned b);

/* The iteration count the backend calibrated (a traced run of >= 50 ms). */
unsigned long pv_ptrace_bench_iterations(void *handle);

/* After each apply/revert cycle of one long-running process. */
struct pv_native_cycle {
	double rss_kb, pss_kb, vm_kb;  /* /proc/PID/smaps_rollup, /proc/PID/status */
	double leaked_bytes;           /* engine mappings left after every revert so far */
	double mapped_bytes;           /* the engine's live mappings while applied */
	double apply_pause_ms, revert_pause_ms; /* longest pause of each */
};

/* `cycles` apply/revert cycles of the engine on one process whose workers
 * keep running, the engine planned once; out has room for cycles entries;
 * *done receives how many completed (a failed apply or revert ends the
 * series, with its sentence in err and PV_EBUSY or the engine's code). */
int pv_ptrace_bench_cycles(void *handle, const struct pv_engine *engine, unsigned workers,
                           unsigned cycles, struct pv_native_cycle *out, unsigned *done,
                           struct pv_error *err);

#endif
