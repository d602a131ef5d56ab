/* Cumulative replace: the `replace:P` step of a sequence, pulp's
 * apply_replace on both backends, the replace-keep mutant, and the refusal
 * of an engine without the op. The scenario is duo-replace: duo-fix (bump,
 * tick), duo-fix2 (bump) on top, then duo-cumul (bump only) replaces both,
 * so tick must run the original again. */
#include <criterion/criterion.h>

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/jmp.h"
#include "../engines/strategies.h"
#include "../harness/model/backend.h"
#include "../harness/model/campaign.h"
#include "../harness/campaign/driver.h"
#include "helpers.h"
#include "../harness/campaign/driver_sequence.h"
#include "../harness/model/sequence.h"
#include "../emulator/emu.h"
#include "../harness/ptrace/ptrace.h"

#define BIN PV_PATCHVET_BIN
#define EMU_TARGET(name) PV_BUILD_DIR "/corpora/emu/" name
#define REPLACE_SEQ "apply:duo-fix,apply:duo-fix2,replace:duo-cumul,revert-all"

/* ------------------------------------------------------------ grammar */

Test(replace, parses_the_replace_step)
{
	struct pv_sequence seq;
	struct pv_error err = {0};
	cr_assert_eq(pv_sequence_parse(" apply:a, apply:b ,replace:c,revert-all", &seq, &err), 0,
	             "%s", err.msg);
	cr_expect_eq(seq.npatches, 3);
	cr_expect_eq(seq.nsteps, 4);
	cr_expect_eq(seq.steps[2].kind, PV_STEP_REPLACE);
	cr_expect_eq(seq.steps[2].patch, 2);
	cr_expect(seq.replaces);
	cr_expect_eq(seq.max_depth, 2);
	char name[64];
	pv_step_name(&seq, 2, name, sizeof(name));
	cr_expect_str_eq(name, "replace:c");
	pv_sequence_free(&seq);
	/* After a replace only the cumulative patch is applied: the replaced
	 * ones may be applied again, the cumulative one reverted. */
	cr_assert_eq(pv_sequence_parse("apply:a,replace:b,apply:a,revert:b,revert-all", &seq, &err),
	             0, "%s", err.msg);
	cr_expect_eq(seq.max_depth, 2);
	pv_sequence_free(&seq);
	cr_assert_eq(pv_sequence_parse("apply:a,revert-all", &seq, &err), 0, "%s", err.msg);
	cr_expect(!seq.replaces);
	pv_sequence_free(&seq);
}

Test(replace, rejects_bad_replace_forms)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{"apply:a,replace:", "no patch named"},
		{"apply:a,replace:a", "already applied"},
		{"apply:a,replace", "want apply:PATCH, replace:PATCH"},
		{"apply:a,apply:b,replace:c,revert:a", "reverts a, which is not applied"},
		{"apply:a,cumulative:b", "replace:PATCH"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pv_sequence seq;
		struct pv_error err = {0};
		cr_expect_eq(pv_sequence_parse(bad[i].text, &seq, &err), PV_EINVAL, "%s", bad[i].text);
		cr_expect(strstr(err.msg, bad[i].says) != NULL, "%s: %s", bad[i].text, err.msg);
	}
}

Test(replace, stack_after_replace_is_the_cumulative_patch_alone)
{
	static const struct pv_patch_func f1[] = {
		{.old_name = "bump", .old_addr = 0x1000, .new_addr = 0x9000},
		{.old_name = "tick", .old_addr = 0x2000, .new_addr = 0x9100}};
	static const struct pv_patch_func f3[] = {
		{.old_name = "bump", .old_addr = 0x1000, .new_addr = 0xb000}};
	static const struct pv_patch_desc d1 = {.sz = sizeof(d1), .funcs = f1, .nfuncs = 2};
	static const struct pv_patch_desc d3 = {.sz = sizeof(d3), .funcs = f3, .nfuncs = 1};
	const struct pv_patch_desc *descs[] = {&d1, &d3};
	struct pv_stack st = {0};
	pv_stack_push(&st, 0);
	cr_expect_eq(pv_stack_live(&st, descs, "tick"), 0);
	st.n = 0; /* what the backends do after a replace succeeds */
	pv_stack_push(&st, 1);
	cr_expect_eq(pv_stack_live(&st, descs, "bump"), 1);
	cr_expect_eq(pv_stack_live(&st, descs, "tick"), -1, "tick must be the original again");
}

Test(replace, bad_replace_on_the_command_line_exits_2)
{
	static const char *const seqs[] = {"apply:a,replace:", "apply:a,replace:a"};
	for (size_t i = 0; i < 2; i++) {
		struct pv_test_output o;
		cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--sequence", (char *)seqs[i], NULL},
		                         30, &o),
		             0);
		cr_expect_eq(o.status, 2, "%s: exit %d\n%s", seqs[i], o.status, o.err);
		size_t lines = 0;
		for (const char *c = o.err; *c; c++)
			lines += *c == '\n';
		cr_expect_eq(lines, 1, "not one line: %s", o.err);
		pv_test_output_free(&o);
	}
}

