/* Patch lifecycles: the sequence model and the live-version
 * judge (harness/model/sequence.h), automatic rollback after an injected crash on
 * the emulator, and, end to end through the real binary, stacked patches
 * on the ptrace backend. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../emulator/emu.h"
#include "../engines/strategies.h"
#include "helpers.h"
#include "../harness/model/sequence.h"

#define BIN PV_PATCHVET_BIN
#define EMU_TARGET(name) PV_BUILD_DIR "/corpora/emu/" name
#define ACCEPT_SEQ "apply:counter-fix,apply:counter-fix2,revert:counter-fix,revert-all"

/* ------------------------------------------------------------ sequences */

Test(lifecycle, parses_the_acceptance_sequence)
{
	struct pv_sequence seq;
	struct pv_error err = {0};
	cr_assert_eq(pv_sequence_parse(" apply:counter-fix, apply:counter-fix2,revert:counter-fix ,"
	                               "revert-all", &seq, &err), 0, "%s", err.msg);
	cr_expect_eq(seq.npatches, 2);
	cr_expect_str_eq(seq.patches[0], "counter-fix");
	cr_expect_str_eq(seq.patches[1], "counter-fix2");
	cr_expect_eq(seq.nsteps, 4);
	cr_expect_eq(seq.max_depth, 2);
	cr_expect_eq(seq.steps[2].kind, PV_STEP_REVERT);
	cr_expect_eq(seq.steps[2].patch, 0);
	cr_expect_eq(seq.steps[3].kind, PV_STEP_REVERT_ALL);
	char name[64];
	pv_step_name(&seq, 1, name, sizeof(name));
	cr_expect_str_eq(name, "apply:counter-fix2");
	pv_sequence_free(&seq);
}

Test(lifecycle, rejects_bad_sequences_with_the_step)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{"apply:a,apply:a", "already applied"},
		{"apply:a,revert:b", "not applied"},
		{"apply:a,,revert-all", "step 2 is empty"},
		{"apply:a,undo:a", "want apply:PATCH"},
		{"apply:a,reboot", "restart"},
		{"apply:", "no patch named"},
		{"revert-all", "applies no patch"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pv_sequence seq;
		struct pv_error err = {0};
		cr_expect_eq(pv_sequence_parse(bad[i].text, &seq, &err), PV_EINVAL, "%s", bad[i].text);
		cr_expect(strstr(err.msg, bad[i].says) != NULL, "%s: %s", bad[i].text, err.msg);
	}
}

/* Two patches both replacing bump, the second also other. */
static const struct pv_patch_func f1[] = {{.old_name = "bump", .old_addr = 0x1000,
                                           .old_size = 0x40, .new_addr = 0x9000,
                                           .new_size = 0x20}};
static const struct pv_patch_func f2[] = {
	{.old_name = "bump", .old_addr = 0x1000, .old_size = 0x40, .new_addr = 0xa000,
	 .new_size = 0x20},
	{.old_name = "other", .old_addr = 0x2000, .old_size = 0x40, .new_addr = 0xa100,
	 .new_size = 0x20}};
static const struct pv_patch_desc d1 = {.sz = sizeof(d1), .funcs = f1, .nfuncs = 1};
static const struct pv_patch_desc d2 = {.sz = sizeof(d2), .funcs = f2, .nfuncs = 2};

Test(lifecycle, newest_applied_version_is_live)
{
	const struct pv_patch_desc *descs[] = {&d1, &d2};
	struct pv_stack st = {0};
	cr_expect_eq(pv_stack_live(&st, descs, "bump"), -1);
	pv_stack_push(&st, 0);
	cr_expect_eq(pv_stack_live(&st, descs, "bump"), 0);
	cr_expect_eq(pv_stack_live(&st, descs, "other"), -1);
	pv_stack_push(&st, 1);
	cr_expect_eq(pv_stack_live(&st, descs, "bump"), 1);
	cr_expect_eq(pv_stack_live(&st, descs, "other"), 1);
	pv_stack_remove(&st, 0); /* out of order: 1 stays */
	cr_expect_eq(pv_stack_live(&st, descs, "bump"), 1);
	pv_stack_remove(&st, 1);
	cr_expect_eq(pv_stack_live(&st, descs, "bump"), -1);
	cr_expect_eq(pv_stack_top(&st), -1);
}

