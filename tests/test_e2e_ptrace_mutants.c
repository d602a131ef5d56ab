/* End-to-end: mutants only the ptrace backend can catch, through the real
 * patchvet binary (the emu ones are in test_e2e_emu.c). Short campaigns:
 * every schedule of these mutants violates its check. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN

/* wx-left leaves the patched text pages writable: the target's mappings
 * change across the engine's pause (state-os). */
Test(e2e_ptrace_mutants, wx_left_is_caught_by_state_os, .timeout = 120)
{
	char dir[] = "/tmp/pvwx.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "ptrace", "--engine",
	                                    "wx-left", "--scenario", "counter", "--schedules",
	                                    "5", "--seed", "1", "--out", dir, NULL},
	                         120, &o),
	             0);
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "wx-left on counter: state-os") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	free(pv_test_sh("rm -rf %s", dir));
}

/* redzone's injected call builds its frame at the thread's rsp, over the
 * 128-byte red zone: the stopped thread's stack memory changes (state-mem). */
Test(e2e_ptrace_mutants, redzone_is_caught_by_state_mem, .timeout = 120)
{
	char dir[] = "/tmp/pvrz.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "ptrace", "--engine",
	                                    "redzone", "--scenario", "fpu", "--schedules", "5",
	                                    "--seed", "1", "--out", dir, NULL},
	                         120, &o),
	             0);
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "redzone on fpu: state-mem") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	free(pv_test_sh("rm -rf %s", dir));
}
