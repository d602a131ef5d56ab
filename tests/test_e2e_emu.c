/* End-to-end: the real patchvet binary running engine campaigns on the emu
 * backend, and replaying what they found. */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN

static struct pv_test_output run_pv(char *const argv[])
{
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 300, &o), 0, "cannot start %s", argv[0]);
	return o;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

struct tmp {
	char dir[64];
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/pve2e.XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
}

static void tmp_clean(struct tmp *t)
{
	nftw(t->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "key '%s' missing in %s", key,
	          json_object_to_json_string(o));
	return v;
}

static struct json_object *results_of(const char *dir)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/results.json", dir);
	struct json_object *j = json_object_from_file(path);
	cr_assert_not_null(j, "no JSON at %s", path);
	return j;
}

/* The result for engine and scenario in results.json. */
static struct json_object *result_for(struct json_object *j, const char *engine,
                                      const char *scenario)
{
	struct json_object *rs = get(j, "results");
	for (size_t i = 0; i < json_object_array_length(rs); i++) {
		struct json_object *r = json_object_array_get_idx(rs, i);
		if (!strcmp(json_object_get_string(get(r, "engine")), engine) &&
		    !strcmp(json_object_get_string(get(r, "scenario")), scenario))
			return r;
	}
	cr_assert_fail("no result for %s on %s", engine, scenario);
	return NULL;
}

/* patchvet run --backend emu --engine E --scenario S... --schedules N --seed 1 */
static struct pv_test_output campaign(const char *engine, const char *s1, const char *s2,
                                      const char *schedules, const char *out)
{
	char *argv[20];
	int n = 0;
	argv[n++] = BIN;
	argv[n++] = "run";
	argv[n++] = "--backend";
	argv[n++] = "emu";
	argv[n++] = "--engine";
	argv[n++] = (char *)engine;
	argv[n++] = "--scenario";
	argv[n++] = (char *)s1;
	if (s2) {
		argv[n++] = "--scenario";
		argv[n++] = (char *)s2;
	}
	argv[n++] = "--schedules";
	argv[n++] = (char *)schedules;
	argv[n++] = "--seed";
	argv[n++] = "1";
	argv[n++] = "--out";
	argv[n++] = (char *)out;
	argv[n] = NULL;
	return run_pv(argv);
}

Test(e2e_emu, stw_jmp_is_safe_on_counter_with_both_patches)
{
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = campaign("stw-jmp", "counter", "counter-identity", "2000", t.dir);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "SAFE") != NULL, "%s", o.out);
	struct json_object *j = results_of(t.dir);
	static const char *const scenarios[] = {"counter", "counter-identity"};
	for (size_t i = 0; i < 2; i++) {
		struct json_object *r = result_for(j, "stw-jmp", scenarios[i]);
		cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "SAFE", "%s",
		                 json_object_to_json_string(r));
		cr_expect_eq(json_object_get_int64(get(r, "schedules")), 2000);
		cr_expect_eq(json_object_array_length(get(r, "violations")), 0);
		/* the verdict means something only if the patch went in */
		cr_expect_gt(json_object_get_int64(get(r, "applied")), 1000, "%s",
		             json_object_to_json_string(r));
		cr_expect_str_eq(json_object_get_string(get(r, "backend")), "emu");
	}
	cr_expect_gt(json_object_get_double(get(j, "schedules_per_second")), 0);
	json_object_put(j);
	pv_test_output_free(&o);
	tmp_clean(&t);
}

/* A mutant: UNSAFE with torn-exec or crash; its reproducer replays to the
 * same check (exit 1), and a damaged copy is refused (exit 2). */
