/* Reproducers of engines loaded from files: a plugin's (tests/data/engines/
 * noop-engine.c, which claims success without patching) and an exec
 * engine's (tools/pv-patcher --broken) record the engine's file and its
 * SHA-256, and replay and minimize load it again; a changed plugin makes
 * replay refuse in one line (exit 2) unless --engine names one. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN
#define TOOL PV_BUILD_DIR "/tools/pv-patcher"

static struct pv_test_output pv(char *const argv[])
{
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 120, &o), 0, "cannot start %s", BIN);
	return o;
}

/* Builds the broken plugin into dir/name; tag changes its bytes only. */
static void build_noop(const char *dir, const char *name, const char *tag)
{
	free(pv_test_sh("cc -std=c17 -fPIC -shared -I%s/include -DNOOP_TAG='\"%s\"' -o %s/%s "
	                "%s/tests/data/engines/noop-engine.c 2>&1",
	                PV_SOURCE_DIR, tag, dir, name, PV_SOURCE_DIR));
}

/* The one reproducer under dir/out/repro (asserted), malloc'd. */
static char *the_repro(const char *dir)
{
	char rdir[512];
	snprintf(rdir, sizeof(rdir), "%s/out/repro", dir);
	DIR *d = opendir(rdir);
	cr_assert_not_null(d, "no %s", rdir);
	char *path = NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".pvr")) {
			free(path);
			cr_assert_neq(asprintf(&path, "%s/%s", rdir, de->d_name), -1);
		}
	closedir(d);
	cr_assert_not_null(path, "no reproducer in %s", rdir);
	return path;
}

/* A campaign of the noop plugin on counter (emu), its reproducer in *repro. */
static void plugin_campaign(const char *dir, char **repro)
{
	build_noop(dir, "noop.so", "1");
	char so[512], out[512];
	snprintf(so, sizeof(so), "%s/noop.so", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	struct pv_test_output o = pv((char *[]){BIN, "run", "--backend", "emu", "--engine", so,
	                                        "--scenario", "counter", "--schedules", "5",
	                                        "--out", out, NULL});
	cr_assert_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_assert(strstr(o.out, "ineffective"), "%s", o.out);
	pv_test_output_free(&o);
	*repro = the_repro(dir);
	size_t len;
	char *text = (char *)pv_test_slurp(*repro, &len);
	char want[600];
	snprintf(want, sizeof(want), "\nengine-spec %s\n", so);
	cr_expect(strstr(text, want), "no '%s' in\n%s", want + 1, text);
	cr_expect(strstr(text, "\nengine-sha256 "), "%s", text);
	free(text);
}

Test(replay, plugin_reproducer_replays_and_minimizes, .timeout = 120)
{
	char *dir = pv_test_tmpdir("replay");
	char *repro = NULL;
	plugin_campaign(dir, &repro);
	struct pv_test_output o = pv((char *[]){BIN, "replay", repro, NULL});
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "reproduced: ineffective"), "%s\n%s", o.out, o.err);
	cr_expect(strstr(o.out, "test-noop on counter"), "%s", o.out);
	pv_test_output_free(&o);
	char min[600];
	snprintf(min, sizeof(min), "%s/min.pvr", dir);
	o = pv((char *[]){BIN, "minimize", repro, "-o", min, NULL});
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	o = pv((char *[]){BIN, "replay", min, NULL});
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "reproduced: ineffective"), "%s\n%s", o.out, o.err);
	pv_test_output_free(&o);
	free(repro);
	pv_test_rmdir_all(dir);
}

