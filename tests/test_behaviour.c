/* The behaviour of emu runs with fixed seeds is part of the contract: the
 * same engines, scenarios, explorers and seeds give the same results.json,
 * byte for byte apart from timing and build-path fields, unless a change
 * means to alter them. To accept an intended change, rerun this suite with
 * PV_BEHAVIOUR_UPDATE=1 and commit tests/data/behaviour/ with the reason. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN
static void run_and_compare(const char *name, char *const args[])
{
	char *dir = pv_test_tmpdir("behaviour");
	char *argv[40] = {BIN, "run", "--out", dir};
	size_t k = 4;
	for (size_t i = 0; args[i] && k + 1 < sizeof(argv) / sizeof(argv[0]); i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 600, &o), 0);
	cr_assert(o.status == 0 || o.status == 1, "%s: exit %d\n%s", name, o.status, o.err);
	pv_test_behaviour_compare(dir, name);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(behaviour, random_counter, .timeout = 600)
{
	run_and_compare("random-counter",
	                (char *[]){"--engine", "stw-jmp", "--engine", "naive-write", "--engine",
	                           "no-quiesce", "--engine", "bad-revert", "--engine", "no-op",
	                           "--engine", "got", "--scenario", "counter", "--scenario",
	                           "gotcall-direct", "--schedules", "150", "--seed", "7", NULL});
}

Test(behaviour, pct_nested_fentry, .timeout = 600)
{
	run_and_compare("pct-nested-fentry",
	                (char *[]){"--engine", "klp", "--engine", "no-stack-check", "--engine",
	                           "int3-live", "--engine", "no-sync", "--scenario", "nested",
	                           "--scenario", "counter-fentry", "--flavour", "fentry",
	                           "--explore", "pct", "--depth", "3", "--schedules", "150",
	                           "--seed", "3", NULL});
}

Test(behaviour, bounded_counter, .timeout = 600)
{
	run_and_compare("bounded-counter",
	                (char *[]){"--engine", "no-quiesce", "--engine", "skip-thread",
	                           "--engine", "ksplice", "--scenario", "counter", "--explore",
	                           "bounded", "--preemptions", "1", "--schedules", "150",
	                           "--seed", "1", NULL});
}

Test(behaviour, klp_lifecycle, .timeout = 600)
{
	run_and_compare("klp-lifecycle",
	                (char *[]){"--engine", "klp", "--engine", "leaky", "--engine",
	                           "free-early", "--engine", "klp-stack-clobber", "--scenario",
	                           "counter-stack-fentry", "--scenario", "counter-fentry",
	                           "--schedules", "100", "--seed", "2", NULL});
}

Test(behaviour, sequence_and_fault, .timeout = 600)
{
	run_and_compare("sequence-pulp",
	                (char *[]){"--engine", "pulp", "--engine", "hotpatch-pad", "--scenario",
	                           "counter", "--flavour", "pad", "--sequence",
	                           "apply:counter-fix,apply:counter-fix2,revert:counter-fix,"
	                           "restart,revert-all",
	                           "--schedules", "60", "--seed", "4", NULL});
	run_and_compare("fault-pulp-guard",
	                (char *[]){"--engine", "pulp-guard", "--engine", "pulp", "--scenario",
	                           "counter", "--flavour", "pad", "--fault", "crash",
	                           "--schedules", "60", "--seed", "5", NULL});
	run_and_compare("replace-duo",
	                (char *[]){"--engine", "pulp", "--scenario", "duo-replace", "--schedules",
	                           "60", "--seed", "6", NULL});
}
