/* Making a stopped thread run something and putting it back: register sets,
 * injected system calls, hijacked calls (compel's syscall / run_at / cure).
 *
 * Everything runs through gadgets in the harness page, so no byte of the
 * target's own code is touched (other threads may be running it). The one
 * exception is the very first injection, which maps that page: it borrows
 * two bytes at the pc of the only thread there is, at exec. */
#include "ptrace.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define EFLAGS_TF 0x100ull
#define EFLAGS_DF 0x400ull
#define RED_ZONE 128

static int regset_get(pid_t tid, int type, void *buf, size_t *len)
{
	struct iovec iov = {.iov_base = buf, .iov_len = *len};
	if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)type, &iov))
		return -1;
	*len = iov.iov_len;
	return 0;
}

static int regset_set(pid_t tid, int type, const void *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	return ptrace(PTRACE_SETREGSET, tid, (void *)(long)type, &iov) ? -1 : 0;
}

int pt_regs_get(struct pt_proc *p, struct pt_thread *t, struct pt_regset *r)
{
	size_t n = sizeof(r->gpr);
	if (regset_get(t->tid, NT_PRSTATUS, &r->gpr, &n))
		return pv_error_set(p->err, PV_EIO, "cannot read the registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	n = sizeof(r->fpr);
	if (regset_get(t->tid, NT_PRFPREG, &r->fpr, &n))
		return pv_error_set(p->err, PV_EIO, "cannot read the FPU registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	r->xstate_len = sizeof(r->xstate);
	if (regset_get(t->tid, NT_X86_XSTATE, r->xstate, &r->xstate_len))
		r->xstate_len = 0; /* no XSAVE on this machine: NT_PRFPREG is all */
	return 0;
}

int pt_regs_set(struct pt_proc *p, struct pt_thread *t, const struct pt_regset *r, bool ext)
{
	if (regset_set(t->tid, NT_PRSTATUS, &r->gpr, sizeof(r->gpr)))
		return pv_error_set(p->err, PV_EIO, "cannot restore the registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	t->regs = r->gpr;
	if (!ext)
		return 0;
	if (regset_set(t->tid, NT_PRFPREG, &r->fpr, sizeof(r->fpr)) ||
	    (r->xstate_len && regset_set(t->tid, NT_X86_XSTATE, r->xstate, r->xstate_len)))
		return pv_error_set(p->err, PV_EIO, "cannot restore the FPU/SSE/AVX registers of "
		                                    "thread %d: %s", (int)t->tid, strerror(errno));
	return 0;
}

static const char *signame(int sig)
{
	const char *s = sigabbrev_np(sig);
	return s ? s : "?";
}

/* Which side of a system call a syscall-stop of t is (PTRACE_SYSCALL_INFO_*). */
static int syscall_side(pid_t tid)
{
	struct __ptrace_syscall_info si;
	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof(si), &si) <= 0)
		return PTRACE_SYSCALL_INFO_NONE;
	return si.op;
}

/* One step of injected code: resume with PTRACE_SYSCALL and wait for the
 * next syscall-stop, holding signals (a fault is the code's crash). */
static int next_syscall_stop(struct pt_proc *p, struct pt_thread *t)
{
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, t->tid, NULL, NULL))
			return pv_error_set(p->err, PV_EIO, "cannot run thread %d: %s", (int)t->tid,
			                    strerror(errno));
		t->stopped = false;
		int sig, event;
		int rc = pt_wait_thread(p, t, PT_CALL_TIMEOUT_MS, &sig, &event);
		if (rc == PV_ETIMEDOUT)
			return pv_error_set(p->err, rc, "injected code on thread %d did not come back "
			                                "within %d ms", (int)t->tid, PT_CALL_TIMEOUT_MS);
		if (rc)
			return pv_error_set(p->err, rc, "thread %d died while running injected code",
			                    (int)t->tid);
		if (event == PT_EV_SYSCALL)
			return 0;
		if (event != PT_EV_SIGNAL)
			continue; /* a late interrupt or a clone: carry on */
		if (sig == SIGTRAP && t->swallow_trap) {
			t->swallow_trap = false; /* proc.c: redirect_pending_trap */
			continue;
		}
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		    sig == SIGTRAP)
			return pv_error_set(p->err, PV_EFAULT, "injected code on thread %d faulted "
			                                       "(%s at 0x%llx)", (int)t->tid,
			                    signame(sig), (unsigned long long)t->regs.rip);
		if (!t->held_sig)
			t->held_sig = sig;
	}
}

