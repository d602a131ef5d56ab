/* The traced process: spawn, seize, events, stop/resume, release. */
#include "ptrace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#define SEIZE_OPTIONS                                                          \
	(PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD)

double pt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

struct pt_thread *pt_thread_by_id(struct pt_proc *p, unsigned id)
{
	return id < p->nthreads ? &p->threads[id] : NULL;
}

struct pt_thread *pt_thread_by_tid(struct pt_proc *p, pid_t tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

size_t pt_live_threads(const struct pt_proc *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nthreads; i++)
		n += p->threads[i].live;
	return n;
}

static struct pt_thread *add_thread(struct pt_proc *p, pid_t tid)
{
	struct pt_thread *t = pt_thread_by_tid(p, tid);
	if (t)
		return t;
	if (p->nthreads == PT_MAX_THREADS) {
		/* A program that makes a thread per request (a server) outlives
		 * the table: a slot of a thread that is gone is taken again. */
		for (size_t i = 1; i < p->nthreads; i++) {
			t = &p->threads[i];
			if (t->live || t->stopped)
				continue;
			free(t->snap);
			memset(t, 0, sizeof(*t));
			t->tid = tid;
			t->id = (unsigned)i;
			t->live = true;
			return t;
		}
		return NULL;
	}
	t = &p->threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->id = (unsigned)p->nthreads++;
	t->live = true;
	return t;
}

void pt_drain_output(struct pt_proc *p)
{
	char buf[512];
	ssize_t n;
	while (p->out_fd >= 0 && (n = read(p->out_fd, buf, sizeof(buf))) > 0) {
		size_t room = sizeof(p->output) - 1 - p->noutput;
		size_t k = (size_t)n < room ? (size_t)n : room;
		memcpy(p->output + p->noutput, buf, k);
		p->noutput += k;
		p->output[p->noutput] = '\0';
	}
}

/* ------------------------------------------------------------ memory */

