/* End-to-end: explorers, shards, merge, jobs, minimize and the story of a
 * replay, through the real patchvet binary. */
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
	cr_assert_eq(pv_test_run(argv, 300, &o), 0, "cannot start %s", argv[0]);
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

static void same_results(const char *a, const char *b)
{
	char *x = comparable(a), *y = comparable(b);
	cr_expect_str_eq(x, y, "%s and %s differ", a, b);
	free(x);
	free(y);
	char *d = pv_test_sh("diff -r %s/repro %s/repro && echo same", a, b);
	cr_expect(strstr(d, "same"), "reproducers differ: %s", d);
	free(d);
}

Test(e2e_explore, pct_catches_no_quiesce_and_states_its_bound)
{
	char *dir = pv_test_tmpdir("pct");
	struct pv_test_output o =
		run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", "no-quiesce",
		                  "--scenario", "counter", "--explore", "pct", "--depth", "2",
		                  "--schedules", "5000", "--seed", "3", "--out", dir, NULL});
	cr_expect_eq(o.status, 1, "exit %d\n%s%s", o.status, o.out, o.err);
	struct json_object *j = results_of(dir);
	cr_expect_str_eq(json_object_get_string(get(j, "explorer")), "pct");
	struct json_object *r = json_object_array_get_idx(get(j, "results"), 0);
	struct json_object *g = get(r, "guarantee");
	cr_expect_eq(json_object_get_int(get(g, "depth")), 2);
	cr_expect_eq(json_object_get_int(get(g, "threads")), 3);
	double per = json_object_get_double(get(g, "per_run"));
	int64_t k = json_object_get_int64(get(g, "steps"));
	cr_expect_gt(k, 10);
	cr_expect_float_eq(per, 1.0 / (3.0 * (double)k), 1e-12);
	cr_expect_gt(json_object_get_double(get(g, "overall")), 0.99);
	cr_expect(strstr(json_object_get_string(get(g, "sentence")), "1/(n*k^(d-1))"));
	struct json_object *cov = get(r, "coverage");
	cr_expect_gt(json_object_get_int64(get(cov, "pairs")), 0);
	json_object_put(j);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(e2e_explore, bounded_exhausts_the_space_for_a_safe_engine)
{
	char *dir = pv_test_tmpdir("bounded");
	struct pv_test_output o =
		run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", "stw-jmp",
		                  "--scenario", "counter", "--explore", "bounded", "--preemptions",
		                  "1", "--out", dir, NULL});
	cr_expect_eq(o.status, 0, "exit %d\n%s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "exhausted"), "the table does not say so:\n%s", o.out);
	struct json_object *j = results_of(dir);
	struct json_object *r = json_object_array_get_idx(get(j, "results"), 0);
	struct json_object *g = get(r, "guarantee");
	cr_expect(json_object_get_boolean(get(g, "exhausted")));
	cr_expect(json_object_get_boolean(get(g, "space_known")));
	cr_expect_eq(json_object_get_int64(get(g, "space")),
	             json_object_get_int64(get(r, "schedules")));
	json_object_put(j);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(e2e_explore, bounded_catches_naive_write)
{
	char *dir = pv_test_tmpdir("bounded-nw");
	struct pv_test_output o =
		run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", "naive-write",
		                  "--scenario", "counter", "--explore", "bounded", "--out", dir, NULL});
	cr_expect_eq(o.status, 1, "exit %d\n%s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "torn-exec"), "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

static void campaign(const char *dir, const char *shard, const char *jobs, const char *explore)
{
	char *argv[32];
	int n = 0;
	char *base[] = {BIN, "run", "--backend", "emu", "--scenario", "counter", "--engine",
	                "stw-jmp", "--engine", "naive-write", "--engine", "no-quiesce", "--engine",
	                "skip-thread", "--seed", "9", "--explore", (char *)explore, "--out",
	                (char *)dir};
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		argv[n++] = base[i];
	/* bounded runs until exhausted: a budget that stops a depth-first
	 * walk part-way is not split the same way by parts. */
	if (strcmp(explore, "bounded")) {
		argv[n++] = "--schedules";
		argv[n++] = "200";
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
	cr_expect_eq(o.status, 1, "%s %s: exit %d\n%s", shard ? shard : "", jobs ? jobs : "",
	             o.status, o.err);
	pv_test_output_free(&o);
}

static void shards_merge_to_the_whole(const char *explore)
{
	char *dir = pv_test_tmpdir("shards");
	char whole[256], s1[256], s2[256], merged[256], j1[256], j2[256];
	snprintf(whole, sizeof(whole), "%s/whole", dir);
	snprintf(s1, sizeof(s1), "%s/s1", dir);
	snprintf(s2, sizeof(s2), "%s/s2", dir);
	snprintf(merged, sizeof(merged), "%s/merged", dir);
	snprintf(j1, sizeof(j1), "%s/s1/results.json", dir);
	snprintf(j2, sizeof(j2), "%s/s2/results.json", dir);
	campaign(whole, NULL, NULL, explore);
	campaign(s1, "1/2", NULL, explore);
	campaign(s2, "2/2", NULL, explore);
	/* text and json, as the runs wrote: the HTML would add each violation's
	 * story to the JSON too. */
	struct pv_test_output o = run_pv(
		(char *[]){BIN, "merge", j2, j1, "--out", merged, "--format", "text,json", NULL});
	cr_expect_eq(o.status, 1, "merge exit %d\n%s%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	same_results(whole, merged);
	/* One part alone is reported as part of a campaign. */
	o = run_pv((char *[]){BIN, "merge", j1, "--out", merged, NULL});
	cr_expect(strstr(o.err, "1 of 2 parts are missing"), "%s", o.err);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(e2e_explore, shards_merge_to_the_unsharded_run_random, .timeout = 240)
{
	shards_merge_to_the_whole("random");
}

Test(e2e_explore, shards_merge_to_the_unsharded_run_bounded, .timeout = 240)
{
	shards_merge_to_the_whole("bounded");
}

Test(e2e_explore, jobs_give_the_results_of_one_process, .timeout = 240)
{
	char *dir = pv_test_tmpdir("jobs");
	char one[256], two[256];
	snprintf(one, sizeof(one), "%s/one", dir);
	snprintf(two, sizeof(two), "%s/two", dir);
	campaign(one, NULL, "1", "pct");
	campaign(two, NULL, "2", "pct");
	same_results(one, two);
	char *left = pv_test_sh("ls -A %s/two | grep -c '^.jobs' || true", dir);
	cr_expect_eq(atoi(left), 0, "the workers' directory was left behind");
	free(left);
	pv_test_rmdir_all(dir);
}

Test(e2e_explore, merge_refuses_parts_of_other_campaigns)
{
	char *dir = pv_test_tmpdir("merge-bad");
	char a[256], b[256], ja[256], jb[256], out[256], junk[256];
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(ja, sizeof(ja), "%s/a/results.json", dir);
	snprintf(jb, sizeof(jb), "%s/b/results.json", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(junk, sizeof(junk), "%s/junk.json", dir);
	struct pv_test_output o =
		run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", "stw-jmp", "--scenario",
		                  "counter", "--schedules", "20", "--seed", "1", "--shard", "1/2",
		                  "--out", a, NULL});
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", "stw-jmp", "--scenario",
	                      "counter", "--schedules", "20", "--seed", "2", "--shard", "2/2",
	                      "--out", b, NULL});
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "merge", ja, jb, "--out", out, NULL});
	cr_expect_eq(o.status, 2, "exit %d", o.status);
	cr_expect(strstr(o.err, "not a part of the same campaign"), "%s", o.err);
	cr_expect_eq(pv_test_count_lines(o.err), 1, "%s", o.err);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "merge", ja, ja, "--out", out, NULL});
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "merged already"), "%s", o.err);
	pv_test_output_free(&o);
	pv_test_spill(junk, "{\"kind\":\"campaign\",\"results\":", 29);
	o = run_pv((char *[]){BIN, "merge", junk, "--out", out, NULL});
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "junk.json"), "%s", o.err);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(e2e_explore, adaptive_explorers_need_the_emulator)
{
	struct pv_test_output o =
		run_pv((char *[]){BIN, "run", "--backend", "ptrace", "--engine", "stw-jmp",
		                  "--explore", "pct", NULL});
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "needs --backend emu"), "%s", o.err);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "run", "--backend", "emu", "--explore", "dfs", NULL});
	cr_expect_eq(o.status, 2);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "run", "--backend", "emu", "--shard", "3/2", NULL});
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "--shard"), "%s", o.err);
	pv_test_output_free(&o);
}

