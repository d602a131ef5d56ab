/* Functions in shared libraries: the lookup order of a process's objects,
 * patches that call libc and pthreads, and the checks on a library function
 * (ineffective, rollback-bytes), on the libcount corpus target, whose
 * replaced function lives in its own library. End to end with the real
 * patchvet binary where the verdict is what a user acts on. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "../engines/jmp.h"
#include "../harness/load/objects.h"
#include "../harness/ptrace/ptrace.h"

#define BIN PV_PATCHVET_BIN

static struct pv_test_output run(char *const argv[], unsigned timeout_s)
{
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, timeout_s, &o), 0, "cannot start %s", argv[0]);
	return o;
}

/* The object order and the names "LIB:function" and plain ones resolve to. */
Test(libs, lookup_follows_the_dynamic_linkers_order)
{
	struct pv_error err;
	pv_error_clear(&err);
	struct pv_image *exe = NULL;
	cr_assert_eq(pv_image_open(PV_CORPUS_TARGET("libcount-plain"), &exe, &err), 0, "%s",
	             err.msg);
	struct pv_objects o = {0};
	cr_assert_eq(pv_objects_from_files(&o, exe, &err), 0, "%s", err.msg);
	cr_assert_geq(o.n, 3, "exe, libpvcount, libc at least: %zu", o.n);
	cr_expect(o.v[0].main);
	cr_expect_str_eq(pv_object_name(&o.v[1]), "libpvcount-plain.so");
	struct pv_found f;
	cr_assert_eq(pv_objects_find(&o, "lib_bump", true, &f, &err), 0, "%s", err.msg);
	cr_expect_eq(f.obj, 1);
	cr_assert_eq(pv_objects_find(&o, "libpvcount-plain.so:lib_bump", true, &f, &err), 0, "%s",
	             err.msg);
	cr_expect_eq(f.obj, 1);
	/* pv_worker is the executable's own; clock_gettime is libc's default
	 * version, not an old hidden one. */
	cr_assert_eq(pv_objects_find(&o, "pv_worker", true, &f, &err), 0, "%s", err.msg);
	cr_expect_eq(f.obj, 0);
	cr_assert_eq(pv_objects_find(&o, "clock_gettime", true, &f, &err), 0, "%s", err.msg);
	cr_expect(strstr(pv_object_name(&o.v[f.obj]), "libc.so"), "%s", o.v[f.obj].path);
	cr_expect(!f.sym->hidden_version);
	cr_expect_neq(pv_objects_find(&o, "no_such_function_anywhere", true, &f, &err), 0);
	cr_expect(strstr(err.msg, "shared objects it loaded"), "%s", err.msg);
	cr_expect_neq(pv_objects_find(&o, "libnothing.so:lib_bump", true, &f, &err), 0);
	cr_expect(strstr(err.msg, "no loaded object is called 'libnothing.so'"), "%s", err.msg);
	pv_objects_free(&o);
	pv_image_close(exe);
}

/* The backend finds lib_bump in libpvcount, loads the patch within a jmp's
 * reach of it, resolves the patch's calls of clock_gettime and
 * pthread_mutex_lock in libc, and the replacement runs: with param 2 the
 * target says so (target-verify, "the replacement ran"). */