int pt_read(struct pt_proc *p, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(p->mem_fd, (char *)buf + done, len - done, (off_t)(addr + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pv_error_set(p->err, PV_EFAULT, "cannot read %zu bytes at 0x%llx of "
			                                       "process %d: %s", len,
			                    (unsigned long long)addr, (int)p->pid,
			                    n < 0 ? strerror(errno) : "end of memory");
		done += (size_t)n;
	}
	return 0;
}

int pt_write(struct pt_proc *p, uint64_t addr, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(p->mem_fd, (const char *)buf + done, len - done,
		                   (off_t)(addr + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pv_error_set(p->err, PV_EFAULT, "cannot write %zu bytes at 0x%llx of "
			                                       "process %d: %s", len,
			                    (unsigned long long)addr, (int)p->pid,
			                    n < 0 ? strerror(errno) : "end of memory");
		done += (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------ events */

static bool fatal_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	       sig == SIGTRAP || sig == SIGABRT || sig == SIGSYS;
}

static const struct pt_trap *trap_at(const struct pt_proc *p, uint64_t addr);

static bool sigtrap_pending(const struct pt_proc *p, const struct pt_thread *t)
{
	char path[96], line[128];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)p->pid, (int)t->tid);
	FILE *f = fopen(path, "re");
	unsigned long long pnd = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SigPnd: %llx", &pnd) == 1)
			break;
	if (f)
		fclose(f);
	return pnd & (1ull << (SIGTRAP - 1));
}

/* A thread stopped right after an engine's int3 (its SIGTRAP pending, not
 * delivered yet: the stop came first) is redirected now, as the kernel's
 * text_poke_bp handler would have done, and the SIGTRAP it will still
 * report is swallowed wherever it comes (on_signal, inject.c). */
static bool retired_at(const struct pt_proc *p, uint64_t addr)
{
	for (size_t i = 0; p->run && i < p->run->nretired; i++)
		if (p->run->retired[i] == addr)
			return true;
	return false;
}

/* Where a thread that executed an engine's int3 at rip - 1 goes on: the
 * redirect's target, or, when the int3 is gone already (the engine removed
 * it and its redirect), the instruction back in its place, as the kernel's
 * int3 handler retries an instruction whose breakpoint was removed. 0 when
 * the trap is none of the engine's. */
static uint64_t trap_resume(const struct pt_proc *p, uint64_t rip)
{
	const struct pt_trap *tr = trap_at(p, rip - 1);
	if (tr)
		return tr->to;
	uint8_t byte;
	if (retired_at(p, rip - 1) && !pt_read((struct pt_proc *)p, rip - 1, &byte, 1) &&
	    byte != 0xcc)
		return rip - 1;
	return 0;
}

static void redirect_pending_trap(struct pt_proc *p, struct pt_thread *t)
{
	uint64_t to = trap_resume(p, t->regs.rip);
	if (!to || t->swallow_trap || !sigtrap_pending(p, t))
		return;
	t->regs.rip = to;
	if (!ptrace(PTRACE_SETREGS, t->tid, NULL, &t->regs))
		t->swallow_trap = true;
}

/* Decodes one wait status of t and keeps the books (exits, new threads,
 * registers of a stopped thread). */
static enum pt_ev decode(struct pt_proc *p, struct pt_thread *t, int st, int *sig)
{
	*sig = 0;
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		t->live = false;
		t->stopped = false;
		if (t->tid == p->pid) {
			p->exited = true;
			p->status = st;
		}
		return PT_EV_EXIT;
	}
	if (!WIFSTOPPED(st))
		return PT_EV_NONE;
	t->stopped = true;
	t->traced = true;
	if (ptrace(PTRACE_GETREGS, t->tid, NULL, &t->regs))
		memset(&t->regs, 0, sizeof(t->regs));
	int event = (st >> 16) & 0xff;
	*sig = WSTOPSIG(st);
	switch (event) {
	case 0:
		if (*sig == (SIGTRAP | 0x80)) {
			*sig = 0;
			return PT_EV_SYSCALL;
		}
		return PT_EV_SIGNAL;
	case PTRACE_EVENT_STOP:
		redirect_pending_trap(p, t);
		return PT_EV_STOP;
	case PTRACE_EVENT_EXEC:
		return PT_EV_EXEC;
	case PTRACE_EVENT_CLONE: {
		unsigned long tid = 0;
		if (!ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &tid) && tid)
			add_thread(p, (pid_t)tid);
		return PT_EV_CLONE;
	}
	default:
		return PT_EV_OTHER;
	}
}

/* Non-blocking look at t: PT_EV_NONE when nothing is pending. */
static enum pt_ev poll_thread(struct pt_proc *p, struct pt_thread *t, int *sig)
{
	int st;
	pid_t r;
	do
		r = waitpid(t->tid, &st, WNOHANG | __WALL);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return PT_EV_NONE;
	if (r < 0) {
		/* ECHILD: reaped already, or never ours any more. */
		t->live = false;
		t->stopped = false;
		*sig = 0;
		return PT_EV_EXIT;
	}
	return decode(p, t, st, sig);
}

static unsigned sweep(struct pt_proc *p);

/* Waits (bounded) for the next event of t. */
static enum pt_ev wait_thread(struct pt_proc *p, struct pt_thread *t, double deadline, int *sig)
{
	for (unsigned spin = 0;; spin++) {
		enum pt_ev e = poll_thread(p, t, sig);
		if (e != PT_EV_NONE)
			return e;
		if (pt_now() > deadline)
			return PT_EV_NONE;
		/* After a crash the group is dying, and a leader's exit comes
		 * only once every other thread is reaped: reap them. */
		if (p->crash.seen && spin >= 64 && t->tid == p->pid)
			sweep(p);
		/* Stops usually arrive within microseconds: spin first. */
		if (spin < 64)
			sched_yield();
		else
			sleep_us(spin < 1000 ? 20 : 200);
	}
}