Test(replay, changed_plugin_is_refused_in_one_line, .timeout = 120)
{
	char *dir = pv_test_tmpdir("replay");
	char *repro = NULL;
	plugin_campaign(dir, &repro);
	/* Same name, same behaviour, other bytes. */
	build_noop(dir, "noop.so", "2");
	struct pv_test_output o = pv((char *[]){BIN, "replay", repro, NULL});
	cr_expect_eq(o.status, 2, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect_eq(pv_test_count_lines(o.err), 1, "%s", o.err);
	cr_expect(strstr(o.err, "noop.so changed since it was recorded"), "%s", o.err);
	cr_expect(strstr(o.out, "reproduced") == NULL, "it replayed: %s", o.out);
	pv_test_output_free(&o);
	o = pv((char *[]){BIN, "minimize", repro, "-o", "/dev/null", NULL});
	cr_expect_eq(o.status, 2, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.err, "changed since it was recorded"), "%s", o.err);
	pv_test_output_free(&o);
	/* --engine names the engine to use instead: the new file, or a built-in. */
	char so[512];
	snprintf(so, sizeof(so), "%s/noop.so", dir);
	o = pv((char *[]){BIN, "replay", repro, "--engine", so, NULL});
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "reproduced: ineffective"), "%s\n%s", o.out, o.err);
	pv_test_output_free(&o);
	o = pv((char *[]){BIN, "replay", repro, "--engine", "stw-jmp", NULL});
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "stw-jmp on counter"), "%s", o.out);
	pv_test_output_free(&o);
	/* Gone: one line too. */
	unlink(so);
	o = pv((char *[]){BIN, "replay", repro, NULL});
	cr_expect_eq(o.status, 2, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect_eq(pv_test_count_lines(o.err), 1, "%s", o.err);
	cr_expect(strstr(o.err, "cannot be read"), "%s", o.err);
	pv_test_output_free(&o);
	free(repro);
	pv_test_rmdir_all(dir);
}

Test(replay, exec_reproducer_replays, .timeout = 180)
{
	char *dir = pv_test_tmpdir("replay");
	char path[512], spec[600], out[512];
	snprintf(path, sizeof(path), "%s/broken.exec", dir);
	snprintf(spec, sizeof(spec), "exec:%s", path);
	snprintf(out, sizeof(out), "%s/out", dir);
	static const char text[] =
		"[engine]\nname = broken-patcher\n"
		"[apply]\ncommand = " TOOL " --broken apply {pid} {patch} {target} {workdir}/state\n"
		"[revert]\ncommand = " TOOL " --broken revert {pid} {patch} {target} {workdir}/state\n";
	pv_test_spill(path, text, strlen(text));
	struct pv_test_output o = pv((char *[]){BIN, "run", "--engine", spec, "--scenario",
	                                        "counter", "--schedules", "2", "--out", out, NULL});
	cr_assert_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	char *repro = the_repro(dir);
	size_t len;
	char *saved = (char *)pv_test_slurp(repro, &len);
	cr_expect(strstr(saved, "\nengine-spec exec:"), "%s", saved);
	free(saved);
	o = pv((char *[]){BIN, "replay", repro, NULL});
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "reproduced: ineffective"), "%s\n%s", o.out, o.err);
	pv_test_output_free(&o);
	/* The exec file edited: refused. */
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f);
	fputs("; edited\n", f);
	fclose(f);
	o = pv((char *[]){BIN, "replay", repro, NULL});
	cr_expect_eq(o.status, 2, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect_eq(pv_test_count_lines(o.err), 1, "%s", o.err);
	cr_expect(strstr(o.err, "changed since it was recorded"), "%s", o.err);
	pv_test_output_free(&o);
	free(repro);
	pv_test_rmdir_all(dir);
}

/* A reproducer of a built-in engine has no engine keys and reads as before;
 * one with only one of the two keys is malformed. */
Test(replay, engine_keys_go_together, .timeout = 120)
{
	char *dir = pv_test_tmpdir("replay");
	char *repro = NULL;
	plugin_campaign(dir, &repro);
	char *bad = pv_test_sh("sed '/^engine-sha256 /d' %s > %s/half.pvr && echo %s/half.pvr",
	                       repro, dir, dir);
	bad[strcspn(bad, "\n")] = '\0';
	struct pv_test_output o = pv((char *[]){BIN, "replay", bad, NULL});
	cr_expect_eq(o.status, 2, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.err, "go together"), "%s", o.err);
	pv_test_output_free(&o);
	free(bad);
	free(repro);
	pv_test_rmdir_all(dir);
}