/* A little memory for pv_live_resolve: [0x1000 - 16, 0x1000 + 48). */
struct mem {
	uint8_t b[64];
};

static int mem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem *m = ctx;
	memset(buf, 0x55, len); /* push %rbp: code that is not a jump */
	for (size_t i = 0; i < len; i++)
		if (addr + i >= 0x1000 - 16 && addr + i < 0x1000 + 48)
			((uint8_t *)buf)[i] = m->b[addr + i - (0x1000 - 16)];
	return 0;
}

static void put(struct mem *m, uint64_t at, const void *bytes, size_t n)
{
	memcpy(m->b + (at - (0x1000 - 16)), bytes, n);
}

Test(lifecycle, live_version_follows_pulp_jumps)
{
	const struct pv_patch_desc *descs[] = {&d1, &d2};
	struct mem m;
	memset(m.b, 0x90, sizeof(m.b));
	static const uint8_t push_rbp[1] = {0x55};
	put(&m, 0x1002, push_rbp, 1);
	uint64_t dest = 0;
	/* Original pad layout: two 1-byte NOPs, then the body. */
	cr_assert_eq(pv_live_resolve(mem_read, &m, 0x1000, &dest), 0);
	cr_expect_eq(dest, 0x1002);
	cr_expect_eq(pv_live_classify(descs, 2, "bump", dest), -1);
	/* pulp: jmp *0(%rip) + address in the padding, eb f0 at the entry. */
	uint8_t pad[14] = {0xff, 0x25, 0, 0, 0, 0};
	uint64_t to = 0xa004;
	memcpy(pad + 6, &to, 8);
	put(&m, 0x1000 - 14, pad, 14);
	static const uint8_t short_jmp[2] = {0xeb, 0xf0};
	put(&m, 0x1000, short_jmp, 2);
	cr_assert_eq(pv_live_resolve(mem_read, &m, 0x1000, &dest), 0);
	cr_expect_eq(dest, 0xa004);
	cr_expect_eq(pv_live_classify(descs, 2, "bump", dest), 1);
	cr_expect_eq(pv_live_classify(descs, 2, "bump", 0x7000), -2);
	/* jmp rel32 straight to patch 0's bump. */
	uint8_t e9[5] = {0xe9};
	int32_t rel = (int32_t)(0x9000 - (0x1000 + 5));
	memcpy(e9 + 1, &rel, 4);
	put(&m, 0x1000, e9, 5);
	cr_assert_eq(pv_live_resolve(mem_read, &m, 0x1000, &dest), 0);
	cr_expect_eq(pv_live_classify(descs, 2, "bump", dest), 0);
	/* A call at the entry (an ftrace-style trampoline): not decidable. */
	e9[0] = 0xe8;
	put(&m, 0x1000, e9, 5);
	cr_expect_eq(pv_live_resolve(mem_read, &m, 0x1000, &dest), PV_ENOENT);
}

/* ------------------------------------------------------- auto-rollback */

struct rig {
	struct pv_emu *emu;
	void *state;
	const struct pv_engine *engine;
};

static void rig_open_fault(struct rig *r, const struct pv_engine *engine, enum pv_fault fault)
{
	struct pv_emu_config cfg = {
		.target_path = EMU_TARGET("counter-pad"),
		.patch_path = PV_CORPUS_PATCH("counter-fix"),
		.workload = {.workers = 2, .iterations = 40},
		.fault = fault,
	};
	struct pv_error err = {0};
	cr_assert_eq(pv_emu_open(&cfg, &r->emu, &err), 0, "%s", err.msg);
	r->engine = engine;
	cr_assert_eq(engine->plan(pv_emu_patch(r->emu), &r->state, &err), 0, "%s", err.msg);
}

static void rig_open(struct rig *r, const struct pv_engine *engine)
{
	rig_open_fault(r, engine, PV_FAULT_CRASH);
}

static void rig_close(struct rig *r)
{
	r->engine->release(r->state);
	pv_emu_close(r->emu);
}

/* Runs schedules 0..n-1 (stream bytes from the index); counts the runs with
 * a fault and those the engine rolled back; fails on any violation other
 * than `allowed`. */
