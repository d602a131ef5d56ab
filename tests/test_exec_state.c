/* Suite `exec_state`: the exec adapter judges state-mem, state-regs and
 * state-os around each command of an external tool (harness/exec/state.h).
 * tools/pv-patcher (stw-jmp as a program) stays SAFE with the three judged,
 * and says so; with one state defect each it is UNSAFE with the check that
 * covers it: a data word the target never writes (--scribble), fd 0 closed
 * (--close-fd), SIGPIPE ignored (--ignore-signal), main's gs_base
 * changed (--clobber-gs). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN
#define TOOL PV_BUILD_DIR "/tools/pv-patcher"

/* A campaign of pv-patcher with flag (may be "") on apply, on counter. */
static struct pv_test_output run_patcher(const char *dir, const char *flag,
                                         const char *schedules)
{
	char path[512], spec[600], text[1024];
	snprintf(path, sizeof(path), "%s/patcher.exec", dir);
	snprintf(spec, sizeof(spec), "exec:%s", path);
	snprintf(text, sizeof(text),
	         "[engine]\nname = pv-patcher\nconsistency = global\n"
	         "[apply]\ncommand = " TOOL " %s apply {pid} {patch} {target} {workdir}/state\n"
	         "[status]\ncommand = " TOOL " status {pid} {workdir}/state\napplied = applied\n"
	         "[revert]\ncommand = " TOOL " revert {pid} {patch} {target} {workdir}/state\n",
	         flag);
	pv_test_spill(path, text, strlen(text));
	struct pv_test_output o;
	char *argv[] = {BIN, "run", "--engine", spec, "--scenario", "counter", "--schedules",
	                (char *)schedules, "--out", (char *)dir, NULL};
	cr_assert_eq(pv_test_run(argv, 150, &o), 0, "cannot start %s", BIN);
	return o;
}

Test(exec_state, correct_patcher_is_safe_with_state_checks_judged, .timeout = 150)
{
	char *dir = pv_test_tmpdir("exec-state");
	struct pv_test_output o = run_patcher(dir, "", "10");
	cr_expect_eq(o.status, 0, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "SAFE"), "%s", o.out);
	/* The result says what was judged, and state-mem judged some words. */
	const char *info = strstr(o.out, "information: state checks judged around 3 commands: "
	                                 "state-mem (");
	cr_expect(info, "no information line in %s", o.out);
	unsigned judged = 0, words = 0;
	if (info)
		cr_expect_eq(sscanf(strchr(info, '(') + 1, "%u of %u", &judged, &words), 2, "%s",
		             info);
	cr_expect_gt(judged, 0, "no data word judged: %s", o.out);
	cr_expect(info && strstr(info, "state-regs, state-os") && !strstr(info, "threads only"),
	          "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

/* flag makes pv-patcher UNSAFE with check, and the finding holds mention. */
static void expect_caught(const char *flag, const char *check, const char *mention)
{
	char *dir = pv_test_tmpdir("exec-state");
	struct pv_test_output o = run_patcher(dir, flag, "3");
	cr_expect_eq(o.status, 1, "%s: exit %d\nstdout: %s\nstderr: %s", flag, o.status, o.out,
	             o.err);
	char want[128];
	snprintf(want, sizeof(want), "pv-patcher on counter: %s, first in schedule 0", check);
	cr_expect(strstr(o.out, want), "%s: no '%s' in %s", flag, want, o.out);
	cr_expect(strstr(o.out, mention), "%s: no '%s' in %s", flag, mention, o.out);
	cr_expect(strstr(o.out, "during apply (the tool's command)") ||
	          strstr(o.out, "during apply, and"), "%s: %s", flag, o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(exec_state, data_word_written_by_the_tool_is_state_mem, .timeout = 150)
{
	expect_caught("--scribble", "state-mem", "changed from 0x0 to 0x5a5a5a5a5a5a5a5a");
}

Test(exec_state, closed_fd_is_state_os, .timeout = 150)
{
	expect_caught("--close-fd", "state-os", "the fd table changed");
}

Test(exec_state, changed_signal_disposition_is_state_os, .timeout = 150)
{
	expect_caught("--ignore-signal", "state-os", "signal dispositions changed");
}

Test(exec_state, changed_gs_base_is_state_regs, .timeout = 150)
{
	expect_caught("--clobber-gs", "state-regs", "thread 0: gs_base");
}
