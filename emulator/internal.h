/* The emu backend's own state, shared by the files of emulator/ and by no
 * one else. One concept per file:
 *   emu.c      open, close, one run from start to verdicts
 *   loader.c   memory layout: target, patch, runtime regions; the patch desc
 *   memory.c   host-backed regions: lookup, engine writes, dirty ranges, reset
 *   threads.c  thread contexts and running one slice of one thread
 *   sched.c    the decision stream and the scheduler built on it
 *   hooks.c    what Unicorn calls back: instructions, runtime calls, traps
 *   frames.c   stack frames: the backtrace and its reliability rule
 *   space.c    the engine's view (include/patchvet/space.h)
 *   report.c   violations, symbolised addresses, the trace and the story
 *   coverage.c hot-window coverage: where threads were when code changed */
#ifndef PV_EMULATOR_INTERNAL_H
#define PV_EMULATOR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

#include <patchvet/space.h>

#include "../harness/load/analysis.h"
#include "../harness/model/campaign.h"
#include "../harness/load/patchdesc.h"
#include "emu.h"
#include "../harness/load/image.h"
#include "../harness/checks/torn_exec.h"
#include "../harness/checks/consistency_global.h"
#include "../harness/checks/ineffective.h"
#include "../harness/checks/use_after_revert.h"
#include "../harness/checks/rollback_leak.h"
#include "../harness/checks/crash.h"
#include "../harness/checks/liveness.h"
#include "../harness/checks/target_verify.h"
#include "../harness/checks/consistency_version.h"
#include "../harness/checks/xmc_unsynced.h"
#include "../harness/checks/registry.h"
#include "../harness/load/patchfile.h"

/* ------------------------------------------------------------ layout */

#define EMU_PAGE 0x1000ull
/* Runtime regions live far above any corpus target (which links at 4 MiB). */
#define EMU_RT_BASE 0x7e0000000000ull
#define EMU_SENTINEL EMU_RT_BASE               /* one page of hlt: every return address */
#define EMU_WORKLOAD (EMU_RT_BASE + 0x10000)   /* struct pv_workload, read only */
#define EMU_SLOTS (EMU_RT_BASE + 0x20000)      /* thread_slot page, per-thread contents */
#define EMU_HEAP (EMU_RT_BASE + 0x100000)      /* pv_alloc's bump heap */
#define EMU_HEAP_SIZE 0x100000ull
#define EMU_STACKS (EMU_RT_BASE + 0x1000000)   /* one stack per stride, gaps unmapped */
#define EMU_STACK_STRIDE 0x100000ull
#define EMU_STACK_SIZE 0x10000ull
/* Mapped from the start; the rest of a stack is mapped on its first touch,
 * so resets clear only what some run may have used. */
#define EMU_STACK_EAGER 0x2000ull
#define EMU_RT_END (EMU_STACKS + (PV_MAX_WORKERS + 1) * EMU_STACK_STRIDE)
/* Engine mappings (map_near): reserved after the patch, PROT_NONE until used. */
#define EMU_NEAR_SIZE 0x100000ull
/* `until` for uc_emu_start: never executed, so never flushes anything. */
#define EMU_UNTIL 0xfffffffffffff000ull

/* Scheduler constants (documented with the stream in emu.h). */
#define EMU_QUANTUM_DEFAULT 500u
#define EMU_PHASE_DEFAULT 2u
#define EMU_OP_BOUND 100000u       /* space operations per apply or revert */
#define EMU_CALL_BUDGET 1000000u   /* instructions of one hijacked call */
#define EMU_VERIFY_BUDGET 10000000u
#define EMU_BUDGET_DEFAULT 20000000u
#define EMU_DIRTY_MAX 256
#define EMU_MAPS_MAX 64
#define EMU_PROTS_MAX 64
#define EMU_TRAPS_MAX 64
#define EMU_OUTPUT_MAX 1024
#define EMU_SLOT_COUNT 8
#define EMU_STALE_MAX 8

/* ------------------------------------------------------------ memory */

enum emu_kind {
	EMU_R_TARGET,    /* target segments */
	EMU_R_PATCH,     /* the relocated patch image */
	EMU_R_NEAR,      /* engine mappings */
	EMU_R_SENTINEL,
	EMU_R_WORKLOAD,
	EMU_R_SLOTS,
	EMU_R_HEAP,
	EMU_R_STACK,
};

/* One Unicorn mapping backed by host memory (uc_mem_map_ptr), so reads and
 * writes of the harness are plain memcpy. */
struct emu_region {
	uint64_t addr, size;      /* page aligned */
	uint8_t *host;            /* borrowed from the block that owns it */
	const uint8_t *pristine;  /* what a reset restores; NULL: zeros */
	uint32_t prot;            /* UC_PROT_* as loaded */
	enum emu_kind kind;
};

