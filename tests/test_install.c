/* make install / uninstall, the man page and the CI shard-and-merge script,
 * as a user outside the source tree meets them: the installed patchvet runs
 * with a clean environment from another directory, an engine is built
 * against the installed headers alone, the man page covers every command and
 * option the sources define, and sharded-then-merged equals unsharded. */
#include <criterion/criterion.h>
#include <glob.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* A clean environment: nothing of the build tree is reachable from it. */
#define CLEAN_ENV "env -i PATH=/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8"
/* make run from a suite under `make test` must not inherit its jobserver. */
#define MAKE_CLEAN "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
/* No per-test .timeout: with them, the ASan runner of this suite at -j2
 * reported a 48-byte leak inside libcriterion 2.4.1 and failed; every shell
 * command has its own 120 s bound (pv_test_sh), and `make test` passes
 * --timeout 120. */

/* A text file as a C string (pv_test_slurp leaves it unterminated). */
static char *slurp_text(const char *path)
{
	size_t n;
	char *s = (char *)pv_test_slurp(path, &n);
	s[n] = '\0'; /* slurp allocates one byte more */
	return s;
}

static char *man_source(void)
{
	return slurp_text(PV_SOURCE_DIR "/docs/patchvet.1");
}

/* The command names of main.c's table: lines `{"NAME", pv_cmd_...}`. */
static size_t main_commands(char names[][32], size_t max)
{
	size_t n = 0;
	char *src = slurp_text(PV_SOURCE_DIR "/harness/cli/main.c");
	for (char *p = src; (p = strstr(p, "pv_cmd_")) != NULL; p++) {
		char *q = p;
		while (q > src && *q != '{' && *q != '\n')
			q--;
		char name[32];
		if (*q == '{' && sscanf(q, "{\"%31[^\"]\"", name) == 1) {
			cr_assert_lt(n, max);
			snprintf(names[n++], 32, "%s", name);
		}
	}
	free(src);
	return n;
}

/* Does the roff source spell `--opt` with nothing of a longer name after it? */
static bool man_has_option(const char *man, const char *opt)
{
	char want[128] = "\\-\\-";
	size_t w = strlen(want);
	for (const char *o = opt; *o && w + 3 < sizeof(want); o++) {
		if (*o == '-')
			want[w++] = '\\';
		want[w++] = *o;
	}
	want[w] = '\0';
	for (const char *p = man; (p = strstr(p, want)) != NULL; p++) {
		const char *after = p + w;
		bool longer = (*after >= 'a' && *after <= 'z') || (*after >= '0' && *after <= '9') ||
		              !strncmp(after, "\\-", 2);
		if (!longer)
			return true;
	}
	return false;
}

Test(install, man_page_names_every_command_and_long_option)
{
	char *man = man_source();
	char cmds[32][32];
	size_t n = main_commands(cmds, 32);
	cr_assert_geq(n, 8, "found only %zu commands in harness/cli/main.c", n);
	for (size_t i = 0; i < n; i++) {
		char heading[64];
		snprintf(heading, sizeof(heading), ".SS \"patchvet %s\"", cmds[i]);
		cr_expect_not_null(strstr(man, heading), "docs/patchvet.1 has no section %s", heading);
	}

	glob_t g;
	cr_assert_eq(glob(PV_SOURCE_DIR "/harness/cli/cmd_*.c", 0, NULL, &g), 0);
	size_t options = 0;
	for (size_t f = 0; f < g.gl_pathc; f++) {
		char *src = slurp_text(g.gl_pathv[f]);
		for (char *line = strtok(src, "\n"); line; line = strtok(NULL, "\n")) {
			char name[64], kind[32];
			if (sscanf(line, " {\"%63[^\"]\", %31[a-z_]", name, kind) != 2 ||
			    !strstr(kind, "_argument"))
				continue;
			options++;
			cr_expect(man_has_option(man, name), "%s: option --%s is not in docs/patchvet.1",
			          g.gl_pathv[f], name);
		}
		free(src);
	}
	globfree(&g);
	cr_assert_geq(options, 30, "found only %zu long options in harness/cli/cmd_*.c", options);
	for (const char *s = "0123"; *s; s++) {
		char item[16];
		snprintf(item, sizeof(item), ".TP\n.B %c\n", *s);
		cr_expect_not_null(strstr(man, item), "EXIT STATUS does not describe %c", *s);
	}
	cr_expect_not_null(strstr(man, ".SH EXIT STATUS"));
	/* The .TH line names the version harness/model/version.h defines. */
	char *cli = slurp_text(PV_SOURCE_DIR "/harness/model/version.h");
	char version[32] = "", th[64];
	const char *def = strstr(cli, "#define PV_VERSION \"");
	cr_assert_not_null(def);
	sscanf(def, "#define PV_VERSION \"%31[^\"]", version);
	snprintf(th, sizeof(th), "\"patchvet %s\"", version);
	const char *th_line = strstr(man, "\n.TH ");
	cr_assert_not_null(th_line);
	cr_expect(strstr(th_line, th) && strstr(th_line, th) < strchr(th_line + 1, '\n'),
	          "docs/patchvet.1's .TH does not say %s", th);
	free(cli);
	cr_expect_not_null(strstr(man, "PATCHVET_DATA"));
	free(man);
}

