/* harness/bench/bench.c and `patchvet bench`: figures whose true answer is known.
 * emu figures are exact; native ones use engines and patches whose cost is
 * nothing (an engine that does nothing) or far over 2% (counter-slow takes
 * the lock twice per operation). */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../engines/catalogue.h"
#include "../engines/jmp.h"
#include "../harness/bench/bench.h"
#include "../harness/bench/emu_counts.h"
#include "helpers.h"

TestSuite(bench, .timeout = 120);

/* A scenario file for counter with another patch. */
static char *scenario_with(const char *dir, const char *patch, const char *backends)
{
	char *path = NULL;
	cr_assert(asprintf(&path, "%s/scenario.ini", dir) > 0);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	/* Built-in names, so each backend finds its own build of counter. */
	fprintf(f, "[scenario]\ndescription = counter with %s\ntarget = counter\n"
	           "patch = %s/corpora/patches/%s.so\nflavours = plain\nbackends = %s\n"
	           "[workload]\nworkers = 2\niterations = 40\n",
	        patch, PV_BUILD_DIR, patch, backends);
	fclose(f);
	return path;
}

static const struct pv_overhead_figure *figure(const struct pv_bench_result *r, const char *name)
{
	for (size_t i = 0; i < r->nfigures; i++)
		if (!strcmp(r->figures[i].name, name))
			return &r->figures[i];
	cr_assert_fail("no figure %s", name);
	return NULL;
}

static struct pv_bench_config config(const struct pv_engine *e, const char *scenario,
                                     bool native, bool emu, double time_s)
{
	return (struct pv_bench_config){.engine = e, .scenario = scenario,
	                                .data_dir = PV_DATA_DIR, .native = native, .emu = emu,
	                                .time_s = time_s, .threshold_pct = 2, .cycles = 10,
	                                .seed = 1};
}

static void no_children_left(void)
{
	int st;
	errno = 0;
	cr_expect_eq(waitpid(-1, &st, WNOHANG), -1, "a child process is left behind");
	cr_expect_eq(errno, ECHILD);
}

/* ------------------------------------------------------------ emu */

Test(bench, emu_counts_are_exact_and_deterministic)
{
	uint64_t a, b, again;
	struct pv_error err;
	const char *t = PV_BUILD_DIR "/corpora/emu/counter-plain";
	const char *p = PV_CORPUS_PATCH("counter-call");
	cr_assert_eq(pv_bench_emu_insns(t, p, 2, 40, 0, &pv_engine_stw_jmp, false, &a, &err), 0,
	             "%s", err.msg);
	cr_assert_eq(pv_bench_emu_insns(t, p, 2, 40, 0, &pv_engine_stw_jmp, false, &again, &err),
	             0, "%s", err.msg);
	cr_assert_eq(a, again, "the same run counts differently: %lu, %lu", a, again);
	cr_assert_eq(pv_bench_emu_insns(t, p, 2, 40, 0, &pv_engine_stw_jmp, true, &b, &err), 0,
	             "%s", err.msg);
	/* At least jmp, call, the empty function's ret, per operation. */
	cr_expect_geq(b, a + 80 * 3, "patched %lu, unpatched %lu", b, a);
}

/* One extra call per operation is REFUTED on counter by the exact count. */
Test(bench, emu_extra_call_is_refuted)
{
	char *dir = pv_test_tmpdir("bench");
	char *sc = scenario_with(dir, "counter-call", "emu");
	struct pv_bench_config c = config(&pv_engine_stw_jmp, sc, false, true, 1);
	struct pv_bench_result r;
	struct pv_error err;
	cr_assert_eq(pv_bench_run(&c, &r, &err), 0, "%s", err.msg);
	cr_assert(r.emu, "%s", r.emu_note);
	const struct pv_overhead_figure *f = figure(&r, "instructions");
	cr_expect(f->measured);
	cr_expect_eq(f->claim, PV_CLAIM_REFUTED, "%g%%", f->est);
	cr_expect_geq(r.insn_b - r.insn_a, 3.0, "%g -> %g", r.insn_a, r.insn_b);
	cr_expect_eq(pv_bench_exit_status(&r), 1);
	cr_expect_eq(figure(&r, "memory-growth-emu")->claim, PV_CLAIM_SUPPORTED);
	pv_bench_result_free(&r);
	free(sc);
	pv_test_rmdir_all(dir);
}

