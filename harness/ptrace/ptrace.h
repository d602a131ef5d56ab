/* The ptrace backend's own state, shared by the files of harness/ptrace/ and
 * by no one else. The verbs follow one lifecycle, as CRIU's compel does:
 *
 *   pt_spawn      fork, own process group, PDEATHSIG, no ASLR, seize, exec
 *   pt_pump       let the threads run: clone events, signals, exits
 *   pt_stop_all   PTRACE_INTERRUPT every thread, wait until all are stopped
 *   pt_syscall    run one system call on a stopped thread (injected)
 *   pt_call       run a function on a stopped thread (hijack), restore it
 *   pt_resume_all PTRACE_CONT every thread the stop stopped
 *   pt_release    SIGKILL the whole process group and reap it, on every path
 *
 * One concept per file:
 *   proc.c     spawn, seize, events, stop/resume, release
 *   inject.c   register sets, injected system calls, hijacked calls
 *   unwind.c   backtraces (libdw, a frame-pointer walk as a fallback)
 *   space.c    the engine's view (include/patchvet/space.h) and its timing
 *              faults (delays, stop order, signals)
 *   steer.c    a thread steered onto an instruction boundary of a hot
 *              window before the engine writes there
 *   observe.c  the violation recorder, the world at every write that changes
 *              a replaced function (consistency for global engines,
 *              harness/checks/consistency_global.h) and torn-exec (where a
 *              thread resumes)
 *   probe.c    state probes (registers, OS state, memory digests) and their
 *              comparison (checks state-regs, state-os, state-mem,
 *              syscall-disrupted)
 *   backend.c  the backend table: open (calibration, load addresses, the
 *              patch description), one run from spawn to verdicts (crash,
 *              liveness, target-verify), and the run script's primitives
 *              (harness/script/script.h)
 *
 * Whatever happens to patchvet, no target survives it: PR_SET_PDEATHSIG
 * covers the moments before the seize, PTRACE_O_EXITKILL every moment after
 * (the kernel kills every tracee when the tracer exits, by any signal,
 * SIGKILL included), and pt_release kills the group on every path of a run. */
#ifndef PV_HARNESS_PTRACE_PTRACE_H
#define PV_HARNESS_PTRACE_PTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>
#include <patchvet/space.h>

#include "../model/backend.h"
#include "../load/image.h"
#include "../load/objects.h"
#include "../checks/consistency_global.h"
#include "../checks/registry.h"
#include "../checks/rollback_bytes.h"
#include "../load/patchfile.h"
#include "../util/must_check.h"

#define PT_PAGE 0x1000ull
#define PT_MAX_THREADS (PV_MAX_WORKERS + 8)
#define PT_OUTPUT_MAX 1024
#define PT_MAPS_MAX 64          /* engine mappings per run */
#define PT_WRITES_MAX 64        /* engine code writes remembered per run */
#define PT_TRAPS_MAX 64
#define PT_XSTATE_MAX 16384     /* NT_X86_XSTATE buffer; the kernel says how much it used */

/* Bounds, in milliseconds. */
#define PT_STOP_TIMEOUT_MS 2000  /* one thread to reach a ptrace-stop */
#define PT_CALL_TIMEOUT_MS 2000  /* a hijacked call or an injected syscall */
#define PT_START_TIMEOUT_MS 5000 /* every worker started */
#define PT_FINISH_TIMEOUT_MS 20000 /* the target's exit after revert */
#define PT_ENGINE_TIMEOUT_MS 15000 /* apply or revert, advance included */

/* Native runs repeat the scenario's work this many times, so the workers are
 * still running while the engine applies and reverts (a real process does in
 * microseconds what the emulator takes a whole schedule to do); and more,
 * up to PT_SCALE_MAX times that, until one traced run without an engine
 * lasts PT_MIN_RUN_MS (measured at open). */
#define PT_ITERATION_SCALE 1000
#define PT_SCALE_MAX 1000
#define PT_MIN_RUN_MS 50

/* The harness page: one r-x page mapped into every target at exec, holding
 * the gadgets injected code runs or returns through. Each ends with a system
 * call, where PTRACE_SYSCALL stops the thread (inject.c says why not int3).
 * Offsets: */