static void mutant_is_caught(const char *engine)
{
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = campaign(engine, "counter", NULL, "2000", t.dir);
	cr_expect_eq(o.status, 1, "%s: exit %d\n%s\n%s", engine, o.status, o.out, o.err);
	pv_test_output_free(&o);
	struct json_object *j = results_of(t.dir);
	struct json_object *r = result_for(j, engine, "counter");
	cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "UNSAFE");
	struct json_object *vs = get(r, "violations");
	const char *check = NULL, *repro = NULL;
	for (size_t i = 0; i < json_object_array_length(vs); i++) {
		struct json_object *v = json_object_array_get_idx(vs, i);
		const char *c = json_object_get_string(get(v, "check"));
		if (!check && (!strcmp(c, "torn-exec") || !strcmp(c, "crash"))) {
			check = c;
			repro = json_object_get_string(get(v, "reproducer"));
		}
	}
	cr_assert_not_null(check, "%s: neither torn-exec nor crash in %s", engine,
	                   json_object_to_json_string(vs));
	cr_assert_not_null(repro, "%s: no reproducer for %s", engine, check);

	char path[256];
	snprintf(path, sizeof(path), "%s/%s", t.dir, repro);
	o = run_pv((char *[]){BIN, "replay", path, NULL});
	cr_expect_eq(o.status, 1, "%s: replay exit %d\n%s\n%s", engine, o.status, o.out, o.err);
	char want[64];
	snprintf(want, sizeof(want), "reproduced: %s", check);
	cr_expect(strstr(o.out, want) != NULL, "%s: '%s' not in:\n%s", engine, want, o.out);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "replay", path, "--trace", NULL});
	cr_expect_eq(o.status, 1, "%s: replay --trace exit %d", engine, o.status);
	cr_expect(strstr(o.out, "violation: ") != NULL, "%s", o.out);
	pv_test_output_free(&o);

	/* damaged copies: exit 2 and one line naming the file */
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	char text[16384];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	char bad[300];
	snprintf(bad, sizeof(bad), "%s/bad.pvr", t.dir);
	for (int kind = 0; kind < 4; kind++) {
		char copy[16384];
		memcpy(copy, text, len + 1);
		size_t clen = len;
		const char *mention = bad;
		if (kind == 0) {
			clen = len / 2; /* truncated */
		} else if (kind == 1) {
			char *hex = strstr(copy, "\nend\n");
			cr_assert_not_null(hex);
			hex[-1] = 'z'; /* bad hex */
		} else if (kind == 2) {
			copy[strlen("patchvet-reproducer ")] = '9'; /* another version */
		} else {
			char *sha = strstr(copy, "target-sha256 ");
			cr_assert_not_null(sha);
			sha += strlen("target-sha256 ");
			sha[0] = sha[0] == '0' ? '1' : '0'; /* other binaries */
			mention = "recorded for other binaries";
		}
		f = fopen(bad, "wb");
		fwrite(copy, 1, clen, f);
		fclose(f);
		o = run_pv((char *[]){BIN, "replay", bad, NULL});
		cr_expect_eq(o.status, 2, "%s: damage %d: exit %d\n%s%s", engine, kind, o.status,
		             o.out, o.err);
		cr_expect_eq(pv_test_count_lines(o.err), 1, "damage %d: %s", kind, o.err);
		cr_expect(strstr(o.err, mention) != NULL, "damage %d: '%s' not in %s", kind, mention,
		          o.err);
		cr_expect_str_empty(o.out, "damage %d: %s", kind, o.out);
		pv_test_output_free(&o);
	}
	json_object_put(j);
	tmp_clean(&t);
}

Test(e2e_emu, naive_write_is_caught_and_replays)
{
	mutant_is_caught("naive-write");
}

Test(e2e_emu, no_quiesce_is_caught_and_replays)
{
	mutant_is_caught("no-quiesce");
}

Test(e2e_emu, one_seed_gives_identical_results)
{
	struct tmp a, b;
	tmp_make(&a);
	tmp_make(&b);
	for (int i = 0; i < 2; i++) {
		struct pv_test_output o = run_pv((char *[]){
			BIN, "run", "--backend", "emu", "--scenario", "counter", "--schedules", "500",
			"--seed", "7", "--out", i ? b.dir : a.dir, NULL});
		cr_expect_eq(o.status, 1, "exit %d\n%s", o.status, o.err);
		pv_test_output_free(&o);
	}
	struct json_object *ja = results_of(a.dir), *jb = results_of(b.dir);
	/* every built-in engine ran */
	cr_expect_geq(json_object_array_length(get(ja, "results")), 3);
	static const char *const timing[] = {"schedules_per_second", "elapsed_seconds"};
	for (size_t i = 0; i < 2; i++) {
		json_object_object_del(ja, timing[i]);
		json_object_object_del(jb, timing[i]);
	}
	cr_expect_str_eq(json_object_to_json_string(ja), json_object_to_json_string(jb));
	json_object_put(ja);
	json_object_put(jb);
	/* and the reproducers are the same files */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "diff -r %s/repro %s/repro >/dev/null", a.dir, b.dir);
	cr_expect_eq(system(cmd), 0, "reproducers differ between two runs of one seed");
	tmp_clean(&a);
	tmp_clean(&b);
}

