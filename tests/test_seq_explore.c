/* Sequences under the adaptive explorers: pct and bounded answer
 * the choices of every step of a lifecycle run, one run of the whole
 * sequence being one schedule; pct's k counts the choices of all steps,
 * bounded's tree holds the preemption alternatives of all steps. Correct
 * engines stay SAFE, stack-clobber and klp-stack-clobber are caught, a
 * bounded space is exhausted, and --jobs / --shard give the results of one
 * process. */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN

static struct pv_test_output run_pv(char *const argv[])
{
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 200, &o), 0, "cannot start %s", argv[0]);
	return o;
}

static struct json_object *results_of(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/results.json", dir);
	struct json_object *j = json_object_from_file(path);
	cr_assert_not_null(j, "no JSON at %s", path);
	return j;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "key '%s' missing in %.400s", key,
	          json_object_to_json_string(o));
	return v;
}

/* One engine on a stacking scenario: its exit status and output. */
static struct pv_test_output seq_run(const char *engine, const char *scenario,
                                     const char *explore, const char *knob, const char *value,
                                     const char *schedules, const char *dir)
{
	return run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", (char *)engine,
	                         "--scenario", (char *)scenario, "--explore", (char *)explore,
	                         (char *)knob, (char *)value, "--schedules", (char *)schedules,
	                         "--seed", "5", "--out", (char *)dir, NULL});
}