#define PT_GADGET_SYSCALL 0x00   /* syscall */
#define PT_GADGET_RETURN 0x10    /* return address of hijacked calls:
                                    mov %rax,%rdi; mov $SYS_getpid,%eax; syscall */
#define PT_GADGET_RETURN_END 0x1a
#define PT_GADGET_STORE1 0x20    /* mov %sil,(%rdi); syscall */
#define PT_GADGET_STORE2 0x28    /* mov %si,(%rdi); syscall */
#define PT_GADGET_STORE4 0x30    /* mov %esi,(%rdi); syscall */
#define PT_GADGET_STORE8 0x38    /* mov %rsi,(%rdi); syscall */

/* The full register state of one thread, as PTRACE_GETREGSET gives it. */
struct pt_regset {
	struct user_regs_struct gpr;       /* NT_PRSTATUS, fs_base included */
	struct user_fpregs_struct fpr;     /* NT_PRFPREG: x87, MXCSR, xmm0-15 */
	uint8_t xstate[PT_XSTATE_MAX];     /* NT_X86_XSTATE (AVX and beyond) */
	size_t xstate_len;                 /* 0 when the kernel has none */
};

/* Signal state of one thread from /proc/PID/task/TID/status. */
struct pt_sigstate {
	uint64_t blk, cgt, ign, pnd, shdpnd;
};

struct pt_thread {
	pid_t tid;
	unsigned id;            /* order of appearance: the leader is 0 */
	bool live;              /* not exited */
	bool traced;            /* its initial stop was seen (new threads) */
	bool stopped;           /* in a ptrace-stop that we hold */
	bool engine_stopped;    /* stopped by stop_all */
	bool hijacked;          /* ran a call in the current pause */
	int held_sig;           /* signal taken during a hijack, delivered at resume */
	bool swallow_trap;      /* its pending SIGTRAP is a trap_redirect already applied */
	uint64_t rseq_addr;     /* its rseq area, which the kernel writes whenever the
	                           thread returns to user space (injections do) */
	uint32_t rseq_len;
	bool rseq_known;
	struct user_regs_struct regs; /* valid while stopped */
	/* Probe taken when stop_all stopped it. */
	bool snap_valid;
	struct pt_regset *snap;       /* owned */
	struct pt_sigstate snap_sig;
};

/* A fatal signal seen by the tracer. */
struct pt_crash {
	bool seen;
	int sig;
	int thread;             /* pt_thread.id */
	uint64_t pc;
	uint64_t addr;          /* si_addr */
};

struct pt_trap {
	uint64_t addr, to;
};

/* A mapping the engine made (map_near) or the harness made (patch, page). */
struct pt_map {
	uint64_t addr, len;
	bool live;
};

/* A code range the engine wrote, with its bytes before the first write. */
struct pt_write {
	uint64_t addr;
	size_t len;
	uint8_t *orig;          /* owned */
};

/* Timing faults drawn from the decision stream. */
struct pt_stream {
	const uint8_t *bytes;
	size_t len, pos;
	uint64_t decisions;
};

/* A thread steered onto an instruction boundary inside a replaced
 * function's first bytes before apply (steer.c: pt_steer): a harness int3 at
 * addr until the chosen thread traps there, then the byte put back and the
 * thread held at addr until the engine's resume, its first write over the
 * instruction there, or the end of apply. */
struct pt_steer {
	bool active;            /* the int3 is in the code */
	uint64_t addr;          /* where */
	uint64_t insn_end;      /* the end of the original instruction at addr */
	uint8_t orig;           /* the byte the int3 replaced */
	unsigned want;          /* pt_thread.id of the chosen thread */
	struct pt_thread *parked; /* the chosen thread, held at addr, or NULL */
	bool held[PT_MAX_THREADS]; /* other threads that trapped meanwhile, held */
};

/* What one wait status of a thread meant. */
enum pt_ev {
	PT_EV_NONE,   /* nothing happened (yet) */
	PT_EV_EXIT,   /* the thread is gone */
	PT_EV_STOP,   /* PTRACE_EVENT_STOP: interrupt, group-stop, a new thread's first stop */
	PT_EV_CLONE,  /* it made a thread (registered) */
	PT_EV_EXEC,
	PT_EV_SIGNAL, /* signal-delivery-stop */
	PT_EV_SYSCALL, /* syscall-stop (injected code runs under PTRACE_SYSCALL) */
	PT_EV_OTHER,  /* another ptrace event stop */
};

