/* Suite `certify`: `patchvet certify` writes a certificate whose hashes are
 * those of the files run, `--verify` confirms it, refuses a changed patch
 * with one line naming it, and refutes a verdict that no longer holds. The
 * corpora are copied, so changing a patch byte touches nothing shared. */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

struct fx {
	char *dir;       /* the test's directory */
	char data[512];  /* its copy of the corpora */
	char cert[512];  /* DIR/c/certificate.json */
};

static void setup(struct fx *x)
{
	x->dir = pv_test_tmpdir("certify");
	snprintf(x->data, sizeof(x->data), "%s/corpora", x->dir);
	snprintf(x->cert, sizeof(x->cert), "%s/c/certificate.json", x->dir);
	free(pv_test_sh("cp -r '%s' '%s'", PV_DATA_DIR, x->data));
}

/* Runs patchvet with the copied corpora; stdout and stderr together, and
 * the exit status on the last line as "status N". */
static char *patchvet(const struct fx *x, const char *args)
{
	return pv_test_sh("PATCHVET_DATA='%s' '%s' %s 2>&1; echo status $?", x->data,
	                  PV_PATCHVET_BIN, args);
}

static void certify(const struct fx *x, const char *extra)
{
	char args[1024];
	snprintf(args, sizeof(args), "certify --engine stw-jmp --scenario counter --schedules 100 "
	                             "--out '%s/c' %s",
	         x->dir, extra);
	char *out = patchvet(x, args);
	cr_assert(strstr(out, "status 0\n") != NULL, "%s", out);
	cr_expect(strstr(out, "certificate: ") != NULL, "%s", out);
	free(out);
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "key '%s' missing", key);
	return v;
}

static char *sha256sum(const char *path)
{
	char *s = pv_test_sh("sha256sum '%s' | cut -c1-64", path);
	s[strcspn(s, "\n")] = '\0';
	return s;
}