static void rig_runs(struct rig *r, unsigned n, const char *allowed, unsigned *faults,
                     unsigned *rolled, unsigned *allowed_seen)
{
	*faults = *rolled = *allowed_seen = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t stream[64];
		for (size_t k = 0; k < sizeof(stream); k++)
			stream[k] = (uint8_t)(i * 131u + k * 29u);
		stream[0] = 1; /* one slice before apply: the workers are still running */
		struct pv_run_result res;
		struct pv_error err = {0};
		cr_assert_eq(pv_emu_run(r->emu, r->engine, r->state, stream, sizeof(stream), &res,
		                        &err), 0, "%s", err.msg);
		*faults += res.fault_injected;
		*rolled += res.rolled_back;
		for (size_t v = 0; v < res.nviolations; v++) {
			if (allowed && !strcmp(res.violations[v].check, allowed)) {
				(*allowed_seen)++;
				continue;
			}
			cr_expect_fail("run %u: %s: %s", i, res.violations[v].check,
			               res.violations[v].detail);
		}
		if (res.fault_injected && !allowed)
			cr_expect_eq(res.revert_rc, 0, "run %u: revert %d (%s)", i, res.revert_rc,
			             res.engine_error);
	}
}

Test(lifecycle, declared_auto_rollback_reverts_cleanly_after_a_crash, .timeout = 60)
{
	struct rig r;
	rig_open(&r, &pv_engine_pulp_guard);
	unsigned faults, rolled, other;
	rig_runs(&r, 60, NULL, &faults, &rolled, &other);
	cr_expect_gt(faults, 30, "only %u of 60 runs had a crash injected", faults);
	cr_expect_eq(rolled, faults, "rolled back in %u of %u runs", rolled, faults);
	rig_close(&r);
}

Test(lifecycle, undeclared_auto_rollback_is_reported_not_failed, .timeout = 60)
{
	struct rig r;
	rig_open(&r, &pv_engine_pulp);
	unsigned faults, rolled, other;
	rig_runs(&r, 30, NULL, &faults, &rolled, &other);
	cr_expect_gt(faults, 15);
	cr_expect_eq(rolled, 0);
	struct pv_run_result res;
	struct pv_error err = {0};
	uint8_t stream[1] = {1};
	cr_assert_eq(pv_emu_run(r.emu, r.engine, r.state, stream, 1, &res, &err), 0);
	cr_expect(res.fault_injected);
	cr_expect(strstr(res.info, "auto-rollback: not declared") != NULL, "%s", res.info);
	rig_close(&r);
}

/* A stall (every running worker held until the patch goes): pulp-guard
 * sees no progress and rolls back; then the workers finish and verify. */
Test(lifecycle, declared_auto_rollback_reverts_after_a_stall, .timeout = 60)
{
	struct rig r;
	rig_open_fault(&r, &pv_engine_pulp_guard, PV_FAULT_STALL);
	unsigned faults, rolled, other;
	rig_runs(&r, 60, NULL, &faults, &rolled, &other);
	cr_expect_gt(faults, 30, "only %u of 60 runs had a stall injected", faults);
	cr_expect_eq(rolled, faults, "rolled back in %u of %u runs", rolled, faults);
	rig_close(&r);
}

static int never_rolls_back(void *state, struct pv_space *space, struct pv_error *err)
{
	(void)state, (void)space, (void)err;
	return 0;
}

/* An engine that declares automatic rollback and never does it: liveness. */
Test(lifecycle, missed_rollback_bound_is_a_liveness_violation, .timeout = 60)
{
	struct pv_engine liar = pv_engine_pulp;
	liar.name = "liar";
	liar.flags |= PV_ENGINE_AUTO_ROLLBACK;
	liar.monitor = never_rolls_back;
	liar.rollback_bound = 5;
	struct rig r;
	rig_open(&r, &liar);
	unsigned faults, rolled, missed;
	rig_runs(&r, 20, "liveness", &faults, &rolled, &missed);
	cr_expect_gt(faults, 0);
	cr_expect_eq(rolled, 0);
	cr_expect_eq(missed, faults, "liveness in %u of %u runs with a crash", missed, faults);
	rig_close(&r);
}

/* ---------------------------------------------------------- end to end */

