/* The exec adapter: exec files (strict parsing, placeholders) and whole
 * campaigns of `patchvet run --engine exec:FILE` on the native counter:
 * tools/pv-patcher (built from stw-jmp) is SAFE, the same tool with
 * --broken (success claimed, nothing done) is UNSAFE with `ineffective`,
 * --bad-revert and --leaky with rollback-bytes and rollback-leak, a
 * hanging command is cut at its timeout with nothing left behind, a failing
 * one names its exit status, and emu is refused. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/exec/execfile.h"
#include "../harness/load/scenario.h"
#include "helpers.h"

#define BIN PV_PATCHVET_BIN
#define TOOL PV_BUILD_DIR "/tools/pv-patcher"

static char *write_exec(const char *dir, const char *name, const char *text)
{
	char *path = NULL;
	cr_assert_neq(asprintf(&path, "%s/%s", dir, name), -1);
	pv_test_spill(path, text, strlen(text));
	return path;
}

/* ------------------------------------------------------------ exec files */

static const char good_text[] =
	"; the standalone patcher\n"
	"[engine]\n"
	"name = pv-patcher\n"
	"description = stw jmp redirect, by an external tool\n"
	"consistency = global\n"
	"\n"
	"[target]\n"
	"env = PV_EXEC_TEST=1\n"
	"\n"
	"[apply]\n"
	"command = " TOOL " apply {pid} {patch} {target} '{workdir}/state file'\n"
	"timeout = 1500ms\n"
	"\n"
	"[status]\n"
	"command = " TOOL " status {pid} '{workdir}/state file'\n"
	"applied = applied\n"
	"\n"
	"[revert]\n"
	"command = " TOOL " revert {pid} {patch} {target} '{workdir}/state file'\n"
	"timeout = 2s\n";

Test(execfile, parses_every_key)
{
	char *dir = pv_test_tmpdir("execfile");
	char *path = write_exec(dir, "good.exec", good_text);
	struct pv_execfile *x = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_execfile_load(path, &x, &err), 0, "%s", err.msg);
	cr_expect_str_eq(x->name, "pv-patcher");
	cr_expect_eq(x->consistency, PV_CONSISTENCY_GLOBAL);
	cr_expect_eq(x->nenv, 1);
	cr_expect_str_eq(x->env[0], "PV_EXEC_TEST=1");
	cr_expect_eq(x->cmds[PV_EXEC_APPLY].timeout_ms, 1500);
	cr_expect_eq(x->cmds[PV_EXEC_REVERT].timeout_ms, 2000);
	cr_expect_eq(x->cmds[PV_EXEC_STATUS].timeout_ms, PV_EXEC_DEFAULT_TIMEOUT_MS);
	cr_expect_null(x->cmds[PV_EXEC_PREPARE].words);
	cr_expect_str_eq(x->applied_word, "applied");
	struct pv_exec_vars v = {.pid = "42", .patch = "/p.so", .target = "/t", .workdir = "/w",
	                         .dir = dir};
	char **argv = NULL;
	cr_assert_eq(pv_exec_argv(x, PV_EXEC_APPLY, &v, &argv, &err), 0, "%s", err.msg);
	cr_expect_str_eq(argv[0], TOOL);
	cr_expect_str_eq(argv[2], "42");
	cr_expect_str_eq(argv[3], "/p.so");
	cr_expect_str_eq(argv[4], "/t");
	cr_expect_str_eq(argv[5], "/w/state file");
	cr_expect_null(argv[6]);
	pv_exec_argv_free(argv);
	cr_expect_eq(pv_exec_argv(x, PV_EXEC_PREPARE, &v, &argv, &err), PV_ENOENT);
	pv_execfile_free(x);
	free(path);
	pv_test_rmdir_all(dir);
}

Test(execfile, default_name_is_the_file_name)
{
	char *dir = pv_test_tmpdir("execfile");
	char *path = write_exec(dir, "My_Tool.exec", "[apply]\ncommand = true\n");
	struct pv_execfile *x = NULL;
	struct pv_error err;
	cr_assert_eq(pv_execfile_load(path, &x, &err), 0, "%s", err.msg);
	cr_expect_str_eq(x->name, "my-tool");
	cr_expect_eq(x->consistency, PV_CONSISTENCY_NONE);
	pv_execfile_free(x);
	free(path);
	pv_test_rmdir_all(dir);
}