Test(seq_explore, pct_runs_every_step_of_a_pulp_sequence, .timeout = 120)
{
	char *dir = pv_test_tmpdir("seq-pct");
	struct pv_test_output o =
		seq_run("pulp", "counter-stack", "pct", "--depth", "2", "300", dir);
	cr_expect_eq(o.status, 0, "exit %d\n%s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "step 3 revert:counter-fix: live bump=counter-fix2"), "%s", o.out);
	cr_expect(strstr(o.out, "step 4 revert-all: live bump=original"), "%s", o.out);
	struct json_object *j = results_of(dir);
	cr_expect_str_eq(json_object_get_string(get(j, "explorer")), "pct");
	struct json_object *r = json_object_array_get_idx(get(j, "results"), 0);
	cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "SAFE");
	/* k: the choices of the default run of the whole sequence. */
	struct json_object *g = get(r, "guarantee");
	int64_t k = json_object_get_int64(get(g, "steps"));
	cr_expect_gt(k, 10);
	cr_expect_float_eq(json_object_get_double(get(g, "per_run")), 1.0 / (3.0 * (double)k),
	                   1e-12);
	json_object_put(j);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(seq_explore, pct_catches_both_stack_clobbers, .timeout = 120)
{
	static const struct {
		const char *engine, *scenario, *says;
	} cases[] = {
		{"stack-clobber", "counter-stack", "stack-clobber on counter-stack: rollback-bytes"},
		{"klp-stack-clobber", "counter-stack-fentry",
		 "klp-stack-clobber on counter-stack-fentry: ineffective"},
	};
	for (size_t i = 0; i < 2; i++) {
		char *dir = pv_test_tmpdir("seq-pct");
		struct pv_test_output o =
			seq_run(cases[i].engine, cases[i].scenario, "pct", "--depth", "2", "100", dir);
		cr_expect_eq(o.status, 1, "%s: exit %d\n%s%s", cases[i].engine, o.status, o.out,
		             o.err);
		cr_expect(strstr(o.out, cases[i].says), "%s", o.out);
		pv_test_output_free(&o);
		pv_test_rmdir_all(dir);
	}
}

/* --preemptions 1 over a sequence: every schedule with at most one
 * preemption anywhere in its four steps, a finite tree walked to its end. */
static void expect_exhausted(const char *engine, const char *scenario, const char *verdict,
                             int status)
{
	char *dir = pv_test_tmpdir("seq-bounded");
	struct pv_test_output o =
		seq_run(engine, scenario, "bounded", "--preemptions", "1", "5000", dir);
	cr_expect_eq(o.status, status, "%s: exit %d\n%s%s", engine, o.status, o.out, o.err);
	cr_expect(strstr(o.out, "is exhausted, every schedule ran (100.0%)"), "%s", o.out);
	struct json_object *j = results_of(dir);
	struct json_object *r = json_object_array_get_idx(get(j, "results"), 0);
	cr_expect_str_eq(json_object_get_string(get(r, "verdict")), verdict, "%s", engine);
	struct json_object *g = get(r, "guarantee");
	cr_expect(json_object_get_boolean(get(g, "exhausted")), "%s", engine);
	cr_expect(json_object_get_boolean(get(g, "space_known")), "%s", engine);
	int64_t space = json_object_get_int64(get(g, "space"));
	cr_expect_eq(space, json_object_get_int64(get(r, "schedules")), "%s", engine);
	cr_expect_gt(space, 1, "%s: only the baseline", engine);
	json_object_put(j);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(seq_explore, bounded_exhausts_a_sequence, .timeout = 120)
{
	expect_exhausted("pulp", "counter-stack", "SAFE", 0);
	expect_exhausted("klp", "counter-stack-fentry", "SAFE", 0);
}

Test(seq_explore, bounded_catches_both_stack_clobbers, .timeout = 120)
{
	expect_exhausted("stack-clobber", "counter-stack", "UNSAFE", 1);
	expect_exhausted("klp-stack-clobber", "counter-stack-fentry", "UNSAFE", 1);
}

/* ------------------------------------------------------- parts agree */

/* results.json without what depends on timing. */
static char *comparable(const char *dir)
{
	struct json_object *j = results_of(dir);
	json_object_object_del(j, "schedules_per_second");
	json_object_object_del(j, "elapsed_seconds");
	char *s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
	json_object_put(j);
	return s;
}

static void campaign(const char *dir, const char *explore, const char *shard,
                     const char *jobs)
{
	char *argv[32] = {BIN, "run", "--backend", "emu", "--scenario", "counter-stack",
	                  "--engine", "pulp", "--engine", "stack-clobber", "--seed", "9",
	                  "--explore", (char *)explore, "--out", (char *)dir};
	int n = 16;
	/* bounded runs until exhausted (a budget would cut parts differently). */
	if (strcmp(explore, "bounded")) {
		argv[n++] = "--schedules";
		argv[n++] = "150";
	}
	if (shard) {
		argv[n++] = "--shard";
		argv[n++] = (char *)shard;
	}
	if (jobs) {
		argv[n++] = "--jobs";
		argv[n++] = (char *)jobs;
	}
	argv[n] = NULL;
	struct pv_test_output o = run_pv(argv);
	cr_expect_eq(o.status, 1, "%s %s %s: exit %d\n%s", explore, shard ? shard : "",
	             jobs ? jobs : "", o.status, o.err);
	pv_test_output_free(&o);
}

static void expect_same(const char *a, const char *b)
{
	char *x = comparable(a), *y = comparable(b);
	cr_expect_str_eq(x, y, "%s and %s differ", a, b);
	free(x);
	free(y);
}

Test(seq_explore, shards_and_jobs_of_a_sequence_give_one_result, .timeout = 240)
{
	char *dir = pv_test_tmpdir("seq-parts");
	char whole[256], s1[256], s2[256], j1[256], j2[256], merged[256], one[256], two[256];
	snprintf(whole, sizeof(whole), "%s/whole", dir);
	snprintf(s1, sizeof(s1), "%s/s1", dir);
	snprintf(s2, sizeof(s2), "%s/s2", dir);
	snprintf(j1, sizeof(j1), "%s/s1/results.json", dir);
	snprintf(j2, sizeof(j2), "%s/s2/results.json", dir);
	snprintf(merged, sizeof(merged), "%s/merged", dir);
	snprintf(one, sizeof(one), "%s/one", dir);
	snprintf(two, sizeof(two), "%s/two", dir);
	campaign(whole, "bounded", NULL, NULL);
	campaign(s1, "bounded", "1/2", NULL);
	campaign(s2, "bounded", "2/2", NULL);
	struct pv_test_output o = run_pv(
		(char *[]){BIN, "merge", j2, j1, "--out", merged, "--format", "text,json", NULL});
	cr_expect_eq(o.status, 1, "merge exit %d\n%s%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	expect_same(whole, merged);
	campaign(one, "pct", NULL, "1");
	campaign(two, "pct", NULL, "2");
	expect_same(one, two);
	pv_test_rmdir_all(dir);
}
