/* Check `consistency` for engines that declare `global` consistency: all
 * threads switch at one instant, none inside a replaced function. The
 * backend asks at every write that changes code of a replaced function
 * (its bytes or the padding before its entry); the judge looks at every
 * thread then: it must be stopped (or done), its pc must lie outside every
 * replaced function, and no return address on its stack may point into one.
 *
 * Return addresses are found by scanning the live stack (sp up to the
 * stack's top) for words equal to a return site of a replaced function (the
 * address right after one of its call instructions, from the original
 * code), so the check needs neither frame pointers nor unwind tables and
 * does not trust the engine's own stack walk. */
#ifndef PV_HARNESS_JUDGE_GLOBAL_H
#define PV_HARNESS_JUDGE_GLOBAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

/* A replaced function as the backend loaded it. */
struct pv_global_func_spec {
	const char *name;          /* for findings */
	uint64_t lo, hi;           /* [lo, hi): padding before the entry, entry, body */
	uint64_t entry, size;      /* the function's own bytes */
	const uint8_t *code;       /* its original bytes [entry, entry + size) */
};

/* A thread at the moment of the write. */
struct pv_global_thread {
	int id;
	bool stopped;              /* by the engine */
	bool done;                 /* finished; ignored */
	uint64_t pc;
	uint64_t sp;               /* address of stack[0] */
	const uint64_t *stack;     /* the live stack, from sp upwards */
	size_t nwords;
};

struct pv_global_finding {
	int thread;
	uint64_t addr;             /* the pc or the return address */
	const char *func;          /* the replaced function concerned, or NULL */
	char what[120];            /* "is running", "has its pc in bump+4", ... */
};

struct pv_global_judge;

int pv_global_judge_open(const struct pv_global_func_spec *f, size_t n,
                         struct pv_global_judge **out, struct pv_error *err);

void pv_global_judge_close(struct pv_global_judge *j);

/* Judges the threads; returns 1 and fills *f for the first failing one, 0
 * when all pass. */
int pv_global_judge_threads(const struct pv_global_judge *j, const struct pv_global_thread *t,
                            size_t n, struct pv_global_finding *f);

/* The replaced function holding addr in [lo, hi), or -1 (for the backend:
 * does a write need judging). */
int pv_global_judge_func(const struct pv_global_judge *j, uint64_t addr);

#endif
