/* Suite `scenario`: the built-in scenario files, and the parser's answers to
 * malformed ones (each written to a fresh temporary directory). */
#include <criterion/criterion.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "../harness/load/scenario.h"

static const char *const builtin[] = {"counter", "counter-fix", "counter-identity", "datachange",
                                      "prologue-branch", "tiny"};
#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

/* ------------------------------------------------------------ temp files */

struct tmp {
	char dir[64];
};

static void tmp_make(struct tmp *t)
{
	strcpy(t->dir, "/tmp/pv-scenario-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir), "mkdtemp: %s", strerror(errno));
}

/* Writes len bytes to DIR/rel, creating the directories rel names; the
 * full path goes to path. */
static void tmp_write(const struct tmp *t, const char *rel, const void *data, size_t len,
                      char *path, size_t pathlen)
{
	for (const char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
		snprintf(path, pathlen, "%s/%.*s", t->dir, (int)(slash - rel), rel);
		mkdir(path, 0700);
	}
	snprintf(path, pathlen, "%s/%s", t->dir, rel);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmp_clean(const struct tmp *t)
{
	nftw(t->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* The result of loading one text: the file is gone before anyone asserts,
 * so a failing assertion leaves nothing behind. */
struct loaded {
	int rc;
	struct pv_error err;
	char file[128];
	struct pv_scenario *sc; /* owned, when rc == 0 */
};

static struct loaded load_bytes(const void *data, size_t len)
{
	struct tmp t;
	struct loaded l = {0};
	tmp_make(&t);
	tmp_write(&t, "s.ini", data, len, l.file, sizeof(l.file));
	l.rc = pv_scenario_load(l.file, PV_DATA_DIR, &l.sc, &l.err);
	tmp_clean(&t);
	return l;
}

static struct loaded load_text(const char *text)
{
	return load_bytes(text, strlen(text));
}

/* Asserts a PV_EFORMAT naming FILE:LINE: and containing `word`. */
static void expect_format(const struct loaded *l, int line, const char *word)
{
	cr_assert_eq(l->rc, PV_EFORMAT, "rc %d, message: %s", l->rc, l->err.msg);
	cr_assert_null(l->sc);
	char prefix[160];
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", l->file, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", l->file);
	cr_assert_eq(strncmp(l->err.msg, prefix, strlen(prefix)), 0, "message '%s' lacks '%s'",
	             l->err.msg, prefix);
	if (word)
		cr_assert_not_null(strstr(l->err.msg, word), "message '%s' lacks '%s'", l->err.msg,
		                   word);
}

/* ------------------------------------------------------------ built-ins */

Test(scenario, list_builtins_sorted)
{
	char **names = NULL;
	size_t n = 0;
	struct pv_error err = {0};
	cr_assert_eq(pv_scenario_list(PV_DATA_DIR, &names, &n, &err), 0, "%s", err.msg);
	cr_assert_geq(n, NBUILTIN);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(strcmp(names[i - 1], names[i]), 0, "%s before %s", names[i - 1],
		             names[i]);
	for (size_t b = 0; b < NBUILTIN; b++) {
		size_t i = 0;
		while (i < n && strcmp(names[i], builtin[b]))
			i++;
		cr_expect_lt(i, n, "built-in scenario %s is not listed", builtin[b]);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

Test(scenario, list_skips_directories_without_scenario_ini)
{
	struct tmp t;
	char path[256];
	tmp_make(&t);
	tmp_write(&t, "scenarios/b/scenario.ini", "x", 1, path, sizeof(path));
	tmp_write(&t, "scenarios/a/scenario.ini", "x", 1, path, sizeof(path));
	tmp_write(&t, "scenarios/c/other.ini", "x", 1, path, sizeof(path));
	tmp_write(&t, "scenarios/.hidden/scenario.ini", "x", 1, path, sizeof(path));
	char **names = NULL;
	size_t n = 0;
	struct pv_error err = {0};
	int rc = pv_scenario_list(t.dir, &names, &n, &err);
	tmp_clean(&t);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(names[0], "a");
	cr_assert_str_eq(names[1], "b");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

Test(scenario, list_missing_dir)
{
	char **names = NULL;
	size_t n = 7;
	struct pv_error err = {0};
	cr_assert_eq(pv_scenario_list("/nonexistent/pv-data", &names, &n, &err), PV_ENOENT);
	cr_assert_null(names);
	cr_assert_eq(n, 0);
	cr_assert_not_null(strstr(err.msg, "/nonexistent/pv-data/scenarios"), "%s", err.msg);
}

static void check_builtin(const char *name)
{
	struct pv_scenario *sc = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_scenario_load(name, PV_DATA_DIR, &sc, &err), 0, "%s: %s", name, err.msg);
	cr_assert_str_eq(sc->name, name);
	cr_assert_eq(access(sc->file, R_OK), 0, "%s", sc->file);
	cr_assert_not_null(sc->dir);
	cr_assert_not_null(sc->description);
	cr_assert_neq(sc->description[0], '\0', "%s has no description", name);
	cr_assert_not_null(sc->target);
	cr_assert_not_null(sc->patch, "%s has no patch", name);
	cr_assert_neq(sc->flavours, 0);
	cr_assert_eq(sc->flavours & ~PV_FLAVOUR_ALL, 0);
	cr_assert_neq(sc->backends, 0);
	cr_assert_eq(sc->backends & ~PV_BACKEND_ALL, 0);
	cr_assert(sc->workers >= 1 && sc->workers <= 64);
	cr_assert_geq(sc->iterations, 1);

	char path[4096];
	for (unsigned fl = 1; fl <= PV_FLAVOUR_ALL; fl <<= 1) {
		if (!(sc->flavours & fl))
			continue;
		cr_assert_eq(pv_scenario_target_path(sc, PV_DATA_DIR, fl, path, sizeof(path), &err),
		             0, "%s", err.msg);
		cr_assert_eq(access(path, X_OK), 0, "%s: target %s is not built", name, path);
	}
	cr_assert_eq(pv_scenario_patch_path(sc, PV_DATA_DIR, path, sizeof(path), &err), 0, "%s",
	             err.msg);
	cr_assert_eq(access(path, R_OK), 0, "%s: patch %s is not built", name, path);
	pv_scenario_free(sc);
}

Test(scenario, load_every_builtin)
{
	char **names = NULL;
	size_t n = 0;
	struct pv_error err = {0};
	cr_assert_eq(pv_scenario_list(PV_DATA_DIR, &names, &n, &err), 0, "%s", err.msg);
	cr_assert_gt(n, 0);
	for (size_t i = 0; i < n; i++)
		check_builtin(names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

Test(scenario, builtin_fields)
{
	static const struct {
		const char *name, *target, *patch;
	} want[] = {
		{"counter-identity", "counter", "counter-identity"},
		{"counter-fix", "counter", "counter-fix"},
		{"prologue-branch", "prologue-branch", "prologue-branch-fix"},
		{"tiny", "tiny", "tiny-fix"},
		{"datachange", "datachange", "datachange"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct pv_scenario *sc = NULL;
		struct pv_error err = {0};
		cr_assert_eq(pv_scenario_load(want[i].name, PV_DATA_DIR, &sc, &err), 0, "%s",
		             err.msg);
		cr_expect_str_eq(sc->target, want[i].target, "%s", want[i].name);
		cr_expect_str_eq(sc->patch, want[i].patch, "%s", want[i].name);
		cr_expect_eq(sc->flavours, PV_FLAVOUR_ALL, "%s", want[i].name);
		cr_expect_eq(sc->backends, PV_BACKEND_ALL, "%s", want[i].name);
		cr_expect_eq(sc->workers, 2, "%s", want[i].name);
		cr_expect_eq(sc->iterations, 1000, "%s", want[i].name);
		cr_expect_eq(sc->param, 0, "%s", want[i].name);
		pv_scenario_free(sc);
	}
}

Test(scenario, builtin_paths)
{
	struct pv_scenario *sc = NULL;
	struct pv_error err = {0};
	char path[4096];
	cr_assert_eq(pv_scenario_load("counter-fix", PV_DATA_DIR, &sc, &err), 0, "%s", err.msg);
	cr_assert_eq(pv_scenario_target_path(sc, PV_DATA_DIR, PV_FLAVOUR_PAD, path, sizeof(path),
	                                     &err),
	             0);
	cr_assert_str_eq(path, PV_DATA_DIR "/targets/counter-pad");
	cr_assert_eq(pv_scenario_patch_path(sc, PV_DATA_DIR, path, sizeof(path), &err), 0);
	cr_assert_str_eq(path, PV_DATA_DIR "/patches/counter-fix.so");
	/* Not one flavour. */
	cr_assert_eq(pv_scenario_target_path(sc, PV_DATA_DIR, PV_FLAVOUR_PAD | PV_FLAVOUR_CET,
	                                     path, sizeof(path), &err),
	             PV_EINVAL);
	cr_assert_eq(pv_scenario_target_path(sc, PV_DATA_DIR, 0, path, sizeof(path), &err),
	             PV_EINVAL);
	/* Too small a buffer. */
	char small[8];
	cr_assert_eq(pv_scenario_target_path(sc, PV_DATA_DIR, PV_FLAVOUR_PLAIN, small,
	                                     sizeof(small), &err),
	             PV_ERANGE);
	cr_assert_eq(pv_scenario_patch_path(sc, PV_DATA_DIR, small, sizeof(small), &err),
	             PV_ERANGE);
	pv_scenario_free(sc);
}

Test(scenario, unknown_builtin_name)
{
	struct pv_scenario *sc = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_scenario_load("no-such-scenario", PV_DATA_DIR, &sc, &err), PV_ENOENT);
	cr_assert_null(sc);
	cr_assert_not_null(strstr(err.msg, "no-such-scenario"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, PV_DATA_DIR "/scenarios/no-such-scenario/scenario.ini"),
	                   "%s", err.msg);
	/* Names that would leave the data directory are not built-in names. */
	cr_assert_neq(pv_scenario_load("..", PV_DATA_DIR, &sc, &err), 0);
	cr_assert_null(sc);
	cr_assert_neq(pv_scenario_load("", PV_DATA_DIR, &sc, &err), 0);
	cr_assert_neq(pv_scenario_load("counter-fix", NULL, &sc, &err), 0);
	cr_assert_null(sc);
}

Test(scenario, flavour_and_backend_names)
{
	cr_assert_str_eq(pv_flavour_name(PV_FLAVOUR_PLAIN), "plain");
	cr_assert_str_eq(pv_flavour_name(PV_FLAVOUR_PAD), "pad");
	cr_assert_str_eq(pv_flavour_name(PV_FLAVOUR_FENTRY), "fentry");
	cr_assert_str_eq(pv_flavour_name(PV_FLAVOUR_CET), "cet");
	cr_assert_null(pv_flavour_name(0));
	cr_assert_null(pv_flavour_name(PV_FLAVOUR_PAD | PV_FLAVOUR_CET));
	cr_assert_null(pv_flavour_name(1u << 4));
	cr_assert_str_eq(pv_backend_name(PV_BACKEND_EMU), "emu");
	cr_assert_str_eq(pv_backend_name(PV_BACKEND_PTRACE), "ptrace");
	cr_assert_null(pv_backend_name(PV_BACKEND_ALL));
}

/* ------------------------------------------------------------ good files */

Test(scenario, minimal_file_defaults)
{
	struct loaded l = load_text("[scenario]\ntarget = counter\n");
	cr_assert_eq(l.rc, 0, "%s", l.err.msg);
	cr_assert_str_eq(l.sc->name, "s");
	cr_assert_str_eq(l.sc->file, l.file);
	cr_assert_str_eq(l.sc->target, "counter");
	cr_assert_null(l.sc->patch);
	cr_assert_str_eq(l.sc->description, "");
	cr_assert_eq(l.sc->flavours, PV_FLAVOUR_ALL);
	cr_assert_eq(l.sc->backends, PV_BACKEND_ALL);
	cr_assert_eq(l.sc->workers, 2);
	cr_assert_eq(l.sc->iterations, 1000);
	cr_assert_eq(l.sc->param, 0);
	char path[256];
	struct pv_error err = {0};
	cr_assert_eq(pv_scenario_patch_path(l.sc, PV_DATA_DIR, path, sizeof(path), &err),
	             PV_ENOENT);
	pv_scenario_free(l.sc);
}

Test(scenario, full_file_with_comments_and_crlf)
{
	struct loaded l = load_text("; a comment\r\n"
	                            "# another\r\n"
	                            "[scenario]\r\n"
	                            "description = Two workers ; inline comment\r\n"
	                            "target = ./bin/my-target\r\n"
	                            "patch = /abs/fix.so\r\n"
	                            "flavours = pad, cet\r\n"
	                            "backends = ptrace\r\n"
	                            "\r\n"
	                            "[workload]\r\n"
	                            "workers = 64\r\n"
	                            "iterations: 18446744073709551615\r\n"
	                            "param = -42\r\n");
	cr_assert_eq(l.rc, 0, "%s", l.err.msg);
	cr_assert_str_eq(l.sc->description, "Two workers");
	cr_assert_str_eq(l.sc->target, "./bin/my-target");
	cr_assert_str_eq(l.sc->patch, "/abs/fix.so");
	cr_assert_eq(l.sc->flavours, PV_FLAVOUR_PAD | PV_FLAVOUR_CET);
	cr_assert_eq(l.sc->backends, PV_BACKEND_PTRACE);
	cr_assert_eq(l.sc->workers, 64);
	cr_assert_eq(l.sc->iterations, 18446744073709551615ul);
	cr_assert_eq(l.sc->param, -42);

	/* Paths are relative to the scenario's directory; flavour ignored. */
	char path[256], want[256];
	struct pv_error err = {0};
	snprintf(want, sizeof(want), "%s/./bin/my-target", l.sc->dir);
	cr_assert_eq(pv_scenario_target_path(l.sc, PV_DATA_DIR, PV_FLAVOUR_CET, path, sizeof(path),
	                                     &err),
	             0, "%s", err.msg);
	cr_assert_str_eq(path, want);
	cr_assert_eq(strncmp(path, "/tmp/pv-scenario-", 17), 0, "%s", path);
	cr_assert_eq(pv_scenario_patch_path(l.sc, PV_DATA_DIR, path, sizeof(path), &err), 0);
	cr_assert_str_eq(path, "/abs/fix.so");
	pv_scenario_free(l.sc);
}

Test(scenario, load_by_directory)
{
	struct tmp t;
	char path[256];
	tmp_make(&t);
	tmp_write(&t, "mine/scenario.ini", "[scenario]\ntarget = tiny\n", 25, path, sizeof(path));
	snprintf(path, sizeof(path), "%s/mine/", t.dir);
	struct pv_scenario *sc = NULL;
	struct pv_error err = {0};
	int rc = pv_scenario_load(path, NULL, &sc, &err);
	snprintf(path, sizeof(path), "%s/mine/scenario.ini", t.dir);
	struct pv_scenario *sc2 = NULL;
	int rc2 = pv_scenario_load(path, NULL, &sc2, &err);
	tmp_clean(&t);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_str_eq(sc->name, "mine");
	cr_assert_str_eq(sc->target, "tiny");
	cr_assert_eq(rc2, 0, "%s", err.msg);
	cr_assert_str_eq(sc2->name, "mine");
	pv_scenario_free(sc);
	pv_scenario_free(sc2);
}

Test(scenario, directory_without_scenario_ini)
{
	struct tmp t;
	char path[256];
	tmp_make(&t);
	tmp_write(&t, "empty/other.ini", "[scenario]\ntarget = tiny\n", 25, path, sizeof(path));
	snprintf(path, sizeof(path), "%s/empty", t.dir);
	struct pv_scenario *sc = NULL;
	struct pv_error err = {0};
	int rc = pv_scenario_load(path, PV_DATA_DIR, &sc, &err);
	tmp_clean(&t);
	cr_assert_eq(rc, PV_ENOENT, "rc %d: %s", rc, err.msg);
	cr_assert_null(sc);
	cr_assert_not_null(strstr(err.msg, "scenario.ini"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
}

Test(scenario, missing_file)
{
	struct pv_scenario *sc = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_scenario_load("/nonexistent/x.ini", PV_DATA_DIR, &sc, &err), PV_ENOENT);
	cr_assert_null(sc);
	cr_assert_not_null(strstr(err.msg, "/nonexistent/x.ini"), "%s", err.msg);
}

/* ------------------------------------------------------------ bad files */

Test(scenario, unknown_key)
{
	struct loaded l = load_text("[scenario]\ntarget = counter\ncolour = red\n");
	expect_format(&l, 3, "unknown key 'colour' in [scenario]");
	l = load_text("[scenario]\ntarget = counter\n[workload]\ntarget = x\n");
	expect_format(&l, 4, "unknown key 'target' in [workload]");
}

Test(scenario, bad_numbers)
{
	static const struct {
		const char *line, *word;
	} bad[] = {
		{"workers = two", "workers"},
		{"workers = 2x", "workers"},
		{"workers = -1", "workers"},
		{"workers = +2", "workers"},
		{"workers =", "workers"},
		{"workers = 2 # two", "only ';'"},
		{"iterations = 0x10", "iterations"},
		{"iterations = 0", "out of range"},
		{"iterations = 18446744073709551616", "out of range"},
		{"param = 1.5", "param"},
		{"param = -", "param"},
		{"param = 9223372036854775808", "out of range"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "[scenario]\ntarget = counter\n[workload]\n%s\n",
		         bad[i].line);
		struct loaded l = load_text(text);
		expect_format(&l, 4, bad[i].word);
	}
}

Test(scenario, workers_range)
{
	struct loaded l = load_text("[scenario]\ntarget = counter\n[workload]\nworkers = 0\n");
	expect_format(&l, 4, "1 to 64");
	l = load_text("[scenario]\ntarget = counter\n[workload]\nworkers = 65\n");
	expect_format(&l, 4, "1 to 64");
	/* The bounds themselves are fine. */
	l = load_text("[scenario]\ntarget = counter\n[workload]\nworkers = 1\n");
	cr_assert_eq(l.rc, 0, "%s", l.err.msg);
	cr_assert_eq(l.sc->workers, 1);
	pv_scenario_free(l.sc);
	l = load_text("[scenario]\ntarget = counter\n[workload]\nworkers = 64\n");
	cr_assert_eq(l.rc, 0, "%s", l.err.msg);
	cr_assert_eq(l.sc->workers, 64);
	pv_scenario_free(l.sc);
}

Test(scenario, unknown_flavour_or_backend)
{
	struct loaded l = load_text("[scenario]\ntarget = counter\nflavours = plain turbo\n");
	expect_format(&l, 3, "unknown flavour 'turbo'");
	l = load_text("[scenario]\ntarget = counter\nflavours = plain plain\n");
	expect_format(&l, 3, "twice");
	l = load_text("[scenario]\ntarget = counter\nflavours = , \n");
	expect_format(&l, 3, "no flavour");
	l = load_text("[scenario]\ntarget = counter\nbackends = emu qemu\n");
	expect_format(&l, 3, "unknown backend 'qemu'");
}

Test(scenario, missing_target)
{
	struct loaded l = load_text("[scenario]\npatch = counter-fix\n");
	expect_format(&l, 0, "missing key 'target'");
	l = load_text("[workload]\nworkers = 2\n");
	expect_format(&l, 0, "no [scenario] section");
	l = load_text("[scenario]\ntarget =\n");
	expect_format(&l, 2, "target is empty");
	l = load_text("[scenario]\ntarget = counter # the counter\n");
	expect_format(&l, 2, "only ';'");
}

Test(scenario, duplicate_key_and_section)
{
	struct loaded l = load_text("[scenario]\ntarget = counter\ntarget = tiny\n");
	expect_format(&l, 3, "first set on line 2");
	l = load_text("[scenario]\ntarget = counter\n[workload]\n[scenario]\n");
	expect_format(&l, 4, "first on line 1");
}

Test(scenario, structure_errors)
{
	struct loaded l = load_text("target = counter\n[scenario]\n");
	expect_format(&l, 1, "before any section");
	l = load_text("[scenario]\ntarget = counter\n[extra]\n");
	expect_format(&l, 3, "unknown section [extra]");
	l = load_text("[scenario\ntarget = counter\n");
	expect_format(&l, 1, "no closing ']'");
	l = load_text("[scenario] junk\ntarget = counter\n");
	expect_format(&l, 1, "after ']'");
	l = load_text("[scenario]\ntarget = counter\n  patch = counter-fix\n");
	expect_format(&l, 3, "indented");
	l = load_text("[scenario]\ntarget = counter\njust words\n");
	expect_format(&l, 3, "key = value");
	l = load_text("[scenario]\n= counter\n");
	expect_format(&l, 2, "key name is missing");
	l = load_text("[scenario]\ntarget = two words\n");
	expect_format(&l, 2, "neither a built-in name");
}

Test(scenario, empty_file)
{
	struct loaded l = load_text("");
	expect_format(&l, 0, "no [scenario] section");
	l = load_text("\n\n; only comments\n");
	expect_format(&l, 0, "no [scenario] section");
}

Test(scenario, huge_line)
{
	size_t n = 100000;
	char *text = malloc(n + 64);
	cr_assert_not_null(text);
	strcpy(text, "[scenario]\ndescription = ");
	size_t len = strlen(text);
	memset(text + len, 'a', n);
	strcpy(text + len + n, "\ntarget = counter\n");
	struct loaded l = load_text(text);
	free(text);
	expect_format(&l, 2, "longer than");
}

Test(scenario, non_ini_garbage)
{
	/* An ELF header: NUL bytes. */
	static const unsigned char elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, '\n', 0};
	struct loaded l = load_bytes(elf, sizeof(elf));
	expect_format(&l, 1, "NUL byte");
	/* Pseudo-random bytes without NUL: some error, never a crash. */
	unsigned char buf[8192];
	unsigned long x = 88172645463325252ul;
	for (int round = 0; round < 16; round++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = (unsigned char)(x % 255 + 1);
		}
		l = load_bytes(buf, sizeof(buf));
		cr_assert_eq(l.rc, PV_EFORMAT, "round %d: rc %d %s", round, l.rc, l.err.msg);
		cr_assert_gt(strlen(l.err.msg), strlen(l.file), "%s", l.err.msg);
		for (const char *c = l.err.msg; *c; c++)
			cr_assert(*c >= 0x20 && *c < 0x7f, "unprintable byte in message '%s'",
			          l.err.msg);
	}
}

/* Mutations of a good file: every answer is 0 or a negative PV_E* with a
 * message, never a crash (Criterion reports a crash as a failure). */
Test(scenario, mutated_files_never_crash)
{
	static const char good[] = "[scenario]\ndescription = d\ntarget = counter\n"
	                           "patch = counter-fix\nflavours = plain pad\nbackends = emu\n"
	                           "[workload]\nworkers = 3\niterations = 10\nparam = -1\n";
	char buf[sizeof(good)];
	unsigned long x = 2463534242ul;
	for (int round = 0; round < 300; round++) {
		memcpy(buf, good, sizeof(good));
		for (int k = 0; k < 1 + round % 4; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = x % (sizeof(good) - 1);
			static const char alphabet[] = "[]=;#: \t\n\r,/-0123456789az\x01\xff";
			buf[at] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
		}
		struct loaded l = load_bytes(buf, sizeof(good) - 1);
		if (l.rc == 0) {
			cr_assert_not_null(l.sc->target);
			cr_assert(l.sc->workers >= 1 && l.sc->workers <= 64);
			pv_scenario_free(l.sc);
		} else {
			cr_assert_lt(l.rc, 0);
			cr_assert_neq(l.err.msg[0], '\0', "round %d: no message", round);
		}
	}
}

/* ------------------------------------------------------------ [program] */

Test(scenario, program_every_key)
{
	struct loaded l = load_text(
		"[scenario]\ntarget = /usr/bin/true\npatch = counter-fix\n"
		"[program]\n"
		"command = {target} -p 4 \"two words\" {dir}/in.bin\n"
		"env = LC_ALL=C OMP_NUM_THREADS=4\n"
		"cwd = {dir}\n"
		"stdin = {dir}/in.bin\n"
		"stdout = {workdir}/out.gz\n"
		"timeout = 30\n"
		"ready = port {port}\n"
		"load = /bin/sh -c \"exit 0\" {port}\n"
		"verify = load\n"
		"stop = signal TERM 5\n"
		"window = 0.25\n");
	cr_assert_eq(l.rc, 0, "%s", l.err.msg);
	const struct pv_program *pg = l.sc->program;
	cr_assert_not_null(pg);
	cr_assert_str_eq(pg->command, "{target} -p 4 \"two words\" {dir}/in.bin");
	cr_assert_str_eq(pg->env, "LC_ALL=C OMP_NUM_THREADS=4");
	cr_assert_str_eq(pg->cwd, "{dir}");
	cr_assert_str_eq(pg->stdin_path, "{dir}/in.bin");
	cr_assert_str_eq(pg->stdout_path, "{workdir}/out.gz");
	cr_assert_float_eq(pg->timeout, 30.0, 1e-9);
	cr_assert_eq(pg->ready, PV_READY_PORT);
	cr_assert_str_eq(pg->ready_arg, "{port}");
	cr_assert_not_null(pg->load);
	cr_assert_eq(pg->verify, PV_VERIFY_LOAD);
	cr_assert_eq(pg->stop, PV_STOP_SIGNAL);
	cr_assert_eq(pg->stop_signal, SIGTERM);
	cr_assert_float_eq(pg->stop_wait, 5.0, 1e-9);
	cr_assert_float_eq(pg->window, 0.25, 1e-9);
	cr_assert_eq(pg->dir[0], '/', "{dir} is absolute: %s", pg->dir);

	char **argv = NULL;
	struct pv_error err = {0};
	struct pv_program_vars v = {.target = "/bin/x", .dir = "/s d", .workdir = "/w", .port = 77};
	cr_assert_eq(pv_program_split(pg->command, &v, &argv, &err), 0, "%s", err.msg);
	cr_assert_str_eq(argv[0], "/bin/x");
	cr_assert_str_eq(argv[1], "-p");
	cr_assert_str_eq(argv[2], "4");
	cr_assert_str_eq(argv[3], "two words");
	cr_assert_str_eq(argv[4], "/s d/in.bin");
	cr_assert_null(argv[5]);
	pv_argv_free(argv);
	pv_scenario_free(l.sc);
}

Test(scenario, program_defaults_and_other_forms)
{
	struct loaded l = load_text("[scenario]\ntarget = ./prog\n[program]\ncommand = {target}\n");
	cr_assert_eq(l.rc, 0, "%s", l.err.msg);
	const struct pv_program *pg = l.sc->program;
	cr_assert_str_eq(pg->cwd, "{workdir}");
	cr_assert_null(pg->env);
	cr_assert_null(pg->stdin_path);
	cr_assert_null(pg->stdout_path);
	cr_assert_null(pg->load);
	cr_assert_float_eq(pg->timeout, PV_PROGRAM_TIMEOUT_S, 1e-9);
	cr_assert_float_eq(pg->window, PV_PROGRAM_WINDOW_S, 1e-9);
	cr_assert_eq(pg->ready, PV_READY_DELAY);
	cr_assert_float_eq(pg->ready_delay, 0.0, 1e-9);
	cr_assert_eq(pg->verify, PV_VERIFY_EXIT);
	cr_assert_eq(pg->stop, PV_STOP_EXIT);
	pv_scenario_free(l.sc);

	static const struct {
		const char *line;
		enum pv_ready ready;
		const char *arg;
	} readies[] = {
		{"ready = port 8080", PV_READY_PORT, "8080"},
		{"ready = file {workdir}/pid", PV_READY_FILE, "{workdir}/pid"},
		{"ready = output listening on port", PV_READY_OUTPUT, "listening on port"},
		{"ready = delay 0.5", PV_READY_DELAY, NULL},
	};
	for (size_t i = 0; i < sizeof(readies) / sizeof(readies[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "[scenario]\ntarget = /bin/true\n[program]\n"
		                             "command = {target}\n%s\n", readies[i].line);
		l = load_text(text);
		cr_assert_eq(l.rc, 0, "%s: %s", readies[i].line, l.err.msg);
		cr_assert_eq(l.sc->program->ready, readies[i].ready);
		if (readies[i].arg)
			cr_assert_str_eq(l.sc->program->ready_arg, readies[i].arg);
		else
			cr_assert_float_eq(l.sc->program->ready_delay, 0.5, 1e-9);
		pv_scenario_free(l.sc);
	}
	l = load_text("[scenario]\ntarget = /bin/true\n[program]\ncommand = {target}\n"
	              "verify = /usr/bin/cmp {workdir}/out {dir}/expected\nstop = signal SIGINT 1.5\n");
	cr_assert_eq(l.rc, 0, "%s", l.err.msg);
	cr_assert_eq(l.sc->program->verify, PV_VERIFY_COMMAND);
	cr_assert_str_eq(l.sc->program->verify_command, "/usr/bin/cmp {workdir}/out {dir}/expected");
	cr_assert_eq(l.sc->program->stop_signal, SIGINT);
	cr_assert_float_eq(l.sc->program->stop_wait, 1.5, 1e-9);
	pv_scenario_free(l.sc);
	/* Without [program], nothing changes. */
	l = load_text("[scenario]\ntarget = counter\n");
	cr_assert_eq(l.rc, 0, "%s", l.err.msg);
	cr_assert_null(l.sc->program);
	pv_scenario_free(l.sc);
}

Test(scenario, program_malformed_values)
{
	static const struct {
		const char *line, *word;
	} bad[] = {
		{"command = {target} \"open", "double quote is not closed"},
		{"command = {target} {port2}", "unknown placeholder {port2}"},
		{"command =", "no command"},
		{"colour = red", "unknown key 'colour' in [program]"},
		{"env = LC_ALL", "not NAME=VALUE"},
		{"env = =x", "not NAME=VALUE"},
		{"env = 1A=x", "not NAME=VALUE"},
		{"cwd =", "cwd is empty"},
		{"cwd = {nowhere}", "unknown placeholder"},
		{"stdin = {dir}/{bad}", "unknown placeholder"},
		{"stdout = /tmp/out", "not a file under {workdir}"},
		{"stdout = {workdir}/", "not a file under {workdir}"},
		{"timeout = 0", "out of range"},
		{"timeout = ten", "not a number of seconds"},
		{"timeout = 1e3", "not a number of seconds"},
		{"timeout = -1", "not a number of seconds"},
		{"ready = socket 80", "expected `port N`"},
		{"ready = port", "needs a port"},
		{"ready = port 70000", "out of range"},
		{"ready = port http", "not a whole number"},
		{"ready = file", "needs a path"},
		{"ready = output", "needs a text"},
		{"ready = delay soon", "not a number of seconds"},
		{"load = \"x", "double quote is not closed"},
		{"verify = {oops}", "unknown placeholder"},
		{"stop = kill", "expected `exit` or `signal"},
		{"stop = signal TERM", "needs a signal name and the seconds"},
		{"stop = signal BOGUS 5", "unknown signal 'BOGUS'"},
		{"stop = signal TERM 0", "out of range"},
		{"stop = signal TERM 5 6", "expected `exit` or `signal"},
		{"window = 0", "out of range"},
		{"window = .", "not a number of seconds"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];
		/* The command first unless the line is the command. */
		bool cmd = !strncmp(bad[i].line, "command", 7);
		snprintf(text, sizeof(text),
		         "[scenario]\ntarget = /bin/true\n[program]\n%s%s\nverify = /bin/true\n"
		         "stop = signal TERM 1\n",
		         cmd ? "" : "command = {target}\n", bad[i].line);
		if (!strncmp(bad[i].line, "stop", 4) || !strncmp(bad[i].line, "verify", 6))
			snprintf(text, sizeof(text), "[scenario]\ntarget = /bin/true\n[program]\n"
			                             "command = {target}\n%s\n", bad[i].line);
		struct loaded l = load_text(text);
		expect_format(&l, cmd ? 4 : 5, bad[i].word);
	}
}

Test(scenario, program_keys_together)
{
	struct loaded l = load_text("[scenario]\ntarget = /bin/true\n[program]\nready = delay 1\n");
	expect_format(&l, 3, "missing key 'command' in [program]");
	l = load_text("[scenario]\ntarget = /bin/true\n[program]\ncommand = x\n"
	              "stop = signal TERM 2\n");
	expect_format(&l, 3, "verify = exit needs stop = exit");
	l = load_text("[scenario]\ntarget = /bin/true\n[program]\ncommand = x\nverify = load\n");
	expect_format(&l, 5, "verify = load needs a `load` command");
	l = load_text("[scenario]\ntarget = /bin/true\n[program]\ncommand = x\ncommand = y\n");
	expect_format(&l, 5, "duplicate key 'command' in [program]");
	l = load_text("[scenario]\ntarget = /bin/true\n[program]\ncommand = x\n[program]\n");
	cr_assert_eq(l.rc, PV_EFORMAT, "%s", l.err.msg);
}