/* A host allocation (mmap), owned by struct pv_emu. */
struct emu_block {
	uint8_t *mem;
	size_t size;
};

/* Code bytes changed since the last uc_emu_start, within one page: their
 * translations are dropped right before the next start (or before a
 * protection change), once per page instead of once per atomic unit. One
 * page each because Unicorn maps a range to host RAM through its first page
 * only. */
struct emu_stale {
	uint64_t lo, hi;
};

/* A range the engine wrote in this run (restored at reset when changed). */
struct emu_range {
	uint64_t addr, len;
};

/* ------------------------------------------------------------ threads */

/* Patches of a sequence beyond the first (each takes two memory blocks). */
#define EMU_EXTRA_MAX 3

struct emu_thread {
	uc_context *ctx;          /* registers while not running */
	uint64_t pc;              /* mirror of the saved RIP */
	uint64_t stack_lo, stack_hi;
	uint64_t stack_mapped;    /* lowest mapped stack address */
	uint8_t *stack_host;      /* host memory of [stack_lo, stack_hi) */
	bool stopped;             /* by the engine (stop_all) */
	bool blocked;             /* in PV_EMU_CALL_WAIT */
	bool done;                /* reached the sentinel, or crashed */
	bool crashed;
	bool in_call;             /* runs a hijacked call: the sentinel ends the call */
	uint64_t wait_word;       /* what a blocked thread waits on */
	uint64_t wait_seq;        /* order of blocking: wake is FIFO */
	uint64_t slots[EMU_SLOT_COUNT];
};

/* Why a slice ended. */
enum emu_stop {
	EMU_STOP_NONE = 0,
	EMU_STOP_QUANTUM,         /* ran its instructions */
	EMU_STOP_PREEMPT,         /* the stream preempted it inside a hot window */
	EMU_STOP_YIELD,           /* pv_yield */
	EMU_STOP_BLOCKED,         /* waits on a lock */
	EMU_STOP_DONE,            /* returned to the sentinel */
	EMU_STOP_CRASH,           /* faulted; detail in slice.why */
};

/* The slice being emulated: what the instruction hook needs, kept small. */
struct emu_slice {
	int tid;
	uint64_t quantum, executed;
	bool preemptible;         /* preemption decisions inside hot windows */
	enum emu_stop stop;
	uint64_t crash_pc;
	char why[160];
};

/* A code range where the scheduler decides at every instruction during an
 * engine operation; judge is the torn-exec window, -1 when not judged. */
struct emu_hot {
	uint64_t lo, hi;
	int judge;
	const uint8_t *host;      /* host memory of [lo, hi + 15), NULL when split */
};

/* Symbols of target and patch functions, sorted by address. */
struct emu_func {
	const char *name;         /* borrowed from the images */
	uint64_t addr, size;
	bool target;              /* in the target (else the patch) */
	uint16_t *frame;          /* frame state per byte, computed on demand (frames.c) */
};

/* ineffective: an instruction of old code no call may reach after apply.
 * Threads already at it when apply returned are inside their call: each
 * passes once (a bit per worker). */
struct emu_watch {
	uint64_t addr;
	uint64_t exempt;
	const char *version;      /* NULL: the original code; else the older
	                             patch (borrowed from the sequence) */
};

struct emu_trap {
	uint64_t addr, to;
};

struct emu_map {
	uint64_t addr, len;
};

/* The decision stream of one run. */
struct emu_stream {
	const uint8_t *bytes;
	size_t len, pos;
	/* Adaptive mode: ch answers, the bytes go to record. */
	const struct pv_chooser *ch;
	uint8_t *record;
	size_t cap, rec_len, rec_last; /* rec_last: end of the last explicit answer */
};

