/* What Unicorn calls back while a slice runs. Installed once, before the
 * first uc_emu_start: Unicorn 2.0.1 never calls a hook added later on code
 * it already translated (FACTS.md).
 *
 * - Every instruction: counts it, ends the slice at its quantum (uc_emu_stop
 *   in a code hook stops before that instruction), and inside hot windows
 *   asks the stream whether to preempt (during an engine operation) and
 *   hands the instruction to the judges of torn-exec, ineffective,
 *   xmc-unsynced and (thread and call engines) consistency; all of that
 *   work stays inside hot windows. uc_emu_start always gets
 *   count 0: this hook is the counter, so Unicorn's own count hook (which
 *   would cost the same again) is never installed, and count never
 *   alternates between zero and non-zero (which flushes everything).
 * - `syscall`: the runtime's calls (emulator/calls.h), only from its stub.
 * - Interrupts: int3 with a trap redirect continues at its target; any other
 *   trap or exception is a crash of the thread. */
#include <string.h>

#include "calls.h"
#include "internal.h"

static void stop(struct pv_emu *e, enum emu_stop why)
{
	e->slice.stop = why;
	uc_emu_stop(e->uc);
}

/* Ends the slice with a crash; why completes "thread N ... at WHERE". */
static void crash(struct pv_emu *e, uint64_t pc, const char *why)
{
	e->slice.crash_pc = pc;
	snprintf(e->slice.why, sizeof(e->slice.why), "%s", why);
	stop(e, EMU_STOP_CRASH);
}

static bool trapped(const struct pv_emu *e, uint64_t addr, uint64_t *to)
{
	for (size_t i = 0; i < e->run.ntraps; i++) {
		if (e->run.traps[i].addr == addr) {
			if (to)
				*to = e->run.traps[i].to;
			return true;
		}
	}
	return false;
}

static void observe(struct pv_emu *e, const struct emu_hot *h, uint64_t addr, uint32_t size)
{
	const uint8_t *bytes = h->host ? h->host + (addr - h->lo) : emu_host(e, addr, size);
	if (!bytes)
		return; /* Unicorn will fault on the fetch itself */
	/* The engine's breakpoint: the thread traps there, it does not run
	 * the byte as an instruction of either version. */
	if (size == 1 && bytes[0] == 0xcc && trapped(e, addr, NULL))
		return;
	struct pv_exec_finding f;
	if (pv_exec_judge_insn(e->exec, h->judge, e->slice.tid, e->run.res->decisions, addr,
	                       bytes, size, &f) == 1) {
		char where[160], detail[PV_CHECK_DETAIL_LEN];
		emu_symbolize(e, addr, where, sizeof(where));
		pv_torn_exec_word(&f, where, NULL, detail, sizeof(detail));
		emu_violation(e, PV_CHECK_TORN_EXEC, f.thread, addr, "%s", detail);
	}
}

/* ineffective: a call reached a replaced function's old code after apply
 * returned 0. */
static void watch(struct pv_emu *e, uint64_t addr)
{
	for (size_t i = 0; i < e->run.nwatch; i++) {
		struct emu_watch *w = &e->watch[i];
		uint64_t me = e->slice.tid < 64 ? 1ull << e->slice.tid : 0;
		if (w->addr != addr)
			continue;
		if (w->exempt & me) {
			w->exempt &= ~me; /* its call began before apply returned */
			continue;
		}
		char where[160];
		emu_symbolize(e, addr, where, sizeof(where));
		if (w->version)
			emu_violation(e, PV_CHECK_INEFFECTIVE, e->slice.tid, addr,
			              "thread %d entered %s's replacement %s after a newer patch had "
			              "been applied (the call did not reach the live version)",
			              e->slice.tid, w->version, where);
		else
			emu_violation(e, PV_CHECK_INEFFECTIVE, e->slice.tid, addr,
			              "thread %d ran the old code at %s after apply had returned 0 "
			              "(the call was not redirected)",
			              e->slice.tid, where);
	}
}