static int cont(struct pt_proc *p, struct pt_thread *t, int sig)
{
	if (ptrace(PTRACE_CONT, t->tid, NULL, (void *)(long)sig)) {
		if (errno == ESRCH) {
			/* Died meanwhile (a thread held stopped while another
			 * crashed): its exit is reported by wait, so poll it. */
			t->stopped = false;
			return 0;
		}
		return pv_error_set(p->err, PV_EIO, "cannot resume thread %d of process %d: %s",
		                    (int)t->tid, (int)p->pid, strerror(errno));
	}
	t->stopped = false;
	return 0;
}

static const struct pt_trap *trap_at(const struct pt_proc *p, uint64_t addr)
{
	for (size_t i = 0; p->run && i < p->run->ntraps; i++)
		if (p->run->traps[i].addr == addr)
			return &p->run->traps[i];
	return NULL;
}

static void record_crash(struct pt_proc *p, struct pt_thread *t, int sig)
{
	if (p->crash.seen)
		return;
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &si);
	p->crash = (struct pt_crash){.seen = true, .sig = sig, .thread = (int)t->id,
	                             .pc = t->regs.rip, .addr = (uint64_t)(uintptr_t)si.si_addr};
}

/* A signal-delivery-stop of a thread that runs on its own: a trap_redirect,
 * or a signal delivered now (a fatal one recorded as the crash). */
static void on_signal(struct pt_proc *p, struct pt_thread *t, int sig)
{
	if (sig == SIGTRAP && pt_steer_trap(p, t))
		return;
	if (sig == SIGTRAP && t->swallow_trap) {
		t->swallow_trap = false;
		cont(p, t, 0);
		return;
	}
	uint64_t to = sig == SIGTRAP ? trap_resume(p, t->regs.rip) : 0;
	if (to) {
		/* trap_redirect: what the kernel's text_poke_bp handler does. */
		t->regs.rip = to;
		ptrace(PTRACE_SETREGS, t->tid, NULL, &t->regs);
		cont(p, t, 0);
		return;
	}
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &si);
	/* SIGKILL'd group members and signals the process sends itself are
	 * not crashes; a fault raised by the CPU (si_code > 0) or abort is. */
	if (fatal_signal(sig) && (si.si_code > 0 || sig == SIGABRT))
		record_crash(p, t, sig);
	cont(p, t, sig);
}

/* Serves one event of a thread that runs freely. */
static void serve(struct pt_proc *p, struct pt_thread *t, enum pt_ev e, int sig)
{
	switch (e) {
	case PT_EV_NONE:
	case PT_EV_EXIT:
		return;
	case PT_EV_SIGNAL:
		on_signal(p, t, sig);
		return;
	case PT_EV_STOP:
		if (!t->engine_stopped && p->world_stopped) {
			/* A thread born while the world is stopped stays stopped. */
			t->engine_stopped = true;
			return;
		}
		cont(p, t, 0);
		return;
	default:
		cont(p, t, 0);
	}
}

/* One sweep over the threads that run; returns how many had an event. */
static unsigned sweep(struct pt_proc *p)
{
	unsigned n = 0;
	for (size_t i = 0; i < p->nthreads; i++) {
		struct pt_thread *t = &p->threads[i];
		if (!t->live || t->stopped)
			continue;
		int sig;
		enum pt_ev e = poll_thread(p, t, &sig);
		if (e == PT_EV_NONE)
			continue;
		n++;
		serve(p, t, e, sig);
	}
	return n;
}

int pt_pump_until(struct pt_proc *p, double deadline, bool (*pred)(struct pt_proc *, void *),
                  void *arg)
{
	for (;;) {
		unsigned n = sweep(p);
		pt_drain_output(p);
		if (p->exited || (pred && pred(p, arg)))
			return 0;
		if (pt_now() >= deadline)
			return PV_ETIMEDOUT;
		if (!n)
			sleep_us(100);
	}
}