/* Everything about the current run; reset by pv_emu_run. */
struct emu_run {
	struct pv_run_result *res;
	struct emu_stream stream;
	const struct pv_engine *engine;
	void *below;              /* a sequence's apply_on_top: the patch below */
	void *const *replaced;    /* a sequence's apply_replace: the applied patches */
	size_t nreplaced;         /* how many, oldest first */
	uint64_t stalled;         /* workers an injected stall holds (bit per worker) */
	bool slowing;             /* an injected slowdown is on (emu.c) */
	uint64_t slow_paid;       /* workers whose held call may now go on */
	uint8_t slow_left[PV_MAX_WORKERS]; /* slices a slowed call still holds each */
	uint64_t budget;
	bool over_budget;         /* step budget exhausted: the run ends */
	bool in_op;               /* apply or revert is running */
	bool yielding;            /* the engine waits for the workers (advance, a
	                             hijacked call blocked on a lock) */
	const char *op;           /* "apply" / "revert", for messages */
	uint64_t op_ops;          /* space operations in this op */
	bool op_over;             /* op_ops passed EMU_OP_BOUND */
	unsigned last_tid;        /* round robin when the stream is exhausted */
	uint64_t wait_seq;
	uint64_t heap_used;
	struct emu_range dirty[EMU_DIRTY_MAX];
	size_t ndirty;
	bool dirty_overflow;      /* reset restores every code region instead */
	struct emu_map maps[EMU_MAPS_MAX];
	size_t nmaps;
	/* What the engine unmapped (use-after-revert); a range mapped again
	 * leaves the list. */
	struct pv_release_range released[EMU_MAPS_MAX];
	size_t nreleased;
	size_t nwatch;            /* ineffective: e->watch armed from apply's 0 to revert */
	uint64_t watch_lo, watch_hi; /* bounds of the watches outside hot windows */
	int vmode;                /* PV_CONSISTENCY_THREAD or _CALL when judged, else 0 */
	struct emu_range prots[EMU_PROTS_MAX];
	size_t nprots;
	bool prots_overflow;
	struct emu_trap traps[EMU_TRAPS_MAX];
	size_t ntraps;
	bool slots_used;          /* the slot page holds a thread's slots */
	int slots_owner;          /* whose slots are in the page, -1 none */
	uint64_t sync_cores;
	uint64_t code_writes;     /* atomic units that changed code */
	char output[EMU_OUTPUT_MAX]; /* what the target wrote with pv_write */
	size_t noutput;
};

/* ------------------------------------------------------------ the backend */

struct pv_emu {
	struct pv_space space;    /* first: engines get &emu->space */
	/* What the instruction hook reads, together. */
	struct emu_slice slice;
	uint64_t hot_lo, hot_hi;          /* bounding range of every hot window */
	struct emu_hot *hot;              /* owned, sorted, disjoint */
	size_t nhot;
	int loaded;                       /* thread whose registers the CPU holds, -1 */
	struct emu_stale stale[EMU_STALE_MAX]; /* survives resets: flushed at the next start */
	size_t nstale;
	bool exec_granted;                /* the engine once made a page executable */
	struct pv_emu_config cfg;
	char *target_path, *patch_path; /* owned copies of the config's strings */
	uc_engine *uc;
	uc_context *blank;        /* registers of a fresh thread */
	uc_context *saved;        /* scratch for hijacked calls */
	size_t ctx_size;
	uc_hook h_code, h_sys, h_intr, h_unmapped;
	uc_hook h_block;                  /* only with a block hook (fuzzing) */
	pv_emu_block_fn block_fn;
	void *block_ctx;
	struct pv_image *target;
	struct pv_patch *patch;

	struct emu_block blocks[16];
	size_t nblocks;
	struct emu_region regions[192];
	size_t nregions;
	uint64_t target_lo, target_hi;    /* target span, page aligned */
	uint64_t patch_base, patch_size;
	uint64_t near_base;
	uint64_t text_lo, text_hi;        /* executable target span, for the checks */
	uint64_t emu_call, emu_call_end;  /* the runtime's syscall stub */
	uint64_t worker_fn, verify_fn;

	struct pv_patch_view view;        /* the patch as engines see it, owned */
	/* A sequence's other patches, loaded after the first. */
	struct emu_extra {
		char *path;                   /* owned */
		struct pv_patch *patch;       /* owned */
		uint64_t base, size;
		struct pv_patch_view view;    /* owned */
	} extra[EMU_EXTRA_MAX];
	size_t nextra;

	struct emu_func *fn;              /* owned, sorted */
	size_t nfn;
	csh cs;                           /* with details, for frames.c */
	bool cs_open;

	struct emu_watch *watch;          /* owned, one per replaced function of every
	                                     patch (ineffective) */
	struct pv_exec_judge *exec;
	struct pv_global_judge *global;
	struct pv_xmc_judge *xmc;
	struct pv_version_judge *version;  /* consistency for thread and call engines */
	struct pv_global_judge *global_new; /* frames of the replacements */

	unsigned nthreads;                /* workers + 1 (verify / spare) */
	struct emu_thread threads[PV_MAX_WORKERS + 1];
	struct emu_run run;
	FILE *trace;

	/* Hot-window coverage (coverage.c): sorted boundaries, and per
	 * boundary a bit per worker. */
	uint64_t *cov_addr;
	uint64_t *cov_hit;
	size_t ncov;

	/* The story collector (pv_emu_set_story), NULL when off. */
	struct pv_story_event **story;
	size_t *nstory;
	size_t story_max;
};

