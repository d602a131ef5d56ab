/* Suite `emu`: the Unicorn backend with small engines defined here, so the
 * backend is tested on its own: loading, determinism, reset, each check it
 * computes, and clean errors on bad input. Targets are the emulator builds
 * of corpora/targets (build/corpora/emu/NAME-FLAVOUR). */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "../emulator/emu.h"
#include "helpers.h"

#define EMU_TARGET(name) PV_BUILD_DIR "/corpora/emu/" name

/* ------------------------------------------------------------ engines */

/* State shared by the test engines: one jmp site, as the jmp family has. */
struct site {
	uint64_t at, lo, hi, new_addr;
	uint8_t jmp[5], saved[5];
	int busy;          /* quiesce attempts that found a thread inside */
	int backtraces;    /* reliable backtraces seen */
	long total_a;      /* `observe`: total_a's growth between apply and revert */
	uint64_t alloc;    /* what the `call` engine's hijacked pv_alloc returned */
};

static int site_plan(const struct pv_patch_desc *p, void **state, struct pv_error *err)
{
	if (p->nfuncs != 1 || !p->funcs[0].old_addr)
		return pv_error_set(err, PV_EREFUSED, "test engines take one replacement");
	struct site *s = calloc(1, sizeof(*s));
	const struct pv_patch_func *f = &p->funcs[0];
	s->at = f->old_addr + (f->prologue.endbr64 ? 4 : 0);
	s->lo = f->old_addr - f->prologue.padding_before;
	s->hi = f->old_addr + f->old_size;
	s->new_addr = f->new_addr;
	int32_t rel = (int32_t)(f->new_addr - (s->at + 5));
	s->jmp[0] = 0xe9;
	memcpy(s->jmp + 1, &rel, 4);
	*state = s;
	return 0;
}

static void site_release(void *state)
{
	free(state);
}

static int nop_op(void *state, struct pv_space *sp, struct pv_error *err)
{
	(void)state;
	(void)sp;
	(void)err;
	return 0;
}

/* Stops the world and returns 0 once no thread's pc or frame is inside the
 * old function; resumes, lets threads run and retries otherwise. */
static int quiesce(struct site *s, struct pv_space *sp, struct pv_error *err)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		int rc = pv_space_stop_all(sp);
		if (rc)
			return pv_error_set(err, rc, "stop_all failed");
		struct pv_thread_info th[8];
		size_t n = 0;
		rc = pv_space_threads(sp, th, 8, &n);
		if (rc)
			return pv_error_set(err, rc, "threads failed");
		bool safe = true;
		for (size_t i = 0; i < n && safe; i++) {
			if (th[i].state == PV_THREAD_DONE)
				continue;
			uint64_t pcs[64];
			size_t count = 0;
			if (pv_space_backtrace(sp, th[i].id, pcs, 64, &count)) {
				safe = false;
				break;
			}
			s->backtraces++;
			for (size_t k = 0; k < count; k++)
				if (pcs[k] >= s->lo && pcs[k] <= s->hi)
					safe = false;
		}
		if (safe)
			return 0;
		s->busy++;
		pv_space_resume_all(sp);
		pv_space_advance(sp, 3);
	}
	return pv_error_set(err, PV_EBUSY, "a thread stayed inside the function");
}

static int stw_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	int rc = pv_space_read(sp, s->at, s->saved, 5);
	if (!rc)
		rc = quiesce(s, sp, err);
	if (rc)
		return rc;
	rc = pv_space_write(sp, s->at, s->jmp, 5);
	pv_space_resume_all(sp);
	return rc;
}

static int stw_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	int rc = quiesce(s, sp, err);
	if (rc)
		return rc;
	rc = pv_space_write(sp, s->at, s->saved, 5);
	pv_space_resume_all(sp);
	return rc;
}

/* Writes the jmp one byte per write while the threads run. */
static int naive_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	int rc = pv_space_read(sp, s->at, s->saved, 5);
	for (int i = 0; !rc && i < 5; i++)
		rc = pv_space_write(sp, s->at + i, &s->jmp[i], 1);
	return rc;
}

static int naive_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	int rc = 0;
	for (int i = 0; !rc && i < 5; i++)
		rc = pv_space_write(sp, s->at + i, &s->saved[i], 1);
	return rc;
}

/* Stops the threads but never looks where they are. */
static int blind_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	int rc = pv_space_read(sp, s->at, s->saved, 5);
	if (!rc)
		rc = pv_space_stop_all(sp);
	if (!rc)
		rc = pv_space_write(sp, s->at, s->jmp, 5);
	pv_space_resume_all(sp);
	return rc;
}

static int blind_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	int rc = pv_space_stop_all(sp);
	if (!rc)
		rc = pv_space_write(sp, s->at, s->saved, 5);
	pv_space_resume_all(sp);
	return rc;
}

/* Writes undecodable bytes over the entry (threads stopped meanwhile). */
static int garbage_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	static const uint8_t junk[5] = {0xff, 0xff, 0xff, 0xff, 0xff};
	struct site *s = state;
	(void)err;
	int rc = pv_space_read(sp, s->at, s->saved, 5);
	if (!rc)
		rc = pv_space_stop_all(sp);
	if (!rc)
		rc = pv_space_write(sp, s->at, junk, 5);
	pv_space_resume_all(sp);
	return rc;
}