int pt_pump(struct pt_proc *p, double deadline)
{
	int rc = pt_pump_until(p, deadline, NULL, NULL);
	return rc == PV_ETIMEDOUT ? 0 : rc;
}

/* ------------------------------------------------------------ stop/resume */

/* Waits for the stop an interrupt asked for, serving what comes first. */
static int await_stop(struct pt_proc *p, struct pt_thread *t)
{
	double deadline = pt_now() + PT_STOP_TIMEOUT_MS / 1000.0;
	for (;;) {
		int sig;
		enum pt_ev e = wait_thread(p, t, deadline, &sig);
		switch (e) {
		case PT_EV_NONE:
			return pv_error_set(p->err, PV_ETIMEDOUT, "thread %d of process %d did not "
			                                          "stop within %d ms", (int)t->tid,
			                    (int)p->pid, PT_STOP_TIMEOUT_MS);
		case PT_EV_EXIT:
			return 0;
		case PT_EV_SIGNAL:
			/* Delivered now; the interrupt stays pending and
			 * traps right after. */
			on_signal(p, t, sig);
			continue;
		default:
			/* Event stops (the interrupt, a clone, a group-stop) are stops. */
			return 0;
		}
	}
}

int pt_stop_thread(struct pt_proc *p, struct pt_thread *t)
{
	if (!t->live || t->stopped)
		return 0;
	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) && errno != ESRCH)
		return pv_error_set(p->err, PV_EIO, "cannot interrupt thread %d of process %d: %s",
		                    (int)t->tid, (int)p->pid, strerror(errno));
	return await_stop(p, t);
}

/* Threads in /proc/PID/task that are not known yet (none, with TRACECLONE,
 * unless a thread was born before the seize): seize and stop them. */
static int rescan(struct pt_proc *p, bool *found)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->pid);
	*found = false;
	DIR *d = opendir(path);
	if (!d)
		return 0; /* the process is gone; its exit is reported by wait */
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || pt_thread_by_tid(p, tid))
			continue;
		struct pt_thread *t = add_thread(p, tid);
		if (!t) {
			rc = pv_error_set(p->err, PV_ERANGE, "process %d has more than %d threads",
			                  (int)p->pid, PT_MAX_THREADS);
			break;
		}
		*found = true;
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)SEIZE_OPTIONS) && errno != EPERM) {
			/* EPERM: traced already (auto-attached, its clone event
			 * not read yet), which is what we want. */
			t->live = false;
			continue;
		}
	}
	closedir(d);
	return rc;
}

int pt_stop_all(struct pt_proc *p, const size_t *order)
{
	p->world_stopped = true;
	for (int round = 0; round < 100; round++) {
		size_t n = p->nthreads;
		/* Interrupt first, then wait: the threads stop together. */
		for (size_t k = 0; k < n; k++) {
			struct pt_thread *t = &p->threads[order && round == 0 ? order[k] : k];
			if (t->live && !t->stopped &&
			    ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) && errno != ESRCH)
				return pv_error_set(p->err, PV_EIO, "cannot interrupt thread %d of "
				                                    "process %d: %s", (int)t->tid,
				                    (int)p->pid, strerror(errno));
		}
		for (size_t k = 0; k < n; k++) {
			struct pt_thread *t = &p->threads[order && round == 0 ? order[k] : k];
			if (!t->live || t->stopped)
				continue;
			int rc = await_stop(p, t);
			if (rc)
				return rc;
		}
		for (size_t k = 0; k < p->nthreads; k++) {
			struct pt_thread *t = &p->threads[k];
			if (t->live && t->stopped)
				t->engine_stopped = true;
		}
		bool found = false;
		int rc = rescan(p, &found);
		if (rc)
			return rc;
		/* Threads registered meanwhile (clone events) need their stop too. */
		bool all = true;
		for (size_t k = 0; k < p->nthreads; k++)
			all &= !p->threads[k].live || p->threads[k].stopped;
		if (all && !found)
			return 0;
	}
	return pv_error_set(p->err, PV_EBUSY, "the threads of process %d keep multiplying; "
	                                      "cannot stop them all", (int)p->pid);
}