Test(install, man_page_renders_without_warnings)
{
	char *err = pv_test_sh("MANWIDTH=80 man --warnings -l %s/docs/patchvet.1 2>&1 >/dev/null",
	                       PV_SOURCE_DIR);
	cr_expect_str_empty(err, "man -l warns:\n%s", err);
	free(err);
	err = pv_test_sh("groff -man -ww -z %s/docs/patchvet.1 2>&1", PV_SOURCE_DIR);
	cr_expect_str_empty(err, "groff -ww warns:\n%s", err);
	free(err);
}

static char *verdicts(const char *path);

/* Writes the engine of docs/engine-author.md's worked example (the code
 * block after its marker comment) to path. */
static void spill_guide_engine(const char *path)
{
	char *doc = slurp_text(PV_SOURCE_DIR "/docs/engine-author.md");
	char *mark = strstr(doc, "<!-- engine-author.c:");
	cr_assert_not_null(mark, "docs/engine-author.md lost its engine marker");
	char *start = strstr(mark, "```c\n");
	cr_assert_not_null(start);
	start += 5;
	char *end = strstr(start, "\n```\n");
	cr_assert_not_null(end);
	pv_test_spill(path, start, (size_t)(end - start) + 1);
	free(doc);
}

/* Installing as a user would: install into a fresh prefix, build the example
 * engine from the installed docs with `pkg-config --cflags patchvet` of that
 * prefix alone, run it with the installed binary (clean environment, cwd
 * outside the tree: the corpora must come from PREFIX/share/patchvet), read
 * the installed man page, then uninstall everything. */
