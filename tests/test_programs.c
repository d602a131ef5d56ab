/* End-to-end: the real-program scenarios (corpora/programs: pigz, xz and
 * memcached as Debian ships them) through the real patchvet binary, with
 * stw-jmp on ptrace for a few schedules each: every one must be SAFE, the
 * program's own oracle passing in every schedule. A scenario whose Debian
 * package is missing is skipped, with a line on stderr saying which
 * (ci/deps.sh installs them).
 *
 * Each schedule runs the program for one to three seconds on every core
 * (about 20 s for the three, with the run without an engine that precedes
 * each campaign), so this runs in the plain build only: under ASan the
 * harness is slower but the programs are the same, and the program mode's
 * parsing and bad input are the program and CLI suites' business. xz-crc32
 * and xz-identity, the same program as xz, are left to corpora/programs/
 * expected. */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN
#define PROGRAMS PV_BUILD_DIR "/corpora/programs/"

/* The programs a scenario runs, NULL-terminated: its target first, then its
 * load driver and oracle tools. */
static int missing(const char *scenario, const char *const *needs)
{
	for (; *needs; needs++)
		if (access(*needs, X_OK)) {
			fprintf(stderr,
			        "test_programs: %s skipped: %s is missing (its Debian package is "
			        "not installed; ci/deps.sh installs it)\n",
			        scenario, *needs);
			return 1;
		}
	return 0;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
	          json_object_to_json_string(o));
	return v;
}

static void stw_jmp_is_safe(const char *name, const char *const *needs)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("the real programs run in the plain build");
#endif
	if (missing(name, needs))
		cr_skip_test("%s: a Debian package is missing", name);
	char scenario[512];
	snprintf(scenario, sizeof scenario, PROGRAMS "%s", name);
	cr_assert_eq(access(scenario, R_OK), 0, "%s is not built (make programs)", scenario);
	char dir[] = "/tmp/pvprog.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--engine", "stw-jmp", "--backend",
	                                    "ptrace", "--scenario", scenario, "--schedules", "2",
	                                    "--seed", "1", "--out", dir, NULL},
	                         120, &o),
	             0);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	char path[300];
	snprintf(path, sizeof path, "%s/results.json", dir);
	struct json_object *j = json_object_from_file(path);
	cr_assert_not_null(j, "no %s\n%s\n%s", path, o.out, o.err);
	struct json_object *results = get(j, "results");
	cr_assert_eq(json_object_array_length(results), 1, "%s", json_object_to_json_string(j));
	struct json_object *r = json_object_array_get_idx(results, 0);
	cr_expect_str_eq(json_object_get_string(get(r, "verdict")), "SAFE", "%s\n%s",
	                 json_object_to_json_string(r), o.out);
	cr_expect_eq(json_object_array_length(get(r, "violations")), 0, "%s",
	             json_object_to_json_string(r));
	cr_expect_eq(json_object_get_int(get(r, "schedules")), 2, "%s",
	             json_object_to_json_string(r));
	json_object_put(j);
	pv_test_output_free(&o);
	free(pv_test_sh("rm -rf %s", dir));
}

Test(programs, pigz_crc32_z_stw_jmp_safe, .timeout = 120)
{
	stw_jmp_is_safe("pigz", (const char *const[]){"/usr/bin/pigz", "/bin/gzip", NULL});
}

Test(programs, xz_lzma_crc64_change_stw_jmp_safe, .timeout = 120)
{
	stw_jmp_is_safe("xz", (const char *const[]){"/usr/bin/xz", NULL});
}

Test(programs, memcached_read_stw_jmp_safe, .timeout = 120)
{
	stw_jmp_is_safe("memcached",
	                (const char *const[]){"/usr/bin/memcached", "/usr/bin/memcaslap", NULL});
}
