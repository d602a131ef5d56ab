/* Threads of the emu backend: a saved register context each (uc_context,
 * the full CPU state), switched on one Unicorn CPU. A slice restores one
 * thread, emulates until the instruction hook, a runtime call or a fault
 * ends it, and saves it again. */
#include <string.h>

#include "internal.h"

bool emu_thread_runnable(const struct emu_thread *t)
{
	return !t->done && !t->stopped && !t->blocked;
}

void emu_threads_reset(struct pv_emu *e)
{
	for (unsigned i = 0; i < e->nthreads; i++) {
		struct emu_thread *t = &e->threads[i];
		t->pc = 0;
		t->stopped = t->blocked = t->crashed = t->in_call = false;
		/* Not started: never scheduled until emu_thread_start. */
		t->done = true;
		t->wait_word = t->wait_seq = 0;
		memset(t->slots, 0, sizeof(t->slots));
	}
}

uint64_t emu_thread_reg(struct pv_emu *e, unsigned tid, int reg)
{
	uint64_t v = 0;
	uc_context_reg_read(e->threads[tid].ctx, reg, &v);
	return v;
}

/* Changes a saved register; the CPU no longer holds that thread's state. */
static void set_reg(struct pv_emu *e, struct emu_thread *t, int reg, uint64_t v)
{
	uc_context_reg_write(t->ctx, reg, &v);
	e->loaded = -1;
}

/* Pushes the sentinel as the return address of a call made at sp (16-byte
 * aligned), as the System V ABI wants it at a function's entry. */
static int push_sentinel(struct pv_emu *e, struct emu_thread *t, uint64_t sp)
{
	uint64_t ret = EMU_SENTINEL;
	if (sp - 8 < t->stack_lo || sp > t->stack_hi)
		return PV_EFAULT;
	uint8_t *h = emu_host(e, sp - 8, 8);
	if (!h)
		return PV_EFAULT;
	memcpy(h, &ret, 8);
	set_reg(e, t, UC_X86_REG_RSP, sp - 8);
	return 0;
}

int emu_thread_start(struct pv_emu *e, unsigned tid, uint64_t fn, uint64_t arg0,
                     uint64_t arg1)
{
	struct emu_thread *t = &e->threads[tid];
	memcpy(t->ctx, e->blank, e->ctx_size);
	int rc = push_sentinel(e, t, t->stack_hi);
	if (rc)
		return rc;
	set_reg(e, t, UC_X86_REG_RDI, arg0);
	set_reg(e, t, UC_X86_REG_RSI, arg1);
	set_reg(e, t, UC_X86_REG_RIP, fn);
	t->pc = fn;
	t->done = t->stopped = t->blocked = t->crashed = false;
	return 0;
}

/* The slot page holds the slots of the thread that runs (thread_slot). */
static void switch_slots(struct pv_emu *e, unsigned tid)
{
	struct emu_run *r = &e->run;
	if (!r->slots_used || r->slots_owner == (int)tid)
		return;
	uint8_t *page = emu_host(e, EMU_SLOTS, sizeof(e->threads[0].slots));
	if (r->slots_owner >= 0)
		memcpy(e->threads[r->slots_owner].slots, page, sizeof(e->threads[0].slots));
	memcpy(page, e->threads[tid].slots, sizeof(e->threads[0].slots));
	r->slots_owner = (int)tid;
}

static void crash(struct pv_emu *e, unsigned tid, uint64_t pc, const char *why)
{
	struct emu_thread *t = &e->threads[tid];
	char where[160];
	emu_symbolize(e, pc, where, sizeof(where));
	t->done = t->crashed = true;
	t->blocked = false;
	char detail[PV_CHECK_DETAIL_LEN];
	pv_crash_word_thread(tid, why, where, detail, sizeof(detail));
	emu_violation(e, PV_CHECK_CRASH, (int)tid, pc, "%s", detail);
}