/* Like stw, but revert restores only 4 of the 5 bytes. */
static int forgetful_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	int rc = quiesce(s, sp, err);
	if (!rc)
		rc = pv_space_write(sp, s->at, s->saved, 4);
	pv_space_resume_all(sp);
	return rc;
}

/* Takes the target's lock behind its back and never gives it back. */
static int lock_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	(void)state;
	(void)err;
	uint64_t lock, size;
	int rc = pv_space_symbol(sp, "counter_lock", &lock, &size);
	int one = 1;
	if (!rc)
		rc = pv_space_stop_all(sp);
	if (!rc)
		rc = pv_space_write(sp, lock, &one, sizeof(one));
	pv_space_resume_all(sp);
	return rc;
}

static int read_total_a(struct pv_space *sp, long *v)
{
	uint64_t a, size;
	int rc = pv_space_symbol(sp, "total_a", &a, &size);
	return rc ? rc : pv_space_read(sp, a, v, sizeof(*v));
}

/* stw, noting total_a when the jmp goes in and when revert starts: every
 * call in between runs bump_v2 (+2), so the difference must be even. */
static int observe_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	int rc = pv_space_read(sp, s->at, s->saved, 5);
	if (!rc)
		rc = quiesce(s, sp, err);
	if (!rc)
		rc = read_total_a(sp, &s->total_a);
	if (!rc)
		rc = pv_space_write(sp, s->at, s->jmp, 5);
	pv_space_resume_all(sp);
	return rc;
}

static int observe_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	long now = 0;
	int rc = read_total_a(sp, &now);
	s->total_a = now - s->total_a;
	return rc ? rc : stw_revert(state, sp, err);
}

/* Hijacks a stopped thread to call pv_alloc, then changes nothing. */
static int call_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	uint64_t fn, size, arg = 32;
	int rc = pv_space_symbol(sp, "pv_alloc", &fn, &size);
	if (!rc)
		rc = pv_space_stop_all(sp);
	if (!rc)
		rc = pv_space_call(sp, 0, fn, &arg, 1, &s->alloc);
	pv_space_resume_all(sp);
	if (rc)
		pv_error_set(err, rc, "call failed");
	return rc;
}

/* A trampoline near the target: the entry jumps to it, it jumps on. */
static int tramp_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	uint64_t t;
	int rc = pv_space_map_near(sp, s->at, 4096, PV_PROT_READ | PV_PROT_EXEC, &t);
	if (rc)
		return pv_error_set(err, rc, "map_near failed");
	s->alloc = t;
	uint8_t jmp[5] = {0xe9};
	int32_t rel = (int32_t)(s->new_addr - (t + 5));
	memcpy(jmp + 1, &rel, 4);
	rc = pv_space_write(sp, t, jmp, 5);
	if (!rc)
		rc = pv_space_read(sp, s->at, s->saved, 5);
	if (!rc)
		rc = quiesce(s, sp, err);
	if (rc)
		return rc;
	rel = (int32_t)(t - (s->at + 5));
	memcpy(jmp + 1, &rel, 4);
	rc = pv_space_write(sp, s->at, jmp, 5);
	pv_space_resume_all(sp);
	return rc;
}

static int tramp_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	int rc = stw_revert(state, sp, err);
	return rc ? rc : pv_space_unmap(sp, s->alloc, 4096);
}

/* Releases the trampoline first, then restores the entry while threads run. */
static int early_unmap_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	int rc = pv_space_unmap(sp, s->alloc, 4096);
	return rc ? rc : naive_revert(state, sp, err);
}

/* text_poke_bp without stopping: int3 first, the tail, then the head. Safe
 * where the 5 bytes are one instruction (the fentry NOP). With `redirect`
 * false it forgets to tell the backend what the int3 means. */
static int poke(struct site *s, struct pv_space *sp, const uint8_t *bytes, bool redirect)
{
	const uint8_t cc = 0xcc;
	/* What the 5 bytes do once written: jump to the new function, or (the
	 * original fentry NOP) nothing. */
	uint64_t to = bytes == s->saved ? s->at + 5 : s->new_addr;
	int rc = redirect ? pv_space_trap_redirect(sp, s->at, to) : 0;
	if (!rc)
		rc = pv_space_write(sp, s->at, &cc, 1);
	if (!rc)
		rc = pv_space_sync_core(sp);
	if (!rc)
		rc = pv_space_write(sp, s->at + 1, bytes + 1, 4);
	if (!rc)
		rc = pv_space_sync_core(sp);
	if (!rc)
		rc = pv_space_write(sp, s->at, bytes, 1);
	if (!rc)
		rc = pv_space_sync_core(sp);
	if (!rc && redirect)
		rc = pv_space_trap_redirect(sp, s->at, 0);
	return rc;
}

static int bp_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	int rc = pv_space_read(sp, s->at, s->saved, 5);
	return rc ? rc : poke(s, sp, s->jmp, true);
}