int pt_resume_thread(struct pt_proc *p, struct pt_thread *t)
{
	if (!t->live || !t->stopped)
		return 0;
	int sig = t->held_sig;
	t->held_sig = 0;
	t->engine_stopped = false;
	t->hijacked = false;
	return cont(p, t, sig);
}

int pt_resume_all(struct pt_proc *p)
{
	p->world_stopped = false;
	int rc = 0;
	for (size_t i = 0; i < p->nthreads; i++) {
		int r = pt_resume_thread(p, &p->threads[i]);
		if (!rc)
			rc = r;
	}
	return rc;
}

int pt_wait_thread(struct pt_proc *p, struct pt_thread *t, int timeout_ms, int *sig,
                   int *event)
{
	double deadline = pt_now() + timeout_ms / 1000.0;
	enum pt_ev e = wait_thread(p, t, deadline, sig);
	*event = (int)e;
	if (e == PT_EV_NONE) {
		/* Took too long: stop it where it is, so it can be restored. */
		if (!ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL))
			await_stop(p, t);
		return PV_ETIMEDOUT;
	}
	if (e == PT_EV_EXIT)
		return PV_ESTATE;
	return 0;
}

int pt_run_to(struct pt_proc *p, uint64_t at, int timeout_ms)
{
	struct pt_thread *t = &p->threads[0];
	static const uint8_t trap = 0xcc;
	uint8_t orig;
	if (!t->live || !t->stopped || p->nthreads != 1)
		return pv_error_set(p->err, PV_ESTATE, "the process must be stopped with one thread "
		                                       "to run it to its entry point");
	if (pt_read(p, at, &orig, 1) || pt_write(p, at, &trap, 1))
		return pv_error_set(p->err, PV_EIO, "cannot set a breakpoint at the entry point "
		                                    "0x%llx of process %d", (unsigned long long)at,
		                    (int)p->pid);
	int rc = cont(p, t, 0);
	double deadline = pt_now() + timeout_ms / 1e3;
	while (!rc) {
		int sig = 0;
		enum pt_ev e = wait_thread(p, t, deadline, &sig);
		if (e == PT_EV_NONE) {
			rc = pv_error_set(p->err, PV_ETIMEDOUT, "process %d did not reach its entry point "
			                                        "within %d ms", (int)p->pid, timeout_ms);
			if (!ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL))
				await_stop(p, t);
			break;
		}
		if (e == PT_EV_EXIT) {
			rc = pv_error_set(p->err, PV_ESTATE, "process %d ended before its entry point "
			                                     "(its dynamic linker failed?)", (int)p->pid);
			break;
		}
		if (e == PT_EV_SIGNAL && sig == SIGTRAP && t->regs.rip == at + 1) {
			t->regs.rip = at;
			if (ptrace(PTRACE_SETREGS, t->tid, NULL, &t->regs))
				rc = pv_error_set(p->err, PV_EIO, "cannot set the registers of process "
				                                  "%d: %s", (int)p->pid, strerror(errno));
			break;
		}
		/* A library constructor's own signal goes on to it. */
		rc = cont(p, t, e == PT_EV_SIGNAL ? sig : 0);
	}
	if (t->live && pt_write(p, at, &orig, 1) && !rc)
		rc = pv_error_set(p->err, PV_EIO, "cannot remove the breakpoint at 0x%llx",
		                  (unsigned long long)at);
	return rc;
}

/* ------------------------------------------------------------ spawn */