Test(install, installed_patchvet_runs_a_plugin_built_with_pkg_config)
{
	char *tmp = pv_test_tmpdir("install");
	free(pv_test_sh(MAKE_CLEAN "make -s -C %s install PREFIX=%s/pv >/dev/null 2>&1", PV_SOURCE_DIR, tmp));

	char *cflags = pv_test_sh(CLEAN_ENV " PKG_CONFIG_LIBDIR=%s/pv/lib/pkgconfig "
	                          "pkg-config --cflags patchvet", tmp);
	char want[512];
	snprintf(want, sizeof(want), "-I%s/pv/include", tmp);
	cr_expect(!strncmp(cflags, want, strlen(want)), "cflags: %s", cflags);
	cr_expect_null(strstr(cflags, PV_SOURCE_DIR), "cflags reach the source tree: %s", cflags);
	free(cflags);

	free(pv_test_sh("mkdir %s/work && cp %s/pv/share/doc/patchvet/examples/stw-engine/engine.c "
	                "%s/work/ && cd %s/work && " CLEAN_ENV
	                " PKG_CONFIG_LIBDIR=%s/pv/lib/pkgconfig sh -c 'cc -std=c17 -Wall -Wextra "
	                "-Werror $(pkg-config --cflags patchvet) -shared -fPIC -o engine.so "
	                "engine.c' 2>&1",
	                tmp, tmp, tmp, tmp, tmp));
	char *out = pv_test_sh("cd %s/work && " CLEAN_ENV " %s/pv/bin/patchvet run --engine "
	                       "./engine.so --scenario counter --backend emu --schedules 100 "
	                       "--out res 2>&1; echo \"exit $?\"",
	                       tmp, tmp);
	cr_expect_not_null(strstr(out, "exit 0\n"), "%s", out);
	char path[512];
	snprintf(path, sizeof(path), "%s/work/res/results.json", tmp);
	struct json_object *j = json_object_from_file(path);
	cr_assert_not_null(j, "no %s:\n%s", path, out);
	struct json_object *results, *r, *v, *t;
	cr_assert(json_object_object_get_ex(j, "results", &results));
	cr_assert_eq(json_object_array_length(results), 1);
	r = json_object_array_get_idx(results, 0);
	cr_assert(json_object_object_get_ex(r, "verdict", &v));
	cr_expect_str_eq(json_object_get_string(v), "SAFE", "%s", out);
	/* The emu target the run used is the installed one. */
	cr_assert(json_object_object_get_ex(r, "target", &t));
	snprintf(want, sizeof(want), "%s/pv/", tmp);
	cr_expect(strstr(json_object_get_string(t), want) != NULL, "target %s",
	          json_object_get_string(t));
	json_object_put(j);
	free(out);

	/* The engine-author guide's worked plugin, the same way. */
	snprintf(path, sizeof(path), "%s/guide/engine.c", tmp);
	free(pv_test_sh("mkdir %s/guide", tmp));
	spill_guide_engine(path);
	free(pv_test_sh("cd %s/guide && " CLEAN_ENV " PKG_CONFIG_LIBDIR=%s/pv/lib/pkgconfig sh -c "
	                "'cc -std=c17 -Wall -Wextra -Werror -O2 $(pkg-config --cflags patchvet) "
	                "-shared -fPIC -o mini-stw.so engine.c' 2>&1",
	                tmp, tmp));
	out = pv_test_sh("cd %s/guide && " CLEAN_ENV " %s/pv/bin/patchvet run --engine "
	                 "./mini-stw.so --scenario counter --scenario tiny --schedules 200 "
	                 "--out r 2>&1; echo \"exit $?\"",
	                 tmp, tmp);
	cr_expect_not_null(strstr(out, "exit 0\n"), "%s", out);
	free(out);
	snprintf(path, sizeof(path), "%s/guide/r/results.json", tmp);
	char *guide = verdicts(path);
	cr_expect_not_null(strstr(guide, "mini-stw counter emu SAFE 200 "), "%s", guide);
	cr_expect_not_null(strstr(guide, "mini-stw tiny emu REFUSED "), "%s", guide);
	free(guide);

	char cmds[32][32];
	size_t n = main_commands(cmds, 32);
	char *page = pv_test_sh(CLEAN_ENV " MANWIDTH=80 man -l %s/pv/share/man/man1/patchvet.1 "
	                        "2>&1", tmp);
	for (size_t i = 0; i < n; i++) {
		char heading[64];
		snprintf(heading, sizeof(heading), "\n   patchvet %s\n", cmds[i]);
		cr_expect_not_null(strstr(page, heading), "the installed man page renders no "
		                   "section for %s", cmds[i]);
	}
	free(page);

	/* uninstall leaves only the shared directories (bin, lib/pkgconfig, ...),
	 * and what someone else put there. */
	free(pv_test_sh("touch %s/pv/bin/someone-elses", tmp));
	free(pv_test_sh(MAKE_CLEAN "make -s -C %s uninstall PREFIX=%s/pv >/dev/null 2>&1", PV_SOURCE_DIR,
	                tmp));
	char *left = pv_test_sh("cd %s/pv && find . -type f -o -type l", tmp);
	cr_expect_str_eq(left, "./bin/someone-elses\n");
	free(left);
	left = pv_test_sh("cd %s/pv && find . -path '*patchvet*'", tmp);
	cr_expect_str_empty(left, "left behind:\n%s", left);
	free(left);
	pv_test_rmdir_all(tmp);
}