enum emu_stop emu_run_slice(struct pv_emu *e, unsigned tid, uint64_t quantum, bool preemptible)
{
	struct emu_thread *t = &e->threads[tid];
	struct emu_slice *s = &e->slice;
	switch_slots(e, tid);
	/* The CPU still holds the thread that ran last: no restore needed. */
	if (e->loaded != (int)tid)
		uc_context_restore(e->uc, t->ctx);
	s->tid = (int)tid;
	s->quantum = quantum;
	s->executed = 0;
	s->preemptible = preemptible;
	s->stop = EMU_STOP_NONE;
	s->why[0] = '\0';
	emu_flush_stale(e);
	uc_err ue = uc_emu_start(e->uc, t->pc, EMU_UNTIL, 0, 0);
	uc_context_save(e->uc, t->ctx);
	e->loaded = (int)tid;
	uc_reg_read(e->uc, UC_X86_REG_RIP, &t->pc);
	e->run.res->instructions += s->executed;

	enum emu_stop stop = s->stop;
	if (stop == EMU_STOP_CRASH) {
		crash(e, tid, s->crash_pc, s->why);
	} else if ((ue == UC_ERR_FETCH_PROT || ue == UC_ERR_FETCH_UNMAPPED) &&
	           pv_judge_released_fetch(e->run.released, e->run.nreleased, t->pc) >= 0) {
		/* Not a crash of the target's making: the engine took the code
		 * away under it. */
		char where[160];
		emu_symbolize(e, t->pc, where, sizeof(where));
		t->done = t->crashed = true;
		t->blocked = false;
		emu_violation(e, PV_CHECK_USE_AFTER_REVERT, (int)tid, t->pc,
		              "thread %u fetched an instruction at %s, in memory the engine "
		              "had unmapped",
		              tid, where);
		stop = EMU_STOP_CRASH;
	} else if (ue != UC_ERR_OK) {
		char why[120];
		snprintf(why, sizeof(why), "faulted (%s)", uc_strerror(ue));
		crash(e, tid, t->pc, why);
		stop = EMU_STOP_CRASH;
	} else if (stop == EMU_STOP_NONE) {
		/* Emulation ended by itself: a hlt. At the sentinel it is the
		 * return of the thread's function; anywhere else it is a
		 * privileged instruction, which kills a user thread. */
		if (t->pc - 1 - EMU_SENTINEL < EMU_PAGE) {
			stop = EMU_STOP_DONE;
			if (!t->in_call)
				t->done = true;
		} else {
			crash(e, tid, t->pc - 1, "executed hlt (privileged)");
			stop = EMU_STOP_CRASH;
		}
	}
	return stop;
}

void emu_wake(struct pv_emu *e, uint64_t word)
{
	struct emu_thread *first = NULL;
	for (unsigned i = 0; i < e->nthreads; i++) {
		struct emu_thread *t = &e->threads[i];
		if (t->blocked && t->wait_word == word && (!first || t->wait_seq < first->wait_seq))
			first = t;
	}
	if (first)
		first->blocked = false;
}

/* Copies the registers of one kind from the context after a call into the
 * context the thread gets back (call_flags: what is not restored). */
static void keep_regs(const uc_context *after, uc_context *back, int first, int last)
{
	for (int r = first; r <= last; r++) {
		uint8_t v[64];
		if (uc_context_reg_read((uc_context *)after, r, v) == UC_ERR_OK)
			uc_context_reg_write(back, r, v);
	}
}