struct pt_proc;
struct pt_space;

/* State probes: off (measurements only), lazy (the default: taken before
 * the first operation of a pause that could change what they cover), eager
 * (everything at the start of every pause; a check of the harness itself). */
enum pt_probes { PT_PROBES_OFF, PT_PROBES_LAZY, PT_PROBES_EAGER };

/* What the run records about the engine's effect; filled by space.c, judged
 * by backend.c. */
struct pt_run {
	struct pv_run_result *res;
	struct pt_stream stream;
	struct pt_map maps[PT_MAPS_MAX];   /* engine mappings */
	size_t nmaps;
	struct pt_write writes[PT_WRITES_MAX];
	size_t nwrites;
	struct pt_trap traps[PT_TRAPS_MAX];
	size_t ntraps;
	uint64_t retired[PT_TRAPS_MAX];    /* trap addresses whose redirect was removed */
	size_t nretired;
	uint64_t signals_sent;             /* mask of signals the harness sent */
	double pause_start;                /* when the current stop_all began */
	double longest_pause_ms;           /* longest stop_all..resume_all */
	double probe_ms;                   /* time spent in probes during pauses */
	bool in_engine;                    /* apply or revert is running */
	enum pt_probes probes;             /* how the state probes run */
	const struct pv_global_judge *global; /* `consistency` for a global engine, or NULL */
	const char *op;                    /* "apply" or "revert", for findings */
	double engine_deadline;            /* monotonic seconds */
	struct pt_memsum *pause_mem;       /* owned: state-mem digests at the pause */
	bool pause_called;                 /* a call ran target code in this pause */
	struct pt_osstate *pause_os;       /* owned: state-os at the pause */
	const struct pv_patch_desc *desc;  /* the patch, for steering and torn-exec */
	struct pt_steer steer;
	/* Injected faults and the health op (backend.c, space.c). */
	unsigned workers;                  /* worker threads: ids 1..workers */
	unsigned fault_crashed;            /* workers the harness made exit */
	bool fault_dead[PT_MAX_THREADS];   /* by index: exited because of a fault */
	bool fault_held[PT_MAX_THREADS];   /* by index: held stopped by a stall */
	uint64_t cpu_ns[PT_MAX_THREADS];   /* by index: CPU time last seen */
	/* A slowdown (backend.c): a detour at the entry of each of the faulted
	 * patch's functions into a harness stub that sleeps, then runs the
	 * moved instructions and jumps back. */
	uint64_t slow_page;                /* the stubs' page, 0 before the first */
	struct pt_detour {
		uint64_t at;                   /* the function's entry */
		uint8_t orig[16];              /* the bytes the jmp replaced */
		unsigned len;
	} slow[4];
	unsigned nslow;                    /* detours in place */
	struct pt_program *program;        /* a program scenario's (program.c), or NULL */
	bool gentle;                       /* a process patchvet did not start (pid.c):
	                                      no steering, no signals */
};

/* The process and everything known about it. */
struct pt_proc {
	pid_t pid;              /* leader, also the process group */
	int mem_fd;             /* /proc/PID/mem, read-write */
	int out_fd;             /* read end of the target's stderr, non-blocking */
	char output[PT_OUTPUT_MAX];
	size_t noutput;
	struct pt_thread threads[PT_MAX_THREADS];
	size_t nthreads;
	bool exited;            /* the leader was reaped */
	int status;             /* its wait status */
	struct pt_crash crash;
	uint64_t page;          /* the harness page */
	uint64_t exe_lo, exe_hi;/* the executable's mappings */
	uint64_t bias;          /* load bias of the executable */
	uint64_t patch_lo, patch_hi; /* the patch area */
	uint64_t text[8][2];    /* the executable's executable segments, [lo, hi) */
	size_t ntext;
	uint64_t park_addr;     /* pv_verify's entry, where main is parked, 0: none */
	uint8_t park_orig[2];   /* the bytes a `jmp .` replaced there */
	bool park_live;
	bool world_stopped;     /* between pt_stop_all and pt_resume_all */
	bool membarrier_ready;  /* registered for SYNC_CORE */
	struct pt_run *run;     /* NULL outside a run */
	struct pv_error *err;   /* where space operations leave messages */
	struct pt_regset scratch; /* for injections, so nothing big is on the stack */
	/* A process patchvet did not start (pid.c): pt_release gives it back. */
	bool attached;
	const struct pv_image *attached_image; /* its executable's file */
	const struct pv_objects *objects; /* its executable and libraries, when known */
	bool left_applied;      /* at its release, its code was not the file's */
	uint64_t sys_insn;      /* a `syscall` of its own code, for injections
	                           without the harness page (0: none found) */
};