Test(e2e_emu, refusals_are_verdicts_not_failures)
{
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = run_pv((char *[]){
		BIN, "run", "--backend", "emu", "--engine", "stw-jmp", "--scenario", "tiny",
		"--scenario", "prologue-branch", "--scenario", "datachange", "--schedules", "10",
		"--out", t.dir, NULL});
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	struct json_object *j = results_of(t.dir);
	static const char *const sc[] = {"tiny", "prologue-branch", "datachange"};
	static const char *const why[] = {"too-short", "branch-into-prologue",
	                                  "data-layout-change"};
	for (size_t i = 0; i < 3; i++) {
		struct json_object *r = result_for(j, "stw-jmp", sc[i]);
		cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "REFUSED", "%s: %s", sc[i],
		                 json_object_to_json_string(r));
		const char *reason = json_object_get_string(get(r, "reason"));
		cr_expect(reason && strstr(reason, why[i]), "%s: reason %s", sc[i], reason);
	}
	json_object_put(j);
	pv_test_output_free(&o);
	tmp_clean(&t);
}

static void expect_input_error(char *const argv[], const char *must_mention)
{
	struct pv_test_output o = run_pv(argv);
	cr_expect_eq(o.status, 2, "exit %d, stderr: %s", o.status, o.err);
	cr_expect_eq(pv_test_count_lines(o.err), 1, "stderr is not one line: %s", o.err);
	cr_expect_str_empty(o.out, "stdout not empty: %s", o.out);
	cr_expect(strstr(o.err, must_mention) != NULL, "'%s' not in: %s", must_mention, o.err);
	pv_test_output_free(&o);
}

Test(e2e_emu, bad_input_is_exit_2)
{
	expect_input_error((char *[]){BIN, "run", "--backend", "emu", "--engine", "nope", NULL},
	                   "nope");
	expect_input_error((char *[]){BIN, "run", "--backend", "emu", "--scenario", "nope", NULL},
	                   "nope");
	expect_input_error((char *[]){BIN, "run", "--backend", "qemu", NULL}, "qemu");
	expect_input_error((char *[]){BIN, "run", "--backend", "emu", "--schedules", "0", NULL},
	                   "--schedules");
	expect_input_error((char *[]){BIN, "run", "--backend", "emu", "--seed", "-1", NULL},
	                   "--seed");
	expect_input_error((char *[]){BIN, "run", "--backend", "emu", "--flavour", "odd", NULL},
	                   "odd");
	expect_input_error((char *[]){BIN, "replay", "/nonexistent/x.pvr", NULL},
	                   "/nonexistent/x.pvr");
	expect_input_error((char *[]){BIN, "replay", NULL}, "REPRO");
	expect_input_error((char *[]){BIN, "replay", "/etc/passwd", NULL}, "/etc/passwd");
}

Test(e2e_emu, list_engines_shows_the_catalogue)
{
	struct pv_test_output o = run_pv((char *[]){BIN, "list", "engines", NULL});
	cr_expect_eq(o.status, 0);
	static const char *const names[] = {"stw-jmp", "naive-write", "no-quiesce"};
	for (size_t i = 0; i < 3; i++)
		cr_expect(strstr(o.out, names[i]) != NULL, "%s not in:\n%s", names[i], o.out);
	cr_expect(strstr(o.out, "defect:") != NULL, "%s", o.out);
	pv_test_output_free(&o);
}

/* ------------------------------------------------------------ reference engines */

/* The reference engines on the scenarios of their layouts (and
 * where they refuse), with the mutants of those scenarios, compared with
 * corpora/expected by the default campaign: every line as expected. */
