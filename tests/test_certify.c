/* Suite `certify`: `patchvet certify` writes a certificate whose hashes are
 * those of the files run, `--verify` confirms it, refuses a changed patch
 * with one line naming it, and refutes a verdict that no longer holds; the
 * certificate states the overhead with its verdicts, `--verify` measures it
 * again. The corpora are copied, so changing a patch byte touches nothing
 * shared. Most tests skip native timing (--overhead-time 0): the emu
 * instruction count then judges the CPU claim, and on counter's ~23
 * instructions an operation the patched path's +9 REFUTE it (exit 1). */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../reports/certificate.h"
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

/* stw-jmp on counter, emu figures only unless extra says otherwise; the
 * output, asserted to end in `status want`. */
static char *certify_out(const struct fx *x, const char *extra, int want)
{
	char args[1024], status[32];
	snprintf(args, sizeof(args), "certify --engine stw-jmp --scenario counter --schedules 100 "
	                             "--out '%s/c' %s",
	         x->dir, extra);
	char *out = patchvet(x, args);
	snprintf(status, sizeof(status), "status %d\n", want);
	cr_assert(strstr(out, status) != NULL, "%s", out);
	cr_expect(strstr(out, "certificate: ") != NULL, "%s", out);
	return out;
}

static void certify(const struct fx *x, const char *extra)
{
	free(certify_out(x, extra, 1));
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
	char *made = certify_out(&x, "--overhead-time 0 --format text,json,junit,md,html", 1);
	cr_expect(strstr(made, "overhead: REFUTED against 2.00% (CPU claim judged by redirect: "
	                       "REFUTED: +4.41 % (exact)") != NULL, "%s", made);
	free(made);
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
	                      "--flavour plain --schedules 100 --seed 1 --overhead-time 0 --out ") !=
	          NULL, "%s", cmd);
	/* The overhead: exact emu figures, and the verdict they give. */
	struct json_object *ov = get(j, "overhead");
	cr_expect_str_eq(json_object_get_string(get(ov, "verdict")), "REFUTED");
	cr_expect_str_eq(json_object_get_string(get(ov, "judged_by")), "redirect");
	cr_expect_float_eq(json_object_get_double(get(ov, "time_seconds")), 0, 1e-9);
	struct json_object *figs = get(ov, "figures");
	cr_assert_eq(json_object_array_length(figs), 3);
	struct json_object *ins = json_object_array_get_idx(figs, 0);
	cr_expect_str_eq(json_object_get_string(get(ins, "figure")), "instructions");
	cr_expect_float_eq(json_object_get_double(get(ins, "estimate")), 100.0 * 9 / 22.6625, 0.05,
	                   "22.66 -> 31.66 instructions an operation");
	cr_expect_float_eq(json_object_get_double(get(ins, "lo")),
	                   json_object_get_double(get(ins, "estimate")), 1e-12, "exact");
	/* Of the 9 more, the engine's jmp is 1: the rest is the -fPIC patch. */
	struct json_object *red = json_object_array_get_idx(figs, 1);
	cr_expect_str_eq(json_object_get_string(get(red, "figure")), "redirect");
	cr_expect_float_eq(json_object_get_double(get(red, "estimate")), 100.0 * 1 / 22.6625, 0.05,
	                   "stw-jmp adds one jmp an operation");
	cr_expect_str_eq(json_object_get_string(get(red, "verdict")), "REFUTED");
	struct json_object *mem = json_object_array_get_idx(figs, 2);
	cr_expect_str_eq(json_object_get_string(get(mem, "figure")), "memory-growth-emu");
	cr_expect_str_eq(json_object_get_string(get(mem, "verdict")), "SUPPORTED");
	/* ... and in the embedded campaign, so every rendering shows them. */
	struct json_object *r0 = json_object_array_get_idx(get(get(j, "campaign"), "results"), 0);
	cr_expect_eq(json_object_array_length(get(r0, "overhead")), 3);
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
	cr_expect(strstr(md, "| overhead verdict | `REFUTED against 2.00%") != NULL, "%s", md);
	cr_expect(strstr(md, "| stw-jmp | counter | emu | instructions | **REFUTED** |") != NULL,
	          "%s", md);
	free(md);
	snprintf(p, sizeof(p), "%s/c/certificate.html", x.dir);
	char *html = (char *)pv_test_slurp(p, &(size_t){0});
	cr_expect(strstr(html, "<svg class=\"overhead-plot\"") != NULL, "the plot");
	free(html);
	const char *more[] = {"certificate.txt", "certificate.xml"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/c/%s", x.dir, more[i]);
		cr_expect_eq(stat(p, &st), 0, "%s: --format text,junit", more[i]);
	}
	/* JUnit: the certificate stands by its overhead, a REFUTED figure fails. */
	snprintf(p, sizeof(p), "%s/c/certificate.xml", x.dir);
	char *lint = pv_test_sh("xmllint --noout '%s' 2>&1; echo status $?", p);
	cr_expect_str_eq(lint, "status 0\n");
	free(lint);
	char *xml = (char *)pv_test_slurp(p, &(size_t){0});
	cr_expect(strstr(xml, "tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"0\"") != NULL,
	          "%s", xml);
	cr_expect(strstr(xml, "<testsuite name=\"patchvet.overhead\" tests=\"3\" failures=\"2\"") &&
	          strstr(xml, "name=\"stw-jmp on counter: instructions (emu)\">\n      <failure "
	                      "type=\"REFUTED\""), "%s", xml);
	free(xml);
	snprintf(p, sizeof(p), "%s/c/certificate.txt", x.dir);
	char *txt = (char *)pv_test_slurp(p, &(size_t){0});
	cr_expect(strstr(txt, "stw-jmp on counter: overhead memory-growth-emu SUPPORTED") != NULL);
	free(txt);

	/* The recorded command is exact: run as it stands, it certifies again. */
	char *again = pv_test_sh("PATCHVET_DATA='%s' %s >/dev/null 2>&1; echo status $?", x.data,
	                         cmd);
	cr_expect_str_eq(again, "status 1\n", "the overhead is REFUTED again");
	free(again);
	json_object_put(j);

	char args[600];
	snprintf(args, sizeof(args), "certify --verify '%s'", x.cert);
	char *out = patchvet(&x, args);
	cr_expect(strstr(out, "confirmed: ") != NULL, "%s", out);
	cr_expect(strstr(out, "overhead REFUTED again") != NULL, "%s", out);
	cr_expect(strstr(out, "status 0\n") != NULL, "%s", out);
	free(out);
	pv_test_rmdir_all(x.dir);
}