/* ------------------------------------------------------------ backend.c */

/* What every native run of a scenario starts from (the exec adapter's
 * too): the target and the patch, opened, and the target's command line
 * "TARGET WORKERS ITERATIONS PARAM". */
struct pt_target {
	char *target_path;            /* owned */
	char *patch_path;             /* owned */
	struct pv_image *target;      /* owned */
	struct pv_patch *patch;       /* owned */
	uint64_t verify;              /* link-time pv_verify, 0 when none */
	unsigned workers;
	char args[3][32];             /* argv[1..3]; args[1] the iteration count */
	char *argv[5];
};

/* Fills t from cfg (cfg's target and patch given); on failure t holds what
 * was opened, for pt_target_close. */
PV_MUST_CHECK int pt_target_open(struct pt_target *t, const struct pv_backend_config *cfg,
                                 unsigned long iterations, struct pv_error *err);
void pt_target_close(struct pt_target *t);
/* Times one traced run of t's command line without an engine (environment
 * envp, NULL: patchvet's; env_from names its origin in the error, NULL:
 * none) and scales the iteration count (t->args[1], from iterations) up
 * until such a run lasts min_ms. */
PV_MUST_CHECK int pt_target_calibrate(struct pt_target *t, char *const envp[],
                                      const char *env_from, unsigned long iterations,
                                      double min_ms, struct pv_error *err);


/* The one control entry of an open backend, for measurements and
 * self-checks (as Unicorn's uc_ctl): what to set or read, then its
 * arguments. 0, or PV_EINVAL for an unknown request. */
enum pt_ctl {
	/* (enum pt_probes mode): how the state probes of later runs work
	 * (lazy by default). */
	PT_CTL_SET_PROBES,
	/* (double *pause_ms, double *probe_ms): the longest engine pause of the
	 * last run and the time the probes took inside pauses. */
	PT_CTL_LAST_PAUSE,
	/* (uint64_t *addr, int *thread): where the last run's steering parked a
	 * thread before apply (0 and -1: it parked none). */
	PT_CTL_LAST_STEER,
	/* (uint64_t *mask): the signals (bit sig - 1) the last run's fault
	 * points sent. */
	PT_CTL_LAST_SIGNALS,
	/* (unsigned long *iterations): the calibrated iteration count of a
	 * native run. */
	PT_CTL_ITERATIONS,
};
int pt_backend_ctl(void *handle, enum pt_ctl what, ...);
/* For `patchvet bench` (harness/ptrace/bench.c): a process spawned with
 * envp (NULL: patchvet's), `workers` (0: the scenario's) and `iterations`
 * (0: the calibrated count), and
 * prepared as a run prepares it (harness page, patch area written), main
 * not parked, stopped at its exec, with run attached (probes off) and sp
 * ready for the engine. The caller pt_releases p and pt_space_finis sp. */
int pt_backend_prepare(void *handle, unsigned workers, unsigned long iterations,
                       char *const envp[], struct pt_proc *p, struct pt_run *run,
                       struct pt_space *sp, struct pv_error *err);
/* Starting a target as every native run does (the exec adapter too):
 * where its executable loaded against its link-time addresses (0 unless
 * position-independent); main parked at `at` (a `jmp .` written there:
 * main spins at pv_verify until the engine is done, the original bytes in
 * p->park_orig); main resumed and the workers awaited (a `liveness`
 * violation when they do not; restart: after a restart step). */
uint64_t pt_load_bias(const struct pt_proc *p, const struct pv_image *target);
PV_MUST_CHECK int pt_park_main(struct pt_proc *p, uint64_t at);
void pt_start_workers(struct pt_proc *p, unsigned workers, bool restart);
/* The first executable byte of the target (loaded at bias) that differs
 * from its file, main's parking bytes read as the file's: true and *f. */
