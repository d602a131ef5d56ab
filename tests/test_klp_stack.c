/* klp stacks patches: the stub chain a second patch builds on
 * the emulator, the counter-stack-fentry lifecycle end to end (SAFE for
 * klp, an out-of-order revert refused with the target unchanged), and the
 * klp-stack-clobber mutant caught. */
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
#define STACK_SEQ "apply:counter-fix,apply:counter-fix2,revert:counter-fix2,revert-all"
#define OUT_OF_ORDER_SEQ "apply:counter-fix,apply:counter-fix2,revert:counter-fix,revert-all"

/* ------------------------------------------------- the stub chain on emu */

/* What klp's stubs look like once counter-fix2 is on counter-fix, read back
 * by a wrapper engine right after apply_on_top returns. */
struct probe {
	void *inner;                    /* klp's state */
	const struct pv_patch_desc *d;  /* its patch */
	bool probed;
	uint64_t site;                  /* bump's fentry NOP */
	uint64_t stub[2];               /* top stub, the one below */
	unsigned level[2];              /* their cmpq immediates */
	uint64_t taken[2], other[2];    /* their jae and jmp targets */
	uint64_t new_addr[2];           /* counter-fix2's and counter-fix's bump */
};

static int probe_plan(const struct pv_patch_desc *d, void **state, struct pv_error *err)
{
	struct probe *p = calloc(1, sizeof(*p));
	if (!p)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	p->d = d;
	int rc = pv_engine_klp.plan(d, &p->inner, err);
	if (rc) {
		free(p);
		return rc;
	}
	*state = p;
	return 0;
}

static int probe_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct probe *p = state;
	return pv_engine_klp.apply(p->inner, sp, err);
}

static int probe_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct probe *p = state;
	return pv_engine_klp.revert(p->inner, sp, err);
}

static void probe_release(void *state)
{
	struct probe *p = state;
	pv_engine_klp.release(p->inner);
	free(p);
}

static int32_t rel32(const uint8_t *b)
{
	int32_t v;
	memcpy(&v, b, 4);
	return v;
}

/* Decodes the stub at `at`: level, jae target, jmp target. */
static int read_stub(struct pv_space *sp, uint64_t at, unsigned *level, uint64_t *taken,
                     uint64_t *other)
{
	uint8_t s[25];
	int rc = pv_space_read(sp, at, s, sizeof(s));
	if (rc)
		return rc;
	if (s[0] != 0x49 || s[1] != 0xbb || s[10] != 0x49 || s[11] != 0x83 || s[12] != 0x3b ||
	    s[14] != 0x0f || s[15] != 0x83 || s[20] != 0xe9)
		return PV_EINVAL;
	*level = s[13];
	*taken = at + 20 + (int64_t)rel32(s + 16);
	*other = at + 25 + (int64_t)rel32(s + 21);
	return 0;
}

static int probe_apply_on_top(void *state, void *below, struct pv_space *sp,
                              struct pv_error *err)
{
	struct probe *p = state, *b = below;
	int rc = pv_engine_klp.apply_on_top(p->inner, b ? b->inner : NULL, sp, err);
	if (rc || !b || p->probed)
		return rc;
	p->probed = true;
	p->site = p->d->funcs[0].prologue.fentry_addr;
	p->new_addr[0] = p->d->funcs[0].new_addr;
	p->new_addr[1] = b->d->funcs[0].new_addr;
	uint8_t j[5];
	if (pv_space_read(sp, p->site, j, 5) || j[0] != 0xe9)
		return 0; /* the test sees stub[0] == 0 */
	p->stub[0] = p->site + 5 + (int64_t)rel32(j + 1);
	if (read_stub(sp, p->stub[0], &p->level[0], &p->taken[0], &p->other[0]))
		return 0;
	p->stub[1] = p->other[0];
	read_stub(sp, p->stub[1], &p->level[1], &p->taken[1], &p->other[1]);
	return 0;
}

static const struct pv_engine probe_engine = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "klp-probe",
	.description = "klp, reading its stubs back after a stacked apply",
	.consistency = PV_CONSISTENCY_THREAD,
	.plan = probe_plan,
	.apply = probe_apply,
	.revert = probe_revert,
	.release = probe_release,
	.flags = PV_ENGINE_STACKS,
	.apply_on_top = probe_apply_on_top,
};

