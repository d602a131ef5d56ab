/* Suite `judges`: the decisions of the checks judged outside a backend, with
 * hand-made inputs (the backends only observe): xmc-unsynced, consistency
 * for thread and call engines, ineffective, use-after-revert and
 * rollback-leak. */
#include <criterion/criterion.h>

#include <string.h>

#include "../harness/checks/torn_exec.h"
#include "../harness/checks/ineffective.h"
#include "../harness/checks/use_after_revert.h"
#include "../harness/checks/rollback_leak.h"
#include "../harness/checks/consistency_version.h"
#include "../harness/checks/xmc_unsynced.h"

/* ------------------------------------------------------------ xmc */

static struct pv_xmc_judge *xmc_open(unsigned n)
{
	struct pv_xmc_judge *j = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_xmc_judge_open(n, &j, &err), 0, "%s", err.msg);
	return j;
}

static const bool both[2] = {true, true};

/* text_poke_bp: int3, sync, tail, sync, head, sync. Nothing is stale for a
 * thread that executes the site after any step. */
Test(judges, xmc_breakpoint_protocol_with_sync_core_passes)
{
	struct pv_xmc_judge *j = xmc_open(2);
	struct pv_xmc_finding f;
	const uint8_t nop[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00}, jmp[5] = {0xe9, 1, 2, 3, 4};
	const uint8_t cc = 0xcc;
	pv_xmc_judge_write(j, 0x1000, nop, &cc, 1, both);
	cr_expect_eq(pv_xmc_judge_insn(j, 1, 0x1000, 1, &f), 0, "int3 step is allowed");
	pv_xmc_judge_sync_all(j);
	pv_xmc_judge_write(j, 0x1001, nop + 1, jmp + 1, 4, both);
	cr_expect_eq(pv_xmc_judge_insn(j, 1, 0x1000, 1, &f), 0, "the int3 is not the tail");
	pv_xmc_judge_sync_all(j);
	pv_xmc_judge_write(j, 0x1000, &cc, jmp, 1, both);
	cr_expect_eq(pv_xmc_judge_insn(j, 0, 0x1000, 5, &f), 0, "int3 -> opcode is allowed");
	pv_xmc_judge_close(j);
}

/* no-sync: the tail is never made visible, so the jmp is stale. */
Test(judges, xmc_tail_without_sync_core_is_stale)
{
	struct pv_xmc_judge *j = xmc_open(2);
	struct pv_xmc_finding f;
	const uint8_t nop[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00}, jmp[5] = {0xe9, 1, 2, 3, 4};
	const uint8_t cc = 0xcc;
	pv_xmc_judge_write(j, 0x1000, nop, &cc, 1, both);
	pv_xmc_judge_write(j, 0x1001, nop + 1, jmp + 1, 4, both);
	pv_xmc_judge_write(j, 0x1000, &cc, jmp, 1, both);
	cr_assert_eq(pv_xmc_judge_insn(j, 1, 0x1000, 5, &f), 1);
	cr_expect_eq(f.thread, 1);
	cr_expect_eq(f.stale_lo, 0x1001);
	cr_expect_eq(f.stale_hi, 0x1005);
	cr_expect_eq(pv_xmc_judge_insn(j, 1, 0x1010, 3, &f), 0, "other code is not stale");
	pv_xmc_judge_close(j);
}

/* A stopped thread holds nothing stale; stopping serializes; an atomic
 * 2-byte store is no exception. */
Test(judges, xmc_stops_serialize_and_atomic_stores_are_stale)
{
	struct pv_xmc_judge *j = xmc_open(2);
	struct pv_xmc_finding f;
	const uint8_t old[2] = {0x8b, 0xff}, jmp[2] = {0xeb, 0xf9};
	const bool only0[2] = {true, false};
	pv_xmc_judge_write(j, 0x2000, old, jmp, 2, only0);
	cr_expect_eq(pv_xmc_judge_insn(j, 1, 0x2000, 2, &f), 0, "thread 1 was stopped");
	cr_expect_eq(pv_xmc_judge_insn(j, 0, 0x2000, 2, &f), 1, "thread 0 ran");
	pv_xmc_judge_serialize(j, 0);
	cr_expect_eq(pv_xmc_judge_insn(j, 0, 0x2000, 2, &f), 0, "a stop serializes");
	pv_xmc_judge_reset(j);
	cr_expect_eq(pv_xmc_judge_insn(j, 0, 0x2000, 2, &f), 0);
	pv_xmc_judge_close(j);
}

