/* patchvet bench: the overhead and disruption of one engine on one scenario,
 * patched against unpatched (DESIGN.md, "Overhead and disruption"):
 *
 *   cpu          native CPU time per operation: unpatched (A) and patched (B)
 *                processes in pairs, each pair in a random order (A B or
 *                B A), until the time is up; the ratio of means B/A with a
 *                paired bootstrap 95% interval (harness/util/stats.h);
 *   instructions exact instructions per operation in emu, unpatched and
 *                patched (the per-operation difference of two run lengths,
 *                so fixed costs cancel);
 *   memory       Rss/Pss of A and B, the engine's own mappings while
 *                applied, and over repeated apply/revert cycles on one
 *                process: what the engine leaves mapped, and the Pss slope;
 *   disruption   the longest pause any thread sees in apply and in revert
 *                (first interrupt to last resume, as the tracer sees it), and
 *                for targets that call pv_op_done, operation latency
 *                p50/p99/p99.9 in the patch window against steady state.
 *
 * Each figure gets a verdict on its claim: SUPPORTED, REFUTED or
 * INCONCLUSIVE (harness/util/stats.h), always with its interval. The result is
 * a plain struct the report writers render (reports/bench.h). */
#ifndef PV_HARNESS_BENCH_H
#define PV_HARNESS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>

#include "../model/campaign.h"
#include "../util/stats.h"

struct pv_bench_config {
	const struct pv_engine *engine;
	const char *scenario;      /* name or path */
	const char *data_dir;
	bool native, emu;          /* which backends to measure */
	double time_s;             /* native A/B measurement, seconds (default 20) */
	double threshold_pct;      /* the claim: overhead under this (default 2) */
	unsigned cycles;           /* apply/revert cycles (default 100) */
	unsigned cpu_workers;      /* workers of the A/B processes; 0: 1 (contention
	                              between workers adds noise that hides a 2%
	                              difference; the cycles use the scenario's) */
	uint64_t seed;             /* pair order and bootstrap */
	FILE *progress;            /* a line per phase, or NULL */
	unsigned flavours;         /* enum pv_flavour bits to pick from; 0: any
	                              the scenario is built in (certify: its own) */
};

/* The figures are the result model's (struct pv_overhead_figure,
 * harness/model/campaign.h), so run and certify carry the same ones. */
#define PV_BENCH_MAX_FIGURES PV_OVERHEAD_MAX

struct pv_bench_result {
	char engine[64], scenario[64], flavour[16];
	char target[4096], patch[4096], emu_target[4096];
	char flavour_note[512];    /* flavours skipped because the engine refused them */
	double threshold_pct;
	uint64_t seed;
	char hw_counters[160];     /* "unavailable (reason)" or "available (...)" */

	/* native CPU, A/B */
	bool native;
	unsigned workers;          /* the scenario's: apply/revert cycles */
	unsigned cpu_workers;      /* of the A/B processes */
	unsigned long iterations;  /* per worker, per process */
	size_t pairs;
	double *cpu_a, *cpu_b;     /* ns per operation, per process; owned */
	double cpu_a_mean, cpu_b_mean, cpu_a_cv, cpu_b_cv;
	struct pv_interval ratio;  /* mean(B) / mean(A) */
	double measured_s;         /* wall time the A/B pairs took */
	double rss_a, rss_b, pss_a, pss_b; /* KiB, means */
	double engine_kib;         /* the engine's mappings while applied (B) */

	/* apply/revert cycles */
	unsigned cycles, cycles_done;
	char cycles_error[PV_ERROR_MSG_MAX];    /* why they ended early, "" */
	double leak_kib_per_cycle; /* engine mappings left behind after revert */
	double pss_slope, rss_slope, vm_slope; /* KiB per cycle */
	double pss_first, pss_last;
	double apply_pause_p50, apply_pause_p99, apply_pause_max;   /* ms */
	double revert_pause_p50, revert_pause_p99, revert_pause_max;

	/* operation latency, steady state [0] and patch window [1], in ns */
	bool latency;
	char latency_note[PV_ERROR_MSG_MAX]; /* why not measured, "" */
	uint64_t lat_ops[2];
	double lat_p50[2], lat_p99[2], lat_p999[2], lat_max[2];

	/* emu */
	bool emu;
	char emu_note[PV_ERROR_MSG_MAX];        /* why emu was not measured, "" */
	double insn_a, insn_b;     /* instructions per operation */
	unsigned emu_cycles_done;  /* apply/revert cycles in emu */
	double emu_left_kib;       /* engine mappings left after them */
	double emu_mapped_kib;     /* engine mappings while applied (first cycle) */

	struct pv_overhead_figure figures[PV_BENCH_MAX_FIGURES];
	size_t nfigures;
};

/* Runs every measurement the config asks for. Returns 0 with *r filled
 * (figures that could not be measured say why), or a negative code for an
 * input error (unknown scenario, engine refusing every flavour) or an
 * internal one. */
int pv_bench_run(const struct pv_bench_config *c, struct pv_bench_result *r,
                 struct pv_error *err);
void pv_bench_result_free(struct pv_bench_result *r);

/* The emulator's exact figures of engine on one emu build of a target, as
 * pv_bench_run measures them: "instructions" (per operation, patched
 * against unpatched; not measured, with the reason, when the runs fail) and
 * "memory-growth-emu" over `cycles` apply/revert cycles. out has room for
 * 2; *nout receives how many. Deterministic and cheap (a few emu runs):
 * `patchvet run` measures every SAFE emu result with it. PV_ENOMEM only. */
int pv_bench_emu_figures(const struct pv_engine *engine, const char *emu_target,
                         const char *patch, unsigned workers, unsigned long iterations,
                         long param, unsigned cycles, double threshold_pct,
                         struct pv_overhead_figure *out, size_t *nout);

/* 1 when a figure is REFUTED, else 3 when one is INCONCLUSIVE or not
 * measured, else 0 (DESIGN.md's exit codes). */
int pv_bench_exit_status(const struct pv_bench_result *r);

/* "unavailable (reason)" or "available (...)": perf_event_open of the
 * hardware instruction counter on this thread, tried now. */
void pv_bench_hw_counters(char *buf, size_t len);

#endif