/* xmc-unsynced: the thread runs code changed since it last serialized. */
static void stale(struct pv_emu *e, uint64_t addr, uint32_t size)
{
	struct pv_xmc_finding f;
	if (pv_xmc_judge_insn(e->xmc, (unsigned)e->slice.tid, addr, size, &f) != 1 ||
	    emu_has_violation(e, PV_CHECK_XMC_UNSYNCED))
		return;
	char where[160];
	emu_symbolize(e, addr, where, sizeof(where));
	emu_violation(e, PV_CHECK_XMC_UNSYNCED, f.thread, addr,
	              "thread %d executed %s, whose bytes 0x%llx..0x%llx changed while it ran, "
	              "with no sync_core or stop since: it may run stale code (Intel SDM 8.1.3)",
	              f.thread, where, (unsigned long long)f.stale_lo,
	              (unsigned long long)f.stale_hi);
}

/* thread: does thread tid have a frame of version v on its stack? */
static bool frame_of(struct pv_emu *e, unsigned tid, enum pv_version v)
{
	const struct emu_thread *t = &e->threads[tid];
	uint64_t sp = 0;
	uc_reg_read(e->uc, UC_X86_REG_RSP, &sp);
	const uint8_t *h = sp >= t->stack_lo && sp < t->stack_hi
	                           ? emu_host(e, sp, t->stack_hi - sp)
	                           : NULL;
	struct pv_global_thread th = {
		.id = (int)tid, .stopped = true, .pc = 0, .sp = sp, .stack = (const uint64_t *)h,
		.nwords = h ? (size_t)(t->stack_hi - sp) / 8 : 0};
	struct pv_global_finding f;
	return pv_global_judge_threads(v == PV_VERSION_OLD ? e->global : e->global_new, &th, 1,
	                               &f) == 1;
}

/* consistency for thread and call engines (harness/checks/consistency_version.h). */
static void versions(struct pv_emu *e, const struct emu_hot *h, uint64_t addr, uint32_t size)
{
	const uint8_t *bytes = h->host ? h->host + (addr - h->lo) : emu_host(e, addr, size);
	int fi = -1;
	unsigned tid = (unsigned)e->slice.tid;
	if (!bytes)
		return;
	enum pv_version v = pv_version_classify(e->version, addr, bytes, size, &fi);
	if (v == PV_VERSION_NONE)
		return;
	static const char *const names[] = {"", "old", "new"};
	char where[160];
	if (e->run.vmode == PV_CONSISTENCY_THREAD) {
		enum pv_version was = pv_version_thread_step(e->version, tid, v);
		if (was == PV_VERSION_NONE || emu_has_violation(e, PV_CHECK_CONSISTENCY) ||
		    !frame_of(e, tid, was))
			return;
		emu_symbolize(e, addr, where, sizeof(where));
		emu_violation(e, PV_CHECK_CONSISTENCY, (int)tid, addr,
		              "thread %u ran %s code at %s with %s code still on its stack: it "
		              "switched away from a safe point (the engine declares thread "
		              "consistency)",
		              tid, names[v], where, names[was]);
		return;
	}
	struct pv_version_finding f;
	if (pv_version_call_step(e->version, tid, fi, v, bytes, size, &f) != 1)
		return;
	emu_symbolize(e, addr, where, sizeof(where));
	emu_violation(e, PV_CHECK_CONSISTENCY, f.thread, addr,
	              "thread %d ran %s code of %s at %s in a call that began in its %s code "
	              "(the engine declares call consistency)",
	              f.thread, names[f.now], f.func, where, names[f.was]);
}

/* A hot instruction inside a replaced function's original range (the
 * patch's own code is counted in on_code: its PLT lies outside the hot
 * windows). */