/* ------------------------------------------------------------ versions */

static const uint8_t old_code[16] = {0x55, 0x48, 0x89, 0xe5, 0x90, 0x90, 0xe8, 0, 0, 0, 0,
                                     0x90, 0x5d, 0xc3, 0x90, 0x90};

static struct pv_version_judge *version_open(void)
{
	struct pv_version_func_spec f = {.name = "f", .old_lo = 0x1000, .old_hi = 0x1010,
	                                  .old_code = old_code, .new_lo = 0x9000,
	                                  .new_hi = 0x9010};
	struct pv_version_judge *j = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_version_judge_open(&f, 1, 2, &j, &err), 0, "%s", err.msg);
	return j;
}

Test(judges, versions_of_old_new_and_redirect_bytes)
{
	struct pv_version_judge *j = version_open();
	int fi = -1;
	cr_expect_eq(pv_version_classify(j, 0x1001, old_code + 1, 3, &fi), PV_VERSION_OLD);
	cr_expect_eq(fi, 0);
	const uint8_t jmp[5] = {0xe9, 0, 0, 0, 0};
	cr_expect_eq(pv_version_classify(j, 0x1000, jmp, 5, &fi), PV_VERSION_NONE,
	             "the engine's redirect is neither version");
	cr_expect_eq(pv_version_classify(j, 0x9004, jmp, 1, &fi), PV_VERSION_NEW);
	cr_expect_eq(pv_version_classify(j, 0x5000, jmp, 1, &fi), PV_VERSION_NONE);
	pv_version_judge_close(j);
}

Test(judges, thread_version_changes_are_reported_once)
{
	struct pv_version_judge *j = version_open();
	cr_expect_eq(pv_version_thread_step(j, 0, PV_VERSION_OLD), PV_VERSION_NONE);
	cr_expect_eq(pv_version_thread_step(j, 0, PV_VERSION_OLD), PV_VERSION_NONE);
	cr_expect_eq(pv_version_thread_step(j, 0, PV_VERSION_NEW), PV_VERSION_OLD);
	cr_expect_eq(pv_version_thread_step(j, 0, PV_VERSION_NEW), PV_VERSION_NONE);
	cr_expect_eq(pv_version_thread_step(j, 1, PV_VERSION_NEW), PV_VERSION_NONE,
	             "threads are apart");
	pv_version_judge_close(j);
}

/* call: old code then new code of one function without a call, ret or jmp
 * in between mixes one activation; after a ret it is a new call. */
Test(judges, call_consistency_needs_a_transfer_between_versions)
{
	struct pv_version_judge *j = version_open();
	struct pv_version_finding f;
	const uint8_t nop = 0x90, ret = 0xc3, push = 0x55;
	cr_expect_eq(pv_version_call_step(j, 0, 0, PV_VERSION_OLD, &nop, 1, &f), 0);
	cr_assert_eq(pv_version_call_step(j, 0, 0, PV_VERSION_NEW, &push, 1, &f), 1);
	cr_expect_eq(f.was, PV_VERSION_OLD);
	cr_expect_eq(f.now, PV_VERSION_NEW);
	cr_expect_str_eq(f.func, "f");
	cr_expect_eq(pv_version_call_step(j, 1, 0, PV_VERSION_OLD, &ret, 1, &f), 0);
	cr_expect_eq(pv_version_call_step(j, 1, 0, PV_VERSION_NEW, &push, 1, &f), 0,
	             "a ret ended the old call");
	pv_version_judge_reset(j);
	cr_expect_eq(pv_version_call_step(j, 0, 0, PV_VERSION_NEW, &push, 1, &f), 0);
	pv_version_judge_close(j);
}

/* pc-migrate's run: a thread stopped after old f's push meets the int3 the
 * engine put at its pc (neither version) and resumes at new f's entry; the
 * int3 hides nothing, the activation mixes. A thread that came back from a
 * call to f's entry (old_code[6] is a call) may start a new one. */