static void run_seq(const char *engine, const char *dir, struct pv_test_output *o)
{
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "ptrace", "--engine",
	                                    (char *)engine, "--scenario", "counter", "--sequence",
	                                    ACCEPT_SEQ, "--schedules", "15", "--out", (char *)dir,
	                                    NULL},
	                         180, o),
	             0);
}

Test(e2e_lifecycle, pulp_stacks_and_reverts_out_of_order_safely, .timeout = 180)
{
	char *dir = pv_test_tmpdir("life");
	struct pv_test_output o;
	run_seq("pulp", dir, &o);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "pulp         counter            ptrace  SAFE") != NULL, "%s",
	          o.out);
	cr_expect(strstr(o.out, "step 2 apply:counter-fix2: live bump=counter-fix2 (15 runs, 0 "
	                        "refused)") != NULL, "%s", o.out);
	cr_expect(strstr(o.out, "step 3 revert:counter-fix: live bump=counter-fix2") != NULL,
	          "%s", o.out);
	cr_expect(strstr(o.out, "step 4 revert-all: live bump=original") != NULL, "%s", o.out);
	char path[4200];
	snprintf(path, sizeof(path), "%s/results.json", dir);
	size_t n;
	char *json = (char *)pv_test_slurp(path, &n);
	cr_expect(strstr(json, "\"sequence\"") != NULL);
	cr_expect(strstr(json, "\"flavour\":\"pad\"") || strstr(json, "\"flavour\": \"pad\""),
	          "the sequence did not fall back to pad: %s", json);
	free(json);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(e2e_lifecycle, stack_clobber_is_caught, .timeout = 180)
{
	char *dir = pv_test_tmpdir("life");
	struct pv_test_output o;
	run_seq("stack-clobber", dir, &o);
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "stack-clobber on counter: rollback-bytes") ||
	          strstr(o.out, "stack-clobber on counter: ineffective"), "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(e2e_lifecycle, ksplice_refuses_out_of_order_revert_cleanly, .timeout = 180)
{
	char *dir = pv_test_tmpdir("life");
	struct pv_test_output o;
	run_seq("ksplice", dir, &o);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "step 3 revert:counter-fix: live bump=counter-fix2 (15 runs, 15 "
	                        "refused)") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(e2e_lifecycle, engine_without_stacking_is_refused, .timeout = 180)
{
	char *dir = pv_test_tmpdir("life");
	struct pv_test_output o;
	run_seq("stw-jmp", dir, &o);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "REFUSED: stw-jmp: engine does not stack patches") != NULL, "%s",
	          o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(e2e_lifecycle, bad_sequence_is_a_usage_error)
{
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--sequence", "apply:a,apply:a", NULL}, 30,
	                         &o),
	             0);
	cr_expect_eq(o.status, 2, "exit %d\n%s", o.status, o.err);
	cr_expect(strstr(o.err, "already applied") != NULL, "%s", o.err);
	pv_test_output_free(&o);
}

Test(e2e_lifecycle, crash_fault_reports_auto_rollback, .timeout = 120)
{
	const char *engines[] = {"pulp-guard", "pulp"};
	const char *says[] = {"information: auto-rollback: declared (bound 40 monitor calls); "
	                      "rolled back in", "information: auto-rollback: not declared"};
	for (int i = 0; i < 2; i++) {
		char *dir = pv_test_tmpdir("life");
		struct pv_test_output o;
		cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "emu", "--engine",
		                                    (char *)engines[i], "--scenario", "counter-pad",
		                                    "--fault", "crash", "--schedules", "100", "--out",
		                                    dir, NULL},
		                         120, &o),
		             0);
		cr_expect_eq(o.status, 0, "%s: exit %d\n%s\n%s", engines[i], o.status, o.out, o.err);
		cr_expect(strstr(o.out, says[i]) != NULL, "%s", o.out);
		cr_expect(strstr(o.out, "SAFE") != NULL, "%s", o.out);
		pv_test_output_free(&o);
		pv_test_rmdir_all(dir);
	}
}