/* ------------------------------------------------------------ in process */

static const char *const extra[] = {PV_CORPUS_PATCH("duo-fix2"), PV_CORPUS_PATCH("duo-cumul")};

/* REPLACE_SEQ with e on a backend, n schedules; the checks violated go to
 * seen (space-separated) and the live versions after step 3 to live. */
static void replace_runs(const struct pv_backend_ops *ops, const struct pv_engine *e,
                         unsigned n, char *seen, size_t len, char *live, size_t llen)
{
	bool emu = ops == &pv_backend_emu_ops;
	struct pv_backend_config bc = {.target_path = emu ? EMU_TARGET("duo-pad")
	                                                  : PV_CORPUS_TARGET("duo-pad"),
	                               .patch_path = PV_CORPUS_PATCH("duo-fix"),
	                               .workload = {.workers = 2, .iterations = 40},
	                               .extra_patches = extra, .nextra = 2};
	struct pv_error err = {0};
	void *h = NULL, *states[3] = {0};
	cr_assert_eq(ops->open(&bc, &h, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(e->plan(ops->patch_at(h, i), &states[i], &err), 0, "%s", err.msg);
	struct pv_sequence seq;
	cr_assert_eq(pv_sequence_parse(REPLACE_SEQ, &seq, &err), 0, "%s", err.msg);
	seen[0] = '\0';
	live[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		uint8_t stream[8] = {(uint8_t)i, 1, 2, 3, (uint8_t)(i * 7u), 5, 6, 7};
		struct pv_run_result res;
		cr_assert_eq(ops->run_sequence(h, e, states, &seq, stream, sizeof(stream), &res, &err),
		             0, "%s", err.msg);
		cr_expect_eq(res.nsteps, 4);
		cr_expect_eq(res.steps[2].rc, 0, "the replace did not succeed: %s",
		             res.engine_error);
		for (size_t v = 0; v < res.nviolations; v++)
			if (!strstr(seen, res.violations[v].check)) {
				size_t k = strlen(seen);
				snprintf(seen + k, len - k, "%s ", res.violations[v].check);
			}
		snprintf(live, llen, "%s", res.steps[2].live);
	}
	pv_sequence_free(&seq);
	for (size_t i = 0; i < 3; i++)
		e->release(states[i]);
	ops->close(h);
}

Test(replace, pulp_replace_is_safe_on_emu, .timeout = 60)
{
	char seen[256], live[256];
	replace_runs(&pv_backend_emu_ops, &pv_engine_pulp, 40, seen, sizeof(seen), live,
	             sizeof(live));
	cr_expect_str_eq(seen, "", "pulp violated: %s", seen);
	cr_expect_str_eq(live, "tick=original,bump=duo-cumul");
}

Test(replace, replace_keep_is_caught_on_emu, .timeout = 60)
{
	char seen[256], live[256];
	replace_runs(&pv_backend_emu_ops, &pv_engine_replace_keep, 40, seen, sizeof(seen), live,
	             sizeof(live));
	cr_expect(strstr(seen, "ineffective") != NULL, "not caught: '%s'", seen);
	cr_expect(strstr(seen, "rollback-bytes") != NULL, "not caught: '%s'", seen);
	cr_expect_str_eq(live, "tick=duo-fix,bump=duo-cumul");
}

Test(replace, pulp_replace_is_safe_on_ptrace, .timeout = 120)
{
	char seen[256], live[256];
	replace_runs(&pv_backend_ptrace_ops, &pv_engine_pulp, 3, seen, sizeof(seen), live,
	             sizeof(live));
	cr_expect_str_eq(seen, "", "pulp violated: %s", seen);
	cr_expect_str_eq(live, "tick=original,bump=duo-cumul");
}

Test(replace, replace_keep_is_caught_on_ptrace, .timeout = 120)
{
	char seen[256], live[256];
	replace_runs(&pv_backend_ptrace_ops, &pv_engine_replace_keep, 3, seen, sizeof(seen), live,
	             sizeof(live));
	cr_expect(strstr(seen, "ineffective") != NULL, "not caught: '%s'", seen);
	cr_expect(strstr(seen, "rollback-bytes") != NULL, "not caught: '%s'", seen);
}

/* pulp as an engine built before apply_replace (its sz stops short of it),
 * and pulp with the member but without the bit: both refused cleanly. */
static void expect_refused(const struct pv_engine *e)
{
	struct pv_sequence seq;
	struct pv_error err = {0};
	cr_assert_eq(pv_sequence_parse(REPLACE_SEQ, &seq, &err), 0, "%s", err.msg);
	struct pv_job job = {.engine = e, .target = EMU_TARGET("duo-pad"),
	                     .patch = PV_CORPUS_PATCH("duo-fix"),
	                     .workload = {.workers = 2, .iterations = 40}, .sequence = &seq,
	                     .extra_patches = extra, .nextra = 2};
	struct pv_result r;
	memset(&r, 0, sizeof(r));
	void *h = NULL, *states[PV_SEQ_MAX_PATCHES] = {0};
	int rc = pv_lifecycle_open(&pv_backend_emu_ops, PV_MEM_BYTE, &job, &r, &h, states, &err);
	cr_expect_eq(rc, PV_EREFUSED, "%s: rc %d: %s", e->name, rc, err.msg);
	cr_expect(strstr(err.msg, "engine does not replace patches cumulatively") != NULL, "%s",
	          err.msg);
	if (h)
		pv_lifecycle_close(&pv_backend_emu_ops, &job, h, states);
	free(r.steps);
	pv_sequence_free(&seq);
}

Test(replace, engine_without_the_op_is_refused)
{
	struct pv_engine old = pv_engine_pulp;
	old.sz = offsetof(struct pv_engine, apply_replace);
	expect_refused(&old);
	struct pv_engine unflagged = pv_engine_pulp;
	unflagged.flags &= ~PV_ENGINE_REPLACES;
	expect_refused(&unflagged);
	expect_refused(&pv_engine_ksplice);
}

/* ------------------------------------------------------------ end to end */

static const char *live_of(struct json_object *steps, size_t i, const char *func)
{
	struct json_object *step = json_object_array_get_idx(steps, i), *live, *v;
	if (!step || !json_object_object_get_ex(step, "live", &live) ||
	    !json_object_object_get_ex(live, func, &v))
		return "(none)";
	return json_object_get_string(v);
}

Test(replace, scenario_shows_live_versions_in_results_json, .timeout = 180)
{
	char *dir = pv_test_tmpdir("replace");
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "all", "--engine", "pulp",
	                                    "--engine", "replace-keep", "--engine", "ksplice",
	                                    "--scenario", "duo-replace", "--schedules", "5",
	                                    "--out", dir, NULL},
	                         180, &o),
	             0);
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "REFUSED: ksplice: engine does not replace patches cumulatively"),
	          "%s", o.out);
	char path[4200];
	snprintf(path, sizeof(path), "%s/results.json", dir);
	struct json_object *j = json_object_from_file(path), *results;
	cr_assert_not_null(j, "%s", path);
	cr_assert(json_object_object_get_ex(j, "results", &results));
	size_t safe = 0, caught = 0;
	for (size_t i = 0; i < json_object_array_length(results); i++) {
		struct json_object *r = json_object_array_get_idx(results, i), *v, *steps;
		json_object_object_get_ex(r, "engine", &v);
		const char *engine = json_object_get_string(v);
		json_object_object_get_ex(r, "verdict", &v);
		const char *verdict = json_object_get_string(v);
		if (!strcmp(engine, "ksplice")) {
			cr_expect_str_eq(verdict, "REFUSED");
			continue;
		}
		cr_assert(json_object_object_get_ex(r, "sequence", &steps), "%s", engine);
		cr_expect_str_eq(live_of(steps, 1, "tick"), "duo-fix");
		cr_expect_str_eq(live_of(steps, 1, "bump"), "duo-fix2");
		cr_expect_str_eq(live_of(steps, 2, "bump"), "duo-cumul");
		if (!strcmp(engine, "pulp")) {
			cr_expect_str_eq(verdict, "SAFE");
			cr_expect_str_eq(live_of(steps, 2, "tick"), "original");
			cr_expect_str_eq(live_of(steps, 3, "tick"), "original");
			cr_expect_str_eq(live_of(steps, 3, "bump"), "original");
			safe++;
		} else {
			cr_expect_str_eq(verdict, "UNSAFE");
			cr_expect_str_eq(live_of(steps, 2, "tick"), "duo-fix");
			caught++;
		}
	}
	cr_expect_eq(safe, 2, "pulp on emu and ptrace");
	cr_expect_eq(caught, 2, "replace-keep on emu and ptrace");
	json_object_put(j);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(replace, replace_keep_reproducer_replays_the_replace, .timeout = 60)
{
	char *dir = pv_test_tmpdir("replace");
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--engine", "replace-keep", "--scenario",
	                                    "duo-replace", "--schedules", "5", "--out", dir, NULL},
	                         60, &o),
	             0);
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	pv_test_output_free(&o);
	char path[4200];
	snprintf(path, sizeof(path), "%s/repro/replace-keep--duo-replace--ineffective.pvr", dir);
	cr_assert_eq(pv_test_run((char *[]){BIN, "replay", path, NULL}, 60, &o), 0);
	cr_expect(strstr(o.out, "sequence: apply:duo-fix,apply:duo-fix2,replace:duo-cumul,"
	                        "revert-all") != NULL, "%s\n%s", o.out, o.err);
	cr_expect(strstr(o.out, "reproduced: ineffective") != NULL, "%s\n%s", o.out, o.err);
	cr_expect(strstr(o.out, "after step 3 (replace:duo-cumul), a call of tick runs duo-fix") !=
	          NULL, "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}