Test(judges, call_consistency_catches_a_thread_moved_into_the_new_entry)
{
	struct pv_version_judge *j = version_open();
	struct pv_version_finding f;
	int fi = -1;
	cr_assert_eq(pv_version_classify(j, 0x1001, old_code + 1, 3, &fi), PV_VERSION_OLD);
	cr_expect_eq(pv_version_call_step(j, 0, fi, PV_VERSION_OLD, old_code + 1, 3, &f), 0);
	const uint8_t int3 = 0xcc, push = 0x55;
	cr_expect_eq(pv_version_classify(j, 0x1004, &int3, 1, &fi), PV_VERSION_NONE,
	             "the breakpoint is the engine's, not old code");
	cr_assert_eq(pv_version_classify(j, 0x9000, &push, 1, &fi), PV_VERSION_NEW);
	cr_assert_eq(pv_version_call_step(j, 0, fi, PV_VERSION_NEW, &push, 1, &f), 1);
	cr_expect_eq(f.thread, 0);
	cr_expect_eq(f.was, PV_VERSION_OLD);
	cr_expect_eq(f.now, PV_VERSION_NEW);
	cr_expect_eq(pv_version_call_step(j, 1, 0, PV_VERSION_OLD, old_code + 6, 5, &f), 0);
	cr_expect_eq(pv_version_call_step(j, 1, 0, PV_VERSION_NEW, &push, 1, &f), 0,
	             "after a call, new code may be a new activation");
	pv_version_judge_close(j);
}

/* ------------------------------------------------------------ ineffective */

Test(judges, ineffective_watches_past_the_last_changed_byte)
{
	const uint8_t orig[8] = {0x55, 0x48, 0x89, 0xe5, 0x53, 0x90, 0x90, 0xc3};
	uint8_t now[8];
	const uint8_t b[] = {0, 1, 4, 5, 6, 7};
	struct pv_ineffective_func f = {.entry = 0x1000, .len = 8, .now = now, .orig = orig,
	                                .boundaries = b, .nboundaries = sizeof(b)};
	memcpy(now, orig, 8);
	cr_expect_eq(pv_ineffective_watch(&f), 0x1000, "nothing changed: the entry");
	now[0] = 0xe9;
	now[3] = 0x00; /* a 5-byte jmp whose last byte equals the original */
	cr_expect_eq(pv_ineffective_watch(&f), 0x1004);
	memset(now, 0xcc, 8);
	cr_expect_eq(pv_ineffective_watch(&f), 0, "everything changed");
}

/* ------------------------------------------------------------ release */

Test(judges, released_fetches_and_leaks)
{
	const struct pv_release_range r[2] = {{0x600000, 0x1000}, {0x700000, 0x2000}};
	cr_expect_eq(pv_judge_released_fetch(r, 2, 0x600014), 0);
	cr_expect_eq(pv_judge_released_fetch(r, 2, 0x701fff), 1);
	cr_expect_eq(pv_judge_released_fetch(r, 2, 0x702000), -1);
	cr_expect_eq(pv_judge_leak(r, 0), -1);
	cr_expect_eq(pv_judge_leak(r, 2), 0);
}

/* ------------------------------------------------------------ torn-exec */

/* 0x1000: ret, then an 11-byte NOP and a 4-byte NOP of alignment padding,
 * then the entry at 0x1010 (a 5-byte NOP). */
static uint8_t pad_code[32];

static int pad_read(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = addr + i >= 0x1000 && addr + i < 0x1020 ? pad_code[addr + i - 0x1000] : 0;
	return 0;
}

/* hotpatch-pad's long jmp at entry - 5 straddles the padding's multi-byte
 * NOPs; the short jmp at the entry makes it an instruction of the new code.
 * An instruction that starts there while nothing jumps to it is torn. */