/* The same lifecycle on the emulator: deterministic, many schedules. */
Test(e2e_lifecycle, emu_sequences_match_ptrace, .timeout = 120)
{
	static const struct {
		const char *engine;
		int status;
		const char *says;
	} cases[] = {
		{"pulp", 0, "pulp on counter: step 3 revert:counter-fix: live bump=counter-fix2 (300 "
		            "runs, 0 refused)"},
		{"ksplice", 0, "ksplice on counter: step 3 revert:counter-fix: live bump=counter-fix2 "
		               "(300 runs, 300 refused)"},
		{"stack-clobber", 1, "stack-clobber on counter: rollback-bytes"},
	};
	for (size_t i = 0; i < 3; i++) {
		char *dir = pv_test_tmpdir("life");
		struct pv_test_output o;
		cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "emu", "--engine",
		                                    (char *)cases[i].engine, "--scenario", "counter",
		                                    "--sequence", ACCEPT_SEQ, "--schedules", "300",
		                                    "--out", dir, NULL},
		                         120, &o),
		             0);
		cr_expect_eq(o.status, cases[i].status, "%s: exit %d\n%s\n%s", cases[i].engine,
		             o.status, o.out, o.err);
		cr_expect(strstr(o.out, cases[i].says) != NULL, "%s", o.out);
		pv_test_output_free(&o);
		pv_test_rmdir_all(dir);
	}
}

/* ------------------------------------------------------------- restarts */

#include "../harness/model/backend.h"
#include "../harness/ptrace/ptrace.h"

static int reapply(void *state, struct pv_space *space, struct pv_error *err)
{
	return pv_engine_pulp.apply(state, space, err);
}

static int forget(void *state, struct pv_space *space, struct pv_error *err)
{
	(void)state, (void)space, (void)err;
	return 1;
}

/* Runs "apply:counter-fix,restart,revert-all" with engine e on the ptrace
 * backend, 3 schedules; the checks violated go to seen (space-separated). */
static void restart_runs_on(const struct pv_backend_ops *ops, const struct pv_engine *e,
                            char *seen, size_t len, char *info, size_t ilen, char *live,
                            size_t llen)
{
	bool emu = ops == &pv_backend_emu_ops;
	struct pv_backend_config bc = {.target_path = emu ? EMU_TARGET("counter-pad")
	                                                  : PV_CORPUS_TARGET("counter-pad"),
	                               .patch_path = PV_CORPUS_PATCH("counter-fix"),
	                               .workload = {.workers = 2, .iterations = 40}};
	struct pv_error err = {0};
	void *h = NULL, *state = NULL;
	cr_assert_eq(ops->open(&bc, &h, &err), 0, "%s", err.msg);
	cr_assert_eq(e->plan(ops->patch_at(h, 0), &state, &err), 0, "%s", err.msg);
	struct pv_sequence seq;
	cr_assert_eq(pv_sequence_parse("apply:counter-fix,restart,revert-all", &seq, &err), 0);
	seen[0] = '\0';
	for (unsigned i = 0; i < (emu ? 40u : 3u); i++) {
		uint8_t stream[8] = {(uint8_t)i, 1, 2, 3, (uint8_t)(i * 7u), 5, 6, 7};
		struct pv_run_result res;
		void *states[1] = {state};
		cr_assert_eq(ops->run_sequence(h, e, states, &seq, stream, sizeof(stream), &res, &err),
		             0, "%s", err.msg);
		cr_expect_eq(res.nsteps, 3);
		for (size_t v = 0; v < res.nviolations; v++)
			if (!strstr(seen, res.violations[v].check)) {
				size_t n = strlen(seen);
				snprintf(seen + n, len - n, "%s ", res.violations[v].check);
			}
		snprintf(info, ilen, "%s", res.info);
		snprintf(live, llen, "%s", res.steps[1].live);
	}
	pv_sequence_free(&seq);
	e->release(state);
	ops->close(h);
}

/* Both backends, the checks seen in either. */
static void restart_runs(const struct pv_engine *e, char *seen, size_t len, char *info,
                         size_t ilen, char *live, size_t llen)
{
	char seen2[128], info2[160], live2[96];
	restart_runs_on(&pv_backend_emu_ops, e, seen2, sizeof(seen2), info2, sizeof(info2), live2,
	                sizeof(live2));
	restart_runs_on(&pv_backend_ptrace_ops, e, seen, len, info, ilen, live, llen);
	cr_expect_str_eq(seen2, seen, "emu saw '%s', ptrace '%s'", seen2, seen);
	cr_expect_str_eq(info2, info);
	cr_expect_str_eq(live2, live);
}