static int bp_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	(void)err;
	return poke(state, sp, ((struct site *)state)->saved, true);
}

static int bp_forgetful_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	int rc = pv_space_read(sp, s->at, s->saved, 5);
	return rc ? rc : poke(s, sp, s->jmp, false);
}

/* One write of the whole jmp, threads running: one unit under word8. */
static int single_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	int rc = pv_space_read(sp, s->at, s->saved, 5);
	return rc ? rc : pv_space_write(sp, s->at, s->jmp, 5);
}

static int single_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	return pv_space_write(sp, s->at, s->saved, 5);
}

/* store_atomic's rules, then nothing. */
static int atomic_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	uint64_t word;
	int rc = pv_space_read(sp, s->at & ~7ull, &word, 8);
	if (rc)
		return pv_error_set(err, rc, "read");
	if (pv_space_store_atomic(sp, (s->at & ~7ull) + 1, 0, 8) != PV_EINVAL ||
	    pv_space_store_atomic(sp, s->at & ~7ull, 0, 3) != PV_EINVAL)
		return pv_error_set(err, PV_EINTERNAL, "store_atomic accepted a bad store");
	rc = pv_space_stop_all(sp);
	if (!rc)
		rc = pv_space_store_atomic(sp, s->at & ~7ull, word, 8);
	pv_space_resume_all(sp);
	return rc;
}

/* Calls memset on a stopped thread far down its stack (past what is mapped
 * at first), after checking that the bytes there are zero, as every run
 * must find them. */
static int deep_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	uint64_t fn, size;
	int rc = pv_space_symbol(sp, "memset", &fn, &size);
	if (!rc)
		rc = pv_space_stop_all(sp);
	struct pv_thread_info th[2];
	size_t n;
	if (!rc)
		rc = pv_space_threads(sp, th, 2, &n);
	if (rc)
		return pv_error_set(err, rc, "setup");
	uint64_t deep = (th[0].sp - 40000) & ~15ull, args[3] = {deep, 0x55, 64};
	uint8_t before[64];
	rc = pv_space_read(sp, deep, before, sizeof(before));
	for (size_t i = 0; !rc && i < sizeof(before); i++)
		if (before[i])
			rc = pv_error_set(err, PV_EINTERNAL, "stale stack bytes from an earlier run");
	if (!rc && th[0].state != PV_THREAD_DONE)
		rc = pv_space_call(sp, 0, fn, args, 3, &s->alloc);
	pv_space_resume_all(sp);
	return rc;
}

/* Leaves the text writable and executable, and never says so. */
static int protect_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct site *s = state;
	(void)err;
	return pv_space_protect(sp, s->at & ~4095ull, 4096,
	                        PV_PROT_READ | PV_PROT_WRITE | PV_PROT_EXEC);
}

/* Keeps calling the space: never returns on its own. */
static int endless_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	(void)state;
	int rc;
	while ((rc = pv_space_advance(sp, 1)) == 0)
		;
	return pv_error_set(err, rc, "the space gave up");
}

static int stop_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	(void)state;
	(void)err;
	return pv_space_stop_all(sp);
}

#define ENGINE(n, c, a, r)                                                                 \
	static const struct pv_engine n = {.sz = sizeof(struct pv_engine),                 \
	                                   .abi_version = PV_ABI_VERSION, .name = #n,        \
	                                   .description = "test engine", .consistency = c,   \
	                                   .plan = site_plan, .apply = a, .revert = r,       \
	                                   .release = site_release}
ENGINE(eng_nop, PV_CONSISTENCY_NONE, nop_op, nop_op);
ENGINE(eng_stw, PV_CONSISTENCY_GLOBAL, stw_apply, stw_revert);
ENGINE(eng_naive, PV_CONSISTENCY_NONE, naive_apply, naive_revert);
ENGINE(eng_blind, PV_CONSISTENCY_GLOBAL, blind_apply, blind_revert);
ENGINE(eng_garbage, PV_CONSISTENCY_NONE, garbage_apply, blind_revert);
ENGINE(eng_forgetful, PV_CONSISTENCY_GLOBAL, stw_apply, forgetful_revert);
ENGINE(eng_lock, PV_CONSISTENCY_NONE, lock_apply, nop_op);
ENGINE(eng_observe, PV_CONSISTENCY_GLOBAL, observe_apply, observe_revert);
ENGINE(eng_call, PV_CONSISTENCY_NONE, call_apply, nop_op);
ENGINE(eng_tramp, PV_CONSISTENCY_GLOBAL, tramp_apply, tramp_revert);
ENGINE(eng_early_unmap, PV_CONSISTENCY_NONE, tramp_apply, early_unmap_revert);
ENGINE(eng_bp, PV_CONSISTENCY_NONE, bp_apply, bp_revert);
ENGINE(eng_bp_forgetful, PV_CONSISTENCY_NONE, bp_forgetful_apply, bp_revert);
ENGINE(eng_single, PV_CONSISTENCY_NONE, single_apply, single_revert);
ENGINE(eng_atomic, PV_CONSISTENCY_NONE, atomic_apply, nop_op);
ENGINE(eng_deep, PV_CONSISTENCY_NONE, deep_apply, nop_op);
ENGINE(eng_protect, PV_CONSISTENCY_NONE, protect_apply, nop_op);
ENGINE(eng_endless, PV_CONSISTENCY_NONE, endless_apply, nop_op);
ENGINE(eng_stop, PV_CONSISTENCY_NONE, stop_apply, nop_op);

