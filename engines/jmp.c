/* The jmp-redirect family: make each replaced function's entry jump to its
 * replacement with a 5-byte `jmp rel32` (e9 + displacement), as Ksplice and
 * kpatch do. The jump replaces the whole old function, so nothing of the old
 * code is relocated and RIP-relative prologues do not matter; what matters
 * is that no thread is inside the old function (or returns into it) when the
 * entry changes, which is what `global` consistency promises.
 *
 * Where the jmp goes: at the entry, except after an endbr64 there. Indirect
 * calls must still land on endbr64 under CET/IBT (the README's "a redirect
 * must keep endbr64"), and a direct jmp needs no endbr64 at its target. The
 * price: a cet function needs 9 bytes, and branches into bytes 5..8 are not
 * covered by the analysis' branch-into-prologue hazard (it looks at bytes
 * 1..4 of the entry).
 *
 * One implementation, flags for the mutants: each mutant differs from
 * stw-jmp by exactly one defect (engines/catalogue.c states it). */
#include "jmp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JMP_LEN 5
#define ENDBR64_LEN 4
/* How often apply/revert look again for quiet threads before giving up. */
#define ATTEMPTS 20
/* Deeper stacks are treated as unsafe: frames beyond this were not seen. */
#define MAX_FRAMES 128
/* Threads looked at without an allocation. */
#define STACK_THREADS 64

struct jmp_flags {
	bool stop;     /* stop every thread around the writes */
	bool quiesce;  /* refuse while a thread is inside a window (needs stop) */
	bool bytewise; /* one space write per byte instead of one per jmp */
};

/* One replacement: where the jmp goes and what it must not race with. */
struct jmp_site {
	const char *name;    /* the old function's name, for messages */
	uint64_t at;         /* address of the jmp */
	uint64_t old_lo, old_hi; /* the old function, jmp included: [lo, hi) */
	uint64_t new_lo, new_hi; /* the new function */
	uint8_t jmp[JMP_LEN];
	uint8_t saved[JMP_LEN];  /* original bytes at `at`, read by apply */
};

struct jmp_state {
	const struct pv_engine *engine;
	const struct jmp_flags *flags;
	bool applied;
	size_t nsites;
	struct jmp_site sites[];
};

/* ------------------------------------------------------------------ plan */

