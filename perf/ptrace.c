/* perf/ptrace: the longest pause a target thread sees under stw-jmp on the
 * ptrace backend, and what patchvet adds to it (DESIGN.md's budget: the
 * harness adds under 10% to the engine's own stop-the-world pause).
 *
 *     ptrace TARGET PATCH [RUNS [WORKERS [ITERATIONS]]]
 *
 * Three figures, each the distribution over RUNS of the longest pause of a
 * run (from the first PTRACE_INTERRUPT of a stop to the last PTRACE_CONT of
 * its resume, as the tracer sees it; a target thread is stopped for no
 * longer than that):
 *   bare      a seize-interrupt-continue cycle with nothing in between: every
 *             thread interrupted, waited for, continued (the floor any
 *             ptrace-based engine pays);
 *   engine    stw-jmp through the space with patchvet's state probes off: the
 *             engine's own pause (its stack walks, writes, sync_core);
 *   checked   the same as patchvet runs it (lazy probes: taken before the
 *             first operation of a pause that could change what they cover);
 *   eager     every probe at both ends of every pause (registers, OS state,
 *             memory digests), the harness's self-check mode.
 * patchvet's addition is checked over engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/jmp.h"
#include "../harness/ptrace/ptrace.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct dist {
	double p50, p90, max;
};

static struct dist summarize(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct dist){v[n / 2], v[(n * 9) / 10], v[n - 1]};
}

static bool started(struct pt_proc *p, void *arg)
{
	return p->nthreads >= *(size_t *)arg;
}

/* A long-running target for bare cycles. */
static struct pt_proc *bare_open(const char *target, unsigned workers, struct pv_error *err)
{
	char w[16];
	snprintf(w, sizeof(w), "%u", workers);
	char *argv[] = {(char *)target, w, "1000000000", NULL};
	struct pt_proc *p = calloc(1, sizeof(*p));
	if (!p || pt_spawn(argv, p, err)) {
		free(p);
		return NULL;
	}
	size_t want = workers + 1;
	pt_resume_thread(p, &p->threads[0]);
	pt_pump_until(p, pt_now() + 5, started, &want);
	return p;
}

/* One bare cycle: interrupt every thread, wait, continue every one. */
static double bare_cycle(struct pt_proc *p)
{
	pt_pump(p, pt_now() + 0.002);
	double t0 = pt_now();
	if (pt_stop_all(p, NULL) || pt_resume_all(p))
		return -1;
	return (pt_now() - t0) * 1e3;
}

struct bench_engine {
	void *h, *state;
	uint64_t x;
	double probe_ms;
};

static int engine_open(struct bench_engine *e, const char *target, const char *patch,
                       unsigned workers, unsigned long iterations, enum pt_probes probes,
                       struct pv_error *err)
{
	struct pv_backend_config cfg = {.target_path = target, .patch_path = patch,
	                                .workload = {.workers = workers,
	                                             .iterations = iterations}};
	memset(e, 0, sizeof(*e));
	e->x = 0x9e3779b97f4a7c15ull;
	if (pv_backend_ptrace_ops.open(&cfg, &e->h, err))
		return 1;
	if (pv_engine_stw_jmp.plan(pv_backend_ptrace_ops.patch(e->h), &e->state, err))
		return 1;
	(void)pt_backend_ctl(e->h, PT_CTL_SET_PROBES, probes);
	return 0;
}

/* One stw-jmp run: its longest pause, or -1 when it had none. */
static double engine_run(struct bench_engine *e, struct pv_error *err)
{
	uint8_t stream[64];
	for (size_t k = 0; k < sizeof(stream); k++) {
		e->x ^= e->x << 13, e->x ^= e->x >> 7, e->x ^= e->x << 17;
		stream[k] = (uint8_t)e->x;
	}
	struct pv_run_result res;
	if (pv_backend_ptrace_ops.run(e->h, &pv_engine_stw_jmp, e->state, stream, sizeof(stream),
	                              &res, err))
		return -1;
	double pause, pr;
	(void)pt_backend_ctl(e->h, PT_CTL_LAST_PAUSE, &pause, &pr);
	e->probe_ms += pr;
	return pause > 0 ? pause : -1;
}

static void engine_close(struct bench_engine *e)
{
	if (e->state)
		pv_engine_stw_jmp.release(e->state);
	if (e->h)
		pv_backend_ptrace_ops.close(e->h);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s TARGET PATCH [RUNS [WORKERS [ITERATIONS]]]\n", argv[0]);
		return 2;
	}
	unsigned runs = argc > 3 ? (unsigned)atoi(argv[3]) : 200;
	unsigned workers = argc > 4 ? (unsigned)atoi(argv[4]) : 2;
	unsigned long iterations = argc > 5 ? strtoul(argv[5], NULL, 10) : 1000;
	if (runs < 2)
		runs = 2;
	static const char *const names[4] = {"bare", "engine", "checked", "eager"};
	static const enum pt_probes modes[4] = {PT_PROBES_OFF, PT_PROBES_OFF, PT_PROBES_LAZY,
	                                        PT_PROBES_EAGER};
	double *v[4];
	size_t n[4] = {0};
	struct bench_engine e[4];
	struct pv_error err;
	pv_error_clear(&err);
	struct pt_proc *p = bare_open(argv[1], workers, &err);
	if (!p) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return 1;
	}
	for (int i = 0; i < 4; i++) {
		if (!(v[i] = calloc(runs, sizeof(double))))
			return 1;
		if (i && engine_open(&e[i], argv[1], argv[2], workers, iterations, modes[i], &err)) {
			fprintf(stderr, "bench: %s\n", err.msg);
			return 1;
		}
	}
	/* Interleaved, so the load of the machine weighs on all four alike. */
	for (unsigned r = 0; r < runs; r++)
		for (int i = 0; i < 4; i++) {
			double ms = i ? engine_run(&e[i], &err) : bare_cycle(p);
			if (ms >= 0)
				v[i][n[i]++] = ms;
		}
	pt_release(p);
	free(p);
	printf("longest pause per run, ms (%u runs each, interleaved; %u workers; stw-jmp on "
	       "%s)\n", runs, workers, argv[1]);
	printf("%-8s %8s %8s %8s %16s\n", "", "p50", "p90", "max", "probes/run (ms)");
	struct dist d[4];
	for (int i = 0; i < 4; i++) {
		if (!n[i])
			return 1;
		d[i] = summarize(v[i], n[i]);
		printf("%-8s %8.3f %8.3f %8.3f %16.3f\n", names[i], d[i].p50, d[i].p90, d[i].max,
		       i ? e[i].probe_ms / runs : 0.0);
	}
	printf("patchvet's probes inside the pauses of a run, over the engine's p50 pause: "
	       "%.1f%% (checked), %.1f%% (eager)\n",
	       e[2].probe_ms / runs / d[1].p50 * 100, e[3].probe_ms / runs / d[1].p50 * 100);
	printf("p50 ratios: checked/engine %+.1f%%, eager/engine %+.1f%%, engine/bare %+.1f%%\n",
	       (d[2].p50 / d[1].p50 - 1) * 100, (d[3].p50 / d[1].p50 - 1) * 100,
	       (d[1].p50 / d[0].p50 - 1) * 100);
	for (int i = 0; i < 4; i++) {
		if (i)
			engine_close(&e[i]);
		free(v[i]);
	}
	return 0;
}