/* Each malformed file: PV_EFORMAT and "FILE:LINE: " (or "FILE: " when the
 * problem is something missing) followed by `mention`. */
static void expect_bad(const char *text, int line, const char *mention)
{
	char *dir = pv_test_tmpdir("execfile");
	char *path = write_exec(dir, "bad.exec", text);
	struct pv_execfile *x = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(pv_execfile_load(path, &x, &err), PV_EFORMAT, "accepted:\n%s", text);
	cr_expect_null(x);
	char where[600];
	if (line)
		snprintf(where, sizeof(where), "%s:%d: ", path, line);
	else
		snprintf(where, sizeof(where), "%s: ", path);
	cr_expect(strstr(err.msg, where) == err.msg, "'%s' does not start with '%s'", err.msg,
	          where);
	cr_expect(strstr(err.msg, mention) != NULL, "'%s' not in '%s'", mention, err.msg);
	free(path);
	pv_test_rmdir_all(dir);
}

Test(execfile, strict)
{
	expect_bad("[apply]\ncommand = true\ncolour = blue\n", 3, "unknown key 'colour' in [apply]");
	expect_bad("[engine]\nname = x\n[apply]\ncommand = true\ntimeout = 5 parsecs\n", 5,
	           "bad timeout");
	expect_bad("[apply]\ncommand = true\ntimeout = 0\n", 3, "bad timeout");
	expect_bad("[apply]\ncommand = true\ntimeout = 601s\n", 3, "bad timeout");
	expect_bad("[revert]\ncommand = true\n", 0, "no [apply] command");
	expect_bad("[apply]\ntimeout = 1s\n", 2, "[apply] has no command");
	expect_bad("[apply]\ncommand = true\n[patch]\n", 3, "unknown section [patch]");
	expect_bad("[apply]\ncommand = true\ncommand = false\n", 3, "duplicate key 'command'");
	expect_bad("[apply]\ncommand = 'true\n", 2, "unterminated");
	expect_bad("[apply]\ncommand =\n", 2, "empty command");
	expect_bad("[target]\nenv = LD_PRELOAD\n[apply]\ncommand = true\n", 2, "NAME=VALUE");
	expect_bad("[engine]\nname = Bad Name\n[apply]\ncommand = true\n", 2, "[a-z0-9-]+");
	expect_bad("[engine]\nconsistency = eventual\n[apply]\ncommand = true\n", 2,
	           "bad consistency");
	expect_bad("[apply]\ncommand = true\n  more\n", 3, "indented");
	expect_bad("name = x\n", 1, "before any section");
	expect_bad("[apply]\njust words\n", 2, "expected '[section]'");
}

/* ------------------------------------------------------------ campaigns */

static struct pv_test_output run_exec(const char *file, const char *backend, const char *out)
{
	char spec[600];
	snprintf(spec, sizeof(spec), "exec:%s", file);
	struct pv_test_output o;
	char *argv[] = {BIN,          "run",     "--engine", spec, "--scenario", "counter",
	                "--schedules", "3",      "--out",    (char *)out,
	                backend ? "--backend" : NULL, (char *)backend, NULL};
	cr_assert_eq(pv_test_run(argv, 120, &o), 0, "cannot start %s", BIN);
	return o;
}

/* Processes whose command line or environment holds marker (none must
 * outlive a run). */
static int processes_with(const char *marker)
{
	DIR *d = opendir("/proc");
	cr_assert_not_null(d);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		if (atoi(de->d_name) <= 0 || atoi(de->d_name) == getpid())
			continue;
		bool found = false;
		for (int k = 0; k < 2 && !found; k++) {
			char path[300], buf[16384];
			snprintf(path, sizeof(path), "/proc/%s/%s", de->d_name, k ? "environ" : "cmdline");
			FILE *f = fopen(path, "re");
			if (!f)
				continue;
			size_t len = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			for (size_t i = 0; i < len; i++)
				buf[i] = buf[i] ? buf[i] : ' ';
			buf[len] = '\0';
			found = strstr(buf, marker) != NULL;
		}
		n += found;
	}
	closedir(d);
	return n;
}