Test(install, destdir_stages_under_the_final_prefix)
{
	char *tmp = pv_test_tmpdir("destdir");
	free(pv_test_sh(MAKE_CLEAN "make -s -C %s install DESTDIR=%s/stage PREFIX=/opt/pv >/dev/null 2>&1",
	                PV_SOURCE_DIR, tmp));
	char *pc = pv_test_sh("cat %s/stage/opt/pv/lib/pkgconfig/patchvet.pc", tmp);
	cr_expect_not_null(strstr(pc, "\nprefix=/opt/pv\n"), "%s", pc);
	cr_expect_null(strstr(pc, tmp), "the .pc names the staging directory:\n%s", pc);
	free(pc);
	char *files = pv_test_sh("cd %s/stage/opt/pv && ls bin include/patchvet "
	                         "share/patchvet/corpora share/man/man1", tmp);
	for (const char *f = "patchvet\nengine.h\nspace.h\npatch.h\ntarget.h\nerror.h\nemu\n"
	                     "expected\npatches\nscenarios\ntargets\npatchvet.1\n";
	     *f;) {
		const char *nl = strchr(f, '\n');
		char name[32];
		snprintf(name, sizeof(name), "\n%.*s\n", (int)(nl - f), f);
		cr_expect(strstr(files, name) != NULL || !strncmp(files, name + 1, strlen(name) - 1),
		          "%.*s not installed:\n%s", (int)(nl - f), f, files);
		f = nl + 1;
	}
	free(files);
	free(pv_test_sh(MAKE_CLEAN "make -s -C %s uninstall DESTDIR=%s/stage PREFIX=/opt/pv >/dev/null 2>&1",
	                PV_SOURCE_DIR, tmp));
	char *left = pv_test_sh("find %s/stage -type f", tmp);
	cr_expect_str_empty(left, "left behind:\n%s", left);
	free(left);
	pv_test_rmdir_all(tmp);
}

/* ------------------------------------------------------------ CI */

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* verdict and per-check violation counts of every result, one line each,
 * sorted: what sharding must not change. */
static char *verdicts(const char *path)
{
	struct json_object *j = json_object_from_file(path);
	cr_assert_not_null(j, "cannot read %s", path);
	struct json_object *results;
	cr_assert(json_object_object_get_ex(j, "results", &results));
	size_t n = json_object_array_length(results);
	char **lines = calloc(n, sizeof(*lines));
	size_t total = 1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(results, i), *x;
		char buf[2048];
		int len = 0;
		for (const char *const *k = (const char *const[]){"engine", "scenario", "backend",
		                                                   "verdict", "schedules", "applied",
		                                                   NULL};
		     *k; k++) {
			cr_assert(json_object_object_get_ex(r, *k, &x), "%s: no %s", path, *k);
			len += snprintf(buf + len, sizeof(buf) - (size_t)len, "%s ",
			                json_object_get_string(x));
		}
		if (json_object_object_get_ex(r, "violations", &x))
			for (size_t v = 0; v < json_object_array_length(x); v++) {
				struct json_object *e = json_object_array_get_idx(x, v), *c, *cnt;
				cr_assert(json_object_object_get_ex(e, "check", &c));
				cr_assert(json_object_object_get_ex(e, "count", &cnt));
				len += snprintf(buf + len, sizeof(buf) - (size_t)len, "%s=%s ",
				                json_object_get_string(c), json_object_get_string(cnt));
			}
		lines[i] = strdup(buf);
		total += strlen(buf) + 1;
	}
	qsort(lines, n, sizeof(*lines), by_string);
	char *s = calloc(1, total);
	for (size_t i = 0; i < n; i++) {
		strcat(strcat(s, lines[i]), "\n");
		free(lines[i]);
	}
	free(lines);
	json_object_put(j);
	return s;
}

/* The templates' shard and merge steps, run with ci/shard-merge.sh itself
 * (the script the templates call): three shards of a campaign with an UNSAFE
 * mutant, merged, equal an unsharded run, and the merge step fails. */
