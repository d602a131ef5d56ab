/* What the built-in engines share (common.h). */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int pv_eng_refuse(struct pv_error *err, const struct pv_engine *e, const char *fmt, ...)
{
	char what[PV_ERROR_MSG_MAX - 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pv_error_set(err, PV_EREFUSED, "%s: %s", e->name, what);
}

int pv_eng_check_patch(const struct pv_engine *e, const struct pv_patch_desc *patch,
                       struct pv_error *err)
{
	if (!patch || patch->sz < offsetof(struct pv_patch_desc, hazards) + sizeof(unsigned))
		return pv_error_set(err, PV_EABI, "%s: the patch description is from an older "
		                                  "harness than this engine", e->name);
	if (!patch->nfuncs || !patch->funcs)
		return pv_error_set(err, PV_EINVAL, "%s: %s replaces no function", e->name,
		                    patch->path ? patch->path : "the patch");
	/* A redirect moves code, never data: the new code would use other data. */
	if (patch->hazards & PV_HAZARD_DATA_LAYOUT_CHANGE)
		return pv_eng_refuse(err, e, "the patch changes the layout of target data "
		                             "(data-layout-change), which a code redirect cannot "
		                             "migrate");
	if (patch->hazards & PV_HAZARD_MISSING_FUNCTION)
		return pv_eng_refuse(err, e, "the patch replaces a function the target does not "
		                             "have (missing-function)");
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		const char *name = f->old_name ? f->old_name : "?";
		if ((f->prologue.hazards & PV_HAZARD_MISSING_FUNCTION) || !f->old_addr)
			return pv_eng_refuse(err, e, "%s is not in the target (missing-function)", name);
		/* Conservative on purpose: the analysis marks the first 5 bytes,
		 * and no engine here wants to argue which of them it may touch. */
		if (f->prologue.hazards & PV_HAZARD_TOO_SHORT)
			return pv_eng_refuse(err, e, "%s is too short for a 5-byte jmp (too-short)",
			                     name);
		if (f->prologue.hazards & PV_HAZARD_BRANCH_INTO_PROLOGUE)
			return pv_eng_refuse(err, e, "a branch in the target lands inside the first 5 "
			                             "bytes of %s, which the engine rewrites "
			                             "(branch-into-prologue)", name);
		if (!f->new_addr)
			return pv_error_set(err, PV_EINVAL, "%s: no address for the replacement of %s",
			                    e->name, name);
	}
	return 0;
}

unsigned pv_eng_site_offset(const struct pv_patch_func *f)
{
	return f->prologue.endbr64 ? PV_ENG_ENDBR64_LEN : 0;
}

int pv_eng_check_jmp_site(const struct pv_engine *e, const struct pv_patch_func *f,
                          unsigned off, struct pv_error *err)
{
	const char *name = f->old_name ? f->old_name : "?";
	if (f->old_size < off + PV_ENG_JMP_LEN)
		return pv_eng_refuse(err, e, "%s is too short for a 5-byte jmp (too-short)", name);
	if (!pv_eng_rel32_reaches(f->old_addr + off + PV_ENG_JMP_LEN, f->new_addr))
		return pv_eng_refuse(err, e, "the replacement of %s is out of a jmp rel32's reach "
		                             "(more than 2 GiB away)", name);
	return 0;
}

bool pv_eng_rel32_reaches(uint64_t next, uint64_t to)
{
	int64_t disp = (int64_t)(to - next);
	return disp >= INT32_MIN && disp <= INT32_MAX;
}

void pv_eng_jmp_rel32(uint8_t out[PV_ENG_JMP_LEN], uint64_t at, uint64_t to)
{
	uint32_t rel = (uint32_t)(to - (at + PV_ENG_JMP_LEN));
	out[0] = 0xe9;
	for (unsigned b = 0; b < 4; b++)
		out[1 + b] = (uint8_t)(rel >> (8 * b));
}

int pv_eng_threads(struct pv_space *sp, struct pv_thread_info **out, size_t *n)
{
	size_t cap = 16;
	*out = NULL;
	*n = 0;
	/* The count may grow between calls (ptrace): ask until it fits. */
	for (;;) {
		struct pv_thread_info *th = calloc(cap, sizeof(*th));
		if (!th)
			return PV_ENOMEM;
		size_t count = 0;
		int rc = pv_space_threads(sp, th, cap, &count);
		if (rc) {
			free(th);
			return rc;
		}
		if (count <= cap) {
			*out = th;
			*n = count;
			return 0;
		}
		free(th);
		cap = count + 8;
	}
}

static const struct pv_eng_window *window_of(const struct pv_eng_window *w, size_t nw,
                                             uint64_t pc)
{
	for (size_t i = 0; i < nw; i++)
		if (pc >= w[i].lo && pc < w[i].hi)
			return &w[i];
	return NULL;
}

int pv_eng_thread_busy(struct pv_space *sp, unsigned id, const struct pv_eng_window *w,
                       size_t nw, char *why, size_t whylen)
{
	uint64_t pcs[PV_ENG_MAX_FRAMES];
	size_t frames = 0;
	int rc = pv_space_backtrace(sp, id, pcs, PV_ENG_MAX_FRAMES, &frames);
	if (rc == PV_EBUSY || rc == PV_ERANGE || (!rc && frames >= PV_ENG_MAX_FRAMES)) {
		snprintf(why, whylen, "the stack of thread %u cannot be walked reliably", id);
		return 1;
	}
	if (rc)
		return rc;
	for (size_t f = 0; f < frames; f++) {
		const struct pv_eng_window *hit = window_of(w, nw, pcs[f]);
		if (hit) {
			snprintf(why, whylen, "thread %u %s 0x%llx in %s", id,
			         f ? "has a return address" : "is at", (unsigned long long)pcs[f],
			         hit->name);
			return 1;
		}
	}
	return 0;
}

int pv_eng_stacks_busy(struct pv_space *sp, const struct pv_eng_window *w, size_t nw,
                       bool skip_newest, char *why, size_t whylen)
{
	struct pv_thread_info *th;
	size_t n;
	int rc = pv_eng_threads(sp, &th, &n);
	if (rc)
		return rc;
	size_t newest = n;
	for (size_t i = 0; i < n; i++)
		if (th[i].state != PV_THREAD_DONE)
			newest = i;
	int busy = 0;
	for (size_t i = 0; !busy && i < n; i++) {
		if (th[i].state == PV_THREAD_DONE || (skip_newest && i == newest))
			continue;
		busy = pv_eng_thread_busy(sp, th[i].id, w, nw, why, whylen);
	}
	free(th);
	return busy;
}

int pv_eng_pc_in(struct pv_space *sp, uint64_t lo, uint64_t hi, unsigned *id)
{
	struct pv_thread_info *th;
	size_t n;
	int rc = pv_eng_threads(sp, &th, &n);
	if (rc)
		return rc;
	int hit = 0;
	for (size_t i = 0; !hit && i < n; i++)
		if (th[i].state != PV_THREAD_DONE && th[i].pc >= lo && th[i].pc < hi) {
			*id = th[i].id;
			hit = 1;
		}
	free(th);
	return hit;
}