Test(e2e_emu, reference_engines_match_the_expected_matrix)
{
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = run_pv((char *[]){
		BIN, "run", "--scenario", "counter-pad", "--scenario", "counter-fentry", "--scenario",
		"hotpatch", "--scenario", "nested", "--schedules", "300", "--out", t.dir, NULL});
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "0 unexpected") != NULL, "%s", o.out);
	struct json_object *j = results_of(t.dir);
	static const struct {
		const char *engine, *scenario, *verdict, *flavour;
	} want[] = {
		{"pulp", "counter-pad", "SAFE", "pad"},
		{"hotpatch-pad", "counter-pad", "REFUSED", "pad"},
		{"int3-live", "counter-fentry", "SAFE", "fentry"},
		{"klp", "counter-fentry", "SAFE", "fentry"},
		{"got", "counter-fentry", "REFUSED", "fentry"},
		/* its atomic store over running code: xmc-unsynced (docs/engines.md) */
		{"hotpatch-pad", "hotpatch", "UNSAFE", "plain"},
		{"klp", "nested", "SAFE", "fentry"},
		{"int3-live", "nested", "UNSAFE", "fentry"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct json_object *r = result_for(j, want[i].engine, want[i].scenario);
		cr_expect_str_eq(json_object_get_string(get(r, "verdict")), want[i].verdict, "%s: %s",
		                 want[i].engine, json_object_to_json_string(r));
		cr_expect_str_eq(json_object_get_string(get(r, "flavour")), want[i].flavour, "%s",
		                 want[i].engine);
		if (!strcmp(want[i].verdict, "SAFE"))
			cr_expect_gt(json_object_get_int64(get(r, "applied")), 150, "%s: %s",
			             want[i].engine, json_object_to_json_string(r));
	}
	json_object_put(j);
	pv_test_output_free(&o);
	tmp_clean(&t);
}

/* A mutant the emulator's checks catch now: exit 1, UNSAFE with its check. */
static void mutant_caught_by(const char *engine, const char *scenario, const char *check)
{
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = campaign(engine, scenario, NULL, "500", t.dir);
	cr_expect_eq(o.status, 1, "%s: exit %d\n%s\n%s", engine, o.status, o.out, o.err);
	pv_test_output_free(&o);
	struct json_object *j = results_of(t.dir);
	struct json_object *r = result_for(j, engine, scenario);
	cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "UNSAFE", "%s", engine);
	struct json_object *vs = get(r, "violations");
	bool found = false;
	for (size_t i = 0; i < json_object_array_length(vs); i++)
		found |= !strcmp(json_object_get_string(get(json_object_array_get_idx(vs, i),
		                                            "check")), check);
	cr_expect(found, "%s on %s: no %s in %s", engine, scenario, check,
	          json_object_to_json_string(vs));
	json_object_put(j);
	tmp_clean(&t);
}

Test(e2e_emu, skip_thread_is_caught_by_consistency)
{
	mutant_caught_by("skip-thread", "counter", "consistency");
}

/* The one mutant of a `call` engine that moves a thread between versions
 * inside a call (exit 1, consistency among the violations). */
Test(e2e_emu, pc_migrate_is_caught_by_consistency_for_call)
{
	mutant_caught_by("pc-migrate", "counter-pad", "consistency");
}

Test(e2e_emu, bad_revert_is_caught_by_rollback_bytes)
{
	mutant_caught_by("bad-revert", "counter", "rollback-bytes");
}

Test(e2e_emu, free_early_is_caught_by_use_after_revert)
{
	mutant_caught_by("free-early", "counter-fentry", "use-after-revert");
}

Test(e2e_emu, no_stack_check_is_caught_by_consistency_on_nested)
{
	mutant_caught_by("no-stack-check", "nested", "consistency");
}

Test(e2e_emu, no_stack_check_also_fails_target_verify_on_nested)
{
	mutant_caught_by("no-stack-check", "nested", "target-verify");
}

Test(e2e_emu, leaky_is_caught_by_rollback_leak)
{
	mutant_caught_by("leaky", "counter-fentry", "rollback-leak");
}

Test(e2e_emu, no_sync_is_caught_by_xmc_unsynced)
{
	mutant_caught_by("no-sync", "counter-fentry", "xmc-unsynced");
}

Test(e2e_emu, no_op_is_caught_by_ineffective)
{
	mutant_caught_by("no-op", "counter", "ineffective");
}

Test(e2e_emu, no_resume_is_caught_by_liveness)
{
	mutant_caught_by("no-resume", "counter", "liveness");
}

Test(e2e_emu, hotpatch_pad_store_is_xmc_unsynced)
{
	mutant_caught_by("hotpatch-pad", "hotpatch", "xmc-unsynced");
}

