/* AFL++ persistent-mode harness for schedules: one engine on one scenario on
 * the emu backend; every AFL input is a decision stream (emulator/emu.h);
 * any violation abort()s, so AFL records the stream as a crash and
 * `patchvet import-crashes` turns it into a reproducer.
 *
 *     schedule ENGINE SCENARIO        (or $PATCHVET_ENGINE, $PATCHVET_SCENARIO;
 *                                      $PATCHVET_FLAVOUR, default plain;
 *                                      $PATCHVET_FUZZ_EDGES: fuzz/afl_edges.h)
 *
 * Built with afl-clang-fast and AFL_LLVM_INSTRUMENT=CLASSIC (Makefile
 * `fuzz`): the harness's own edges and, through fuzz/afl_edges.c, the
 * emulated code's edges share AFL's map. Without AFL (plain gcc) it runs
 * stdin once, for debugging a crash: schedule E S < crashes/id:... */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../harness/campaign/fuzzjob.h"
#include "afl_edges.h"

#ifdef __AFL_COMPILER
__AFL_FUZZ_INIT();
#endif

static void report(const struct pv_run_result *res)
{
	for (size_t i = 0; i < res->nviolations && i < PV_RUN_MAX_VIOLATIONS; i++)
		fprintf(stderr, "violation: %s, thread %d at 0x%llx: %s\n", res->violations[i].check,
		        res->violations[i].thread, (unsigned long long)res->violations[i].address,
		        res->violations[i].detail);
}

/* One input: abort on a violation or on a run that could not happen (a bug
 * of patchvet's own, worth a crash file too). */
static void one(struct pv_fuzzjob *job, struct pv_afl_edges *edges, const uint8_t *buf,
                size_t len, struct pv_run_result *res)
{
	struct pv_error err;
	pv_error_clear(&err);
	pv_afl_edges_reset(edges);
	if (pv_fuzzjob_run(job, buf, len, res, &err)) {
		fprintf(stderr, "schedule: run failed: %s\n", err.msg);
		abort();
	}
	if (res->nviolations) {
		report(res);
		abort();
	}
}

int main(int argc, char **argv)
{
	const char *engine = argc > 1 ? argv[1] : getenv("PATCHVET_ENGINE");
	const char *scenario = argc > 2 ? argv[2] : getenv("PATCHVET_SCENARIO");
	if (!engine || !scenario) {
		fprintf(stderr, "usage: schedule ENGINE SCENARIO (or PATCHVET_ENGINE and "
		                "PATCHVET_SCENARIO in the environment); the stream is AFL's input\n");
		return 2;
	}
	struct pv_afl_edges edges = {.mode = PV_AFL_EDGES_THREADS};
	const char *mode = getenv("PATCHVET_FUZZ_EDGES");
	if (mode) {
		int m = pv_afl_edge_mode_parse(mode);
		if (m < 0) {
			fprintf(stderr, "schedule: PATCHVET_FUZZ_EDGES is threads, blocks or none, "
			                "not '%s'\n", mode);
			return 2;
		}
		edges.mode = (enum pv_afl_edge_mode)m;
	}
	pv_afl_edges_reset(&edges);
	struct pv_fuzzjob *job = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	if (pv_fuzzjob_open(engine, scenario, getenv("PATCHVET_FLAVOUR"),
	                    edges.mode == PV_AFL_EDGES_NONE ? NULL : pv_afl_edge, &edges, &job,
	                    &err)) {
		fprintf(stderr, "schedule: %s\n", err.msg);
		return 2;
	}
	struct pv_run_result *res = malloc(sizeof(*res));
	if (!res)
		return 3;
#ifdef __AFL_COMPILER
	/* One run before the fork server starts: every child inherits the
	 * translated code, instead of translating it again after each crash. */
	struct pv_run_result warm;
	if (pv_fuzzjob_run(job, NULL, 0, &warm, &err)) {
		fprintf(stderr, "schedule: %s\n", err.msg);
		return 3;
	}
	/* The fork server starts after the expensive load, plan and warm-up. */
	__AFL_INIT();
	const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(10000))
		one(job, &edges, buf, (size_t)__AFL_FUZZ_TESTCASE_LEN, res);
#else
	uint8_t *in = malloc(1 << 20); /* the largest input AFL writes by default */
	size_t len = in ? fread(in, 1, 1 << 20, stdin) : 0;
	one(job, &edges, in, len, res);
	free(in);
	printf("no violation (%llu instructions, %llu blocks)\n",
	       (unsigned long long)res->instructions, (unsigned long long)edges.blocks);
#endif
	free(res);
	pv_fuzzjob_close(job);
	return 0;
}