Test(certify, a_changed_patch_byte_is_refused_with_one_line, .timeout = 180)
{
	struct fx x;
	setup(&x);
	certify(&x, "--overhead-time 0");
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
	certify(&x, "--overhead-time 0");
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
	                             "--overhead-time 0 --out '%s/c'", so, x.dir);
	char *out = patchvet(&x, args);
	cr_assert(strstr(out, "status 1\n") && strstr(out, "overhead: REFUTED"), "%s", out);
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

/* ------------------------------------------------------------- overhead */

static struct pv_overhead_figure fig(const char *name, double est, double lo, double hi,
                                     enum pv_claim claim)
{
	struct pv_overhead_figure g = {.measured = true, .est = est, .lo = lo, .hi = hi,
	                               .threshold = 2, .claim = claim};
	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.unit, sizeof(g.unit), "%s", strncmp(name, "memory", 6) ? "%" : "KiB/cycle");
	return g;
}

Test(certify, the_overhead_verdict_follows_from_the_figures)
{
	struct pv_cert_overhead o = {0};
	/* Native CPU judges the claim when measured, over the emu count. */
	o.figures[0] = fig("cpu", 0.4, -0.5, 1.3, PV_CLAIM_SUPPORTED);
	o.figures[1] = fig("instructions", 39.7, 39.7, 39.7, PV_CLAIM_REFUTED);
	o.figures[2] = fig("memory-growth-emu", 0, 0, 0, PV_CLAIM_SUPPORTED);
	o.nfigures = 3;
	pv_certificate_overhead_judge(&o);
	cr_expect(o.judged);
	cr_expect_eq(o.verdict, PV_CLAIM_SUPPORTED);
	cr_expect_str_eq(o.judged_by, "cpu");
	o.figures[0].claim = PV_CLAIM_INCONCLUSIVE;
	pv_certificate_overhead_judge(&o);
	cr_expect_eq(o.verdict, PV_CLAIM_INCONCLUSIVE, "an interval holding 2% settles nothing");
	/* Without native CPU, the exact count judges it. */
	o.figures[0].measured = false;
	pv_certificate_overhead_judge(&o);
	cr_expect_eq(o.verdict, PV_CLAIM_REFUTED);
	cr_expect_str_eq(o.judged_by, "instructions");
	/* With the split, the engine's own instructions judge it, not the
	 * patch's code. */
	o.figures[3] = fig("redirect", 0.5, 0.5, 0.5, PV_CLAIM_SUPPORTED);
	o.nfigures = 4;
	pv_certificate_overhead_judge(&o);
	cr_expect_eq(o.verdict, PV_CLAIM_SUPPORTED);
	cr_expect_str_eq(o.judged_by, "redirect");
	o.nfigures = 3;
	/* A leak refutes whatever the CPU says. */
	o.figures[0] = fig("cpu", 0.4, -0.5, 1.3, PV_CLAIM_SUPPORTED);
	o.figures[2] = fig("memory-growth-emu", 4, 4, 4, PV_CLAIM_REFUTED);
	pv_certificate_overhead_judge(&o);
	cr_expect_eq(o.verdict, PV_CLAIM_REFUTED);
	/* Nothing measured: no verdict. */
	for (size_t i = 0; i < 3; i++)
		o.figures[i].measured = false;
	pv_certificate_overhead_judge(&o);
	cr_expect_not(o.judged);
}

