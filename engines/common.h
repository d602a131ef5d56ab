/* What the built-in engines share: refusal sentences, the checks every
 * redirecting engine makes on a patch, jump encodings, and the stack check
 * (is any thread inside, or returning into, a range of code?). Written
 * against include/patchvet only, like the engines themselves. */
#ifndef PV_ENGINES_COMMON_H
#define PV_ENGINES_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/engine.h>

#define PV_ENG_JMP_LEN 5      /* e9 rel32 */
#define PV_ENG_ENDBR64_LEN 4
/* Deeper stacks are treated as unreliable: frames beyond were not seen. */
#define PV_ENG_MAX_FRAMES 128

/* Records PV_EREFUSED with "ENGINE: reason" in err; returns PV_EREFUSED. */
int pv_eng_refuse(struct pv_error *err, const struct pv_engine *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The checks of every engine that redirects whole functions: the
 * description is recent enough, it replaces something, no data layout
 * change, every replaced function exists and its replacement has an
 * address. 0, PV_EREFUSED (with the hazard's id in the reason), PV_EABI or
 * PV_EINVAL. */
int pv_eng_check_patch(const struct pv_engine *e, const struct pv_patch_desc *patch,
                       struct pv_error *err);

/* Where a jmp redirect goes in a function: after endbr64 (which indirect
 * calls under CET still need), else at the entry. */
unsigned pv_eng_site_offset(const struct pv_patch_func *f);

/* Refuses a 5-byte jmp at f->old_addr + off to f->new_addr that does not fit
 * in the function (too-short) or does not reach (rel32); 0 when it does. */
int pv_eng_check_jmp_site(const struct pv_engine *e, const struct pv_patch_func *f,
                          unsigned off, struct pv_error *err);

/* True when a rel32 branch ending at `next` (its address + length) reaches to. */
bool pv_eng_rel32_reaches(uint64_t next, uint64_t to);

/* `jmp rel32` at `at` to `to` (the caller checked the reach). */
void pv_eng_jmp_rel32(uint8_t out[PV_ENG_JMP_LEN], uint64_t at, uint64_t to);

/* A range of code a thread must not be in (pc) or return into. */
struct pv_eng_window {
	uint64_t lo, hi;     /* [lo, hi) */
	const char *name;    /* for the reason: "bump", "the replacement of bump" */
};

/* Every thread of the target (threads), in a fresh array (free() it). */
int pv_eng_threads(struct pv_space *sp, struct pv_thread_info **out, size_t *n);

/* The stack check of one stopped thread: 1 when its pc or a return address
 * lies in a window, or its stack cannot be walked reliably (as Linux
 * livepatch treats it: unsafe), with a sentence in why; 0 when clear; a
 * negative code when the space fails. */
int pv_eng_thread_busy(struct pv_space *sp, unsigned id, const struct pv_eng_window *w,
                       size_t nw, char *why, size_t whylen);

/* The stack check of every live thread (all stopped); skip_newest leaves out
 * the last live thread listed (the skip-thread mutant's defect). Same
 * returns as pv_eng_thread_busy. */
int pv_eng_stacks_busy(struct pv_space *sp, const struct pv_eng_window *w, size_t nw,
                       bool skip_newest, char *why, size_t whylen);

/* Whether a live thread's pc lies in [lo, hi): 1 (its id in *id), 0, or a
 * negative code. PCs are exact for stopped threads only, so call it with the
 * threads stopped. */
int pv_eng_pc_in(struct pv_space *sp, uint64_t lo, uint64_t hi, unsigned *id);

#endif
