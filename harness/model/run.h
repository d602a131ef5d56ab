/* The run model every backend reports in and every explorer drives: the
 * faults patchvet injects, how a code write is split into atomic units, what
 * one run gave (its violations and lifecycle steps), and the choices an
 * adaptive explorer answers. The decision stream's byte semantics are those
 * of the emu backend (emulator/emu.h), which defines them. */
#ifndef PV_MODEL_RUN_H
#define PV_MODEL_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Faults patchvet injects once apply returned 0. */
enum pv_fault {
	PV_FAULT_NONE = 0,
	PV_FAULT_CRASH = 1,  /* one worker dies, as of a fatal signal */
	PV_FAULT_STALL = 2,  /* every running worker stops making progress until
	                        the patch is reverted (a hang the patch causes) */
	PV_FAULT_SLOWDOWN = 3, /* every call of a patch's function costs its
	                          caller PV_FAULT_SLOW_SLICES scheduling slices in
	                          which it makes no progress, until the patch is
	                          reverted (a regression the patch causes) */
};

/* The cost of one call of a patched function under PV_FAULT_SLOWDOWN. */
#define PV_FAULT_SLOW_SLICES 8u
/* Names: pv_fault_name and pv_fault_parse (harness/model/sequence.h). */

/* How a space write is split into atomic units other threads can observe. */
enum pv_mem_model {
	PV_MEM_BYTE = 0,  /* every byte is its own store */
	PV_MEM_WORD8 = 1, /* aligned 8-byte words (partial words at the edges) */
};

/* One violation seen in a run. */
struct pv_violation {
	char check[24];      /* a check id of harness/checks/registry.h ("torn-exec") */
	int thread;          /* thread index (workers = pv_verify's thread), -1 when
	                        not about one thread */
	uint64_t address;    /* instruction or code byte concerned, 0 when none */
	uint64_t step;       /* scheduler decision count when it was seen */
	char detail[200];    /* one sentence for people */
};

#define PV_RUN_MAX_VIOLATIONS 16
#define PV_RUN_MAX_STEPS 16

/* One step of a lifecycle sequence in one run (harness/model/sequence.h). */
struct pv_step_outcome {
	bool ran;            /* its precondition held in this run (a patch an
	                        earlier step failed to apply is not reverted) */
	int rc;              /* the engine's return: 0, PV_EBUSY, PV_EREFUSED, ... */
	char live[96];       /* after it: "bump=counter-fix" ("?": not known) */
};


/* What one run gave. Violations are de-duplicated by check: the first of each
 * check is kept. */
struct pv_run_result {
	int apply_rc;        /* engine apply's return (0, PV_EBUSY, ...) */
	int revert_rc;       /* engine revert's return, or 1 when not called */
	int verify_status;   /* pv_verify's return, or -1 when it could not run */
	uint64_t decisions;  /* scheduler decisions made */
	uint64_t instructions; /* instructions emulated */
	size_t nviolations;
	struct pv_violation violations[PV_RUN_MAX_VIOLATIONS];
	char engine_error[200]; /* err->msg of the last apply/revert that failed, "" */
	char space_error[200];  /* the last space operation that failed, "" */
	uint64_t code_writes;   /* atomic units that changed code */
	uint64_t sync_cores;    /* sync_core calls */
	uint64_t preemptions;   /* preempt decisions that preempted a thread */
	size_t nsteps;          /* a sequence's steps, 0 for a plain run */
	struct pv_step_outcome steps[PV_RUN_MAX_STEPS];
	char info[120];         /* an information line ("auto-rollback: not
	                           declared"), "" */
	bool fault_injected;    /* a fault was injected after apply */
	bool rolled_back;       /* the engine's monitor rolled back (its revert) */
	/* Instructions run inside the replaced functions' original ranges and
	 * inside the patch's code: with `instructions` they split a patched
	 * path's cost between the engine's redirect and the patch's own code
	 * (harness/bench/bench.c, figure "redirect"). */
	uint64_t insns_replaced;
	uint64_t insns_patch;
};

/* An adaptive explorer (pct, bounded) answers every choice itself, seeing
 * what a stream cannot: the kind of choice, the threads that can run, the
 * running thread and its pc. It returns the byte a stream would hold there
 * (semantics above) or -1 for the default. The run records the bytes it
 * used as a stream that replays it exactly. */
enum pv_choice_kind {
	PV_CHOICE_PHASE = 0,
	PV_CHOICE_SLICE = 1,
	PV_CHOICE_PREEMPT = 2,
};

struct pv_choice {
	enum pv_choice_kind kind;
	uint64_t index;            /* choices made before this one in the run */
	const unsigned *runnable;  /* SLICE: the workers that can run, index order */
	unsigned nrunnable;
	bool engine_waits;         /* SLICE: apply or revert waits for this slice
	                              (a zero-length slice lets it go on) */
	bool engine_yields;        /* SLICE: the engine itself waits for the workers
	                              (advance, a hijacked call on a lock) */
	bool in_op;                /* apply or revert is running */
	int thread;                /* PREEMPT: the running thread; SLICE: the last
	                              one chosen */
	uint64_t pc;               /* PREEMPT: the instruction it is about to run */
};

struct pv_chooser {
	int (*choose)(void *ctx, const struct pv_choice *c);
	void *ctx;
};

/* The stream byte that selects the `pos`-th runnable worker for a full
 * (default-length) slice, and the byte that lets the engine go on. */
#define PV_CHOICE_SLICE_BYTE(pos) ((uint8_t)(((unsigned)(pos) << 2) | 3u))
#define PV_CHOICE_NOBODY 0
#define PV_CHOICE_PREEMPT_YES 0
#define PV_CHOICE_PREEMPT_NO 0xff

/* "byte", "word8"; NULL for anything else. */
const char *pv_mem_model_name(enum pv_mem_model m);
/* PV_EINVAL for an unknown name. */
int pv_mem_model_parse(const char *name, enum pv_mem_model *m);

#endif