Test(judges, exec_a_jmp_target_in_padding_starts_an_instruction)
{
	static const uint8_t orig[32] = {
		0xc3, 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x1f,
		0x40, 0x00, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x55, 0xc3};
	memcpy(pad_code, orig, sizeof(pad_code));
	const uint64_t anchors[] = {0x1000, 0x1001, 0x1010, 0x1017};
	struct pv_exec_window_spec w = {.lo = 0x1000, .hi = 0x1018, .anchors = anchors,
	                                .nanchors = 4};
	struct pv_exec_judge *j = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_exec_judge_open(&w, 1, pad_read, NULL, &j, &err), 0, "%s", err.msg);
	const uint8_t jmp[5] = {0xe9, 0x10, 0x20, 0x00, 0x00};
	struct pv_exec_finding f;
	size_t nf = 0;
	/* Only the long jmp: nothing leads to it yet. */
	cr_assert_eq(pv_exec_judge_op_begin(j, &err), 0);
	memcpy(pad_code + 0x0b, jmp, 5);
	cr_assert_eq(pv_exec_judge_op_end(j, &f, 1, &nf, &err), 0);
	cr_expect_eq(pv_exec_judge_insn(j, 0, 0, 1, 0x100b, jmp, 5, &f), 1,
	             "no jmp reaches 0x100b: not an instruction start");
	/* The short jmp at the entry back to it: eb f9. */
	cr_assert_eq(pv_exec_judge_op_begin(j, &err), 0);
	pad_code[0x10] = 0xeb;
	pad_code[0x11] = 0xf9;
	cr_assert_eq(pv_exec_judge_op_end(j, &f, 1, &nf, &err), 0);
	cr_expect_eq(nf, 0);
	cr_expect_eq(pv_exec_judge_insn(j, 0, 0, 2, 0x1010, pad_code + 0x10, 2, &f), 0);
	cr_expect_eq(pv_exec_judge_insn(j, 0, 0, 3, 0x100b, jmp, 5, &f), 0,
	             "the short jmp's target starts an instruction");
	pv_exec_judge_close(j);
}

/* klp gives up: it wrote `jmp stub` at the entry with the threads stopped,
 * resumed them for its transition, then put the NOP back. A thread that ran
 * the whole jmp ran a version the engine showed it; one that ran the jmp's
 * first byte over the NOP's tail ran a torn instruction. */
Test(judges, exec_a_version_shown_at_resume_is_no_torn_instruction)
{
	static const uint8_t orig[32] = {
		0xc3, 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x1f,
		0x40, 0x00, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x55, 0xc3};
	const uint64_t anchors[] = {0x1000, 0x1001, 0x1010, 0x1017};
	struct pv_exec_window_spec w = {.lo = 0x1000, .hi = 0x1018, .anchors = anchors,
	                                .nanchors = 4};
	const uint8_t jmp[5] = {0xe9, 0x10, 0x20, 0x00, 0x00};
	const uint8_t half[5] = {0xe9, 0x1f, 0x44, 0x00, 0x00};
	for (int resumed = 0; resumed < 2; resumed++) {
		memcpy(pad_code, orig, sizeof(pad_code));
		struct pv_exec_judge *j = NULL;
		struct pv_error err = {0};
		cr_assert_eq(pv_exec_judge_open(&w, 1, pad_read, NULL, &j, &err), 0, "%s", err.msg);
		struct pv_exec_finding f[2];
		size_t nf = 0;
		cr_assert_eq(pv_exec_judge_op_begin(j, &err), 0);
		pad_code[0x10] = 0xe9; /* a thread left running sees the first byte alone */
		cr_expect_eq(pv_exec_judge_insn(j, 0, 1, 1, 0x1010, half, 5, &f[0]), 0, "kept");
		memcpy(pad_code + 0x10, jmp, 5);
		if (resumed)
			cr_assert_eq(pv_exec_judge_resumed(j, &err), 0, "%s", err.msg);
		cr_expect_eq(pv_exec_judge_insn(j, 0, 0, 2, 0x1010, jmp, 5, &f[0]), 0, "kept");
		memcpy(pad_code + 0x10, orig + 0x10, 5); /* gives up */
		cr_assert_eq(pv_exec_judge_op_end(j, f, 2, &nf, &err), 0);
		cr_expect_eq(nf, resumed ? 1u : 2u, "resumed %d: %zu findings", resumed, nf);
		cr_expect_eq(f[0].thread, 1, "the half-written jmp is torn either way");
		pv_exec_judge_close(j);
	}
}