bool pt_code_diff(struct pt_proc *p, const struct pv_image *target, uint64_t bias,
                  struct pv_rollback_finding *f);
/* How the target ended, once released: `crash` (a thread's fatal signal,
 * at crash_where, or at its pc in hex when NULL; the process killed by a
 * signal, "during WHEN" when when is not NULL), else its exit status into
 * res->verify_status and `target-verify` when it is not 0. Nothing when it
 * did not exit or the harness killed it. */
void pt_judge_exit(struct pt_proc *p, struct pv_run_result *res, bool killed,
                   const char *crash_where, const char *when);

/* ------------------------------------------------------------ proc.c */

double pt_now(void);

/* Starts argv[0] stopped at its exec (see the lifecycle above); the caller
 * owns *p and must pt_release it. */
int pt_spawn(char *const argv[], struct pt_proc *p, struct pv_error *err);
/* pt_spawn with envp as the target's environment (NULL: patchvet's own). */
int pt_spawn_env(char *const argv[], char *const envp[], struct pt_proc *p,
                 struct pv_error *err);
/* How pt_spawn_with starts a program; every field may be NULL (patchvet's
 * environment, its directory, /dev/null for stdin and stdout). stdout_path
 * is created (truncated); stdin_path must be a regular file. stderr always
 * goes to p->output. */
struct pt_spawn_opts {
	char *const *envp;
	const char *cwd;
	const char *stdin_path;
	const char *stdout_path;
};
int pt_spawn_with(char *const argv[], const struct pt_spawn_opts *o, struct pt_proc *p,
                  struct pv_error *err);

/* Runs the only thread of a process stopped at its exec to address at
 * (the executable's entry point: the dynamic linker has loaded and
 * initialised every library by then) and stops it there, at most
 * timeout_ms. */
int pt_run_to(struct pt_proc *p, uint64_t at, int timeout_ms);

/* exe_lo and exe_hi from /proc/PID/maps. */
int pt_exe_range(struct pt_proc *p);

/* Kills the process group and reaps every thread. Safe to call twice and on
 * a process that never started. */
void pt_release(struct pt_proc *p);

/* Lets the running threads run until deadline (monotonic seconds), serving
 * their events. Returns early (0) when the process exits. */
int pt_pump(struct pt_proc *p, double deadline);

/* Serves events until pred(p, arg) holds, the process exits or deadline. */
int pt_pump_until(struct pt_proc *p, double deadline, bool (*pred)(struct pt_proc *, void *),
                  void *arg);

/* Stops one thread (PTRACE_INTERRUPT) and waits for its stop. */
int pt_stop_thread(struct pt_proc *p, struct pt_thread *t);

/* Stops every live thread, in the order given (indices, may be NULL), then
 * re-scans /proc/PID/task until no new thread appears. */
int pt_stop_all(struct pt_proc *p, const size_t *order);

/* Resumes a stopped thread (delivering its held signal, if any). */
int pt_resume_thread(struct pt_proc *p, struct pt_thread *t);

/* Resumes every stopped thread. */
int pt_resume_all(struct pt_proc *p);

/* Waits for the next stop of a running thread t (injections and calls):
 * returns 0 with *sig the stop's signal and *event its enum pt_ev,
 * PV_ESTATE when the thread died, PV_ETIMEDOUT (the thread interrupted and
 * stopped) after timeout_ms. Signals are not delivered here. */
int pt_wait_thread(struct pt_proc *p, struct pt_thread *t, int timeout_ms, int *sig,
                   int *event);

struct pt_thread *pt_thread_by_id(struct pt_proc *p, unsigned id);
struct pt_thread *pt_thread_by_tid(struct pt_proc *p, pid_t tid);
size_t pt_live_threads(const struct pt_proc *p);

/* Reads what the target wrote to stderr so far. */
void pt_drain_output(struct pt_proc *p);

/* Memory through /proc/PID/mem. */
int pt_read(struct pt_proc *p, uint64_t addr, void *buf, size_t len);
int pt_write(struct pt_proc *p, uint64_t addr, const void *buf, size_t len);