Test(lifecycle, restart_without_reapply_is_information, .timeout = 120)
{
	char seen[128], info[160], live[96];
	restart_runs(&pv_engine_pulp, seen, sizeof(seen), info, sizeof(info), live, sizeof(live));
	cr_expect_str_eq(seen, "");
	cr_expect(strstr(info, "unpatched-after-restart: counter-fix") != NULL, "%s", info);
	cr_expect_str_eq(live, "bump=original");
}

Test(lifecycle, restart_reapplied_by_a_persistent_engine_is_checked, .timeout = 120)
{
	struct pv_engine keeper = pv_engine_pulp;
	keeper.name = "keeper";
	keeper.flags |= PV_ENGINE_PERSISTS;
	keeper.restarted = reapply;
	char seen[128], info[160], live[96];
	restart_runs(&keeper, seen, sizeof(seen), info, sizeof(info), live, sizeof(live));
	cr_expect_str_eq(seen, "", "violations: %s", seen);
	cr_expect_str_eq(info, "");
	cr_expect_str_eq(live, "bump=counter-fix");
}

Test(lifecycle, persistence_claimed_but_not_kept_is_ineffective, .timeout = 120)
{
	struct pv_engine liar = pv_engine_pulp;
	liar.name = "liar";
	liar.flags |= PV_ENGINE_PERSISTS;
	liar.restarted = forget;
	char seen[128], info[160], live[96];
	restart_runs(&liar, seen, sizeof(seen), info, sizeof(info), live, sizeof(live));
	cr_expect(strstr(seen, "ineffective") != NULL, "violations: %s", seen);
	cr_expect_str_eq(live, "bump=original");
}

Test(e2e_lifecycle, bad_fault_or_fault_with_a_sequence_is_a_usage_error)
{
	char *const cases[][8] = {
		{BIN, "run", "--fault", "crash", "--sequence", "apply:counter-fix", NULL},
		{BIN, "run", "--backend", "ptrace", "--fault", "slow", NULL},
		{BIN, "run", "--fault", "hang", NULL},
	};
	for (size_t i = 0; i < 3; i++) {
		struct pv_test_output o;
		cr_assert_eq(pv_test_run(cases[i], 30, &o), 0);
		cr_expect_eq(o.status, 2, "case %zu: exit %d\n%s", i, o.status, o.err);
		cr_expect_eq(pv_test_count_lines(o.err), 1, "case %zu: %s", i, o.err);
		pv_test_output_free(&o);
	}
}

/* ---------------------------------------------------------- scenario keys */

#include "../harness/load/scenario.h"

Test(lifecycle, scenario_carries_patches_and_a_sequence)
{
	struct pv_scenario *sc = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_scenario_load("counter-stack", PV_DATA_DIR, &sc, &err), 0, "%s", err.msg);
	cr_expect_str_eq(sc->patches, "counter-fix counter-fix2");
	cr_expect_str_eq(sc->sequence, ACCEPT_SEQ);
	char path[4096];
	cr_expect_eq(pv_scenario_named_patch_path(sc, PV_DATA_DIR, "counter-fix2", path,
	                                          sizeof(path), &err), 0);
	cr_expect(strstr(path, "/patches/counter-fix2.so") != NULL, "%s", path);
	cr_expect_eq(pv_scenario_named_patch_path(sc, PV_DATA_DIR, "counter-identity", path,
	                                          sizeof(path), &err), PV_EINVAL);
	cr_expect(strstr(err.msg, "not among its patches") != NULL, "%s", err.msg);
	pv_scenario_free(sc);

	char *dir = pv_test_tmpdir("life");
	char file[4200];
	snprintf(file, sizeof(file), "%s/bad.ini", dir);
	static const char bad[] = "[scenario]\ntarget = counter\npatch = counter-fix\n"
	                          "sequence = apply:counter-fix,apply:counter-fix\n";
	pv_test_spill(file, bad, sizeof(bad) - 1);
	cr_expect_eq(pv_scenario_load(file, PV_DATA_DIR, &sc, &err), PV_EFORMAT);
	cr_expect(strstr(err.msg, ":4") != NULL && strstr(err.msg, "already applied") != NULL,
	          "%s", err.msg);
	pv_test_rmdir_all(dir);
}