Test(exec, standalone_patcher_is_safe_on_counter, .timeout = 120)
{
	char *dir = pv_test_tmpdir("exec");
	/* The target carries the directory's name in its environment. */
	char text[sizeof(good_text) + 600];
	snprintf(text, sizeof(text), "%s[target]\nenv = PV_EXEC_MARK=%s\n", good_text, dir);
	char *path = write_exec(dir, "good.exec", text);
	struct pv_test_output o = run_exec(path, NULL, dir);
	cr_expect_eq(o.status, 0, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "pv-patcher") && strstr(o.out, "SAFE"), "%s", o.out);
	cr_expect(strstr(o.out, "on ptrace"), "not on ptrace: %s", o.out);
	cr_expect_eq(processes_with(dir), 0, "a process of the run is still there");
	pv_test_output_free(&o);
	free(path);
	pv_test_rmdir_all(dir);
}

Test(exec, patcher_that_does_nothing_is_ineffective, .timeout = 120)
{
	char *dir = pv_test_tmpdir("exec");
	char *path = write_exec(dir, "broken.exec",
	                        "[engine]\nname = broken-patcher\n"
	                        "[apply]\ncommand = " TOOL " --broken apply {pid} {patch} {target} "
	                        "{workdir}/state\n"
	                        "[revert]\ncommand = " TOOL " --broken revert {pid} {patch} "
	                        "{target} {workdir}/state\n");
	struct pv_test_output o = run_exec(path, "ptrace", dir);
	cr_expect_eq(o.status, 1, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "UNSAFE"), "%s", o.out);
	cr_expect(strstr(o.out, "ineffective"), "%s", o.out);
	cr_expect(strstr(o.out, "first bytes of none"), "%s", o.out);
	pv_test_output_free(&o);
	free(path);
	pv_test_rmdir_all(dir);
}

/* The patcher with a revert defect: UNSAFE with a check that catches it
 * (check, or also check2 when not NULL). */
static void expect_revert_defect(const char *flag, const char *check, const char *check2)
{
	char *dir = pv_test_tmpdir("exec");
	char text[1024];
	snprintf(text, sizeof(text),
	         "[apply]\ncommand = " TOOL " apply {pid} {patch} {target} {workdir}/state\n"
	         "[revert]\ncommand = " TOOL " %s revert {pid} {patch} {target} {workdir}/state\n",
	         flag);
	char *path = write_exec(dir, "defect.exec", text);
	struct pv_test_output o = run_exec(path, NULL, dir);
	cr_expect_eq(o.status, 1, "%s: exit %d\nstdout: %s\nstderr: %s", flag, o.status, o.out,
	             o.err);
	cr_expect(strstr(o.out, check) || (check2 && strstr(o.out, check2)), "%s: no %s in %s",
	          flag, check, o.out);
	pv_test_output_free(&o);
	free(path);
	pv_test_rmdir_all(dir);
}

Test(exec, revert_defects_are_caught, .timeout = 120)
{
	/* Four stale bytes with the patch unmapped: the next call faults, unless
	 * no worker calls bump any more and the bytes are judged. */
	expect_revert_defect("--bad-revert", "rollback-bytes", "crash");
	expect_revert_defect("--leaky", "rollback-leak", NULL);
}

Test(exec, status_that_denies_the_patch_is_ineffective, .timeout = 120)
{
	char *dir = pv_test_tmpdir("exec");
	char *path = write_exec(dir, "denies.exec",
	                        "[apply]\ncommand = " TOOL " apply {pid} {patch} {target} "
	                        "{workdir}/state\n"
	                        "[status]\ncommand = echo not-applied\napplied = applied\n"
	                        "[revert]\ncommand = " TOOL " revert {pid} {patch} {target} "
	                        "{workdir}/state\n");
	struct pv_test_output o = run_exec(path, NULL, dir);
	cr_expect_eq(o.status, 1, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "without printing 'applied'"), "%s", o.out);
	pv_test_output_free(&o);
	free(path);
	pv_test_rmdir_all(dir);
}