/* ------------------------------------------------------------ program.c */

/* A real program as the target (harness/model/program.h); program.c says
 * what a run does with it. open: cfg's program, target and work_dir;
 * spawn: a fresh {workdir} and {port}, the command started (stopped at its
 * exec, as pt_spawn); start: resumed, ready awaited (a liveness violation
 * when not within the timeout), the load driver started; window: the
 * stream-chosen delay in [0, window); stop: the end awaited or the stop
 * signal sent (true when the program had to be killed: liveness recorded);
 * judge (after pt_release): crash and the oracle; end: the load driver
 * killed, the {workdir} removed (every path; close ends too). dry_run: one
 * run of a spawned p without an engine, released and ended; 0, or
 * PV_EINVAL and one sentence saying what failed. */
struct pt_program;
PV_MUST_CHECK int pt_program_open(const struct pv_backend_config *cfg,
                                  struct pt_program **out, struct pv_error *err);
void pt_program_close(struct pt_program *pr);
PV_MUST_CHECK int pt_program_spawn(struct pt_program *pr, struct pt_proc *p,
                                   struct pv_error *err);
void pt_program_start(struct pt_program *pr, struct pt_proc *p);
bool pt_program_ready(const struct pt_program *pr);
void pt_program_window(struct pt_program *pr, struct pt_proc *p);
bool pt_program_stop(struct pt_program *pr, struct pt_proc *p);
void pt_program_judge(struct pt_program *pr, struct pt_proc *p, struct pv_run_result *res,
                      bool killed, const char *crash_where);
void pt_program_end(struct pt_program *pr);
PV_MUST_CHECK int pt_program_dry_run(struct pt_program *pr, struct pt_proc *p,
                                     struct pv_error *err);

/* ------------------------------------------------------------ pid.c */

/* `run --pid`: pt_pid_attach seizes running process pid (which must run
 * t's target) as pt_attach does and marks p attached, so that pt_release
 * gives it back (pt_pid_release: patchvet's mappings removed when the code
 * is the file's again, else left_applied; every thread detached) instead
 * of killing it. */
PV_MUST_CHECK int pt_pid_attach(pid_t pid, const struct pt_target *t, struct pt_proc *p,
                                struct pv_error *err);
void pt_pid_release(struct pt_proc *p);
/* The start of a run in it: every thread runs on for PT_PID_SETTLE_MS
 * before anything else is done to it (most of a run's time is then spent
 * where a patchvet killed by SIGKILL leaves nothing behind). */
#define PT_PID_SETTLE_MS 200
void pt_pid_start(struct pt_proc *p);

/* ------------------------------------------------------------ attach.c */

/* Processes patchvet did not start, and giving a process back for a while
 * (the exec adapter lets an external patcher trace it between its probes).
 *
 * pt_attach: seizes every thread of running process pid (not a child:
 * no EXITKILL, so the process outlives its tracer) and stops them all;
 * pt_detach undoes it (every thread resumes untraced; pt_release must
 * not be called after it, pt_detach again is harmless).
 * pt_detach_all: detaches every thread of a stopped world (held signals
 * delivered), the process runs untraced; pt_reattach seizes it again
 * and stops every thread. While detached, the leader's exit is found by
 * pt_reap_detached (true when the whole process is gone). */
int pt_attach(pid_t pid, struct pt_proc *p, struct pv_error *err);
void pt_detach(struct pt_proc *p);
int pt_detach_all(struct pt_proc *p);
int pt_reattach(struct pt_proc *p);
bool pt_reap_detached(struct pt_proc *p);

/* ------------------------------------------------------------ objects.c */

/* The executable (exe, loaded at bias, borrowed) then every shared object
 * the dynamic linker's list names, in its order, appended to out. A static
 * executable, or one stopped before its dynamic linker ran, gives only
 * itself. */
int pt_objects_read(struct pt_proc *p, const struct pv_image *exe, uint64_t bias,
                    struct pv_objects *out, struct pv_error *err);
/* Whether the process loaded the same objects at the same addresses as o
 * says (the executable first, as pt_objects_read gives it). */
bool pt_objects_same(struct pt_proc *p, const struct pv_objects *o);
/* A pv_resolver's ifunc (ctx: the struct pt_proc, stopped, thread 0 free
 * to call on, the harness page mapped): the resolver run in the process. */