/* The do-nothing baseline against itself: 0 exactly. */
static int noop_plan(const struct pv_patch_desc *p, void **s, struct pv_error *e)
{
	(void)p;
	(void)e;
	*s = NULL;
	return 0;
}
static int noop_op(void *s, struct pv_space *sp, struct pv_error *e)
{
	(void)s;
	(void)sp;
	(void)e;
	return 0;
}
static const struct pv_engine noop_engine = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "test-noop",
	.description = "changes nothing: its true overhead is 0",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = noop_plan,
	.apply = noop_op,
	.revert = noop_op,
};

Test(bench, leaky_grows_and_is_refuted)
{
	struct pv_bench_config c = config(pv_engine_find("leaky")->engine, "counter", true, true,
	                                  1);
	struct pv_bench_result r;
	struct pv_error err;
	cr_assert_eq(pv_bench_run(&c, &r, &err), 0, "%s", err.msg);
	cr_expect_str_eq(r.flavour, "fentry");
	const struct pv_overhead_figure *f = figure(&r, "memory-growth-emu");
	cr_expect(f->measured, "%s", f->note);
	cr_expect_eq(f->claim, PV_CLAIM_REFUTED);
	cr_expect_gt(f->est, 0);
	cr_expect_geq(r.emu_cycles_done, 2);
	cr_expect_gt(r.emu_left_kib, r.emu_mapped_kib, "mappings did not grow: %g -> %g",
	             r.emu_mapped_kib, r.emu_left_kib);
	cr_expect_eq(pv_bench_exit_status(&r), 1);
	pv_bench_result_free(&r);
	no_children_left();
}

/* ------------------------------------------------------------ native */

Test(bench, native_zero_difference_is_not_refuted)
{
	struct pv_bench_config c = config(&noop_engine, "counter", true, false, 3);
	struct pv_bench_result r;
	struct pv_error err;
	cr_assert_eq(pv_bench_run(&c, &r, &err), 0, "%s", err.msg);
	const struct pv_overhead_figure *f = figure(&r, "cpu");
	cr_assert(f->measured, "%s", f->note);
	cr_expect_geq(r.pairs, 2);
	cr_expect(f->lo <= f->est && f->est <= f->hi);
	cr_expect_neq(f->claim, PV_CLAIM_REFUTED, "0%% refuted: %g [%g, %g]", f->est, f->lo,
	              f->hi);
	cr_expect_eq(figure(&r, "memory-growth")->claim, PV_CLAIM_SUPPORTED);
	cr_expect_eq(r.cycles_done, 10, "%s", r.cycles_error);
	pv_bench_result_free(&r);
	no_children_left();
}

Test(bench, native_slow_patch_is_refuted)
{
	char *dir = pv_test_tmpdir("bench");
	char *sc = scenario_with(dir, "counter-slow", "ptrace");
	struct pv_bench_config c = config(&pv_engine_stw_jmp, sc, true, false, 3);
	struct pv_bench_result r;
	struct pv_error err;
	cr_assert_eq(pv_bench_run(&c, &r, &err), 0, "%s", err.msg);
	const struct pv_overhead_figure *f = figure(&r, "cpu");
	cr_assert(f->measured, "%s", f->note);
	cr_expect_eq(f->claim, PV_CLAIM_REFUTED, "%g [%g, %g]", f->est, f->lo, f->hi);
	cr_expect_gt(r.apply_pause_max, 0);
	cr_expect_geq(r.apply_pause_max, r.apply_pause_p50);
	cr_expect_eq(pv_bench_exit_status(&r), 1);
	pv_bench_result_free(&r);
	free(sc);
	pv_test_rmdir_all(dir);
	no_children_left();
}