Test(e2e_emu, a_campaign_without_engine_leaves_out_ptrace_only_engines)
{
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = run_pv((char *[]){
		BIN, "run", "--backend", "emu", "--scenario", "tiny", "--schedules", "5", "--out",
		t.dir, NULL});
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	struct json_object *j = results_of(t.dir);
	struct json_object *rs = get(j, "results");
	cr_expect_geq(json_object_array_length(rs), 15);
	for (size_t i = 0; i < json_object_array_length(rs); i++) {
		const char *e = json_object_get_string(get(json_object_array_get_idx(rs, i), "engine"));
		cr_expect(strcmp(e, "redzone") && strcmp(e, "clobber") && strcmp(e, "hijack-jmp"),
		          "ptrace-only %s ran on emu", e);
	}
	json_object_put(j);
	pv_test_output_free(&o);
	tmp_clean(&t);
}

/* ------------------------------------------------------------ plugins */

/* Builds docs/examples/stw-engine into dir/name with make, as an engine
 * author would (only include/ on the include path). */
static void build_example(const char *dir, const char *name, const char *abi)
{
	free(pv_test_sh("make -s -C %s/docs/examples/stw-engine PATCHVET_INCLUDE=%s/include "
	                "OUT=%s/%s %s%s 2>&1",
	                PV_SOURCE_DIR, PV_SOURCE_DIR, dir, name, abi ? "EXAMPLE_ABI_VERSION=" : "",
	                abi ? abi : ""));
}

Test(e2e_emu, example_plugin_engine_is_safe_on_counter)
{
	struct tmp t;
	tmp_make(&t);
	build_example(t.dir, "example-stw.so", NULL);
	char so[128];
	snprintf(so, sizeof(so), "%s/example-stw.so", t.dir);
	struct pv_test_output o = campaign(so, "counter", NULL, "300", t.dir);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	struct json_object *j = results_of(t.dir);
	struct json_object *r = result_for(j, "example-stw", "counter");
	cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "SAFE", "%s",
	                 json_object_to_json_string(r));
	cr_expect_gt(json_object_get_int64(get(r, "applied")), 150);
	json_object_put(j);
	pv_test_output_free(&o);
	tmp_clean(&t);
}

Test(e2e_emu, plugin_for_another_abi_is_refused)
{
	struct tmp t;
	tmp_make(&t);
	build_example(t.dir, "abi99.so", "99");
	char so[128];
	snprintf(so, sizeof(so), "%s/abi99.so", t.dir);
	struct pv_test_output o = run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", so,
	                                            "--scenario", "counter", "--out", t.dir, NULL});
	cr_expect_eq(o.status, 2, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect_eq(pv_test_count_lines(o.err), 1, "%s", o.err);
	cr_expect(strstr(o.err, "ABI 99") && strstr(o.err, "ABI 1"), "both versions not in: %s",
	          o.err);
	cr_expect(strstr(o.err, so) != NULL, "%s", o.err);
	pv_test_output_free(&o);
	/* not a shared object, or none at all: exit 2 as well */
	o = run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", "/etc/passwd", NULL});
	cr_expect_eq(o.status, 2, "exit %d: %s", o.status, o.err);
	cr_expect_eq(pv_test_count_lines(o.err), 1, "%s", o.err);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", "/nonexistent/x.so", NULL});
	cr_expect_eq(o.status, 2, "exit %d: %s", o.status, o.err);
	cr_expect(strstr(o.err, "/nonexistent/x.so") != NULL, "%s", o.err);
	pv_test_output_free(&o);
	tmp_clean(&t);
}

/* A plugin whose struct is larger than this patchvet's: its unknown tail
 * zero loads; non-zero is refused with one line, exit 2. */
