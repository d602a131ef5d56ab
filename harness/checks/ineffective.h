/* Check `ineffective`: once apply has returned 0, no call path reaches the
 * old code any more (a GOT-only redirect misses direct calls; an engine
 * that reports success without changing anything misses them all).
 *
 * The backend asks, when apply returns 0, which address of each replaced
 * function to watch: the first instruction of the old code after the last
 * byte the engine changed in the function's first bytes (the entry itself
 * when it changed none of them), i.e. where a call goes on when the
 * redirect is not there. A thread that executes a watched address before
 * revert begins is a violation. Watching one instruction, not the whole
 * body, leaves alone the threads that were inside the old function when
 * apply ran (call and thread consistency let them finish there). */
#ifndef PV_HARNESS_JUDGE_INEFFECTIVE_H
#define PV_HARNESS_JUDGE_INEFFECTIVE_H

#include <stddef.h>
#include <stdint.h>

/* A replaced function's first bytes when apply returned 0. */
struct pv_ineffective_func {
	uint64_t entry;
	size_t len;                 /* bytes compared from the entry */
	const uint8_t *now, *orig;  /* [entry, entry + len) now and as loaded */
	const uint8_t *boundaries;  /* instruction start offsets of orig, ascending */
	size_t nboundaries;
};

/* The address to watch, or 0 when the engine changed every instruction
 * whose start is known (nothing of the old code is reachable there). */
uint64_t pv_ineffective_watch(const struct pv_ineffective_func *f);

/* After apply returned 0, a call of `name` at its entry (entry) still
 * reaches the original code, and no GOT slot of it leads to the
 * replacement; where (the object's name) may be NULL. */
void pv_ineffective_word_entry(const char *name, const char *where, unsigned long long entry,
                               char *buf, size_t len);

#endif