/* Runs t from registers `in` until it has made the system call whose
 * instruction ends at `marker` (the code's last instruction); *out receives
 * the registers at that call's entry (its arguments) and *rax its result.
 * System calls the code makes on the way run normally.
 *
 * No int3 and no signal: a trap would be a forced SIGTRAP, which the kernel
 * unblocks in the thread's mask when it is blocked (glibc blocks every
 * signal while it creates a thread): state a probe rightly calls changed. */
static int run_at(struct pt_proc *p, struct pt_thread *t, const struct user_regs_struct *in,
                  uint64_t marker, struct user_regs_struct *out, int64_t *rax)
{
	if (regset_set(t->tid, NT_PRSTATUS, in, sizeof(*in)))
		return pv_error_set(p->err, PV_EIO, "cannot set the registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	for (;;) {
		int rc = next_syscall_stop(p, t);
		if (rc)
			return rc;
		if (syscall_side(t->tid) != PTRACE_SYSCALL_INFO_ENTRY)
			continue;
		bool ours = t->regs.rip == marker;
		if (ours)
			*out = t->regs;
		/* To its exit stop: the code's own call, or ours, runs. */
		do
			rc = next_syscall_stop(p, t);
		while (!rc && syscall_side(t->tid) != PTRACE_SYSCALL_INFO_EXIT);
		if (rc)
			return rc;
		if (ours) {
			*rax = (int64_t)t->regs.rax;
			return 0;
		}
	}
}

/* Puts registers r back on t, which is at a syscall-exit-stop of injected
 * code, and parks it in an ordinary interrupt stop. Only from there (the
 * signal path) does the kernel apply its restart logic when the thread
 * resumes, so a system call the thread was stopped in is restarted as if
 * nothing had happened. */
static int cure(struct pt_proc *p, struct pt_thread *t, const struct user_regs_struct *r)
{
	if (regset_set(t->tid, NT_PRSTATUS, r, sizeof(*r)))
		return pv_error_set(p->err, PV_EIO, "cannot restore the registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) || ptrace(PTRACE_CONT, t->tid, NULL, NULL))
		return pv_error_set(p->err, PV_EIO, "cannot park thread %d: %s", (int)t->tid,
		                    strerror(errno));
	t->stopped = false;
	for (;;) {
		int sig, event;
		int rc = pt_wait_thread(p, t, PT_STOP_TIMEOUT_MS, &sig, &event);
		if (rc)
			return pv_error_set(p->err, rc, "thread %d did not stop after an injection",
			                    (int)t->tid);
		if (event == PT_EV_STOP)
			break;
		if (event == PT_EV_SIGNAL && sig == SIGTRAP && t->swallow_trap)
			t->swallow_trap = false;
		else if (event == PT_EV_SIGNAL && !t->held_sig)
			t->held_sig = sig;
		else if (event == PT_EV_SIGNAL) {
			/* A second pending signal: delivered now (rare). */
			if (ptrace(PTRACE_CONT, t->tid, NULL, (void *)(long)sig) == 0)
				t->stopped = false;
			continue;
		}
		if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) == 0)
			t->stopped = false;
	}
	t->regs = *r;
	return 0;
}