int pt_exe_range(struct pt_proc *p)
{
	char path[64], exe[4096];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)p->pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return pv_error_set(p->err, PV_EIO, "cannot read %s: %s", path, strerror(errno));
	exe[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return pv_error_set(p->err, PV_EIO, "cannot read %s: %s", path, strerror(errno));
	char line[4608];
	p->exe_lo = UINT64_MAX;
	p->exe_hi = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		int off = 0;
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2 || !off)
			continue;
		char *name = line + off;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, exe))
			continue;
		if (lo < p->exe_lo)
			p->exe_lo = lo;
		if (hi > p->exe_hi)
			p->exe_hi = hi;
	}
	fclose(f);
	if (!p->exe_hi)
		return pv_error_set(p->err, PV_EIO, "%s: the executable %s is not among the "
		                                    "process's mappings", path, exe);
	return 0;
}

/* The child between fork and exec: only async-signal-safe calls. in and
 * out are its stdin and stdout (-1: /dev/null), cwd where it runs (NULL:
 * here). */
static void child(char *const argv[], const struct pt_spawn_opts *o, int in, int out,
                  int gate, int errfd, pid_t parent)
{
	setpgid(0, 0);
	/* If patchvet dies before its seize, so does the target. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	/* Same addresses in every run: the engine plans once per job. */
	personality(ADDR_NO_RANDOMIZE);
	int null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(in >= 0 ? in : null, 0) < 0 || dup2(out >= 0 ? out : null, 1) < 0 ||
	    dup2(errfd, 2) < 0)
		_exit(127);
	if (o->cwd && chdir(o->cwd))
		_exit(127);
	char c;
	/* Wait until the parent has seized us (EOF: it gave up). */
	if (read(gate, &c, 1) != 1)
		_exit(127);
	close_range(3, ~0u, 0);
	if (o->envp)
		execve(argv[0], argv, o->envp);
	else
		execv(argv[0], argv);
	_exit(127);
}

int pt_spawn(char *const argv[], struct pt_proc *p, struct pv_error *err)
{
	return pt_spawn_env(argv, NULL, p, err);
}

int pt_spawn_env(char *const argv[], char *const envp[], struct pt_proc *p,
                 struct pv_error *err)
{
	struct pt_spawn_opts o = {.envp = envp};
	return pt_spawn_with(argv, &o, p, err);
}