/* ------------------------------------------------------------ helpers */

struct rig {
	struct pv_emu *emu;
	void *state;
	const struct pv_engine *engine;
};

static void rig_open_model(struct rig *r, const char *target, const char *patch,
                           const struct pv_engine *engine, unsigned long iterations,
                           uint64_t budget, enum pv_mem_model model)
{
	struct pv_emu_config cfg = {
		.target_path = target,
		.patch_path = patch,
		.workload = {.workers = 2, .iterations = iterations, .param = 0},
		.mem_model = model,
		.step_budget = budget,
	};
	struct pv_error err = {0};
	int rc = pv_emu_open(&cfg, &r->emu, &err);
	cr_assert_eq(rc, 0, "pv_emu_open(%s): %s", target, err.msg);
	/* PV_EMU_TRACE=1 shows every decision, for debugging a test. */
	if (getenv("PV_EMU_TRACE"))
		pv_emu_set_trace(r->emu, stderr);
	r->engine = engine;
	rc = engine->plan(pv_emu_patch(r->emu), &r->state, &err);
	cr_assert_eq(rc, 0, "plan: %s", err.msg);
}

static void rig_open(struct rig *r, const char *target, const char *patch,
                     const struct pv_engine *engine, unsigned long iterations,
                     uint64_t budget)
{
	rig_open_model(r, target, patch, engine, iterations, budget, PV_MEM_BYTE);
}

static void rig_counter(struct rig *r, const struct pv_engine *engine)
{
	rig_open(r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"), engine, 30, 0);
}

static void rig_close(struct rig *r)
{
	if (r->engine->release)
		r->engine->release(r->state);
	pv_emu_close(r->emu);
}

static void run(struct rig *r, const uint8_t *stream, size_t len, struct pv_run_result *res)
{
	struct pv_error err = {0};
	int rc = pv_emu_run(r->emu, r->engine, r->state, stream, len, res, &err);
	cr_assert_eq(rc, 0, "pv_emu_run: %s", err.msg);
}

/* A reproducible stream for schedule number i (xorshift). */
static void stream_of(uint64_t i, uint8_t *buf, size_t len)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
	for (size_t k = 0; k < len; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[k] = (uint8_t)(x >> 24);
	}
}

static const struct pv_violation *find(const struct pv_run_result *res, const char *check)
{
	for (size_t i = 0; i < res->nviolations; i++)
		if (!strcmp(res->violations[i].check, check))
			return &res->violations[i];
	return NULL;
}

static const char *first_detail(const struct pv_run_result *res)
{
	return res->nviolations ? res->violations[0].detail : "";
}

/* Violations other than `ineffective`: engines that apply without changing
 * the code (nop, call, deep) are ineffective and nothing else. */
static size_t others(const struct pv_run_result *res, const char **detail)
{
	size_t n = 0;
	*detail = "";
	for (size_t i = 0; i < res->nviolations; i++)
		if (strcmp(res->violations[i].check, "ineffective") && !n++)
			*detail = res->violations[i].detail;
	return n;
}

/* Runs n random streams; returns the first schedule with a violation of
 * one of the checks (NULL: any), or -1, and that run's result. */
static long search(struct rig *r, long n, const char *check, struct pv_run_result *res)
{
	uint8_t s[64];
	for (long i = 0; i < n; i++) {
		stream_of((uint64_t)i, s, sizeof(s));
		run(r, s, sizeof(s), res);
		if (check ? find(res, check) != NULL : res->nviolations > 0)
			return i;
	}
	return -1;
}

/* ------------------------------------------------------------ tests */

Test(emu, loads_counter_and_describes_the_patch)
{
	struct rig r;
	rig_counter(&r, &eng_nop);
	const struct pv_patch_desc *d = pv_emu_patch(r.emu);
	cr_assert_eq(d->nfuncs, 1);
	cr_expect_str_eq(d->funcs[0].old_name, "bump");
	cr_expect_str_eq(d->funcs[0].new_name, "bump_v2");
	cr_expect_neq(d->funcs[0].old_addr, 0);
	cr_expect_gt(d->funcs[0].old_size, 5);
	/* A jmp rel32 from the target reaches the patch. */
	int64_t dist = (int64_t)(d->funcs[0].new_addr - d->funcs[0].old_addr);
	cr_expect(dist > 0 && dist < 0x7fffffff, "patch at distance %lld", (long long)dist);
	cr_expect(d->image_addr % 4096 == 0);
	cr_expect(d->funcs[0].new_addr >= d->image_addr &&
	          d->funcs[0].new_addr < d->image_addr + d->image_size);
	cr_expect_gt(d->funcs[0].prologue.nboundaries, 2);
	cr_expect_eq(d->funcs[0].prologue.boundaries[0], 0);
	rig_close(&r);
}