static int refuse(struct pv_error *err, const struct pv_engine *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct pv_error *err, const struct pv_engine *e, const char *fmt, ...)
{
	char what[PV_ERROR_MSG_MAX - 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pv_error_set(err, PV_EREFUSED, "%s: %s", e->name, what);
}

static int jmp_plan(const struct pv_engine *e, const struct jmp_flags *flags,
                    const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	*state = NULL;
	if (!patch || patch->sz < offsetof(struct pv_patch_desc, hazards) + sizeof(unsigned))
		return pv_error_set(err, PV_EABI, "%s: the patch description is from an older "
		                                  "harness than this engine", e->name);
	if (!patch->nfuncs || !patch->funcs)
		return pv_error_set(err, PV_EINVAL, "%s: %s replaces no function", e->name,
		                    patch->path ? patch->path : "the patch");
	/* A redirect moves code, never data: the new code would use other data. */
	if (patch->hazards & PV_HAZARD_DATA_LAYOUT_CHANGE)
		return refuse(err, e, "the patch changes the layout of target data "
		                      "(data-layout-change), which a jmp redirect cannot migrate");
	if (patch->hazards & PV_HAZARD_MISSING_FUNCTION)
		return refuse(err, e, "the patch replaces a function the target does not have "
		                      "(missing-function)");
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		const char *name = f->old_name ? f->old_name : "?";
		if ((f->prologue.hazards & PV_HAZARD_MISSING_FUNCTION) || !f->old_addr)
			return refuse(err, e, "%s is not in the target (missing-function)", name);
		unsigned off = f->prologue.endbr64 ? ENDBR64_LEN : 0;
		if ((f->prologue.hazards & PV_HAZARD_TOO_SHORT) || f->old_size < off + JMP_LEN)
			return refuse(err, e, "%s is too short for a 5-byte jmp (too-short)", name);
		if (f->prologue.hazards & PV_HAZARD_BRANCH_INTO_PROLOGUE)
			return refuse(err, e, "a branch in the target lands inside the first 5 bytes "
			                      "of %s, which the jmp overwrites (branch-into-prologue)",
			              name);
		if (!f->new_addr)
			return pv_error_set(err, PV_EINVAL, "%s: no address for the replacement of %s",
			                    e->name, name);
		int64_t disp = (int64_t)(f->new_addr - (f->old_addr + off + JMP_LEN));
		if (disp < INT32_MIN || disp > INT32_MAX)
			return refuse(err, e, "the replacement of %s is out of a jmp rel32's reach "
			                      "(more than 2 GiB away)", name);
	}

	struct jmp_state *st = calloc(1, sizeof(*st) + patch->nfuncs * sizeof(st->sites[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->name);
	st->engine = e;
	st->flags = flags;
	st->nsites = patch->nfuncs;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		struct jmp_site *s = &st->sites[i];
		s->name = f->old_name ? f->old_name : "?";
		s->at = f->old_addr + (f->prologue.endbr64 ? ENDBR64_LEN : 0);
		s->old_lo = f->old_addr;
		s->old_hi = f->old_addr + f->old_size;
		if (s->old_hi < s->at + JMP_LEN)
			s->old_hi = s->at + JMP_LEN;
		s->new_lo = f->new_addr;
		s->new_hi = f->new_addr + (f->new_size ? f->new_size : 1);
		uint32_t rel = (uint32_t)(f->new_addr - (s->at + JMP_LEN));
		s->jmp[0] = 0xe9;
		for (unsigned b = 0; b < 4; b++)
			s->jmp[1 + b] = (uint8_t)(rel >> (8 * b));
	}
	*state = st;
	return 0;
}

/* ---------------------------------------------------------------- safety */

/* Which site's window holds pc: the old function while applying; the new
 * function and the jmp's own bytes while reverting. NULL when none. */
static const struct jmp_site *window_of(const struct jmp_state *st, bool reverting,
                                        uint64_t pc)
{
	for (size_t i = 0; i < st->nsites; i++) {
		const struct jmp_site *s = &st->sites[i];
		if (!reverting && pc >= s->old_lo && pc < s->old_hi)
			return s;
		if (reverting && ((pc >= s->new_lo && pc < s->new_hi) ||
		                  (pc >= s->at && pc < s->at + JMP_LEN)))
			return s;
	}
	return NULL;
}

/* 0 when every live thread is clear of the windows, 1 when one is not (the
 * reason in why), or a negative code from the space. */
static int threads_busy(const struct jmp_state *st, struct pv_space *space, bool reverting,
                        char *why, size_t whylen)
{
	struct pv_thread_info local[STACK_THREADS], *th = local;
	size_t n = 0;
	int rc = pv_space_threads(space, local, STACK_THREADS, &n);
	if (!rc && n > STACK_THREADS) {
		if (!(th = calloc(n, sizeof(*th))))
			return PV_ENOMEM;
		rc = pv_space_threads(space, th, n, &n);
	}
	uint64_t pcs[MAX_FRAMES];
	int busy = 0;
	for (size_t i = 0; !rc && !busy && i < n; i++) {
		if (th[i].state == PV_THREAD_DONE)
			continue;
		size_t frames = 0;
		rc = pv_space_backtrace(space, th[i].id, pcs, MAX_FRAMES, &frames);
		if (rc == PV_EBUSY || (!rc && frames >= MAX_FRAMES)) {
			/* Like livepatch: an unreliable stack is an unsafe one. */
			snprintf(why, whylen, "the stack of thread %u cannot be walked reliably",
			         th[i].id);
			rc = 0;
			busy = 1;
			break;
		}
		for (size_t f = 0; !rc && f < frames; f++) {
			const struct jmp_site *s = window_of(st, reverting, pcs[f]);
			if (s) {
				snprintf(why, whylen, "thread %u %s 0x%llx in %s%s", th[i].id,
				         f ? "has a return address" : "is at", (unsigned long long)pcs[f],
				         reverting ? "the replacement of " : "", s->name);
				busy = 1;
				break;
			}
		}
	}
	if (th != local)
		free(th);
	return rc ? rc : busy;
}

/* ---------------------------------------------------------------- writes */

static int write_bytes(const struct jmp_state *st, struct pv_space *space, uint64_t at,
                       const uint8_t *bytes)
{
	if (!st->flags->bytewise)
		return pv_space_write(space, at, bytes, JMP_LEN);
	for (unsigned b = 0; b < JMP_LEN; b++) {
		int rc = pv_space_write(space, at + b, &bytes[b], 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* Writes every site's jmp (apply) or saved bytes (revert). On a failure,
 * puts back what was already written so the target is as it was. */
static int write_sites(struct jmp_state *st, struct pv_space *space, bool reverting,
                       struct pv_error *err)
{
	const char *name = st->engine->name;
	if (!reverting)
		for (size_t i = 0; i < st->nsites; i++) {
			int rc = pv_space_read(space, st->sites[i].at, st->sites[i].saved, JMP_LEN);
			if (rc)
				return pv_error_set(err, rc, "%s: cannot read the entry of %s: %s", name,
				                    st->sites[i].name, pv_strerror(rc));
		}
	for (size_t i = 0; i < st->nsites; i++) {
		struct jmp_site *s = &st->sites[i];
		int rc = write_bytes(st, space, s->at, reverting ? s->saved : s->jmp);
		if (rc) {
			for (size_t j = 0; j <= i; j++)
				write_bytes(st, space, st->sites[j].at,
				            reverting ? st->sites[j].jmp : st->sites[j].saved);
			return pv_error_set(err, rc, "%s: cannot write %u bytes at 0x%llx (%s): %s",
			                    name, JMP_LEN, (unsigned long long)s->at, s->name,
			                    pv_strerror(rc));
		}
	}
	/* The cross-modifying-code protocol; a backend without it needs none. */
	int rc = pv_space_sync_core(space);
	if (rc && rc != PV_EUNSUPPORTED)
		return pv_error_set(err, rc, "%s: sync_core failed: %s", name, pv_strerror(rc));
	return 0;
}

/* ---------------------------------------------------------- apply/revert */

static int jmp_switch(struct jmp_state *st, struct pv_space *space, bool reverting,
                      struct pv_error *err)
{
	const char *name = st->engine->name;
	const char *verb = reverting ? "revert" : "apply";
	const struct jmp_flags *fl = st->flags;
	char why[160] = "";
	char note[200];
	for (unsigned attempt = 0; attempt < (fl->quiesce ? ATTEMPTS : 1u); attempt++) {
		int rc;
		if (attempt && (rc = pv_space_advance(space, attempt)) && rc != PV_EUNSUPPORTED)
			return pv_error_set(err, rc, "%s: %s: letting the threads run failed: %s",
			                    name, verb, pv_strerror(rc));
		if (fl->stop && (rc = pv_space_stop_all(space)))
			return pv_error_set(err, rc, "%s: %s: cannot stop the threads: %s", name, verb,
			                    pv_strerror(rc));
		if (fl->quiesce) {
			rc = threads_busy(st, space, reverting, why, sizeof(why));
			if (rc > 0) {
				snprintf(note, sizeof(note), "%s: %s attempt %u: %s", name, verb,
				         attempt + 1, why);
				pv_space_note(space, note);
			}
			if (rc) {
				int rrc = pv_space_resume_all(space);
				if (rc < 0)
					return pv_error_set(err, rc, "%s: %s: cannot inspect the threads: %s",
					                    name, verb, pv_strerror(rc));
				if (rrc)
					return pv_error_set(err, rrc, "%s: %s: cannot resume the threads: %s",
					                    name, verb, pv_strerror(rrc));
				continue;
			}
		}
		snprintf(note, sizeof(note), "%s: %s: writing %zu site%s", name, verb, st->nsites,
		         st->nsites == 1 ? "" : "s");
		pv_space_note(space, note);
		rc = write_sites(st, space, reverting, err);
		if (fl->stop) {
			int rrc = pv_space_resume_all(space);
			if (!rc && rrc)
				rc = pv_error_set(err, rrc, "%s: %s: cannot resume the threads: %s", name,
				                  verb, pv_strerror(rrc));
		}
		if (!rc)
			st->applied = !reverting;
		return rc;
	}
	return pv_error_set(err, PV_EBUSY, "%s: %s gave up after %u attempts, target unchanged: %s",
	                    name, verb, ATTEMPTS, why);
}

static int jmp_apply(void *state, struct pv_space *space, struct pv_error *err)
{
	struct jmp_state *st = state;
	if (!st || !space)
		return pv_error_set(err, PV_EINVAL, "jmp engine: apply without a plan or a space");
	/* Each run starts from a fresh target: nothing of an earlier run is live. */
	st->applied = false;
	return jmp_switch(st, space, false, err);
}

static int jmp_revert(void *state, struct pv_space *space, struct pv_error *err)
{
	struct jmp_state *st = state;
	if (!st || !space)
		return pv_error_set(err, PV_EINVAL, "jmp engine: revert without a plan or a space");
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "%s: revert before a successful apply",
		                    st->engine->name);
	return jmp_switch(st, space, true, err);
}

static void jmp_release(void *state)
{
	free(state);
}

/* ---------------------------------------------------------------- engines */

static const struct jmp_flags stw_flags = {.stop = true, .quiesce = true};
static const struct jmp_flags naive_flags = {.bytewise = true};
static const struct jmp_flags no_quiesce_flags = {.stop = true};

static int stw_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_stw_jmp, &stw_flags, p, s, err);
}

static int naive_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_naive_write, &naive_flags, p, s, err);
}

static int no_quiesce_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_no_quiesce, &no_quiesce_flags, p, s, err);
}

const struct pv_engine pv_engine_stw_jmp = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "stw-jmp",
	.description = "Stops every thread, retries until none is inside or returns into a "
	               "replaced function, then writes a 5-byte jmp rel32 over each entry "
	               "(Ksplice, EuroSys 2009; kpatch's stop_machine model).",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = stw_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
};

const struct pv_engine pv_engine_naive_write = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "naive-write",
	.description = "Mutant of stw-jmp: writes the 5 jmp bytes one at a time while the "
	               "threads keep running.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = naive_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
};

const struct pv_engine pv_engine_no_quiesce = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "no-quiesce",
	.description = "Mutant of stw-jmp: stops the threads but never checks where they "
	               "are before writing the jmp.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = no_quiesce_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
};