/* minimize: a file that replays to the same check with no more
 * preemptions, whose story is short. */
Test(e2e_explore, minimize_naive_write_and_tell_its_story, .timeout = 240)
{
	char *dir = pv_test_tmpdir("minimize");
	char repro[256], min[256];
	snprintf(repro, sizeof(repro), "%s/repro/naive-write--counter--torn-exec.pvr", dir);
	snprintf(min, sizeof(min), "%s/min.pvr", dir);
	struct pv_test_output o =
		run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", "naive-write",
		                  "--scenario", "counter", "--schedules", "100", "--seed", "1",
		                  "--out", dir, NULL});
	cr_assert_eq(o.status, 1, "%s", o.err);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "replay", repro, "--trace", NULL});
	cr_assert_eq(o.status, 1);
	const char *p = strstr(o.out, " preemptions,");
	cr_assert_not_null(p, "%s", o.out);
	while (p > o.out && p[-1] != ' ')
		p--;
	long before = atol(p);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "minimize", repro, "-o", min, NULL});
	cr_expect_eq(o.status, 0, "%s%s", o.out, o.err);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "replay", min, "--trace", NULL});
	cr_expect_eq(o.status, 1, "%s", o.out);
	cr_expect(strstr(o.out, "reproduced: torn-exec"), "%s", o.out);
	cr_expect(strstr(o.out, "!! torn-exec"), "the story has no violation line:\n%s", o.out);
	cr_expect(strstr(o.out, "=> write"), "the story has no write unit:\n%s", o.out);
	cr_expect(strstr(o.out, "bump+"), "the story has no symbols:\n%s", o.out);
	p = strstr(o.out, " preemptions,");
	cr_assert_not_null(p);
	while (p > o.out && p[-1] != ' ')
		p--;
	cr_expect_leq(atol(p), before, "more preemptions after minimizing");
	const char *story = strstr(o.out, "story (");
	const char *end = strstr(o.out, "\nrun: ");
	cr_assert(story && end);
	size_t lines = 0;
	for (const char *q = story; q < end; q++)
		lines += *q == '\n';
	cr_expect_leq(lines, 60, "the minimized story does not fit on a screen (%zu lines)",
	              lines);
	pv_test_output_free(&o);
	/* The reproducer of another patchvet version is refused. */
	char *sed = pv_test_sh("sed -i 's/^patchvet-version .*/patchvet-version 0.0.9/' %s && "
	                       "grep -c '^patchvet-version 0.0.9' %s", min, min);
	cr_expect_eq(atoi(sed), 1, "the header line changed its form: %s", sed);
	free(sed);
	o = run_pv((char *[]){BIN, "replay", min, NULL});
	cr_expect_eq(o.status, 2, "%s%s", o.out, o.err);
	cr_expect(strstr(o.err, "recorded by patchvet 0.0.9"), "%s", o.err);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}