Test(libs, a_patch_calling_libc_applies_and_runs, .timeout = 120)
{
	struct pv_backend_config cfg = {
		.target_path = PV_CORPUS_TARGET("libcount-plain"),
		.patch_path = PV_CORPUS_PATCH("libcount-fix"),
		.workload = {.workers = 2, .iterations = 20000, .param = 2},
	};
	struct pv_error err;
	pv_error_clear(&err);
	void *h = NULL;
	cr_assert_eq(pv_backend_ptrace_ops.open(&cfg, &h, &err), 0, "%s", err.msg);
	const struct pv_patch_desc *d = pv_backend_ptrace_ops.patch(h);
	cr_assert_eq(d->nfuncs, 1);
	const struct pv_patch_func *f = &d->funcs[0];
	cr_expect_eq(f->prologue.hazards & PV_HAZARD_MISSING_FUNCTION, 0);
	int64_t dist = (int64_t)(f->new_addr - f->old_addr);
	cr_expect(dist > INT32_MIN && dist < INT32_MAX, "patch out of a jmp's reach: %llx -> %llx",
	          (unsigned long long)f->old_addr, (unsigned long long)f->new_addr);
	void *state = NULL;
	cr_assert_eq(pv_engine_stw_jmp.plan(d, &state, &err), 0, "%s", err.msg);
	unsigned ran = 0;
	for (unsigned k = 0; k < 5 && ran < 2; k++) {
		/* The longest delays, between apply and revert too. */
		uint8_t stream[4096];
		memset(stream, 15, sizeof(stream));
		struct pv_run_result res;
		cr_assert_eq(pv_backend_ptrace_ops.run(h, &pv_engine_stw_jmp, state, stream,
		                                       sizeof(stream), &res, &err), 0, "%s", err.msg);
		/* A loaded machine may let the workers finish first: then the
		 * replacement had no call to run, and nothing else may show. */
		cr_expect_eq(res.apply_rc, 0, "apply: %s", res.engine_error);
		cr_expect_leq(res.nviolations, 1, "run %u: %zu violations", k, (size_t)res.nviolations);
		for (size_t i = 0; i < res.nviolations; i++) {
			cr_expect_str_eq(res.violations[i].check, "target-verify", "%s",
			                 res.violations[i].detail);
			ran += strstr(res.violations[i].detail, "the replacement ran") != NULL;
		}
	}
	cr_expect_geq(ran, 1, "the replacement never ran in 5 runs");
	pv_engine_stw_jmp.release(state);
	pv_backend_ptrace_ops.close(h);
}

static char *build_plugin(const char *dir, const char *src)
{
	char *path = NULL;
	cr_assert(asprintf(&path, "%s/%s.so", dir, src) > 0);
	free(pv_test_sh("cc -std=c17 -fPIC -shared -I%s/include -o %s %s/tests/data/engines/%s.c "
	                "2>&1", PV_SOURCE_DIR, path, PV_SOURCE_DIR, src));
	return path;
}

/* A plugin that reports success and changes nothing, on a function of a
 * shared library: ineffective, exit 1 (a false SAFE otherwise). */
Test(libs, a_noop_plugin_on_a_library_function_is_ineffective, .timeout = 120)
{
	char *dir = pv_test_tmpdir("libs");
	char *plugin = build_plugin(dir, "noop-engine");
	char out[512];
	snprintf(out, sizeof(out), "%s/out", dir);
	char *argv[] = {BIN, "run", "--engine", plugin, "--scenario", "libcount", "--backend",
	                "ptrace", "--schedules", "3", "--out", out, NULL};
	struct pv_test_output o = run(argv, 120);
	cr_expect_eq(o.status, 1, "exit %d: %s", o.status, o.err);
	cr_expect(strstr(o.out, "ineffective"), "%s", o.out);
	cr_expect(strstr(o.out, "lib_bump in libpvcount-plain.so"), "%s", o.out);
	pv_test_output_free(&o);
	free(plugin);
	pv_test_rmdir_all(dir);
}

/* A revert that leaves one byte of the padding before a library function's
 * entry changed: rollback-bytes, at that byte. */
Test(libs, a_byte_left_in_a_librarys_padding_is_rollback_bytes, .timeout = 120)
{
	char *dir = pv_test_tmpdir("libs");
	char *plugin = build_plugin(dir, "padleak-engine");
	char out[512];
	snprintf(out, sizeof(out), "%s/out", dir);
	char *argv[] = {BIN, "run", "--engine", plugin, "--scenario", "libcount", "--backend",
	                "ptrace", "--schedules", "2", "--out", out, NULL};
	struct pv_test_output o = run(argv, 120);
	cr_expect_eq(o.status, 1, "exit %d: %s", o.status, o.err);
	cr_expect(strstr(o.out, "rollback-bytes"), "%s", o.out);
	cr_expect(strstr(o.out, "holds 0xcc where the original has"), "%s", o.out);
	pv_test_output_free(&o);
	free(plugin);
	pv_test_rmdir_all(dir);
}

/* The reference engines on the library function: stw-jmp's jmp anywhere,
 * pulp in the padded entry of the pad flavour's library. */