Test(certify, certificate_hashes_what_ran_and_verify_confirms, .timeout = 180)
{
	struct fx x;
	setup(&x);
	certify(&x, "--format md,html");
	struct json_object *j = json_object_from_file(x.cert);
	cr_assert_not_null(j);
	cr_expect_str_eq(json_object_get_string(get(j, "schema")), "patchvet-certificate/1");
	struct json_object *patch = get(j, "patch"), *target = get(j, "target");
	const char *patch_file = json_object_get_string(get(patch, "file"));
	cr_expect(strncmp(patch_file, x.data, strlen(x.data)) == 0, "%s", patch_file);
	char *h = sha256sum(patch_file);
	cr_expect_str_eq(json_object_get_string(get(patch, "sha256")), h);
	free(h);
	h = sha256sum(json_object_get_string(get(target, "file")));
	cr_expect_str_eq(json_object_get_string(get(target, "sha256")), h);
	free(h);
	struct json_object *engine = get(j, "engine");
	cr_expect_str_eq(json_object_get_string(get(engine, "kind")), "built-in");
	h = sha256sum(PV_PATCHVET_BIN);
	cr_expect_str_eq(json_object_get_string(get(engine, "sha256")), h,
	                 "a built-in engine is the patchvet binary");
	free(h);
	cr_expect_eq(json_object_get_int(get(j, "seed")), 1);
	cr_expect_eq(json_object_get_int(get(j, "schedules")), 100);
	struct json_object *v = json_object_array_get_idx(get(j, "verdicts"), 0);
	cr_expect_str_eq(json_object_get_string(get(v, "verdict")), "SAFE");
	const char *cmd = json_object_get_string(get(j, "command"));
	cr_expect(strstr(cmd, "certify --engine stw-jmp --scenario counter --backend emu "
	                      "--flavour plain --schedules 100 --seed 1 --out ") != NULL, "%s", cmd);
	cr_expect_str_eq(json_object_get_string(get(get(j, "campaign"), "schema")),
	                 "patchvet-results/1");
	/* Every key of the certificate is documented. */
	size_t n;
	char *doc = (char *)pv_test_slurp(PV_SOURCE_DIR "/docs/report-schema.md", &n);
	doc = realloc(doc, n + 1);
	cr_assert_not_null(doc);
	doc[n] = '\0';
	json_object_object_foreach(j, key, val) {
		char quoted[80];
		snprintf(quoted, sizeof(quoted), "`%s`", key);
		cr_expect(strstr(doc, quoted) != NULL, "certificate key %s is not documented", quoted);
		if (json_object_is_type(val, json_type_object) && strcmp(key, "campaign")) {
			json_object_object_foreach(val, k2, v2) {
				(void)v2;
				snprintf(quoted, sizeof(quoted), "`%s`", k2);
				cr_expect(strstr(doc, quoted) != NULL, "certificate key %s.%s is not "
				                                       "documented", key, quoted);
			}
		}
	}
	free(doc);
	char p[600];
	struct stat st;
	snprintf(p, sizeof(p), "%s/c/certificate.html", x.dir);
	cr_expect_eq(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/c/certificate.md", x.dir);
	char *md = (char *)pv_test_slurp(p, &(size_t){0});
	cr_expect(strstr(md, "| patch SHA-256 | `") != NULL, "the hashes are shown");
	free(md);

	/* The recorded command is exact: run as it stands, it certifies again. */
	char *again = pv_test_sh("PATCHVET_DATA='%s' %s >/dev/null 2>&1; echo status $?", x.data,
	                         cmd);
	cr_expect_str_eq(again, "status 0\n");
	free(again);
	json_object_put(j);

	char args[600];
	snprintf(args, sizeof(args), "certify --verify '%s'", x.cert);
	char *out = patchvet(&x, args);
	cr_expect(strstr(out, "confirmed: ") != NULL, "%s", out);
	cr_expect(strstr(out, "status 0\n") != NULL, "%s", out);
	free(out);
	pv_test_rmdir_all(x.dir);
}

Test(certify, a_changed_patch_byte_is_refused_with_one_line, .timeout = 180)
{
	struct fx x;
	setup(&x);
	certify(&x, "");
	struct json_object *j = json_object_from_file(x.cert);
	cr_assert_not_null(j);
	struct json_object *patch = get(j, "patch");
	char file[512], old[65];
	snprintf(file, sizeof(file), "%s", json_object_get_string(get(patch, "file")));
	snprintf(old, sizeof(old), "%s", json_object_get_string(get(patch, "sha256")));
	json_object_put(j);
	/* One byte of the patch, flipped in place. */
	free(pv_test_sh("printf '\\x5a' | dd of='%s' bs=1 seek=200 conv=notrunc 2>/dev/null",
	                file));
	char *now = sha256sum(file);
	cr_assert_str_neq(now, old);
	char args[600];
	snprintf(args, sizeof(args), "certify --verify '%s'", x.cert);
	char *out = patchvet(&x, args);
	cr_expect(strstr(out, "status 2\n") != NULL, "%s", out);
	cr_expect_eq(pv_test_count_lines(out), 2, "one line, then the status: %s", out);
	cr_expect(strstr(out, file) && strstr(out, old) && strstr(out, now) &&
	          strstr(out, "has changed"), "%s", out);
	cr_expect(strstr(out, "confirmed") == NULL);
	free(out);
	free(now);
	pv_test_rmdir_all(x.dir);
}

Test(certify, a_verdict_that_no_longer_holds_is_refuted, .timeout = 180)
{
	struct fx x;
	setup(&x);
	certify(&x, "");
	/* The certificate claims what the run will not find again. */
	struct json_object *j = json_object_from_file(x.cert);
	cr_assert_not_null(j);
	struct json_object *v = json_object_array_get_idx(get(j, "verdicts"), 0);
	json_object_object_add(v, "verdict", json_object_new_string("UNSAFE"));
	struct json_object *checks = json_object_new_array();
	json_object_array_add(checks, json_object_new_string("torn-exec"));
	json_object_object_add(v, "checks", checks);
	cr_assert_eq(json_object_to_file(x.cert, j), 0);
	json_object_put(j);
	char args[600];
	snprintf(args, sizeof(args), "certify --verify '%s'", x.cert);
	char *out = patchvet(&x, args);
	cr_expect(strstr(out, "status 1\n") != NULL, "%s", out);
	cr_expect(strstr(out, "refuted: ") != NULL, "%s", out);
	cr_expect(strstr(out, "stw-jmp on counter (emu): certified UNSAFE (torn-exec), now SAFE") !=
	          NULL, "%s", out);
	free(out);
	pv_test_rmdir_all(x.dir);
}

Test(certify, bad_input_is_exit_2)
{
	struct fx x = {.dir = pv_test_tmpdir("certify-usage")};
	snprintf(x.data, sizeof(x.data), "%s", PV_DATA_DIR);
	char *out = patchvet(&x, "certify --engine stw-jmp");
	cr_expect(strstr(out, "--scenario are both required") && strstr(out, "status 2\n"), "%s",
	          out);
	free(out);
	char args[1200], notcert[600];
	snprintf(notcert, sizeof(notcert), "%s/x.json", x.dir);
	pv_test_spill(notcert, "{\"schema\": \"patchvet-results/1\"}", 32);
	snprintf(args, sizeof(args), "certify --verify '%s'", notcert);
	out = patchvet(&x, args);
	cr_expect(strstr(out, "schema 'patchvet-results/1'") && strstr(out, "status 2\n"), "%s",
	          out);
	free(out);
	out = patchvet(&x, "certify --verify /nonexistent/certificate.json");
	cr_expect(strstr(out, "no such certificate") && strstr(out, "status 2\n"), "%s", out);
	free(out);
	pv_test_rmdir_all(x.dir);
}

Test(certify, a_plugin_engine_is_certified_by_its_own_hash, .timeout = 180)
{
	struct fx x;
	setup(&x);
	char so[600];
	snprintf(so, sizeof(so), "%s/example-stw.so", x.dir);
	free(pv_test_sh("make -s -C %s/docs/examples/stw-engine PATCHVET_INCLUDE=%s/include "
	                "OUT=%s 2>&1",
	                PV_SOURCE_DIR, PV_SOURCE_DIR, so));
	char args[1400];
	snprintf(args, sizeof(args), "certify --engine '%s' --scenario counter --schedules 50 "
	                             "--out '%s/c'", so, x.dir);
	char *out = patchvet(&x, args);
	cr_assert(strstr(out, "status 0\n") != NULL, "%s", out);
	free(out);
	struct json_object *j = json_object_from_file(x.cert);
	cr_assert_not_null(j);
	struct json_object *engine = get(j, "engine");
	cr_expect_str_eq(json_object_get_string(get(engine, "kind")), "plugin");
	cr_expect_str_eq(json_object_get_string(get(engine, "file")), so);
	char *h = sha256sum(so);
	cr_expect_str_eq(json_object_get_string(get(engine, "sha256")), h);
	json_object_put(j);
	/* A changed engine is a different engine. */
	free(pv_test_sh("printf 'X' >> '%s'", so));
	snprintf(args, sizeof(args), "certify --verify '%s'", x.cert);
	out = patchvet(&x, args);
	cr_expect(strstr(out, "status 2\n") && strstr(out, "the certified engine") &&
	          strstr(out, so) && strstr(out, h), "%s", out);
	free(out);
	free(h);
	pv_test_rmdir_all(x.dir);
}