/* An engine that applies nothing: the workers' calls still reach the old
 * code (ineffective), and nothing else is wrong. */
Test(emu, nop_engine_is_ineffective_and_verify_passes)
{
	struct rig r;
	rig_counter(&r, &eng_nop);
	struct pv_run_result res;
	const char *d;
	run(&r, NULL, 0, &res);
	cr_expect_eq(others(&res, &d), 0, "%s", d);
	const struct pv_violation *v = find(&res, "ineffective");
	cr_expect_not_null(v, "no ineffective");
	if (v)
		cr_expect(strstr(v->detail, "bump (0x") != NULL, "%s", v->detail);
	cr_expect_eq(res.apply_rc, 0);
	cr_expect_eq(res.revert_rc, 0);
	cr_expect_eq(res.verify_status, 0);
	cr_expect_gt(res.instructions, 60 * 10);
	uint8_t s[64];
	for (uint64_t i = 0; i < 200; i++) {
		stream_of(i, s, sizeof(s));
		run(&r, s, sizeof(s), &res);
		cr_assert_eq(others(&res, &d), 0, "schedule %llu: %s", (unsigned long long)i, d);
	}
	rig_close(&r);
}

Test(emu, every_target_and_flavour_runs)
{
	static const char *const targets[][2] = {
		{"counter", "counter-identity"}, {"datachange", "datachange"},
		{"prologue-branch", "prologue-branch-fix"}, {"tiny", "tiny-fix"}};
	static const char *const flavours[] = {"plain", "pad", "fentry", "cet"};
	for (size_t t = 0; t < 4; t++) {
		for (size_t f = 0; f < 4; f++) {
			char target[512], patch[512];
			snprintf(target, sizeof(target), PV_BUILD_DIR "/corpora/emu/%s-%s",
			         targets[t][0], flavours[f]);
			snprintf(patch, sizeof(patch), PV_BUILD_DIR "/corpora/patches/%s.so",
			         targets[t][1]);
			struct rig r;
			rig_open(&r, target, patch, &eng_nop, 20, 0);
			struct pv_run_result res;
			uint8_t s[32];
			stream_of(t * 4 + f, s, sizeof(s));
			run(&r, s, sizeof(s), &res);
			const char *d;
			cr_expect_eq(others(&res, &d), 0, "%s: %s", target, d);
			cr_expect_eq(res.verify_status, 0, "%s: verify %d", target,
			             res.verify_status);
			rig_close(&r);
		}
	}
}

Test(emu, same_stream_gives_the_same_run)
{
	struct rig r;
	rig_counter(&r, &eng_stw);
	uint8_t s[64];
	stream_of(7, s, sizeof(s));
	struct pv_run_result a, b;
	run(&r, s, sizeof(s), &a);
	run(&r, s, sizeof(s), &b);
	cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_expect_gt(a.decisions, 10);
	rig_close(&r);
}

Test(emu, a_fresh_emulator_replays_a_run)
{
	/* What replay relies on: run k of one instance equals run 1 of a new
	 * instance (translation caches, grown stacks, cached analyses and
	 * judged code versions carry no meaning). */
	struct rig a, b;
	rig_counter(&a, &eng_naive);
	struct pv_run_result ra, rb;
	uint8_t s[64];
	for (uint64_t i = 0; i < 30; i++) {
		stream_of(300 + i, s, sizeof(s));
		run(&a, s, sizeof(s), &ra);
	}
	for (uint64_t i = 0; i < 30; i++) {
		rig_counter(&b, &eng_naive);
		stream_of(300 + i, s, sizeof(s));
		run(&a, s, sizeof(s), &ra);
		run(&b, s, sizeof(s), &rb);
		cr_expect_eq(memcmp(&ra, &rb, sizeof(ra)), 0, "schedule %llu differs",
		             (unsigned long long)i);
		rig_close(&b);
	}
	rig_close(&a);
}

Test(emu, runs_are_independent_of_earlier_runs)
{
	struct rig r;
	rig_counter(&r, &eng_naive);
	uint8_t sa[64], sb[64];
	stream_of(3, sa, sizeof(sa));
	stream_of(4, sb, sizeof(sb));
	struct pv_run_result a1, b, a2;
	run(&r, sa, sizeof(sa), &a1);
	/* B leaves whatever it leaves: a torn jmp, a crashed thread, ... */
	for (int i = 0; i < 20; i++) {
		stream_of(100 + (uint64_t)i, sb, sizeof(sb));
		run(&r, sb, sizeof(sb), &b);
	}
	run(&r, sa, sizeof(sa), &a2);
	cr_expect_eq(memcmp(&a1, &a2, sizeof(a1)), 0);
	rig_close(&r);
}