int pt_ifunc(void *ctx, uint64_t resolver, uint64_t *out, struct pv_error *err);

/* ------------------------------------------------------------ inject.c */

int pt_regs_get(struct pt_proc *p, struct pt_thread *t, struct pt_regset *r);
int pt_regs_set(struct pt_proc *p, struct pt_thread *t, const struct pt_regset *r,
                bool ext);

/* Runs system call nr with args on stopped thread t through the harness
 * page (or, before the page exists, through bytes written at the thread's
 * pc, which is safe only while t is the only thread); *ret receives rax.
 * Every register of t is restored, restart state included. */
int pt_syscall(struct pt_proc *p, struct pt_thread *t, long nr, const uint64_t *args,
               unsigned nargs, int64_t *ret);

/* Call flags (space.h's PV_CALL_* bits). */
int pt_call(struct pt_proc *p, struct pt_thread *t, uint64_t fn, const uint64_t *args,
            unsigned nargs, unsigned flags, uint64_t *ret);

/* One indivisible store of size 1, 2, 4 or 8 bytes, executed by stopped
 * thread t itself (a single mov), at a writable addr. */
int pt_store(struct pt_proc *p, struct pt_thread *t, uint64_t addr, uint64_t value,
             unsigned size);

/* Makes stopped thread t exit (SYS_exit through the harness page): the
 * thread alone ends, where it stood, as a worker that died; the process
 * lives on. Waits until its exit is seen. */
int pt_thread_exit(struct pt_proc *p, struct pt_thread *t);

/* Maps the harness page (gadgets) into the process; t must be its only
 * thread, stopped. */
int pt_map_page(struct pt_proc *p, struct pt_thread *t);

/* A stopped live thread for an injection: a stopped one (preferring one not
 * inside a syscall), or the leader, stopped now (*temp set: resume it after). */
int pt_worker_thread(struct pt_proc *p, struct pt_thread **out, bool *temp);

/* ------------------------------------------------------------ unwind.c */

struct pt_unwind;
/* Modules from /proc/PID/maps, plus the patch (not file-backed in the
 * process) at patch_bias when patch_path is given. */
int pt_unwind_open(struct pt_proc *p, const char *patch_path, uint64_t patch_bias,
                   struct pt_unwind **out);
void pt_unwind_close(struct pt_unwind *u);
/* Return addresses of stopped thread t, innermost first (pcs[0] = its pc).
 * PV_EBUSY when the walk is not reliable. u may be NULL (frame pointers). */
int pt_backtrace(struct pt_proc *p, struct pt_unwind *u, struct pt_thread *t, uint64_t *pcs,
                 size_t max, size_t *count);

/* ------------------------------------------------------------ probe.c */

/* Mappings, fds and process-wide signal dispositions. */
struct pt_osstate;
int pt_os_probe(struct pt_proc *p, struct pt_osstate **out);
void pt_os_free(struct pt_osstate *s);
/* 1 and a sentence in why when they differ (ignoring the ranges of
 * the harness page, the patch area and every engine mapping), else 0. */
int pt_os_compare(const struct pt_proc *p, const struct pt_osstate *a,
                  const struct pt_osstate *b, char *why, size_t len);

int pt_sig_probe(struct pt_proc *p, struct pt_thread *t, struct pt_sigstate *s);

/* Digests of the target's writable memory, one per mapping: every writable
 * mapping but the harness's and the engine's own, and of each thread's
 * stack only the live part (from rsp - 128, the red zone, up), rseq areas
 * left out. Threads must be stopped. *out is the caller's (free()). */
struct pt_memarea {
	uint64_t lo, hi, digest;
	bool stack;             /* the live part of a stopped thread's stack */
	char name[48];
};
struct pt_memsum {
	size_t n;
	struct pt_memarea areas[];
};
int pt_mem_digest(struct pt_proc *p, struct pt_memsum **out);
/* 1 and the first mapping that differs, in why, else 0; with stacks_only,
 * only the live parts of stacks are compared. */
int pt_mem_compare(const struct pt_memsum *a, const struct pt_memsum *b, bool stacks_only,
                   char *why, size_t len);