/* ---------------------------------------------------------- the header */

/* The run header names the flavour that ran: pulp refuses counter's plain
 * build, and a sequence falls back to pad; stw-jmp runs plain. */
Test(e2e_lifecycle, header_names_the_flavour_used, .timeout = 60)
{
	static const struct {
		const char *engine, *says;
	} cases[] = {
		{"pulp", "(flavour pad for pulp on counter (fallback from plain), random explorer"},
		{"stw-jmp", "(flavour plain, random explorer"},
	};
	for (size_t i = 0; i < 2; i++) {
		char *dir = pv_test_tmpdir("life");
		struct pv_test_output o;
		cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "emu", "--engine",
		                                    (char *)cases[i].engine, "--scenario", "counter",
		                                    "--sequence", "apply:counter-fix,revert-all",
		                                    "--schedules", "5", "--out", dir, NULL},
		                         60, &o),
		             0);
		cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
		cr_expect(strstr(o.out, cases[i].says) != NULL, "%s", o.out);
		pv_test_output_free(&o);
		pv_test_rmdir_all(dir);
	}
}

/* ---------------------------------------------------------- reproducers */

#include "../harness/load/reproducer.h"

#define SEQ_SEED PV_SOURCE_DIR "/fuzz/seeds/repro/stack-clobber--counter--sequence.pvr"

static char *seq_seed(size_t *n)
{
	char *t = (char *)pv_test_slurp(SEQ_SEED, n);
	cr_assert_not_null(t);
	return t;
}

/* text with `from` (which must occur) replaced by `to`, parsed: rc and the
 * message. */
static int parse_edited(const char *text, const char *from, const char *to, char *msg,
                        size_t len)
{
	const char *at = strstr(text, from);
	cr_assert_not_null(at, "'%s' not in the seed", from);
	size_t head = (size_t)(at - text);
	char *t = malloc(strlen(text) + strlen(to) + 1);
	memcpy(t, text, head);
	strcpy(t + head, to);
	strcat(t, at + strlen(from));
	struct pv_reproducer *r = NULL;
	struct pv_error err = {0};
	int rc = pv_reproducer_parse("t.pvr", t, strlen(t), &r, &err);
	snprintf(msg, len, "%s", err.msg);
	pv_reproducer_free(r);
	free(t);
	return rc;
}

Test(lifecycle, reproducer_keeps_a_sequence_and_reads_back_the_same)
{
	size_t n;
	char *text = seq_seed(&n);
	struct pv_reproducer *r = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_reproducer_parse("seed", text, n, &r, &err), 0, "%s", err.msg);
	cr_expect_str_eq(r->sequence,
	                 "apply:counter-fix,apply:counter-fix2,revert:counter-fix,revert-all");
	cr_expect_str_eq(r->extra_patch[0], "build/corpora/patches/counter-fix2.so");
	cr_expect_eq(strlen(r->extra_sha256[0]), 64);
	cr_expect_str_eq(r->fault, "");
	cr_expect_str_eq(r->flavour, "pad");
	char *again;
	size_t len;
	cr_assert_eq(pv_reproducer_format(r, &again, &len, &err), 0, "%s", err.msg);
	cr_expect_eq(len, n);
	cr_expect(!memcmp(again, text, n), "formatting the parsed seed changed it:\n%s", again);
	free(again);
	pv_reproducer_free(r);
	free(text);
}