Test(emu, runs_do_not_depend_on_other_engines_runs)
{
	/* Run A, then runs of engines that leave every kind of mess (torn
	 * code, crashed threads, a held lock, mappings, protections, deep
	 * stacks), then A again: A must not change. */
	static const struct pv_engine *const messy[] = {
		&eng_naive, &eng_garbage, &eng_lock, &eng_early_unmap, &eng_protect, &eng_deep,
		&eng_forgetful, &eng_stop, &eng_call};
	struct rig r;
	rig_counter(&r, &eng_stw);
	uint8_t sa[64];
	stream_of(11, sa, sizeof(sa));
	struct pv_run_result a1, b, a2;
	run(&r, sa, sizeof(sa), &a1);
	for (size_t k = 0; k < sizeof(messy) / sizeof(messy[0]); k++) {
		void *state;
		struct pv_error err = {0};
		cr_assert_eq(messy[k]->plan(pv_emu_patch(r.emu), &state, &err), 0);
		for (uint64_t i = 0; i < 10; i++) {
			uint8_t sb[64];
			stream_of(200 + i, sb, sizeof(sb));
			cr_assert_eq(pv_emu_run(r.emu, messy[k], state, sb, sizeof(sb), &b, &err), 0);
		}
		messy[k]->release(state);
		run(&r, sa, sizeof(sa), &a2);
		cr_expect_eq(memcmp(&a1, &a2, sizeof(a1)), 0, "run A changed after %s",
		             messy[k]->name);
	}
	rig_close(&r);
}

Test(emu, stacks_grow_on_demand_and_are_reset)
{
	struct rig r;
	rig_open(&r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"), &eng_deep, 100,
	         0);
	struct pv_run_result res;
	uint8_t s[1] = {0};
	for (int i = 0; i < 3; i++) {
		run(&r, s, sizeof(s), &res);
		cr_expect_eq(res.apply_rc, 0, "run %d: %s", i, res.engine_error);
		const char *d;
		cr_expect_eq(others(&res, &d), 0, "run %d: %s", i, d);
		cr_expect_neq(((struct site *)r.state)->alloc, 0, "memset returned 0");
	}
	rig_close(&r);
}

Test(emu, an_engine_that_never_returns_is_bounded)
{
	struct rig r;
	rig_counter(&r, &eng_endless);
	struct pv_run_result res;
	run(&r, NULL, 0, &res);
	cr_expect_eq(res.apply_rc, PV_ETIMEDOUT);
	cr_expect_not_null(find(&res, "liveness"), "%s", first_detail(&res));
	cr_expect_str_not_empty(res.space_error);
	rig_close(&r);
}

Test(emu, threads_left_stopped_are_a_liveness_violation)
{
	struct rig r;
	rig_open(&r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"), &eng_stop, 100,
	         0);
	struct pv_run_result res;
	uint8_t s[1] = {0};
	run(&r, s, sizeof(s), &res);
	cr_expect_not_null(find(&res, "liveness"), "%s", first_detail(&res));
	/* They were resumed, so the workload still finished and verified. */
	cr_expect_eq(res.verify_status, 0);
	rig_close(&r);
}

Test(emu, stop_the_world_jmp_is_safe)
{
	struct rig r;
	rig_counter(&r, &eng_stw);
	struct pv_run_result res;
	long bad = search(&r, 500, NULL, &res);
	cr_expect_eq(bad, -1, "schedule %ld: %s", bad, first_detail(&res));
	struct site *s = r.state;
	cr_expect_gt(s->backtraces, 0);
	cr_expect_gt(s->busy, 0, "no schedule ever stopped a thread inside bump");
	rig_close(&r);
}

Test(emu, stop_the_world_jmp_is_safe_in_every_flavour)
{
	static const char *const flavours[] = {"pad", "fentry", "cet"};
	for (size_t f = 0; f < 3; f++) {
		char target[512];
		snprintf(target, sizeof(target), PV_BUILD_DIR "/corpora/emu/counter-%s",
		         flavours[f]);
		struct rig r;
		rig_open(&r, target, PV_CORPUS_PATCH("counter-identity"), &eng_stw, 30, 0);
		struct pv_run_result res;
		long bad = search(&r, 100, NULL, &res);
		cr_expect_eq(bad, -1, "%s schedule %ld: %s", target, bad, first_detail(&res));
		rig_close(&r);
	}
}

Test(emu, naive_writer_is_caught)
{
	struct rig r;
	rig_counter(&r, &eng_naive);
	struct pv_run_result res;
	long i = search(&r, 300, NULL, &res);
	cr_assert_neq(i, -1, "no violation in 300 schedules");
	cr_expect(find(&res, "torn-exec") || find(&res, "crash"), "%s: %s",
	          res.violations[0].check, first_detail(&res));
	cr_assert_neq(search(&r, 1000, "torn-exec", &res), -1, "no torn-exec in 1000 schedules");
	const struct pv_violation *v = find(&res, "torn-exec");
	cr_expect_geq(v->thread, 0);
	cr_expect_neq(v->address, 0);
	rig_close(&r);
}

Test(emu, stopping_without_looking_breaks_global_consistency)
{
	struct rig r;
	rig_counter(&r, &eng_blind);
	struct pv_run_result res;
	long i = search(&r, 300, "consistency", &res);
	cr_assert_neq(i, -1, "no consistency violation in 300 schedules");
	cr_expect_geq(find(&res, "consistency")->thread, 0);
	rig_close(&r);
}