int emu_hijack_call(struct pv_emu *e, unsigned tid, uint64_t fn, const uint64_t *args,
                    unsigned nargs, unsigned flags, uint64_t *ret, struct pv_error *err)
{
	static const int arg_regs[6] = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
	                                UC_X86_REG_RCX, UC_X86_REG_R8,  UC_X86_REG_R9};
	struct emu_thread *t = &e->threads[tid];
	memcpy(e->saved, t->ctx, e->ctx_size);
	uint64_t pc = t->pc;
	bool blocked = t->blocked;
	/* Below the red zone, 16-byte aligned, then the return address. */
	uint64_t sp = (emu_thread_reg(e, tid, UC_X86_REG_RSP) - 128) & ~15ull;
	if (push_sentinel(e, t, sp))
		return pv_error_set(err, PV_EFAULT,
		                    "call on thread %u: its stack pointer is outside its stack", tid);
	for (unsigned i = 0; i < nargs; i++)
		set_reg(e, t, arg_regs[i], args[i]);
	t->pc = fn;
	t->blocked = false;

	int rc = 0;
	uint64_t done = 0;
	t->in_call = true;
	for (;;) {
		uint64_t before = e->run.res->instructions;
		enum emu_stop stop = emu_run_slice(e, tid, EMU_CALL_BUDGET - done, false);
		done += e->run.res->instructions - before;
		if (stop == EMU_STOP_DONE)
			break;
		if (stop == EMU_STOP_CRASH) {
			rc = pv_error_set(err, PV_EFAULT,
			                  "the call to 0x%llx on thread %u crashed the thread",
			                  (unsigned long long)fn, tid);
			break;
		}
		/* Blocked on a lock: threads that are not stopped may release
		 * it (slice decisions, as anywhere in an engine operation). */
		e->run.yielding = true;
		while (t->blocked && emu_decide_slice(e, true))
			;
		e->run.yielding = false;
		if (t->blocked) {
			emu_violation(e, PV_CHECK_LIVENESS, (int)tid, t->pc,
			              "the engine's call to 0x%llx on thread %u blocked on a lock "
			              "that no running thread releases",
			              (unsigned long long)fn, tid);
			rc = pv_error_set(err, PV_EBUSY,
			                  "the call to 0x%llx on thread %u blocked on a lock",
			                  (unsigned long long)fn, tid);
			break;
		}
		if (done >= EMU_CALL_BUDGET) {
			rc = pv_error_set(err, PV_ETIMEDOUT,
			                  "the call to 0x%llx on thread %u did not return within %u "
			                  "instructions",
			                  (unsigned long long)fn, tid, EMU_CALL_BUDGET);
			break;
		}
	}
	t->in_call = false;
	if (t->crashed)
		return rc;
	if (ret && !rc)
		*ret = emu_thread_reg(e, tid, UC_X86_REG_RAX);
	if (flags & PV_CALL_NO_EXT) {
		keep_regs(t->ctx, e->saved, UC_X86_REG_FP0, UC_X86_REG_FP7);
		keep_regs(t->ctx, e->saved, UC_X86_REG_FPSW, UC_X86_REG_FPSW);
		keep_regs(t->ctx, e->saved, UC_X86_REG_FPCW, UC_X86_REG_FPTAG);
		keep_regs(t->ctx, e->saved, UC_X86_REG_MXCSR, UC_X86_REG_MXCSR);
		keep_regs(t->ctx, e->saved, UC_X86_REG_XMM0, UC_X86_REG_XMM15);
		keep_regs(t->ctx, e->saved, UC_X86_REG_YMM0, UC_X86_REG_YMM15);
	}
	if (flags & PV_CALL_NO_FLAGS)
		keep_regs(t->ctx, e->saved, UC_X86_REG_EFLAGS, UC_X86_REG_EFLAGS);
	memcpy(t->ctx, e->saved, e->ctx_size);
	e->loaded = -1;
	t->pc = pc;
	t->blocked = blocked;
	/* The lock wait it was stopped in returns instead of waiting on (the
	 * runtime's lock loop then looks at the lock again). */
	if ((flags & PV_CALL_NO_RESTART) && blocked) {
		t->blocked = false;
		set_reg(e, t, UC_X86_REG_RAX, (uint64_t)-4); /* -EINTR */
	}
	return rc;
}