/* leaky leaves a 4 KiB trampoline behind at every revert: its certificate's
 * overhead is REFUTED by memory growth, certify exits 1, and --verify finds
 * the same again. */
Test(certify, a_leaking_engine_gets_a_refuted_overhead_and_exit_1, .timeout = 180)
{
	struct fx x;
	setup(&x);
	char args[1024];
	snprintf(args, sizeof(args), "certify --engine leaky --scenario counter --flavour fentry "
	                             "--schedules 50 --overhead-time 0 --out '%s/c'", x.dir);
	char *out = patchvet(&x, args);
	cr_expect(strstr(out, "status 1\n") != NULL, "%s", out);
	cr_expect(strstr(out, "leaky on counter: overhead memory-growth-emu REFUTED: +4.00 "
	                      "KiB/cycle (exact)") != NULL, "%s", out);
	free(out);
	struct json_object *j = json_object_from_file(x.cert);
	cr_assert_not_null(j);
	struct json_object *ov = get(j, "overhead");
	cr_expect_str_eq(json_object_get_string(get(ov, "verdict")), "REFUTED");
	struct json_object *figs = get(ov, "figures");
	bool leak = false;
	for (size_t i = 0; i < json_object_array_length(figs); i++) {
		struct json_object *g = json_object_array_get_idx(figs, i);
		if (strcmp(json_object_get_string(get(g, "figure")), "memory-growth-emu"))
			continue;
		leak = !strcmp(json_object_get_string(get(g, "verdict")), "REFUTED") &&
		       json_object_get_double(get(g, "estimate")) == 4.0;
	}
	cr_expect(leak, "memory-growth-emu REFUTED at 4 KiB/cycle");
	json_object_put(j);
	snprintf(args, sizeof(args), "certify --verify '%s'", x.cert);
	out = patchvet(&x, args);
	cr_expect(strstr(out, "confirmed: ") && strstr(out, "overhead REFUTED again") &&
	          strstr(out, "status 0\n"), "%s", out);
	free(out);
	pv_test_rmdir_all(x.dir);
}

/* Sets figure `name`'s estimate, interval and verdict in a certificate. */
static void set_figure(struct json_object *ov, const char *name, double v, const char *verdict)
{
	struct json_object *figs = get(ov, "figures");
	for (size_t i = 0; i < json_object_array_length(figs); i++) {
		struct json_object *g = json_object_array_get_idx(figs, i);
		if (strcmp(json_object_get_string(get(g, "figure")), name))
			continue;
		json_object_object_add(g, "estimate", json_object_new_double(v));
		json_object_object_add(g, "lo", json_object_new_double(v));
		json_object_object_add(g, "hi", json_object_new_double(v));
		json_object_object_add(g, "verdict", json_object_new_string(verdict));
		return;
	}
	cr_assert_fail("no figure %s", name);
}

/* An exact figure that is not measured again is refuted; a statistical one
 * near its threshold, or not measurable here, is unsettled, not refuted; a
 * stored verdict its figures do not give is an edited certificate; an old
 * certificate without overhead is verified on its verdicts. */