Test(emu, code_writes_reach_translated_code)
{
	/* bump runs (and is translated) before apply; after the jmp, calls
	 * must run bump_v2 (+2), not a stale translation of bump (+1). */
	struct rig r;
	rig_counter(&r, &eng_observe);
	long grew = 0;
	for (uint64_t i = 0; i < 40; i++) {
		uint8_t s[48];
		stream_of(i, s, sizeof(s));
		struct pv_run_result res;
		run(&r, s, sizeof(s), &res);
		struct site *st = r.state;
		if (res.apply_rc != 0 || res.revert_rc != 0)
			continue;
		cr_assert_eq(res.nviolations, 0, "%s", first_detail(&res));
		cr_assert_eq(st->total_a % 2, 0, "schedule %llu: total_a grew by %ld after the jmp",
		             (unsigned long long)i, st->total_a);
		grew += st->total_a;
	}
	cr_expect_gt(grew, 0, "bump_v2 never ran between apply and revert");
	rig_close(&r);
}

Test(emu, garbage_over_the_entry_is_caught)
{
	struct rig r;
	rig_open(&r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"), &eng_garbage,
	         100, 0);
	struct pv_run_result res;
	/* Apply at once; the threads run into the entry after it. */
	uint8_t s[1] = {0};
	run(&r, s, sizeof(s), &res);
	cr_expect(find(&res, "crash") || find(&res, "torn-exec"), "%zu violations: %s",
	          res.nviolations, first_detail(&res));
	rig_close(&r);
}

Test(emu, revert_that_forgets_a_byte_is_caught)
{
	struct rig r;
	rig_counter(&r, &eng_forgetful);
	struct pv_run_result res;
	run(&r, NULL, 0, &res);
	const struct pv_violation *v = find(&res, "rollback-bytes");
	cr_assert_not_null(v, "%s", first_detail(&res));
	const struct pv_patch_desc *d = pv_emu_patch(r.emu);
	cr_expect_eq(v->address, d->funcs[0].old_addr + 4);
	rig_close(&r);
}

Test(emu, a_lock_left_held_is_a_liveness_violation)
{
	struct rig r;
	rig_open(&r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"), &eng_lock, 100,
	         0);
	struct pv_run_result res;
	uint8_t s[1] = {0};
	run(&r, s, sizeof(s), &res);
	cr_expect_not_null(find(&res, "liveness"), "%s", first_detail(&res));
	cr_expect_eq(res.verify_status, -1);
	rig_close(&r);
}

Test(emu, a_tiny_step_budget_is_a_liveness_violation)
{
	struct rig r;
	rig_open(&r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"), &eng_nop, 30,
	         10);
	struct pv_run_result res;
	run(&r, NULL, 0, &res);
	cr_expect_not_null(find(&res, "liveness"), "%s", first_detail(&res));
	cr_expect_leq(res.instructions, 10);
	rig_close(&r);
}

Test(emu, hijacked_call_restores_the_thread)
{
	struct rig r;
	rig_counter(&r, &eng_call);
	struct pv_run_result res;
	for (uint64_t i = 0; i < 100; i++) {
		uint8_t s[64];
		stream_of(i, s, sizeof(s));
		run(&r, s, sizeof(s), &res);
		const char *d;
		cr_assert_eq(others(&res, &d), 0, "schedule %llu: %s", (unsigned long long)i, d);
		struct site *st = r.state;
		cr_assert_neq(st->alloc, 0, "schedule %llu: pv_alloc returned 0",
		              (unsigned long long)i);
	}
	rig_close(&r);
}

Test(emu, exhausted_stream_still_ends)
{
	struct rig r;
	rig_open(&r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"), &eng_stw,
	         1000, 0);
	struct pv_run_result res;
	uint8_t s[4] = {0xff, 0xff, 0xff, 0xff};
	run(&r, s, sizeof(s), &res);
	cr_expect_eq(res.nviolations, 0, "%s", first_detail(&res));
	cr_expect_eq(res.verify_status, 0);
	rig_close(&r);
}

Test(emu, trampolines_in_engine_mappings)
{
	struct rig r;
	rig_counter(&r, &eng_tramp);
	struct pv_run_result res;
	long bad = search(&r, 200, NULL, &res);
	cr_expect_eq(bad, -1, "schedule %ld: %s", bad, first_detail(&res));
	struct site *st = r.state;
	const struct pv_patch_desc *d = pv_emu_patch(r.emu);
	int64_t dist = (int64_t)(st->alloc - d->funcs[0].old_addr);
	cr_expect(dist > 0 && dist < 0x7fffffff, "mapping at distance %lld", (long long)dist);
	rig_close(&r);
}

/* A thread that runs into a trampoline the engine already unmapped is
 * use-after-revert, not a crash of the target's making. */
Test(emu, executing_released_memory_is_use_after_revert)
{
	struct rig r;
	rig_counter(&r, &eng_early_unmap);
	struct pv_run_result res;
	cr_expect_neq(search(&r, 300, "use-after-revert", &res), -1,
	              "no use-after-revert in 300 schedules");
	const struct pv_violation *v = find(&res, "use-after-revert");
	if (v)
		cr_expect(strstr(v->detail, "unmapped") != NULL, "%s", v->detail);
	rig_close(&r);
}