/* The files of o opened here, so their errors are sentences. */
static int open_std(const struct pt_spawn_opts *o, int *in, int *out, struct pv_error *err)
{
	struct stat st;
	*in = *out = -1;
	if (o->cwd && (stat(o->cwd, &st) || !S_ISDIR(st.st_mode)))
		return pv_error_set(err, PV_ENOENT, "%s: not a directory to run the program in",
		                    o->cwd);
	if (o->stdin_path && (*in = open(o->stdin_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO,
		                    "%s: cannot open it as the program's stdin: %s", o->stdin_path,
		                    strerror(errno));
	if (*in >= 0 && (fstat(*in, &st) || !S_ISREG(st.st_mode))) {
		close(*in);
		*in = -1;
		return pv_error_set(err, PV_EINVAL, "%s: the program's stdin must be a regular file",
		                    o->stdin_path);
	}
	if (*in >= 0)
		fcntl(*in, F_SETFL, 0);
	if (o->stdout_path &&
	    (*out = open(o->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	                 0644)) < 0) {
		int e = errno;
		if (*in >= 0)
			close(*in);
		*in = -1;
		return pv_error_set(err, PV_EIO, "%s: cannot create it for the program's stdout: %s",
		                    o->stdout_path, strerror(e));
	}
	return 0;
}

int pt_spawn_with(char *const argv[], const struct pt_spawn_opts *o, struct pt_proc *p,
                  struct pv_error *err)
{
	p->pid = -1;
	p->mem_fd = -1;
	p->out_fd = -1;
	p->err = err;
	if (access(argv[0], X_OK))
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s: cannot execute "
		                    "it: %s", argv[0], strerror(errno));
	int in, outf;
	int orc = open_std(o, &in, &outf, err);
	if (orc)
		return orc;
	int gate[2], out[2];
	if (pipe2(gate, O_CLOEXEC)) {
		if (in >= 0)
			close(in);
		if (outf >= 0)
			close(outf);
		return pv_error_set(err, PV_EIO, "cannot make a pipe: %s", strerror(errno));
	}
	if (pipe2(out, O_CLOEXEC)) {
		close(gate[0]);
		close(gate[1]);
		if (in >= 0)
			close(in);
		if (outf >= 0)
			close(outf);
		return pv_error_set(err, PV_EIO, "cannot make a pipe: %s", strerror(errno));
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child(argv, o, in, outf, gate[0], out[1], parent);
	close(gate[0]);
	close(out[1]);
	if (in >= 0)
		close(in);
	if (outf >= 0)
		close(outf);
	if (pid < 0) {
		close(gate[1]);
		close(out[0]);
		return pv_error_set(err, PV_EIO, "cannot fork: %s", strerror(errno));
	}
	/* Both sides set the group, so neither can run ahead of it. */
	setpgid(pid, pid);
	p->pid = pid;
	p->out_fd = out[0];
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	struct pt_thread *t = add_thread(p, pid);
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)SEIZE_OPTIONS)) {
		int e = errno;
		close(gate[1]);
		pt_release(p);
		return pv_error_set(err, PV_EIO, "cannot seize process %d: %s (is ptrace "
		                                 "allowed here? see kernel.yama.ptrace_scope)",
		                    (int)pid, strerror(e));
	}
	ssize_t w = write(gate[1], "g", 1);
	close(gate[1]);
	int sig;
	enum pt_ev e = w == 1 ? wait_thread(p, t, pt_now() + PT_START_TIMEOUT_MS / 1000.0, &sig)
	                   : PT_EV_NONE;
	if (e != PT_EV_EXEC) {
		pt_release(p);
		return pv_error_set(err, PV_EIO, "%s: cannot execute it (%s)", argv[0],
		                    e == PT_EV_EXIT ? "the child exited before exec" : "no exec event");
	}
	/* The exec event comes before execve returns, which would clobber the
	 * rax of any injection: stop again on the way out, before the first
	 * instruction of the new program. */
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) || cont(p, t, 0) || await_stop(p, t) ||
	    !t->live) {
		pt_release(p);
		return pv_error_set(err, PV_EIO, "%s: cannot stop it after its exec", argv[0]);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	p->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (p->mem_fd < 0) {
		int e2 = errno;
		pt_release(p);
		return pv_error_set(err, PV_EIO, "cannot open %s: %s", path, strerror(e2));
	}
	int rc = pt_exe_range(p);
	if (rc)
		pt_release(p);
	return rc;
}

void pt_release(struct pt_proc *p)
{
	if (p->attached) {
		pt_pid_release(p); /* never killed: given back */
		return;
	}
	if (p->pid > 0 && !p->exited) {
		/* The leader is not reaped, so the group id is still ours. */
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
		int st;
		pid_t r;
		while ((r = waitpid(-p->pid, &st, __WALL)) > 0 || (r < 0 && errno == EINTR))
			if (r == p->pid) {
				p->exited = true;
				p->status = st;
			}
		/* Threads that left the group's view (none expected). */
		for (size_t i = 0; i < p->nthreads; i++)
			while (waitpid(p->threads[i].tid, &st, __WALL | WNOHANG) > 0)
				;
	}
	for (size_t i = 0; i < p->nthreads; i++) {
		p->threads[i].live = false;
		free(p->threads[i].snap);
		p->threads[i].snap = NULL;
	}
	pt_drain_output(p);
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->mem_fd = p->out_fd = -1;
	p->pid = -1;
}