Test(install, shard_merge_script_equals_an_unsharded_run)
{
	char *tmp = pv_test_tmpdir("ci-shards");
	const char *campaign = "--engine stw-jmp --engine naive-write --engine no-quiesce "
	                       "--scenario counter --scenario tiny --backend emu --schedules 150 "
	                       "--seed 7";
	for (int i = 1; i <= 3; i++)
		free(pv_test_sh("cd %s && PATCHVET=%s bash %s/ci/shard-merge.sh shard %d 3 %s "
		                ">/dev/null 2>&1",
		                tmp, PV_PATCHVET_BIN, PV_SOURCE_DIR, i, campaign));
	char *out = pv_test_sh("cd %s && PATCHVET=%s bash %s/ci/shard-merge.sh merge merged "
	                       ">/dev/null 2>&1; echo $?",
	                       tmp, PV_PATCHVET_BIN, PV_SOURCE_DIR);
	cr_expect_str_eq(out, "1\n", "the merge step must fail the pipeline on UNSAFE");
	free(out);
	for (const char *f = "results.json\0results.xml\0results.md\0results.html\0"; *f;
	     f += strlen(f) + 1)
		free(pv_test_sh("test -s %s/merged/%s", tmp, f));
	free(pv_test_sh("cd %s && %s run %s --out whole >/dev/null 2>&1; test $? = 1", tmp,
	                PV_PATCHVET_BIN, campaign));

	char a[512], b[512];
	snprintf(a, sizeof(a), "%s/merged/results.json", tmp);
	snprintf(b, sizeof(b), "%s/whole/results.json", tmp);
	char *merged = verdicts(a), *whole = verdicts(b);
	cr_expect_str_eq(merged, whole);
	cr_expect_not_null(strstr(whole, "UNSAFE"), "%s", whole);
	free(merged);
	free(whole);

	/* A lost shard fails the gate even when every verdict present is SAFE
	 * (patchvet merge alone only notes it); once it is there, the gate passes. */
	const char *safe = "--engine stw-jmp --scenario counter --schedules 40";
	for (int i = 1; i <= 3; i += 2)
		free(pv_test_sh("mkdir -p %s/safe && cd %s/safe && PATCHVET=%s bash "
		                "%s/ci/shard-merge.sh shard %d 3 %s >/dev/null 2>&1",
		                tmp, tmp, PV_PATCHVET_BIN, PV_SOURCE_DIR, i, safe));
	out = pv_test_sh("cd %s/safe && PATCHVET=%s bash %s/ci/shard-merge.sh merge 2>&1 "
	                 ">/dev/null; echo \"exit $?\"",
	                 tmp, PV_PATCHVET_BIN, PV_SOURCE_DIR);
	cr_expect_not_null(strstr(out, "missing: shard-2\nexit 2\n"), "%s", out);
	free(out);
	free(pv_test_sh("cd %s/safe && PATCHVET=%s bash %s/ci/shard-merge.sh shard 2 3 %s "
	                ">/dev/null 2>&1 && PATCHVET=%s bash %s/ci/shard-merge.sh merge "
	                ">/dev/null 2>&1",
	                tmp, PV_PATCHVET_BIN, PV_SOURCE_DIR, safe, PV_PATCHVET_BIN,
	                PV_SOURCE_DIR));
	pv_test_rmdir_all(tmp);
}

/* The templates run the shard and merge steps through the script, so the
 * test above covers what they run. */
Test(install, ci_templates_call_the_shard_merge_script)
{
	for (const char *t = "github-actions.yml\0gitlab-ci.yml\0"; *t; t += strlen(t) + 1) {
		char path[512];
		snprintf(path, sizeof(path), "%s/ci/templates/%s", PV_SOURCE_DIR, t);
		char *y = slurp_text(path);
		cr_expect_not_null(strstr(y, "ci/shard-merge.sh shard "), "%s", t);
		cr_expect_not_null(strstr(y, "ci/shard-merge.sh merge "), "%s", t);
		cr_expect_not_null(strstr(y, "pkg-config --cflags patchvet"), "%s", t);
		cr_expect_not_null(strstr(y, "merged/results.xml") || strstr(y, "path: merged"),
		                   "%s publishes no report", t);
		free(y);
	}
}