Test(libs, reference_engines_patch_a_library_function, .timeout = 240)
{
	char *dir = pv_test_tmpdir("libs");
	char out[512];
	snprintf(out, sizeof(out), "%s/out", dir);
	char *plain[] = {BIN, "run", "--engine", "stw-jmp", "--scenario", "libcount", "--backend",
	                 "ptrace", "--schedules", "10", "--out", out, NULL};
	struct pv_test_output o = run(plain, 120);
	cr_expect_eq(o.status, 0, "exit %d: %s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "SAFE"), "%s", o.out);
	pv_test_output_free(&o);
	char *pad[] = {BIN, "run", "--engine", "pulp", "--scenario", "libcount", "--flavour", "pad",
	               "--backend", "ptrace", "--schedules", "10", "--out", out, NULL};
	o = run(pad, 120);
	cr_expect_eq(o.status, 0, "exit %d: %s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "pulp         libcount           ptrace  SAFE"), "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

/* The target loads and unloads a library in a loop from a thread it starts
 * late: its own mappings and threads, which no check blames on stw-jmp. */
Test(libs, dlopen_churn_and_late_threads_stay_safe_over_100_schedules, .timeout = 240)
{
	char *dir = pv_test_tmpdir("libs");
	char out[512];
	snprintf(out, sizeof(out), "%s/out", dir);
	char *argv[] = {BIN, "run", "--engine", "stw-jmp", "--scenario", "libcount-churn",
	                "--backend", "ptrace", "--schedules", "100", "--out", out, NULL};
	struct pv_test_output o = run(argv, 200);
	cr_expect_eq(o.status, 0, "exit %d: %s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "SAFE           100"), "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

/* A replaced function that no loaded object defines, and an ifunc, are the
 * user's to fix: exit 2 and one line, before any schedule. */
Test(libs, a_missing_or_ifunc_function_is_exit_2_up_front, .timeout = 120)
{
	char *dir = pv_test_tmpdir("libs");
	free(pv_test_sh("printf '#include <patchvet/patch.h>\\nvoid x(void) {}\\n"
	                "PV_REPLACE(no_such_function, x);\\n' > %s/missing.c && "
	                "printf '#include <patchvet/patch.h>\\n"
	                "unsigned long y(const char *s) { return s ? 1 : 0; }\\n"
	                "PV_REPLACE(strlen, y);\\n' > %s/ifunc.c && "
	                "cc -fPIC -shared -I%s/include -o %s/missing.so %s/missing.c && "
	                "cc -fPIC -shared -I%s/include -o %s/ifunc.so %s/ifunc.c && "
	                "printf '[scenario]\\ntarget = %s\\npatch = ./missing.so\\nbackends = ptrace\\n' "
	                "> %s/missing.ini && "
	                "printf '[scenario]\\ntarget = %s\\npatch = ./ifunc.so\\nbackends = ptrace\\n' "
	                "> %s/ifunc.ini 2>&1",
	                dir, dir, PV_SOURCE_DIR, dir, dir, PV_SOURCE_DIR, dir, dir,
	                PV_CORPUS_TARGET("libcount-plain"), dir, PV_CORPUS_TARGET("libcount-plain"),
	                dir));
	const char *names[] = {"missing", "ifunc"};
	const char *says[] = {"no function 'no_such_function' is defined", "'strlen' is an ifunc"};
	for (int i = 0; i < 2; i++) {
		char sc[512], out[512];
		snprintf(sc, sizeof(sc), "%s/%s.ini", dir, names[i]);
		snprintf(out, sizeof(out), "%s/out-%s", dir, names[i]);
		char *argv[] = {BIN, "run", "--engine", "stw-jmp", "--scenario", sc, "--backend",
		                "ptrace", "--schedules", "3", "--out", out, NULL};
		struct pv_test_output o = run(argv, 60);
		cr_expect_eq(o.status, 2, "%s: exit %d: %s%s", names[i], o.status, o.out, o.err);
		cr_expect(strstr(o.err, says[i]), "%s: %s", names[i], o.err);
		cr_expect_eq(pv_test_count_lines(o.err), 1, "%s", o.err);
		pv_test_output_free(&o);
	}
	pv_test_rmdir_all(dir);
}

/* An external tool that exits 0 and changes nothing, on a library
 * function: ineffective, and certify records UNSAFE with exit 1. */
Test(libs, an_exec_tool_that_does_nothing_on_a_library_is_ineffective, .timeout = 180)
{
	char *dir = pv_test_tmpdir("libs");
	free(pv_test_sh("printf '[engine]\\nname = nothing\\n[apply]\\ncommand = true\\n"
	                "[revert]\\ncommand = true\\n' > %s/nothing.exec 2>&1", dir));
	char eng[512], out[512];
	snprintf(eng, sizeof(eng), "exec:%s/nothing.exec", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	char *argv[] = {BIN, "run", "--engine", eng, "--scenario", "libcount", "--backend",
	                "ptrace", "--schedules", "3", "--out", out, NULL};
	struct pv_test_output o = run(argv, 120);
	cr_expect_eq(o.status, 1, "exit %d: %s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "ineffective"), "%s", o.out);
	pv_test_output_free(&o);
	char *cert[] = {BIN, "certify", "--engine", eng, "--scenario", "libcount", "--backend",
	                "ptrace", "--schedules", "3", "--overhead-time", "0", "--out", out, NULL};
	o = run(cert, 120);
	cr_expect_eq(o.status, 1, "exit %d: %s%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	char path[600];
	snprintf(path, sizeof(path), "%s/certificate.json", out);
	size_t n = 0;
	char *c = (char *)pv_test_slurp(path, &n);
	cr_assert_not_null(c);
	cr_expect(strstr(c, "\"verdict\":\"UNSAFE\""), "%s", c);
	cr_expect(strstr(c, "ineffective"), "%s", c);
	free(c);
	pv_test_rmdir_all(dir);
}

/* docs/engine-author.md's worked example of an unmodified Debian program,
 * run as written from an empty directory (patchvet and its pkg-config file
 * from the build), then its two defect runs. */
Test(libs, the_guides_debian_program_example_works_as_written, .timeout = 300)
{
	if (access("/usr/bin/pigz", X_OK)) {
		fprintf(stderr, "libs: /usr/bin/pigz is missing (ci/deps.sh installs it): the "
		                "guide's program example is not run\n");
		return;
	}
	size_t doclen = 0;
	char *doc = (char *)pv_test_slurp(PV_SOURCE_DIR "/docs/engine-author.md", &doclen);
	cr_assert_not_null(doc);
	char *mark = strstr(doc, "<!-- program-example.sh:");
	cr_assert_not_null(mark, "docs/engine-author.md lost its program example marker");
	char *start = strstr(mark, "```sh\n");
	cr_assert_not_null(start);
	start += 6;
	char *end = strstr(start, "\n```\n");
	cr_assert_not_null(end);
	char *dir = pv_test_tmpdir("guide");
	char path[512];
	snprintf(path, sizeof(path), "%s/example.sh", dir);
	pv_test_spill(path, start, (size_t)(end - start) + 1);
	/* The defect runs: the next sh block. */
	char *start2 = strstr(end, "```sh\n");
	cr_assert_not_null(start2);
	start2 += 6;
	char *end2 = strstr(start2, "\n```\n");
	cr_assert_not_null(end2);
	snprintf(path, sizeof(path), "%s/defects.sh", dir);
	pv_test_spill(path, start2, (size_t)(end2 - start2) + 1);
	free(doc);
	snprintf(path, sizeof(path), "%s/pc", dir);
	free(pv_test_sh("mkdir -p %s && printf 'Name: patchvet\\nDescription: d\\nVersion: 0\\n"
	                "Cflags: -I%s/include\\n' > %s/patchvet.pc", path, PV_SOURCE_DIR, path));
	char *out = pv_test_sh("cd %s && PATH=%s:$PATH PKG_CONFIG_PATH=%s bash -e example.sh 2>&1; "
	                       "echo \"exit $?\"", dir, PV_BUILD_DIR, path);
	cr_expect(strstr(out, "exit 0\n"), "%s", out);
	cr_expect(strstr(out, "crc32_z@libz.so.1"), "%s", out);
	cr_expect(strstr(out, "stw-jmp      pigz               ptrace  SAFE            10"), "%s",
	          out);
	free(out);
	out = pv_test_sh("cd %s/pigz-demo && PATH=%s:$PATH bash -c \"$(sed -n 1p ../defects.sh)\" "
	                 "2>&1; echo \"exit $?\"; PATH=%s:$PATH bash -c \"$(sed -n 2p "
	                 "../defects.sh)\" 2>&1; echo \"exit $?\"",
	                 dir, PV_BUILD_DIR, PV_BUILD_DIR);
	cr_expect(strstr(out, "no-op        pigz               ptrace  UNSAFE"), "%s", out);
	cr_expect(strstr(out, "ineffective"), "%s", out);
	cr_expect(strstr(out, "bad-revert   pigz               ptrace  UNSAFE"), "%s", out);
	cr_expect(strstr(out, "rollback-bytes"), "%s", out);
	const char *first = strstr(out, "exit ");
	cr_expect(first && !strncmp(first, "exit 1\n", 7), "%s", out);
	free(out);
	pv_test_rmdir_all(dir);
}

/* analyze --pid: the objects of a running process, read from /proc, the
 * process neither stopped nor changed; bad --pid use is exit 2. */
Test(libs, analyze_reads_a_running_processs_objects, .timeout = 60)
{
	char *pid = pv_test_sh("sh -c '%s 1 2000000000 0 >/dev/null 2>&1 & echo $!'",
	                       PV_CORPUS_TARGET("libcount-plain"));
	pid[strcspn(pid, "\n")] = '\0';
	usleep(200000); /* its dynamic linker has loaded libpvcount */
	char *argv[] = {BIN, "analyze", "--pid", pid, "--patch", PV_CORPUS_PATCH("libcount-fix"),
	                NULL};
	struct pv_test_output o = run(argv, 30);
	cr_expect_eq(o.status, 0, "exit %d: %s", o.status, o.err);
	cr_expect(strstr(o.out, "lib_bump@libpvcount-plain.so"), "%s", o.out);
	cr_expect_null(strstr(o.out, "missing-function"), "%s", o.out);
	pv_test_output_free(&o);
	char status[64];
	snprintf(status, sizeof(status), "/proc/%s/status", pid);
	char *st = pv_test_sh("grep -E '^(State|TracerPid)' %s", status);
	cr_expect(strstr(st, "TracerPid:\t0"), "%s", st);
	free(st);
	char *bad[] = {BIN, "analyze", "--pid", "0", "--patch", PV_CORPUS_PATCH("libcount-fix"),
	               NULL};
	o = run(bad, 30);
	cr_expect_eq(o.status, 2, "exit %d", o.status);
	pv_test_output_free(&o);
	free(pv_test_sh("kill %s", pid));
	free(pid);
}

/* run --pid on a process whose replaced function lives in a library: it
 * runs on, untraced, whether the engine's revert removed the patch or gave
 * up (then the patch area stays where the library's code leads). */
Test(libs, pid_on_a_library_function_leaves_the_process_running, .timeout = 120)
{
	char *pid = pv_test_sh("sh -c '%s 2 3000000000 0 >/dev/null 2>&1 & echo $!'",
	                       PV_CORPUS_TARGET("libcount-plain"));
	pid[strcspn(pid, "\n")] = '\0';
	usleep(300000);
	char *dir = pv_test_tmpdir("libs");
	char out[512];
	snprintf(out, sizeof(out), "%s/out", dir);
	char *argv[] = {BIN, "run", "--pid", pid, "--engine", "stw-jmp", "--scenario", "libcount",
	                "--backend", "ptrace", "--schedules", "2", "--out", out, NULL};
	struct pv_test_output o = run(argv, 90);
	cr_expect(strstr(o.out, "process "), "%s%s", o.out, o.err);
	cr_expect(strstr(o.out, "running untraced"), "%s", o.out);
	pv_test_output_free(&o);
	char *st = pv_test_sh("grep -E '^(State|TracerPid)' /proc/%s/status 2>&1", pid);
	cr_expect(strstr(st, "TracerPid:\t0"), "%s", st);
	cr_expect(strstr(st, "State:\tR") || strstr(st, "State:\tS"), "%s", st);
	free(st);
	free(pv_test_sh("kill %s", pid));
	free(pid);
	pv_test_rmdir_all(dir);
}