Test(e2e_emu, plugin_with_unknown_members_loads_only_when_they_are_zero)
{
	struct tmp t;
	tmp_make(&t);
	for (int v = 0; v < 2; v++) {
		free(pv_test_sh("cc -std=c17 -fPIC -shared -I%s/include -DTAIL_VALUE=%d "
		                "-o %s/tail%d.so %s/tests/data/engines/tail-engine.c 2>&1",
		                PV_SOURCE_DIR, v, t.dir, v, PV_SOURCE_DIR));
		char so[160];
		snprintf(so, sizeof(so), "%s/tail%d.so", t.dir, v);
		struct pv_test_output o =
			run_pv((char *[]){BIN, "run", "--backend", "emu", "--engine", so, "--scenario",
			                  "counter", "--schedules", "5", "--out", t.dir, NULL});
		if (v == 0) {
			/* it loads and runs (it patches nothing: ineffective, exit 1) */
			cr_expect(o.status == 0 || o.status == 1, "exit %d\n%s", o.status, o.err);
			cr_expect(strstr(o.out, "test-tail") != NULL, "%s", o.out);
		} else {
			cr_expect_eq(o.status, 2, "exit %d\n%s\n%s", o.status, o.out, o.err);
			cr_expect_eq(pv_test_count_lines(o.err), 1, "%s", o.err);
			cr_expect(strstr(o.err, "does not know") && strstr(o.err, so), "%s", o.err);
		}
		pv_test_output_free(&o);
	}
	tmp_clean(&t);
}

/* ------------------------------------------------------------ where strategies differ */

static int64_t field_int(struct json_object *r, const char *key)
{
	return json_object_get_int64(get(r, key));
}

/* got finds bump's GOT slot in gotcall (every call goes through it) and is
 * SAFE there; gotcall-direct also calls bump directly: ineffective. */
Test(e2e_emu, got_redirects_the_got_and_misses_direct_calls)
{
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = campaign("got", "gotcall", NULL, "300", t.dir);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	struct json_object *j = results_of(t.dir);
	struct json_object *r = result_for(j, "got", "gotcall");
	cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "SAFE", "%s",
	                 json_object_to_json_string(r));
	cr_expect_eq(field_int(r, "applied"), 300, "%s", json_object_to_json_string(r));
	json_object_put(j);
	tmp_clean(&t);
	mutant_caught_by("got", "gotcall-direct", "ineffective");
}

/* busy: serve never leaves the stack while its worker runs. ksplice and klp
 * give up cleanly (SAFE, most schedules not applied); int3-live's entry
 * redirect applies every time. */
Test(e2e_emu, busy_makes_the_waiting_engines_give_up_cleanly)
{
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = run_pv((char *[]){
		BIN, "run", "--backend", "emu", "--engine", "ksplice", "--engine", "klp", "--engine",
		"int3-live", "--scenario", "busy", "--schedules", "100", "--out", t.dir, NULL});
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	struct json_object *j = results_of(t.dir);
	static const char *const waiting[] = {"ksplice", "klp"};
	for (size_t i = 0; i < 2; i++) {
		struct json_object *r = result_for(j, waiting[i], "busy");
		cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "SAFE", "%s",
		                 json_object_to_json_string(r));
		cr_expect_gt(field_int(r, "gave_up"), 80, "%s", json_object_to_json_string(r));
	}
	struct json_object *r = result_for(j, "int3-live", "busy");
	cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "SAFE");
	cr_expect_eq(field_int(r, "applied"), 100, "%s", json_object_to_json_string(r));
	json_object_put(j);
	tmp_clean(&t);
}

/* recursion: a chain in progress switched at the entry mixes levels (a
 * `call` engine: target-verify); klp switches a thread only with no depth
 * on its stack. */
Test(e2e_emu, recursion_separates_call_from_thread_consistency)
{
	mutant_caught_by("int3-live", "recursion", "target-verify");
	struct tmp t;
	tmp_make(&t);
	struct pv_test_output o = campaign("klp", "recursion", "fptr", "200", t.dir);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	tmp_clean(&t);
}

/* busy's own check: a patch that breaks step (corpora/patches/busy-wrong.c)
 * makes pv_verify fail, whatever the engine does right. */
Test(e2e_emu, busy_verify_rejects_a_wrong_step)
{
	struct tmp t;
	tmp_make(&t);
	char path[128];
	snprintf(path, sizeof(path), "%s/scenario.ini", t.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("[scenario]\ntarget = busy\npatch = busy-wrong\nflavours = fentry\n"
	      "backends = emu\n[workload]\nworkers = 2\niterations = 40\nparam = 0\n", f);
	fclose(f);
	char out[128];
	snprintf(out, sizeof(out), "%s/out", t.dir);
	struct pv_test_output o = campaign("int3-live", path, NULL, "20", out);
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "target-verify") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	tmp_clean(&t);
}