/* requests calls pv_op_done: latencies in steady state and in the window;
 * counter does not, and says so. */
Test(bench, native_latency_where_the_target_records_it)
{
	struct pv_bench_config c = config(&pv_engine_stw_jmp, "requests-identity", true, false, 2);
	struct pv_bench_result r;
	struct pv_error err;
	cr_assert_eq(pv_bench_run(&c, &r, &err), 0, "%s", err.msg);
	cr_assert(r.latency, "%s", r.latency_note);
	cr_expect_gt(r.lat_ops[1], 0);
	cr_expect_gt(r.lat_ops[0], r.lat_ops[1]);
	for (int w = 0; w < 2; w++) {
		cr_expect_gt(r.lat_p50[w], 0);
		cr_expect_leq(r.lat_p50[w], r.lat_p99[w]);
		cr_expect_leq(r.lat_p99[w], r.lat_p999[w]);
		cr_expect_leq(r.lat_p999[w], r.lat_max[w]);
	}
	pv_bench_result_free(&r);
	c.scenario = "counter";
	cr_assert_eq(pv_bench_run(&c, &r, &err), 0, "%s", err.msg);
	cr_expect_not(r.latency);
	cr_expect(strstr(r.latency_note, "pv_op_done") != NULL, "%s", r.latency_note);
	pv_bench_result_free(&r);
	no_children_left();
}

/* ------------------------------------------------------------ command line */

static struct pv_test_output run_pv(char *const argv[])
{
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 100, &o), 0);
	return o;
}

Test(bench, usage_errors)
{
	char *const no_engine[] = {PV_PATCHVET_BIN, "bench", "--scenario", "counter", NULL};
	char *const bad_threshold[] = {PV_PATCHVET_BIN, "bench", "--engine", "stw-jmp",
	                               "--scenario", "counter", "--threshold", "two", NULL};
	char *const unknown[] = {PV_PATCHVET_BIN, "bench", "--engine", "nope", "--scenario",
	                         "counter", NULL};
	char *const no_scenario[] = {PV_PATCHVET_BIN, "bench", "--engine", "stw-jmp",
	                             "--scenario", "no-such-scenario", NULL};
	char *const wrong_backend[] = {PV_PATCHVET_BIN, "bench", "--engine", "stw-jmp",
	                               "--scenario", "fpu", "--backend", "emu", NULL};
	char *const *cases[] = {no_engine, bad_threshold, unknown, no_scenario, wrong_backend};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pv_test_output o = run_pv(cases[i]);
		cr_expect_eq(o.status, 2, "case %zu: exit %d: %s", i, o.status, o.err);
		cr_expect_eq(pv_test_count_lines(o.err), 1, "case %zu: %s", i, o.err);
		cr_expect_str_empty(o.out);
		pv_test_output_free(&o);
	}
}

Test(bench, json_on_emu)
{
	char *const argv[] = {PV_PATCHVET_BIN, "bench", "--engine", "stw-jmp", "--scenario",
	                      "counter-identity", "--backend", "emu", "--cycles", "5", "--json",
	                      NULL};
	struct pv_test_output o = run_pv(argv);
	cr_expect_eq(o.status, 1, "exit %d: %s", o.status, o.err);
	json_object *j = json_tokener_parse(o.out);
	cr_assert_not_null(j, "not JSON: %s", o.out);
	json_object *v, *e, *x;
	cr_assert(json_object_object_get_ex(j, "verdicts", &v));
	cr_expect_eq(json_object_array_length(v), 3, "instructions, redirect, memory-growth-emu");
	cr_assert(json_object_object_get_ex(j, "instructions", &e));
	cr_assert(json_object_object_get_ex(e, "patched_insns_per_op", &x));
	double b = json_object_get_double(x);
	cr_assert(json_object_object_get_ex(e, "unpatched_insns_per_op", &x));
	cr_expect_gt(b, json_object_get_double(x));
	cr_assert(json_object_object_get_ex(j, "exit_status", &x));
	cr_expect_eq(json_object_get_int(x), 1);
	json_object_put(j);
	pv_test_output_free(&o);
}
