/* End-to-end: the real patchvet binary on the real corpora and on bad input.
 * In the ASan test binary PV_PATCHVET_BIN is the sanitized patchvet, so every
 * case here also proves "never a crash, under ASan too". */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <fcntl.h>
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
	cr_assert_eq(pv_test_run(argv, 60, &o), 0, "cannot start %s", argv[0]);
	return o;
}

/* Bad input: exit 2, exactly one line on stderr naming the file, nothing
 * on stdout, no sanitizer report. */
static void expect_input_error(char *const argv[], const char *must_mention)
{
	struct pv_test_output o = run_pv(argv);
	cr_expect_eq(o.status, 2, "exit %d, stderr: %s", o.status, o.err);
	cr_expect_eq(pv_test_count_lines(o.err), 1, "stderr is not one line: %s", o.err);
	cr_expect_str_empty(o.out, "stdout not empty: %s", o.out);
	cr_expect(strstr(o.err, must_mention) != NULL, "'%s' not in: %s", must_mention, o.err);
	cr_expect(strstr(o.err, "patchvet") == o.err, "line does not start with patchvet: %s",
	          o.err);
	pv_test_output_free(&o);
}

static char *write_temp(const char *name, const void *data, size_t len)
{
	char dir[] = "/tmp/pvcli.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void remove_temp(char *path)
{
	unlink(path);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	rmdir(path);
	free(path);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s missing: run make corpora", path);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(*len);
	cr_assert_eq(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static struct json_object *analyze_json(const char *target, const char *patch,
                                        const char *function)
{
	char *argv[10];
	int n = 0;
	argv[n++] = BIN;
	argv[n++] = "analyze";
	argv[n++] = (char *)target;
	if (patch) {
		argv[n++] = "--patch";
		argv[n++] = (char *)patch;
	}
	if (function) {
		argv[n++] = "--function";
		argv[n++] = (char *)function;
	}
	argv[n++] = "--json";
	argv[n] = NULL;
	struct pv_test_output o = run_pv(argv);
	cr_assert_eq(o.status, 0, "analyze %s failed (%d): %s", target, o.status, o.err);
	struct json_object *j = json_tokener_parse(o.out);
	cr_assert_not_null(j, "not JSON: %s", o.out);
	pv_test_output_free(&o);
	return j;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "key '%s' missing", key);
	return v;
}

static bool has_string(struct json_object *arr, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s))
			return true;
	return false;
}

/* Union of the hazards of all functions and the patch in an analyze result. */
static bool result_has_hazard(struct json_object *j, const char *id)
{
	struct json_object *funcs = get(j, "functions");
	for (size_t i = 0; i < json_object_array_length(funcs); i++)
		if (has_string(get(json_object_array_get_idx(funcs, i), "hazards"), id))
			return true;
	struct json_object *patch = NULL;
	return json_object_object_get_ex(j, "patch", &patch) &&
	       has_string(get(patch, "hazards"), id);
}

Test(cli, analyze_non_elf_is_one_line_and_exit_2)
{
	expect_input_error((char *[]){BIN, "analyze", "/etc/passwd", NULL}, "/etc/passwd");
}

Test(cli, analyze_missing_file)
{
	expect_input_error((char *[]){BIN, "analyze", "/nonexistent/target", NULL},
	                   "/nonexistent/target");
}

Test(cli, analyze_truncated_elf)
{
	size_t len;
	unsigned char *b = slurp(PV_CORPUS_TARGET("counter-plain"), &len);
	const size_t cuts[] = {4, 20, 63, 64, 200, len / 3, len / 2, len - 1};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char *p = write_temp("truncated", b, cuts[i]);
		expect_input_error((char *[]){BIN, "analyze", p, NULL}, p);
		remove_temp(p);
	}
	free(b);
}