Test(certify, verify_compares_the_overhead_as_its_figures_allow, .timeout = 180)
{
	struct fx x;
	setup(&x);
	certify(&x, "--overhead-time 0");
	char args[1024], cert2[600];
	snprintf(args, sizeof(args), "certify --verify '%s'", x.cert);
	struct json_object *j = json_object_from_file(x.cert);
	cr_assert_not_null(j);
	struct json_object *ov = get(j, "overhead");
	/* the count as measured, to the digit the JSON keeps: the engine's
	 * share (redirect) judges the claim in emu */
	double est = json_object_get_double(
		get(json_object_array_get_idx(get(ov, "figures"), 1), "estimate"));
	cr_assert_gt(est, 4.4);
	/* Edited figure, verdict left: refused as edited. */
	set_figure(ov, "redirect", 1.0, "SUPPORTED");
	cr_assert_eq(json_object_to_file(x.cert, j), 0);
	char *out = patchvet(&x, args);
	cr_expect(strstr(out, "overhead.verdict says REFUTED, but its figures make it SUPPORTED") &&
	          strstr(out, "status 2\n"), "%s", out);
	free(out);
	/* Edited consistently: the re-measured count refutes it. */
	json_object_object_add(ov, "verdict", json_object_new_string("SUPPORTED"));
	cr_assert_eq(json_object_to_file(x.cert, j), 0);
	out = patchvet(&x, args);
	cr_expect(strstr(out, "refuted: ") && strstr(out, "status 1\n"), "%s", out);
	cr_expect(strstr(out, "  overhead redirect: certified SUPPORTED: +1.00 % (exact) vs "
	                      "threshold 2.00 %, now REFUTED: +4.41 % (exact)") != NULL, "%s", out);
	free(out);
	/* A native cpu figure near the threshold, not measured by this verify
	 * (time_seconds 0): unsettled, and the rest confirmed. */
	struct json_object *figs = get(ov, "figures");
	struct json_object *cpu = json_tokener_parse(
		"{\"figure\": \"cpu\", \"measured\": true, \"verdict\": \"INCONCLUSIVE\", "
		"\"estimate\": 0.5, \"lo\": -1.0, \"hi\": 2.5, \"threshold\": 2, \"unit\": \"%\", "
		"\"note\": \"\"}");
	cr_assert_not_null(cpu);
	json_object_array_add(figs, cpu);
	json_object_object_add(ov, "verdict", json_object_new_string("INCONCLUSIVE"));
	json_object_object_add(ov, "judged_by", json_object_new_string("cpu"));
	set_figure(ov, "redirect", est, "REFUTED");
	snprintf(cert2, sizeof(cert2), "%s/c/edited.json", x.dir);
	cr_assert_eq(json_object_to_file(cert2, j), 0);
	snprintf(args, sizeof(args), "certify --verify '%s'", cert2);
	out = patchvet(&x, args);
	cr_expect(strstr(out, "unsettled: ") && strstr(out, "overhead cpu: certified INCONCLUSIVE") &&
	          strstr(out, "not a refutation"), "%s", out);
	cr_expect(strstr(out, "confirmed: ") && strstr(out, "status 0\n"), "%s", out);
	free(out);
	/* Made before certificates carried overhead figures: no overhead to compare. */
	json_object_object_del(j, "overhead");
	cr_assert_eq(json_object_to_file(cert2, j), 0);
	out = patchvet(&x, args);
	cr_expect(strstr(out, "confirmed: ") && strstr(out, "states no overhead") &&
	          strstr(out, "status 0\n"), "%s", out);
	free(out);
	json_object_put(j);
	/* A bad --overhead-time is a usage error. */
	out = patchvet(&x, "certify --engine stw-jmp --scenario counter --overhead-time -1");
	cr_expect(strstr(out, "--overhead-time wants seconds") && strstr(out, "status 2\n"), "%s",
	          out);
	free(out);
	pv_test_rmdir_all(x.dir);
}

/* Native timing: a cpu figure with a real interval, and --verify measures
 * it again (same verdict, or unsettled near the threshold; never refuted
 * unless SUPPORTED and REFUTED swap, which a 0.4% difference does not do). */
Test(certify, native_cpu_overhead_is_measured_and_measured_again, .timeout = 240)
{
	struct fx x;
	setup(&x);
	char args[1024];
	snprintf(args, sizeof(args), "certify --engine stw-jmp --scenario counter --schedules 50 "
	                             "--overhead-time 2 --out '%s/c'", x.dir);
	char *out = patchvet(&x, args);
	struct json_object *j = json_object_from_file(x.cert);
	cr_assert_not_null(j, "%s", out);
	struct json_object *ov = get(j, "overhead");
	const char *verdict = json_object_get_string(get(ov, "verdict"));
	cr_expect_str_eq(json_object_get_string(get(ov, "judged_by")), "cpu");
	cr_expect(strstr(out, strcmp(verdict, "REFUTED") ? "status 0\n" : "status 1\n") != NULL,
	          "exit status follows the overhead verdict %s: %s", verdict, out);
	free(out);
	struct json_object *figs = get(ov, "figures");
	bool cpu = false, native_mem = false;
	for (size_t i = 0; i < json_object_array_length(figs); i++) {
		struct json_object *g = json_object_array_get_idx(figs, i);
		const char *name = json_object_get_string(get(g, "figure"));
		if (!strcmp(name, "cpu")) {
			cpu = json_object_get_boolean(get(g, "measured"));
			cr_expect_lt(json_object_get_double(get(g, "lo")),
			             json_object_get_double(get(g, "hi")), "a statistical interval");
		}
		native_mem |= !strcmp(name, "memory-growth");
	}
	cr_expect(cpu && native_mem, "native cpu and memory figures");
	json_object_put(j);
	snprintf(args, sizeof(args), "certify --verify '%s'", x.cert);
	out = patchvet(&x, args);
	cr_expect(strstr(out, "confirmed: ") && strstr(out, "status 0\n"), "%s", out);
	free(out);
	pv_test_rmdir_all(x.dir);
}