/* coverage.c */
int emu_coverage_open(struct pv_emu *e, struct pv_error *err);
void emu_coverage_close(struct pv_emu *e);
void emu_coverage_observe(struct pv_emu *e);

/* report.c: appends one event when a story is collected. */
void emu_story(struct pv_emu *e, int kind, int thread, uint64_t addr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Disassembly of the instruction at addr as it is now: "mov eax, 1". */
void emu_disasm(struct pv_emu *e, uint64_t addr, char *buf, size_t len);

/* loader.c */
int emu_load(struct pv_emu *e, struct pv_error *err);

/* memory.c */
struct emu_region *emu_region_at(struct pv_emu *e, uint64_t addr);
int emu_map_region(struct pv_emu *e, uint64_t addr, uint64_t size, uint32_t prot,
                   enum emu_kind kind, uint8_t *host, const uint8_t *pristine,
                   struct pv_error *err);
int emu_block_new(struct pv_emu *e, size_t size, uint8_t **mem, struct pv_error *err);
/* Host pointer for [addr, addr + len) when one region holds all of it. */
uint8_t *emu_host(struct pv_emu *e, uint64_t addr, uint64_t len);
/* The loaded (original) bytes of [addr, addr + len), NULL when they are not
 * all in one loaded image or have no pristine copy. */
const uint8_t *emu_pristine(struct pv_emu *e, uint64_t addr, uint64_t len);
int emu_read(struct pv_emu *e, uint64_t addr, void *buf, size_t len);
/* Stores bytes as the engine does: through protections, dirty-tracked,
 * translated code invalidated. Returns PV_EFAULT when unmapped. */
int emu_store(struct pv_emu *e, uint64_t addr, const void *buf, size_t len);
void emu_reset_memory(struct pv_emu *e);
/* Maps the rest of the stack holding addr (first touch); false when addr is
 * in no thread's stack. */
bool emu_stack_grow(struct pv_emu *e, uint64_t addr);
bool emu_is_exec(struct pv_emu *e, uint64_t addr);
/* The bytes of [addr, addr + len) changed behind Unicorn's back: their
 * translations go at the next emu_flush_stale. */
void emu_code_changed(struct pv_emu *e, uint64_t addr, uint64_t len);
/* Drops the translations of every code range changed since the last call;
 * before every uc_emu_start and uc_mem_protect. */
void emu_flush_stale(struct pv_emu *e);

/* threads.c */
void emu_threads_reset(struct pv_emu *e);
int emu_thread_start(struct pv_emu *e, unsigned tid, uint64_t fn, uint64_t arg0,
                     uint64_t arg1);
enum emu_stop emu_run_slice(struct pv_emu *e, unsigned tid, uint64_t quantum, bool preemptible);
uint64_t emu_thread_reg(struct pv_emu *e, unsigned tid, int reg);
bool emu_thread_runnable(const struct emu_thread *t);
void emu_wake(struct pv_emu *e, uint64_t word);
/* Runs fn on stopped thread tid, then restores it (but for what flags,
 * PV_CALL_*, leaves out). */
int emu_hijack_call(struct pv_emu *e, unsigned tid, uint64_t fn, const uint64_t *args,
                    unsigned nargs, unsigned flags, uint64_t *ret, struct pv_error *err);

/* sched.c */
unsigned emu_runnable(const struct pv_emu *e, unsigned *list);
/* One slice decision: returns false when no thread could run. */
bool emu_decide_slice(struct pv_emu *e, bool preemptible);
bool emu_decide_preempt(struct pv_emu *e, int tid, uint64_t pc);
unsigned emu_decide_phase(struct pv_emu *e);
/* Runs the workers to the end (all done), or until the budget or a deadlock. */
void emu_run_to_end(struct pv_emu *e);

/* hooks.c */
int emu_hooks_install(struct pv_emu *e, struct pv_error *err);
int emu_hooks_block(struct pv_emu *e, struct pv_error *err);

/* frames.c */
const struct emu_func *emu_func_at(const struct pv_emu *e, uint64_t addr);
int emu_backtrace(struct pv_emu *e, unsigned tid, uint64_t *pcs, size_t max, size_t *count);
void emu_frames_free(struct pv_emu *e);

/* space.c */
extern const struct pv_space_ops emu_space_ops;
/* A decision point before a space operation (and the operation bound). */
int emu_space_point(struct pv_emu *e);

/* report.c */
void emu_violation(struct pv_emu *e, enum pv_check_id check, int thread, uint64_t addr,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool emu_has_violation(const struct pv_emu *e, enum pv_check_id check);
void emu_symbolize(const struct pv_emu *e, uint64_t addr, char *buf, size_t len);
/* A line of the run's trace, when pv_emu_set_trace gave a stream. */
void emu_trace(struct pv_emu *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