int pt_syscall(struct pt_proc *p, struct pt_thread *t, long nr, const uint64_t *args,
               unsigned nargs, int64_t *ret)
{
	if (!t->live || !t->stopped)
		return pv_error_set(p->err, PV_ESTATE, "thread %d is not stopped", (int)t->tid);
	/* A system call leaves the FPU alone: the general registers suffice. */
	struct user_regs_struct save, r, out;
	size_t n = sizeof(save);
	if (regset_get(t->tid, NT_PRSTATUS, &save, &n))
		return pv_error_set(p->err, PV_EIO, "cannot read the registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	static const uint8_t insn[2] = {0x0f, 0x05}; /* syscall */
	uint8_t borrowed[2];
	uint64_t at = p->page ? p->page + PT_GADGET_SYSCALL : save.rip;
	int rc;
	if (!p->page && ((rc = pt_read(p, at, borrowed, 2)) || (rc = pt_write(p, at, insn, 2))))
		return rc;
	r = save;
	r.rip = at;
	r.rax = (uint64_t)nr;
	/* -1: no system call in progress, so the kernel applies no restart
	 * logic to these registers; the saved ones get theirs at the resume. */
	r.orig_rax = (uint64_t)-1;
	r.eflags &= ~EFLAGS_TF;
	unsigned long long *slot[6] = {&r.rdi, &r.rsi, &r.rdx, &r.r10, &r.r8, &r.r9};
	for (unsigned i = 0; i < 6; i++)
		*slot[i] = i < nargs ? args[i] : 0;
	int64_t result = 0;
	rc = run_at(p, t, &r, at + 2, &out, &result);
	if (!rc && ret)
		*ret = result;
	if (!p->page)
		pt_write(p, at, borrowed, 2);
	int rc2 = t->live ? cure(p, t, &save) : 0;
	return rc ? rc : rc2;
}

static bool gone(struct pt_proc *p, void *arg)
{
	(void)p;
	return !((struct pt_thread *)arg)->live;
}

int pt_thread_exit(struct pt_proc *p, struct pt_thread *t)
{
	if (!t->live || !t->stopped || !p->page)
		return pv_error_set(p->err, PV_ESTATE, "thread %u is not stopped, or the process has "
		                                       "no harness page", t->id);
	struct user_regs_struct r;
	size_t n = sizeof(r);
	if (regset_get(t->tid, NT_PRSTATUS, &r, &n))
		return pv_error_set(p->err, PV_EIO, "cannot read the registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	r.rip = p->page + PT_GADGET_SYSCALL;
	r.rax = SYS_exit;
	r.rdi = 0;
	r.orig_rax = (uint64_t)-1; /* no restart of a system call it was in */
	r.eflags &= ~EFLAGS_TF;
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &r))
		return pv_error_set(p->err, PV_EIO, "cannot set the registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	t->held_sig = 0;
	pt_resume_thread(p, t);
	if (pt_pump_until(p, pt_now() + PT_CALL_TIMEOUT_MS / 1e3, gone, t) == PV_ETIMEDOUT)
		return pv_error_set(p->err, PV_ETIMEDOUT, "thread %d did not exit within %d ms",
		                    (int)t->tid, PT_CALL_TIMEOUT_MS);
	return 0;
}

long pt_restartable_syscall(const struct user_regs_struct *r)
{
	long nr = (long)r->orig_rax;
	long rax = (long)r->rax;
	/* ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK */
	if (nr >= 0 && (rax == -512 || rax == -513 || rax == -514 || rax == -516))
		return nr;
	return -1;
}

int pt_call(struct pt_proc *p, struct pt_thread *t, uint64_t fn, const uint64_t *args,
            unsigned nargs, unsigned flags, uint64_t *ret)
{
	if (!t->live || !t->stopped)
		return pv_error_set(p->err, PV_ESTATE, "thread %u is not stopped", t->id);
	if (nargs > 6)
		return pv_error_set(p->err, PV_EINVAL, "call: %u arguments; at most 6 go in "
		                                       "registers", nargs);
	if (!p->page)
		return pv_error_set(p->err, PV_ESTATE, "call: no harness page in the process");
	struct pt_regset *save = &p->scratch;
	int rc = pt_regs_get(p, t, save);
	if (rc)
		return rc;
	struct user_regs_struct r = save->gpr, out;
	/* Below the red zone (unless flags say otherwise), aligned so that
	 * rsp + 8 is a multiple of 16 at the function's entry, as after a call. */
	uint64_t zone = (flags & PV_CALL_NO_REDZONE) ? 0 : RED_ZONE;
	uint64_t sp = ((save->gpr.rsp - zone) & ~15ull) - 8;
	uint64_t ra = p->page + PT_GADGET_RETURN;
	if ((rc = pt_write(p, sp, &ra, sizeof(ra))))
		return rc;
	r.rsp = sp;
	r.rip = fn;
	r.rax = 0;
	r.orig_rax = (uint64_t)-1;
	r.eflags &= ~(EFLAGS_TF | EFLAGS_DF); /* the ABI wants DF clear */
	unsigned long long *slot[6] = {&r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9};
	for (unsigned i = 0; i < 6; i++)
		*slot[i] = i < nargs ? args[i] : 0;
	int64_t result = 0;
	rc = run_at(p, t, &r, p->page + PT_GADGET_RETURN_END, &out, &result);
	if (!t->live)
		return rc;
	if (!rc && ret)
		*ret = out.rdi; /* the gadget moved the function's rax there */
	t->hijacked = true;
	if (p->run)
		p->run->pause_called = true;
	/* The restore, less what flags leave out. */
	struct user_regs_struct gpr = save->gpr;
	if (flags & PV_CALL_NO_FLAGS)
		gpr.eflags = out.eflags;
	if ((flags & PV_CALL_NO_RESTART) && pt_restartable_syscall(&gpr) >= 0) {
		gpr.rax = (uint64_t)-EINTR;
		gpr.orig_rax = (uint64_t)-1;
	}
	int rrc = cure(p, t, &gpr);
	if (!rrc && !(flags & PV_CALL_NO_EXT)) {
		struct pt_regset *ext = save;
		ext->gpr = gpr;
		rrc = pt_regs_set(p, t, ext, true);
	}
	return rc ? rc : rrc;
}

int pt_map_page(struct pt_proc *p, struct pt_thread *t)
{
	uint64_t args[6] = {0, PT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	                    (uint64_t)-1, 0};
	int64_t addr;
	int rc = pt_syscall(p, t, SYS_mmap, args, 6, &addr);
	if (rc)
		return rc;
	if (addr < 0 && addr > -4096)
		return pv_error_set(p->err, PV_EIO, "cannot map the harness page in process %d: %s",
		                    (int)p->pid, strerror((int)-addr));
	uint8_t page[0x40];
	memset(page, 0xcc, sizeof(page));
	static const uint8_t sys[] = {0x0f, 0x05};
	/* mov %rax,%rdi; mov $SYS_getpid,%eax; syscall */
	static const uint8_t ret[] = {0x48, 0x89, 0xc7, 0xb8, SYS_getpid, 0, 0, 0, 0x0f, 0x05};
	/* mov %sil/%si/%esi/%rsi,(%rdi); syscall (rax = SYS_getpid) */
	static const uint8_t st1[] = {0x40, 0x88, 0x37, 0x0f, 0x05};
	static const uint8_t st2[] = {0x66, 0x89, 0x37, 0x0f, 0x05};
	static const uint8_t st4[] = {0x89, 0x37, 0x0f, 0x05};
	static const uint8_t st8[] = {0x48, 0x89, 0x37, 0x0f, 0x05};
	_Static_assert(sizeof(ret) == PT_GADGET_RETURN_END - PT_GADGET_RETURN, "gadget size");
	memcpy(page + PT_GADGET_SYSCALL, sys, sizeof(sys));
	memcpy(page + PT_GADGET_RETURN, ret, sizeof(ret));
	memcpy(page + PT_GADGET_STORE1, st1, sizeof(st1));
	memcpy(page + PT_GADGET_STORE2, st2, sizeof(st2));
	memcpy(page + PT_GADGET_STORE4, st4, sizeof(st4));
	memcpy(page + PT_GADGET_STORE8, st8, sizeof(st8));
	if ((rc = pt_write(p, (uint64_t)addr, page, sizeof(page))))
		return rc;
	/* Still through the borrowed bytes: the page is not executable yet. */
	uint64_t pargs[3] = {(uint64_t)addr, PT_PAGE, PROT_READ | PROT_EXEC};
	int64_t r;
	if ((rc = pt_syscall(p, t, SYS_mprotect, pargs, 3, &r)))
		return rc;
	if (r)
		return pv_error_set(p->err, PV_EIO, "cannot protect the harness page: %s",
		                    strerror((int)-r));
	p->page = (uint64_t)addr;
	return 0;
}

int pt_store(struct pt_proc *p, struct pt_thread *t, uint64_t addr, uint64_t value,
             unsigned size)
{
	unsigned off = size == 1 ? PT_GADGET_STORE1 : size == 2 ? PT_GADGET_STORE2
	             : size == 4 ? PT_GADGET_STORE4 : PT_GADGET_STORE8;
	unsigned len = size == 4 ? 4 : 5;
	struct user_regs_struct save, r, out;
	size_t n = sizeof(save);
	if (regset_get(t->tid, NT_PRSTATUS, &save, &n))
		return pv_error_set(p->err, PV_EIO, "cannot read the registers of thread %d: %s",
		                    (int)t->tid, strerror(errno));
	r = save;
	r.rip = p->page + off;
	r.rdi = addr;
	r.rsi = value;
	r.rax = SYS_getpid;
	r.orig_rax = (uint64_t)-1;
	r.eflags &= ~EFLAGS_TF;
	int64_t ignored;
	int rc = run_at(p, t, &r, p->page + off + len, &out, &ignored);
	int rc2 = t->live ? cure(p, t, &save) : 0;
	return rc ? rc : rc2;
}

int pt_worker_thread(struct pt_proc *p, struct pt_thread **out, bool *temp)
{
	*temp = false;
	struct pt_thread *best = NULL;
	for (size_t i = 0; i < p->nthreads; i++) {
		struct pt_thread *t = &p->threads[i];
		if (!t->live || !t->stopped)
			continue;
		if (!best || ((long)best->regs.orig_rax >= 0 && (long)t->regs.orig_rax < 0))
			best = t;
	}
	if (!best) {
		for (size_t i = 0; i < p->nthreads && !best; i++)
			if (p->threads[i].live)
				best = &p->threads[i];
		if (!best)
			return pv_error_set(p->err, PV_ESTATE, "process %d has no live thread",
			                    (int)p->pid);
		int rc = pt_stop_thread(p, best);
		if (rc)
			return rc;
		if (!best->live || !best->stopped)
			return pv_error_set(p->err, PV_ESTATE, "thread %d exited", (int)best->tid);
		*temp = true;
	}
	*out = best;
	return 0;
}