Test(cli, analyze_32bit_and_foreign_elf)
{
	size_t len;
	unsigned char *b = slurp(PV_CORPUS_TARGET("counter-plain"), &len);
	b[4] = 1; /* EI_CLASS = ELFCLASS32 */
	char *p = write_temp("elf32", b, len);
	expect_input_error((char *[]){BIN, "analyze", p, NULL}, p);
	remove_temp(p);
	b[4] = 2;
	b[18] = 183; /* e_machine = EM_AARCH64 */
	b[19] = 0;
	p = write_temp("aarch64", b, len);
	expect_input_error((char *[]){BIN, "analyze", p, NULL}, p);
	remove_temp(p);
	free(b);
}

Test(cli, analyze_missing_function_names_it)
{
	expect_input_error((char *[]){BIN, "analyze", PV_CORPUS_TARGET("counter-plain"),
	                              "--function", "no_such_function", NULL},
	                   "no_such_function");
}

Test(cli, analyze_patch_without_table)
{
	expect_input_error((char *[]){BIN, "analyze", PV_CORPUS_TARGET("counter-plain"),
	                              "--patch", PV_CORPUS_TARGET("counter-plain"), NULL},
	                   ".patchvet.funcs");
}

Test(cli, usage_errors_exit_2)
{
	expect_input_error((char *[]){BIN, "analyze", NULL}, "TARGET");
	expect_input_error((char *[]){BIN, "analyze", "--bogus", "x", NULL}, "--bogus");
	expect_input_error((char *[]){BIN, "frobnicate", NULL}, "frobnicate");
	expect_input_error((char *[]){BIN, "list", "nothing", NULL}, "nothing");
	expect_input_error((char *[]){BIN, "run", "--engine", "no-such-engine", NULL},
	                   "no-such-engine");
	expect_input_error((char *[]){BIN, "run", "--scenario", "no-such-scenario", NULL},
	                   "no-such-scenario");
}

Test(cli, help_and_version)
{
	struct pv_test_output o = run_pv((char *[]){BIN, "--help", NULL});
	cr_expect_eq(o.status, 0);
	cr_expect(strstr(o.out, "analyze") && strstr(o.out, "list"));
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "--version", NULL});
	cr_expect_eq(o.status, 0);
	cr_expect(strncmp(o.out, "patchvet ", 9) == 0, "%s", o.out);
	pv_test_output_free(&o);
	o = run_pv((char *[]){BIN, "analyze", "--help", NULL});
	cr_expect_eq(o.status, 0);
	cr_expect(strstr(o.out, "--function") != NULL);
	pv_test_output_free(&o);
}

Test(cli, list_checks_has_every_design_id)
{
	static const char *const ids[] = {
		"crash", "torn-exec", "xmc-unsynced", "consistency", "ineffective",
		"state-mem", "state-regs", "state-os", "syscall-disrupted", "rollback-bytes",
		"rollback-leak", "use-after-revert", "liveness", "target-verify"};
	struct pv_test_output o = run_pv((char *[]){BIN, "list", "checks", NULL});
	cr_assert_eq(o.status, 0);
	cr_expect_eq(pv_test_count_lines(o.out), sizeof(ids) / sizeof(ids[0]));
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "%s ", ids[i]);
		cr_expect(strstr(o.out, needle) != NULL, "check %s not listed", ids[i]);
	}
	pv_test_output_free(&o);
}