Test(exec, hanging_command_is_killed_at_its_timeout, .timeout = 120)
{
	char *dir = pv_test_tmpdir("exec");
	char marker[64];
	snprintf(marker, sizeof(marker), "pv-exec-hang-%d", (int)getpid());
	char text[512];
	/* The shell's child sleeps too: the whole group must go. */
	snprintf(text, sizeof(text),
	         "[apply]\ncommand = /bin/sh -c 'sleep 30 & sleep 31; : %s'\ntimeout = 300ms\n",
	         marker);
	char *path = write_exec(dir, "hang.exec", text);
	struct pv_test_output o = run_exec(path, NULL, dir);
	cr_expect_neq(o.status, 0, "exit 0\nstdout: %s", o.out);
	cr_expect(strstr(o.out, "liveness") || strstr(o.out, "ERROR"), "%s", o.out);
	cr_expect(strstr(o.out, "did not finish within"), "%s", o.out);
	cr_expect_eq(processes_with(marker), 0, "the hanging command is still there");
	pv_test_output_free(&o);
	free(path);
	pv_test_rmdir_all(dir);
}

Test(exec, failing_command_is_named_in_the_verdict, .timeout = 120)
{
	char *dir = pv_test_tmpdir("exec");
	char *path = write_exec(dir, "fail.exec",
	                        "[apply]\ncommand = /bin/sh -c 'echo no luck >&2; exit 3'\n");
	struct pv_test_output o = run_exec(path, NULL, dir);
	cr_expect_eq(o.status, 3, "exit %d\nstdout: %s", o.status, o.out);
	cr_expect(strstr(o.out, "ERROR"), "%s", o.out);
	cr_expect(strstr(o.out, "exited with status 3: no luck"), "%s", o.out);
	pv_test_output_free(&o);
	free(path);
	pv_test_rmdir_all(dir);
}

Test(exec, bad_input_is_exit_2)
{
	char *dir = pv_test_tmpdir("exec");
	char *bad = write_exec(dir, "bad.exec", "[apply]\ncommand = true\ntimeout = soon\n");
	struct pv_test_output o = run_exec(bad, NULL, dir);
	char where[600];
	snprintf(where, sizeof(where), "%s:3: bad timeout", bad);
	cr_expect_eq(o.status, 2, "exit %d, stderr: %s", o.status, o.err);
	cr_expect(strstr(o.err, where), "'%s' not in: %s", where, o.err);
	pv_test_output_free(&o);
	char *good = write_exec(dir, "good.exec", good_text);
	o = run_exec(good, "emu", dir);
	cr_expect_eq(o.status, 2, "exit %d, stderr: %s", o.status, o.err);
	cr_expect(strstr(o.err, "only on the ptrace backend"), "%s", o.err);
	pv_test_output_free(&o);
	char missing[600];
	snprintf(missing, sizeof(missing), "%s/none.exec", dir);
	o = run_exec(missing, NULL, dir);
	cr_expect_eq(o.status, 2, "exit %d, stderr: %s", o.status, o.err);
	pv_test_output_free(&o);
	free(bad);
	free(good);
	pv_test_rmdir_all(dir);
}

/* Scenario and exec files are read by one INI reader, which opens without
 * blocking: a FIFO (nobody writing) or a device is refused at once. */
Test(execfile, fifo_and_device_are_refused_without_waiting, .timeout = 20)
{
	char *dir = pv_test_tmpdir("fifo");
	char fifo[512];
	snprintf(fifo, sizeof(fifo), "%s/engine.exec", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	const char *paths[] = {fifo, "/dev/zero"};
	for (size_t i = 0; i < 2; i++) {
		struct pv_execfile *x = NULL;
		struct pv_error err = {0};
		cr_expect_eq(pv_execfile_load(paths[i], &x, &err), PV_EFORMAT, "%s", paths[i]);
		cr_expect(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
		struct pv_scenario *sc = NULL;
		pv_error_clear(&err);
		cr_expect_eq(pv_scenario_load(paths[i], PV_DATA_DIR, &sc, &err), PV_EFORMAT, "%s",
		             paths[i]);
		cr_expect(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
	}
	pv_test_rmdir_all(dir);
}