Test(lifecycle, reproducer_lifecycle_keys_are_strict)
{
	size_t n;
	char *text = seq_seed(&n);
	char msg[PV_ERROR_MSG_MAX];
	static const struct {
		const char *from, *to, *says;
	} bad[] = {
		{"sequence apply:counter-fix,", "sequence apply:counter-fix,fault:hang,",
		 "want fault:crash"},
		{"revert-all\n", "revert-all\nfault crash\n", "'fault' and 'sequence' together"},
		{"patch-2 build", "patch-3 build", "'patch-2' needs 'patch-2-sha256'"},
		{"patch-2-sha256 e0", "patch-2-sha256 E0", "64 lowercase hex"},
		{"patch-2 build", "sequence x\npatch-2 build", "'sequence' appears twice"},
		{"sequence apply:counter-fix,apply:counter-fix2,revert:counter-fix,revert-all",
		 "sequence apply:counter-fix,revert-all", "the sequence has 0 patches after the first, "
		                                          "the file names 1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse_edited(text, bad[i].from, bad[i].to, msg, sizeof(msg)), PV_EFORMAT,
		             "case %zu: %s", i, msg);
		cr_expect(strstr(msg, bad[i].says) != NULL, "case %zu: %s", i, msg);
	}
	/* A fault run's file: fault alone; an unknown one is refused. */
	size_t m;
	char *fault = (char *)pv_test_slurp(PV_SOURCE_DIR
	                                    "/fuzz/seeds/repro/bad-revert--counter--fault.pvr", &m);
	cr_assert_not_null(fault);
	cr_expect_eq(parse_edited(fault, "fault stall", "fault stall", msg, sizeof(msg)), 0, "%s",
	             msg);
	cr_expect_eq(parse_edited(fault, "fault stall", "fault hang", msg, sizeof(msg)), PV_EFORMAT);
	cr_expect(strstr(msg, "unknown fault 'hang'") != NULL, "%s", msg);
	free(fault);
	free(text);
}

/* A sequence run's violation replays to the same check; so does a fault
 * run's, and only with its fault. */
Test(e2e_lifecycle, sequence_and_fault_reproducers_replay, .timeout = 120)
{
	char *dir = pv_test_tmpdir("life");
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "emu", "--engine",
	                                    "stack-clobber", "--scenario", "counter", "--sequence",
	                                    ACCEPT_SEQ, "--schedules", "10", "--out", dir, NULL},
	                         60, &o),
	             0);
	cr_expect_eq(o.status, 1, "%s", o.out);
	pv_test_output_free(&o);
	char path[4200];
	snprintf(path, sizeof(path), "%s/repro/stack-clobber--counter--rollback-bytes.pvr", dir);
	cr_assert_eq(pv_test_run((char *[]){BIN, "replay", path, NULL}, 60, &o), 0);
	cr_expect_eq(o.status, 1, "%s%s", o.out, o.err);
	cr_expect(strstr(o.out, "sequence: " ACCEPT_SEQ) != NULL, "%s", o.out);
	cr_expect(strstr(o.out, "reproduced: rollback-bytes") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	cr_assert_eq(pv_test_run((char *[]){BIN, "minimize", path, "-o", "/dev/null", NULL}, 60,
	                         &o), 0);
	cr_expect_eq(o.status, 2, "%s", o.err);
	cr_expect(strstr(o.err, "does not shrink the stream of a sequence") != NULL, "%s", o.err);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);

	dir = pv_test_tmpdir("life");
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--backend", "emu", "--engine",
	                                    "bad-revert", "--scenario", "counter", "--fault",
	                                    "stall", "--schedules", "20", "--out", dir, NULL},
	                         60, &o),
	             0);
	cr_expect_eq(o.status, 1, "%s", o.out);
	pv_test_output_free(&o);
	snprintf(path, sizeof(path), "%s/repro/bad-revert--counter--crash.pvr", dir);
	cr_assert_eq(pv_test_run((char *[]){BIN, "replay", path, NULL}, 60, &o), 0);
	cr_expect_eq(o.status, 1, "%s%s", o.out, o.err);
	cr_expect(strstr(o.out, "fault: a stall injected after apply") != NULL, "%s", o.out);
	cr_expect(strstr(o.out, "reproduced: crash") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	/* Without its fault line, the same stream does not crash. */
	size_t n;
	char *text = (char *)pv_test_slurp(path, &n);
	cr_assert_not_null(text);
	char *line = strstr(text, "fault stall\n");
	cr_assert_not_null(line);
	memmove(line, line + strlen("fault stall\n"), strlen(line + strlen("fault stall\n")) + 1);
	char edited[4200];
	snprintf(edited, sizeof(edited), "%s/nofault.pvr", dir);
	FILE *f = fopen(edited, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	cr_assert_eq(pv_test_run((char *[]){BIN, "replay", edited, NULL}, 60, &o), 0);
	cr_expect(strstr(o.out, "did not reproduce crash") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}