Test(emu, breakpoint_protocol_over_one_instruction_is_safe)
{
	struct rig r;
	rig_open(&r, EMU_TARGET("counter-fentry"), PV_CORPUS_PATCH("counter-fix"), &eng_bp, 30, 0);
	const struct pv_patch_desc *d = pv_emu_patch(r.emu);
	cr_assert(d->funcs[0].prologue.fentry, "counter-fentry has no fentry NOP");
	struct pv_run_result res;
	long bad = search(&r, 300, NULL, &res);
	cr_expect_eq(bad, -1, "schedule %ld: %s", bad, first_detail(&res));
	cr_expect_eq(res.sync_cores, 6);
	rig_close(&r);

	rig_open(&r, EMU_TARGET("counter-fentry"), PV_CORPUS_PATCH("counter-fix"),
	         &eng_bp_forgetful, 30, 0);
	cr_expect_neq(search(&r, 300, "crash", &res), -1, "an unhandled int3 never crashed");
	rig_close(&r);
}

Test(emu, memory_model_sets_the_atomic_units)
{
	struct rig r;
	struct pv_run_result res;
	rig_open_model(&r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"),
	               &eng_single, 30, 0, PV_MEM_BYTE);
	run(&r, NULL, 0, &res);
	cr_expect_eq(res.code_writes, 10);
	rig_close(&r);
	rig_open_model(&r, EMU_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"),
	               &eng_single, 30, 0, PV_MEM_WORD8);
	run(&r, NULL, 0, &res);
	cr_expect_eq(res.code_writes, 2, "bump is 8-byte aligned, so its jmp is one word");
	rig_close(&r);
}

Test(emu, store_atomic_checks_alignment)
{
	struct rig r;
	rig_counter(&r, &eng_atomic);
	struct pv_run_result res;
	run(&r, NULL, 0, &res);
	cr_expect_eq(res.apply_rc, 0, "%s", res.engine_error);
	cr_expect_eq(res.nviolations, 0, "%s", first_detail(&res));
	rig_close(&r);
}

Test(emu, emulator_builds_are_freestanding)
{
	/* No libc, no interpreter, and one syscall instruction: the runtime's
	 * stub, which the backend serves. */
	static const char *const targets[] = {"counter", "datachange", "prologue-branch",
	                                      "tiny"};
	static const char *const flavours[] = {"plain", "pad", "fentry", "cet"};
	for (size_t t = 0; t < 4; t++) {
		for (size_t f = 0; f < 4; f++) {
			char path[512];
			snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/emu/%s-%s", targets[t],
			         flavours[f]);
			char *argv[] = {"/usr/bin/objdump", "-d", "-x", path, NULL};
			struct pv_test_output o;
			cr_assert_eq(pv_test_run((char *const *)argv, 60, &o), 0);
			cr_assert_eq(o.status, 0, "objdump %s: %s", path, o.err);
			size_t n = 0;
			for (const char *p = o.out; (p = strstr(p, "\tsyscall")); p++)
				n++;
			cr_expect_eq(n, 1, "%s has %zu syscall instructions", path, n);
			cr_expect_null(strstr(o.out, "INTERP"), "%s has an interpreter", path);
			cr_expect_null(strstr(o.out, "NEEDED"), "%s needs a shared library", path);
			cr_expect_null(strstr(o.out, "*UND*"), "%s has undefined symbols", path);
			pv_test_output_free(&o);
		}
	}
}

static void expect_open_error(const char *target, int code, const char *needle)
{
	struct pv_emu_config cfg = {
		.target_path = target,
		.patch_path = PV_CORPUS_PATCH("counter-fix"),
		.workload = {.workers = 2, .iterations = 10},
	};
	struct pv_emu *emu = NULL;
	struct pv_error err = {0};
	int rc = pv_emu_open(&cfg, &emu, &err);
	cr_expect_eq(rc, code, "%s: got %d (%s)", target, rc, err.msg);
	cr_expect_null(emu);
	cr_expect(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", target, err.msg,
	          needle);
}

Test(emu, bad_targets_give_clean_errors)
{
	expect_open_error(PV_CORPUS_TARGET("counter-plain"), PV_EUNSUPPORTED, "emu");
	expect_open_error(PV_CORPUS_TARGET("counter-static"), PV_EUNSUPPORTED, "emulator build");
	expect_open_error(PV_SOURCE_DIR "/Makefile", PV_EFORMAT, "Makefile");
	expect_open_error(PV_BUILD_DIR "/no/such/file", PV_ENOENT, "no/such/file");

	struct pv_emu_config cfg = {.target_path = EMU_TARGET("counter-plain"),
	                            .patch_path = PV_CORPUS_PATCH("counter-fix"),
	                            .workload = {.workers = 0}};
	struct pv_emu *emu = NULL;
	struct pv_error err = {0};
	cr_expect_eq(pv_emu_open(&cfg, &emu, &err), PV_EINVAL);
	cr_expect_null(emu);
}