Test(klp_stack, second_patch_dispatches_by_level_to_the_stub_below, .timeout = 60)
{
	const char *extra[] = {PV_CORPUS_PATCH("counter-fix2")};
	struct pv_emu_config cfg = {
		.target_path = EMU_TARGET("counter-fentry"),
		.patch_path = PV_CORPUS_PATCH("counter-fix"),
		.workload = {.workers = 2, .iterations = 40},
		.extra_patches = extra,
		.nextra = 1,
	};
	struct pv_error err = {0};
	struct pv_emu *emu;
	cr_assert_eq(pv_emu_open(&cfg, &emu, &err), 0, "%s", err.msg);
	struct pv_sequence seq;
	cr_assert_eq(pv_sequence_parse(STACK_SEQ, &seq, &err), 0, "%s", err.msg);
	void *states[2];
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(probe_engine.plan(pv_emu_patch_at(emu, i), &states[i], &err), 0, "%s",
		             err.msg);
	struct pv_run_result res;
	cr_assert_eq(pv_emu_run_sequence(emu, &probe_engine, states, &seq, NULL, 0, &res, &err), 0,
	             "%s", err.msg);
	for (size_t v = 0; v < res.nviolations; v++)
		cr_expect_fail("%s: %s", res.violations[v].check, res.violations[v].detail);
	const struct probe *p = states[1];
	cr_assert(p->probed, "apply_on_top was not called");
	cr_assert_neq(p->stub[0], 0, "bump's fentry NOP is not a jmp to a stub");
	/* Threads at level 2 run counter-fix2; the others go to counter-fix's
	 * stub, where level 1 runs counter-fix and the rest the old body. */
	cr_expect_eq(p->level[0], 2);
	cr_expect_eq(p->taken[0], p->new_addr[0], "level 2 does not run counter-fix2");
	cr_expect_neq(p->stub[1], p->site + 5, "the top stub skips the patch below");
	cr_expect_eq(p->level[1], 1);
	cr_expect_eq(p->taken[1], p->new_addr[1], "level 1 does not run counter-fix");
	cr_expect_eq(p->other[1], p->site + 5, "below level 1 is not the old body");
	/* Every step ran and nothing was refused. */
	for (size_t i = 0; i < seq.nsteps; i++)
		cr_expect(res.steps[i].ran && res.steps[i].rc == 0, "step %zu: ran %d rc %d", i + 1,
		          res.steps[i].ran, res.steps[i].rc);
	for (size_t i = 0; i < 2; i++)
		probe_engine.release(states[i]);
	pv_sequence_free(&seq);
	pv_emu_close(emu);
}

/* ---------------------------------------------------------- end to end */

static void run(const char *engine, const char *sequence, const char *dir,
                struct pv_test_output *o)
{
	char *argv[20] = {BIN, "run", "--backend", "emu", "--engine", (char *)engine,
	                  "--scenario", "counter-stack-fentry", "--schedules", "300", "--out",
	                  (char *)dir};
	int n = 12;
	if (sequence) {
		argv[n++] = "--sequence";
		argv[n++] = (char *)sequence;
	}
	argv[n] = NULL;
	cr_assert_eq(pv_test_run(argv, 120, o), 0);
}

Test(klp_stack, stacked_patches_revert_newest_first_safely, .timeout = 120)
{
	char *dir = pv_test_tmpdir("klp-stack");
	struct pv_test_output o;
	run("klp", NULL, dir, &o);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "klp          counter-stack-fentry emu     SAFE           300") !=
	          NULL, "%s", o.out);
	cr_expect(strstr(o.out, "step 3 revert:counter-fix2: live bump=? (300 runs, 0 refused)"),
	          "%s", o.out);
	cr_expect(strstr(o.out, "step 4 revert-all: live bump=original (300 runs, 0 refused)"),
	          "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

/* Linux 4.12 to 5.0: "only the last enabled patch can be disabled". The
 * refusal leaves the stack whole: revert-all then takes both off cleanly
 * (rollback-bytes, rollback-leak, ineffective all quiet). */
Test(klp_stack, out_of_order_revert_is_refused_and_leaves_no_mixture, .timeout = 120)
{
	char *dir = pv_test_tmpdir("klp-stack");
	struct pv_test_output o;
	run("klp", OUT_OF_ORDER_SEQ, dir, &o);
	cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "step 3 revert:counter-fix: live bump=? (300 runs, 300 refused)"),
	          "%s", o.out);
	cr_expect(strstr(o.out, "step 4 revert-all: live bump=original (300 runs, 0 refused)"),
	          "%s", o.out);
	cr_expect(strstr(o.out, " SAFE ") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(klp_stack, clobbered_saved_bytes_are_caught_by_ineffective, .timeout = 120)
{
	char *dir = pv_test_tmpdir("klp-stack");
	struct pv_test_output o;
	run("klp-stack-clobber", NULL, dir, &o);
	cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "klp-stack-clobber on counter-stack-fentry: ineffective, first in "
	                        "schedule 0") != NULL, "%s", o.out);
	cr_expect(strstr(o.out, "after step 3 (revert:counter-fix2), a call of bump runs "
	                        "original, not counter-fix") != NULL, "%s", o.out);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

/* The site keeps its jmp to counter-fix's stub when counter-fix2 stacks:
 * its code never says which version runs (the stubs choose by slot, live
 * "?"), but once every thread switched to level 2 a call entering
 * counter-fix's bump_v2 is seen there. klp itself stays SAFE on the same
 * runs, whose workers outlive both transitions. */
Test(klp_stack, an_unhooked_stacked_patch_is_caught_at_the_older_entry, .timeout = 180)
{
	char *dir = pv_test_tmpdir("klp-stack");
	const char *engines[] = {"klp-stack-unhooked", "klp"};
	for (size_t i = 0; i < 2; i++) {
		char *argv[] = {BIN, "run", "--backend", "emu", "--engine", (char *)engines[i],
		                "--scenario", "counter-stack-fentry-long", "--schedules", "150",
		                "--out", dir, NULL};
		struct pv_test_output o;
		cr_assert_eq(pv_test_run(argv, 150, &o), 0);
		if (i == 0) {
			cr_expect_eq(o.status, 1, "exit %d\n%s\n%s", o.status, o.out, o.err);
			cr_expect(strstr(o.out, "entered counter-fix's replacement bump_v2") != NULL &&
			                  strstr(o.out, "after a newer patch had been applied") != NULL,
			          "%s", o.out);
		} else {
			cr_expect_eq(o.status, 0, "exit %d\n%s\n%s", o.status, o.out, o.err);
			cr_expect(strstr(o.out, " SAFE ") != NULL, "%s", o.out);
		}
		pv_test_output_free(&o);
	}
	pv_test_rmdir_all(dir);
}