/* Judges one thread across an engine action: syscall-disrupted when before
 * was inside an interruptible system call that now will not restart, then
 * state-regs. `when` ends the sentences ("across a pause of the engine"). */
void pt_judge_thread(struct pt_proc *p, struct pt_thread *t, const struct pt_regset *before,
                     const struct pt_regset *now, const char *when);

/* 1 and a sentence when a and b differ (see probe.c for what is compared). */
int pt_regs_compare(const struct pt_regset *a, const struct pt_regset *b, char *why,
                    size_t len);

/* A thread stopped inside an interruptible system call (rax holds one of the
 * kernel's -ERESTART* codes): the syscall number, else -1. */
long pt_restartable_syscall(const struct user_regs_struct *r);

/* ------------------------------------------------------------ space.c */

struct pt_space {
	struct pv_space space;  /* first: engines get &space */
	struct pt_proc *proc;
	struct pt_unwind *unwind; /* owned, made at the first backtrace */
	enum pv_mem_model mem_model;
	const struct pv_image *target; /* for symbol */
	const struct pv_objects *objects; /* for symbol, when known: the libraries too */
	const char *patch_path;        /* for the unwinder */
	uint64_t patch_bias;
};

extern const struct pv_space_ops pt_space_ops;

void pt_space_init(struct pt_space *s, struct pt_proc *p, enum pv_mem_model m);

/* A free page-aligned range of len bytes within 2 GiB of near, with a free
 * page on each side, away from the room brk's heap grows into. */
int pt_find_gap(struct pt_proc *p, uint64_t near, uint64_t len, uint64_t *out);

/* mmap(addr, len, prot, MAP_FIXED_NOREPLACE) by an injected system call. */
int pt_map_fixed(struct pt_proc *p, uint64_t addr, uint64_t len, int prot);
void pt_space_fini(struct pt_space *s);

/* Records a violation (the first of each check is kept). */
void pt_violation(struct pt_proc *p, enum pv_check_id check, int thread, uint64_t addr,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool pt_has_violation(const struct pt_proc *p, enum pv_check_id check);

/* The next byte of the decision stream, or dflt when it is used up. */
unsigned pt_decide(struct pt_proc *p, unsigned dflt);

/* A pause begins (every thread stopped): forget the last one's probes, and
 * in eager mode take them all now. pt_touch_thread (registers and signal
 * state of t) and pt_touch_process (OS state and memory) take them lazily,
 * before an operation that could change them; pt_pause_check compares
 * whatever was taken, just before the resume. */
int pt_pause_probe(struct pt_proc *p);
int pt_touch_thread(struct pt_proc *p, struct pt_thread *t);
int pt_touch_process(struct pt_proc *p);
void pt_pause_check(struct pt_proc *p);

/* Timing fault before apply: from the stream, maybe steer a thread onto an
 * instruction boundary inside a replaced function's first bytes (see struct
 * pt_steer); the harness's int3 is gone when this returns. */
void pt_steer(struct pt_proc *p);
/* A SIGTRAP of t at the harness's int3 while steering: true when handled
 * (t is then held, stopped). Called by proc.c before anything else. */
bool pt_steer_trap(struct pt_proc *p, struct pt_thread *t);
/* Judges torn-exec for a parked thread and lets it go (end of apply). */
void pt_steer_release(struct pt_proc *p);
/* Lets the parked thread go, judging torn-exec where it resumes ("when"
 * words the moment). */
void pt_unpark(struct pt_proc *p, const char *when);

/* observe.c: the world as a code write of a replaced function sees it
 * (`consistency`, global engines), and the bytes a thread resumes on
 * (`torn-exec`). */
void pt_judge_global(struct pt_space *s, uint64_t addr, const uint8_t *bytes, size_t n);
void pt_judge_torn(struct pt_proc *p, const struct pt_thread *t, const char *when);
/* How far pv_prologue.boundaries reach: the bytes steering and torn-exec
 * look at. */
#define PROLOGUE_BYTES 32
/* The end of the original instruction of f at addr. */
uint64_t pt_insn_end(const struct pv_patch_func *f, uint64_t addr);

/* The ptrace backend's table: the native target as a real process
 * (harness/ptrace/backend.c). */
extern const struct pv_backend_ops pv_backend_ptrace_ops;

#endif