static void account(struct pv_emu *e, uint64_t addr)
{
	for (size_t i = 0; i < e->view.desc.nfuncs; i++) {
		const struct pv_patch_func *f = &e->view.funcs[i];
		if (f->old_addr && addr - f->old_addr < f->old_size) {
			e->run.res->insns_replaced++;
			return;
		}
	}
}

static void on_code(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
	(void)uc;
	struct pv_emu *e = user;
	struct emu_slice *s = &e->slice;
	if (s->executed >= s->quantum) {
		stop(e, EMU_STOP_QUANTUM);
		return;
	}
	if (addr - e->patch_base < e->patch_size)
		e->run.res->insns_patch++;
	bool hot = false;
	if (addr - e->hot_lo < e->hot_hi - e->hot_lo) {
		for (size_t i = 0; i < e->nhot; i++) {
			const struct emu_hot *h = &e->hot[i];
			if (addr < h->lo || addr >= h->hi)
				continue;
			/* Never at the instruction a slice resumes at: it was
			 * preempted there already, or just chosen to run. */
			if (s->preemptible && s->executed > 0 &&
			    emu_decide_preempt(e, (int)s->tid, addr)) {
				if (e->trace || e->story) {
					emu_trace(e, "decision %llu: preempt thread %d at 0x%llx",
					          (unsigned long long)e->run.res->decisions, s->tid,
					          (unsigned long long)addr);
					emu_story(e, PV_STORY_PREEMPT, (int)s->tid, addr, "preempted");
				}
				stop(e, EMU_STOP_PREEMPT);
				return;
			}
			if ((e->trace || e->story) && e->run.in_op) {
				char text[96];
				emu_disasm(e, addr, text, sizeof(text));
				emu_trace(e, "  thread %u 0x%llx %s", s->tid, (unsigned long long)addr,
				          text);
				emu_story(e, PV_STORY_INSN, (int)s->tid, addr, "%s", text);
			}
			if (h->judge >= 0)
				observe(e, h, addr, size);
			hot = true;
			if (e->run.nwatch)
				watch(e, addr);
			stale(e, addr, size);
			if (e->run.vmode)
				versions(e, h, addr, size);
			account(e, addr);
			break;
		}
	}
	/* An older patch's replacement lies outside the hot windows when it
	 * is not the first patch. */
	if (!hot && e->run.nwatch && addr - e->run.watch_lo < e->run.watch_hi - e->run.watch_lo)
		watch(e, addr);
	s->executed++;
}

static uint64_t reg(uc_engine *uc, int r)
{
	uint64_t v = 0;
	uc_reg_read(uc, r, &v);
	return v;
}

static uint64_t call_alloc(struct pv_emu *e, uint64_t size)
{
	struct emu_run *r = &e->run;
	uint64_t n = (size + 15) & ~15ull;
	if (n < size || n > EMU_HEAP_SIZE - r->heap_used)
		return 0;
	uint64_t a = EMU_HEAP + r->heap_used;
	r->heap_used += n;
	return a;
}

static uint64_t call_write(struct pv_emu *e, uint64_t buf, uint64_t len)
{
	struct emu_run *r = &e->run;
	size_t room = sizeof(r->output) - 1 - r->noutput;
	size_t n = len < room ? (size_t)len : room;
	if (n && emu_read(e, buf, r->output + r->noutput, n))
		return (uint64_t)-1;
	r->noutput += n;
	r->output[r->noutput] = '\0';
	return len;
}