Test(cli, list_scenarios_shows_builtins)
{
	struct pv_test_output o = run_pv((char *[]){BIN, "list", "scenarios", NULL});
	cr_assert_eq(o.status, 0, "%s", o.err);
	static const char *const names[] = {"counter-fix", "counter-identity",
	                                    "prologue-branch", "tiny", "datachange"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect(strstr(o.out, names[i]) != NULL, "%s not listed:\n%s", names[i], o.out);
	pv_test_output_free(&o);
}

Test(cli, analyze_json_has_documented_keys)
{
	struct json_object *j = analyze_json(PV_CORPUS_TARGET("counter-plain"),
	                                     PV_CORPUS_PATCH("counter-fix"), "bump");
	cr_expect_str_eq(json_object_get_string(get(j, "target")),
	                 PV_CORPUS_TARGET("counter-plain"));
	cr_expect_eq(strlen(json_object_get_string(get(j, "build_id"))), 40);
	struct json_object *funcs = get(j, "functions");
	cr_assert_eq(json_object_array_length(funcs), 1);
	struct json_object *f = json_object_array_get_idx(funcs, 0);
	static const char *const keys[] = {"name", "address", "size", "boundaries",
	                                   "first_insn_len", "padding_before", "endbr64",
	                                   "fentry", "rip_relative", "hazards"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		get(f, keys[i]);
	cr_expect_str_eq(json_object_get_string(get(f, "name")), "bump");
	cr_expect_eq(json_object_get_int(json_object_array_get_idx(get(f, "boundaries"), 0)), 0);
	struct json_object *patch = get(j, "patch");
	struct json_object *reps = get(patch, "replacements");
	cr_assert_geq(json_object_array_length(reps), 1);
	cr_expect_str_eq(json_object_get_string(get(json_object_array_get_idx(reps, 0), "old")),
	                 "bump");
	get(json_object_array_get_idx(reps, 0), "new");
	cr_expect_eq(json_object_array_length(get(patch, "hazards")), 0);
	json_object_put(j);
}

Test(cli, acceptance_hazards_and_prologue_facts)
{
	struct json_object *j = analyze_json(PV_CORPUS_TARGET("prologue-branch-plain"),
	                                     PV_CORPUS_PATCH("prologue-branch-fix"), NULL);
	cr_expect(result_has_hazard(j, "branch-into-prologue"));
	json_object_put(j);

	j = analyze_json(PV_CORPUS_TARGET("tiny-plain"), PV_CORPUS_PATCH("tiny-fix"), NULL);
	cr_expect(result_has_hazard(j, "too-short"));
	json_object_put(j);

	j = analyze_json(PV_CORPUS_TARGET("datachange-plain"), PV_CORPUS_PATCH("datachange"),
	                 NULL);
	cr_expect(result_has_hazard(j, "data-layout-change"));
	json_object_put(j);

	j = analyze_json(PV_CORPUS_TARGET("counter-pad"), NULL, "bump");
	struct json_object *f = json_object_array_get_idx(get(j, "functions"), 0);
	cr_expect_geq(json_object_get_int(get(f, "padding_before")), 14);
	json_object_put(j);

	j = analyze_json(PV_CORPUS_TARGET("counter-fentry"), NULL, "bump");
	f = json_object_array_get_idx(get(j, "functions"), 0);
	cr_expect(json_object_get_boolean(get(f, "fentry")));
	json_object_put(j);

	j = analyze_json(PV_CORPUS_TARGET("counter-cet"), NULL, "bump");
	f = json_object_array_get_idx(get(j, "functions"), 0);
	cr_expect(json_object_get_boolean(get(f, "endbr64")));
	json_object_put(j);

	/* and the plain build has none of those */
	j = analyze_json(PV_CORPUS_TARGET("counter-plain"), NULL, "bump");
	f = json_object_array_get_idx(get(j, "functions"), 0);
	cr_expect(!json_object_get_boolean(get(f, "endbr64")));
	cr_expect(!json_object_get_boolean(get(f, "fentry")));
	cr_expect_eq(json_object_array_length(get(f, "hazards")), 0);
	json_object_put(j);
}

Test(cli, run_default_campaign_matches_expected)
{
#if defined(__SANITIZE_ADDRESS__)
	/* The whole catalogue is several minutes under ASan; the plain build
	 * runs it, and the sanitized one runs every engine in the e2e suites. */
	cr_skip_test("the default campaign runs in the plain build");
#endif
	char dir[] = "/tmp/pvrun.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	/* The whole catalogue: about 3.5 minutes alone on 2 busy cores, longer
	 * with the other suites beside it. */
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--out", dir, NULL}, 480, &o), 0);
	cr_expect_eq(o.status, 0, "run exit %d:\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "UNEXPECTED") == NULL, "%s", o.out);
	char path[256];
	snprintf(path, sizeof(path), "%s/report.json", dir);
	struct json_object *j = json_object_from_file(path);
	cr_assert_not_null(j, "no JSON report at %s", path);
	struct json_object *sum = get(j, "summary");
	cr_expect_gt(json_object_get_int(get(sum, "results")), 5);
	cr_expect_eq(json_object_get_int(get(sum, "unexpected")), 0);
	json_object_put(j);
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	cr_expect_eq(access(path, R_OK), 0);
	/* the verdict lines of corpora/expected ran too, all as expected */
	snprintf(path, sizeof(path), "%s/results.json", dir);
	j = json_object_from_file(path);
	cr_assert_not_null(j, "no results at %s", path);
	sum = get(j, "summary");
	cr_expect_geq(json_object_get_int(get(sum, "results")), 3);
	cr_expect_eq(json_object_get_int(get(sum, "unexpected")), 0);
	cr_expect_geq(json_object_get_int(get(sum, "unsafe")), 2, "the mutants are caught");
	json_object_put(j);
	cr_expect(strstr(o.out, "naive-write") && strstr(o.out, "as expected"), "%s", o.out);
	/* and the emu verdict lines gave the very results they gave before */
	pv_test_behaviour_compare(dir, "default-campaign");
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
	pv_test_output_free(&o);
}

/* A wrong expectation must turn into exit 1 and an UNEXPECTED line: the
 * comparison with corpora/expected really compares. */
Test(cli, run_reports_unexpected_results)
{
	char dir[] = "/tmp/pvdata.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "cp -r %s/. %s/ && sed -i 's/^analysis[ \\t]\\+tiny[ \\t]\\+plain[ \\t].*/"
	         "analysis tiny plain none/' %s/expected && grep -q '^analysis tiny plain none' "
	         "%s/expected",
	         PV_DATA_DIR, dir, dir, dir);
	cr_assert_eq(system(cmd), 0, "could not prepare a modified corpus");
	setenv("PATCHVET_DATA", dir, 1);
	char out[256];
	snprintf(out, sizeof(out), "%s/out", dir);
	/* Only the scenario concerned: the whole catalogue is slow under ASan. */
	struct pv_test_output o =
		run_pv((char *[]){BIN, "run", "--scenario", "tiny", "--out", out, NULL});
	unsetenv("PATCHVET_DATA");
	cr_expect_eq(o.status, 1, "exit %d:\n%s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "UNEXPECTED") != NULL, "%s", o.out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
	pv_test_output_free(&o);
}

/* An engine verdict that differs from its verdict line is exit 1 too. */
Test(cli, run_reports_unexpected_verdicts)
{
	char dir[] = "/tmp/pvdata.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char cmd[1024];
	/* The emu lines suffice (the ptrace ones would only add minutes). */
	snprintf(cmd, sizeof(cmd),
	         "cp -r %s/. %s/ && sed -i 's/^verdict[ \\t]\\+counter[ \\t]\\+stw-jmp[ \\t]\\+emu[ \\t].*/"
	         "verdict counter stw-jmp emu UNSAFE/; /^verdict.*[ \\t]ptrace[ \\t]/d' %s/expected && "
	         "grep -q '^verdict counter stw-jmp emu UNSAFE' %s/expected",
	         PV_DATA_DIR, dir, dir, dir);
	cr_assert_eq(system(cmd), 0, "could not prepare a modified corpus");
	setenv("PATCHVET_DATA", dir, 1);
	char out[256];
	snprintf(out, sizeof(out), "%s/out", dir);
	struct pv_test_output o =
		run_pv((char *[]){BIN, "run", "--scenario", "counter", "--schedules", "200", "--out",
		                  out, NULL});
	unsetenv("PATCHVET_DATA");
	cr_expect_eq(o.status, 1, "exit %d:\n%s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "UNEXPECTED: expected UNSAFE") != NULL, "%s", o.out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
	pv_test_output_free(&o);
}