static void on_syscall(uc_engine *uc, void *user)
{
	struct pv_emu *e = user;
	struct emu_thread *t = &e->threads[e->slice.tid];
	uint64_t pc = reg(uc, UC_X86_REG_RIP);
	if (pc < e->emu_call || pc >= e->emu_call_end) {
		crash(e, pc, "executed a syscall instruction outside the runtime's stub");
		return;
	}
	uint64_t nr = reg(uc, UC_X86_REG_RAX), a = reg(uc, UC_X86_REG_RDI),
	         b = reg(uc, UC_X86_REG_RSI), c = reg(uc, UC_X86_REG_RDX);
	uint64_t ret = 0;
	switch (nr) {
	case PV_EMU_CALL_WAIT: {
		int32_t v;
		if (emu_read(e, a, &v, sizeof(v))) {
			crash(e, pc, "waited on an unreadable lock word");
			return;
		}
		if (v == (int32_t)b) {
			t->blocked = true;
			t->wait_word = a;
			t->wait_seq = ++e->run.wait_seq;
			stop(e, EMU_STOP_BLOCKED);
		}
		break;
	}
	case PV_EMU_CALL_WAKE:
		emu_wake(e, a);
		break;
	case PV_EMU_CALL_YIELD:
		stop(e, EMU_STOP_YIELD);
		break;
	case PV_EMU_CALL_ALLOC:
		ret = call_alloc(e, a);
		break;
	case PV_EMU_CALL_WRITE: /* (fd, buf, len): every fd goes to one buffer */
		ret = call_write(e, b, c);
		break;
	default: {
		char why[64];
		snprintf(why, sizeof(why), "made the unknown runtime call %llu",
		         (unsigned long long)nr);
		crash(e, pc, why);
		return;
	}
	}
	uc_reg_write(uc, UC_X86_REG_RAX, &ret);
}

static void on_intr(uc_engine *uc, uint32_t intno, void *user)
{
	struct pv_emu *e = user;
	uint64_t pc = reg(uc, UC_X86_REG_RIP);
	uint64_t to;
	/* int3 is a trap: RIP is already past it. */
	if (intno == 3 && trapped(e, pc - 1, &to)) {
		uc_reg_write(uc, UC_X86_REG_RIP, &to);
		return;
	}
	if (intno == 3) {
		crash(e, pc - 1, "hit a breakpoint (int3) that no trap redirect covers");
		return;
	}
	char why[64];
	snprintf(why, sizeof(why), "raised CPU exception or interrupt %u", intno);
	crash(e, pc, why);
}

/* A stack grows into the rest of its 64 KiB on first touch; any other
 * unmapped access faults (a crash). */
static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                        int64_t value, void *user)
{
	(void)uc;
	(void)type;
	(void)size;
	(void)value;
	return emu_stack_grow(user, addr);
}

int emu_hooks_install(struct pv_emu *e, struct pv_error *err)
{
	uc_err ue = uc_hook_add(e->uc, &e->h_code, UC_HOOK_CODE, (void *)on_code, e, 1, 0);
	if (ue == UC_ERR_OK)
		ue = uc_hook_add(e->uc, &e->h_sys, UC_HOOK_INSN, (void *)on_syscall, e, 1, 0,
		                 UC_X86_INS_SYSCALL);
	if (ue == UC_ERR_OK)
		ue = uc_hook_add(e->uc, &e->h_intr, UC_HOOK_INTR, (void *)on_intr, e, 1, 0);
	if (ue == UC_ERR_OK)
		ue = uc_hook_add(e->uc, &e->h_unmapped,
		                 UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED,
		                 (void *)on_unmapped, e, 1, 0);
	if (ue != UC_ERR_OK)
		return pv_error_set(err, PV_EINTERNAL, "cannot install emulator hooks: %s",
		                    uc_strerror(ue));
	return 0;
}

static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
	(void)uc;
	(void)size;
	struct pv_emu *e = user;
	e->block_fn(e->block_ctx, addr, e->slice.tid);
}

/* Separate from emu_hooks_install: a block hook on every block costs
 * campaigns that do not fuzz. */
int emu_hooks_block(struct pv_emu *e, struct pv_error *err)
{
	uc_err ue = uc_hook_add(e->uc, &e->h_block, UC_HOOK_BLOCK, (void *)on_block, e, 1, 0);
	if (ue != UC_ERR_OK)
		return pv_error_set(err, PV_EINTERNAL, "cannot install the emulator's block hook: %s",
		                    uc_strerror(ue));
	return 0;
}
