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
 * stw-jmp by exactly one defect (engines/catalogue.c states it).
 *
 * ksplice stacks updates: a second one saves the first one's
 * jmp and must also find no thread in the code it supersedes (the first
 * update's replacements); like Ksplice, which undoes updates newest first,
 * it refuses to revert one that has another applied over it. */
#include "jmp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define JMP_LEN PV_ENG_JMP_LEN
#define ENDBR64_LEN PV_ENG_ENDBR64_LEN
/* How often apply/revert look again for quiet threads before giving up. */
#define ATTEMPTS 20
/* ksplice: fewer, longer waits (1, 2, 4, ... up to BACKOFF_MAX). */
#define BACKOFF_ATTEMPTS 12
#define BACKOFF_MAX 32u

struct jmp_flags {
	bool stop;          /* stop every thread around the writes */
	bool quiesce;       /* refuse while a thread is inside a window (needs stop) */
	bool bytewise;      /* one space write per byte instead of one per jmp */
	bool backoff;       /* waits double between attempts (ksplice) */
	bool skip_newest;   /* mutant: the newest thread's stack is never looked at */
	unsigned restore_len; /* mutant: bytes revert puts back (0: all JMP_LEN) */
	bool no_write;      /* mutant: does everything but write the jmp */
	bool no_resume;     /* mutant: leaves the threads stopped after writing */
	bool wx_left;       /* mutant: makes the text writable and leaves it so */
};

/* One replacement: where the jmp goes and what it must not race with. */
struct jmp_site {
	const char *name;    /* the old function's name, for messages */
	char new_name[80];   /* "the replacement of NAME", for messages */
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
	struct jmp_state *below, *above; /* the stack, while applied */
	size_t nsites;
	struct jmp_site sites[];
};

/* ------------------------------------------------------------------ plan */

static int jmp_plan(const struct pv_engine *e, const struct jmp_flags *flags,
                    const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	*state = NULL;
	int rc = pv_eng_check_patch(e, patch, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < patch->nfuncs; i++)
		if ((rc = pv_eng_check_jmp_site(e, &patch->funcs[i],
		                                pv_eng_site_offset(&patch->funcs[i]), err)))
			return rc;

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
		snprintf(s->new_name, sizeof(s->new_name), "the replacement of %s", s->name);
		s->at = f->old_addr + pv_eng_site_offset(f);
		s->old_lo = f->old_addr;
		s->old_hi = f->old_addr + f->old_size;
		if (s->old_hi < s->at + JMP_LEN)
			s->old_hi = s->at + JMP_LEN;
		s->new_lo = f->new_addr;
		s->new_hi = f->new_addr + (f->new_size ? f->new_size : 1);
		pv_eng_jmp_rel32(s->jmp, s->at, f->new_addr);
	}
	*state = st;
	return 0;
}

/* ---------------------------------------------------------------- safety */

/* 0 when every live thread is clear of the windows (the old functions while
 * applying; the new functions and the jmps' own bytes while reverting), 1
 * when one is not (the reason in why), or a negative code from the space. */
static int threads_busy(const struct jmp_state *st, struct pv_space *space, bool reverting,
                        char *why, size_t whylen)
{
	size_t nw = reverting ? 2 * st->nsites : st->nsites;
	/* Applying over other updates: their replacements are superseded too. */
	for (const struct jmp_state *b = reverting ? NULL : st->below; b; b = b->below)
		nw += b->nsites;
	struct pv_eng_window *w = calloc(nw, sizeof(*w));
	if (!w)
		return PV_ENOMEM;
	size_t k = reverting ? 2 * st->nsites : st->nsites;
	for (const struct jmp_state *b = reverting ? NULL : st->below; b; b = b->below)
		for (size_t i = 0; i < b->nsites; i++)
			w[k++] = (struct pv_eng_window){b->sites[i].new_lo, b->sites[i].new_hi,
			                                b->sites[i].new_name};
	for (size_t i = 0; i < st->nsites; i++) {
		const struct jmp_site *s = &st->sites[i];
		if (!reverting) {
			w[i] = (struct pv_eng_window){s->old_lo, s->old_hi, s->name};
		} else {
			w[2 * i] = (struct pv_eng_window){s->new_lo, s->new_hi, s->new_name};
			w[2 * i + 1] = (struct pv_eng_window){s->at, s->at + JMP_LEN, s->name};
		}
	}
	int rc = pv_eng_stacks_busy(space, w, nw, st->flags->skip_newest, why, whylen);
	free(w);
	return rc;
}

/* ---------------------------------------------------------------- writes */

static int write_bytes(const struct jmp_state *st, struct pv_space *space, uint64_t at,
                       const uint8_t *bytes, unsigned len)
{
	if (!st->flags->bytewise)
		return pv_space_write(space, at, bytes, len);
	for (unsigned b = 0; b < len; b++) {
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
	/* no-op's defect: success, with nothing written. */
	if (st->flags->no_write)
		return 0;
	/* wx-left's defect: the pages of the sites become writable and
	 * executable (as patchers that poke text through their own mapping
	 * do), and nothing puts their protection back. */
	for (size_t i = 0; !reverting && st->flags->wx_left && i < st->nsites; i++) {
		uint64_t lo = st->sites[i].at & ~4095ull;
		uint64_t hi = (st->sites[i].at + JMP_LEN + 4095) & ~4095ull;
		int rc = pv_space_protect(space, lo, hi - lo,
		                          PV_PROT_READ | PV_PROT_WRITE | PV_PROT_EXEC);
		if (rc)
			return pv_error_set(err, rc, "%s: cannot make 0x%llx writable: %s", name,
			                    (unsigned long long)lo, pv_strerror(rc));
	}
	/* bad-revert's defect: it puts back only the opcode byte. */
	unsigned len = reverting && st->flags->restore_len ? st->flags->restore_len : JMP_LEN;
	for (size_t i = 0; i < st->nsites; i++) {
		struct jmp_site *s = &st->sites[i];
		int rc = write_bytes(st, space, s->at, reverting ? s->saved : s->jmp, len);
		if (rc) {
			for (size_t j = 0; j <= i; j++)
				write_bytes(st, space, st->sites[j].at,
				            reverting ? st->sites[j].jmp : st->sites[j].saved, JMP_LEN);
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
	unsigned attempts = !fl->quiesce ? 1u : fl->backoff ? BACKOFF_ATTEMPTS : ATTEMPTS;
	for (unsigned attempt = 0; attempt < attempts; attempt++) {
		int rc;
		unsigned wait = attempt;
		if (fl->backoff && attempt)
			wait = attempt < 6 ? 1u << (attempt - 1) : BACKOFF_MAX;
		if (attempt && (rc = pv_space_advance(space, wait)) && rc != PV_EUNSUPPORTED)
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
		/* no-resume's defect: the world stays stopped. */
		if (fl->stop && !fl->no_resume) {
			int rrc = pv_space_resume_all(space);
			if (!rc && rrc)
				rc = pv_error_set(err, rrc, "%s: %s: cannot resume the threads: %s", name,
				                  verb, pv_strerror(rrc));
		}
		if (!rc) {
			st->applied = !reverting;
			if (!reverting && st->below)
				st->below->above = st;
			if (reverting && st->below)
				st->below->above = NULL;
			if (reverting)
				st->below = NULL;
		}
		return rc;
	}
	return pv_error_set(err, PV_EBUSY, "%s: %s gave up after %u attempts, target unchanged: %s",
	                    name, verb, attempts, why);
}

static int jmp_apply(void *state, struct pv_space *space, struct pv_error *err)
{
	struct jmp_state *st = state;
	if (!st || !space)
		return pv_error_set(err, PV_EINVAL, "jmp engine: apply without a plan or a space");
	/* Each run starts from a fresh target: nothing of an earlier run is live. */
	st->applied = false;
	st->below = st->above = NULL;
	return jmp_switch(st, space, false, err);
}

static int jmp_apply_on_top(void *state, void *below, struct pv_space *space,
                            struct pv_error *err)
{
	struct jmp_state *st = state, *bl = below;
	if (!st || !space)
		return pv_error_set(err, PV_EINVAL, "jmp engine: apply without a plan or a space");
	if (bl && (bl->engine != st->engine || !bl->applied || bl->above || bl == st))
		return pv_error_set(err, PV_ESTATE, "%s: the update below is not the applied top "
		                                    "of this engine's stack", st->engine->name);
	st->applied = false;
	st->above = NULL;
	st->below = bl;
	int rc = jmp_switch(st, space, false, err);
	if (rc)
		st->below = NULL;
	return rc;
}

static int jmp_revert(void *state, struct pv_space *space, struct pv_error *err)
{
	struct jmp_state *st = state;
	if (!st || !space)
		return pv_error_set(err, PV_EINVAL, "jmp engine: revert without a plan or a space");
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "%s: revert before a successful apply",
		                    st->engine->name);
	if (st->above)
		return pv_error_set(err, PV_EREFUSED, "%s: another update is applied over this one; "
		                                      "revert it first (updates are undone newest "
		                                      "first), target unchanged", st->engine->name);
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
static const struct jmp_flags ksplice_flags = {.stop = true, .quiesce = true,
                                               .backoff = true};
static const struct jmp_flags skip_thread_flags = {.stop = true, .quiesce = true,
                                                   .skip_newest = true};
static const struct jmp_flags bad_revert_flags = {.stop = true, .quiesce = true,
                                                  .restore_len = 1};

static const struct jmp_flags no_op_flags = {.stop = true, .quiesce = true,
                                             .no_write = true};

static const struct jmp_flags no_resume_flags = {.stop = true, .quiesce = true,
                                                 .no_resume = true};

static int no_resume_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_no_resume, &no_resume_flags, p, s, err);
}

static const struct jmp_flags wx_left_flags = {.stop = true, .quiesce = true,
                                               .wx_left = true};

static int wx_left_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_wx_left, &wx_left_flags, p, s, err);
}

static int no_op_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_no_op, &no_op_flags, p, s, err);
}

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

static int ksplice_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_ksplice, &ksplice_flags, p, s, err);
}

static int skip_thread_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_skip_thread, &skip_thread_flags, p, s, err);
}

static int bad_revert_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return jmp_plan(&pv_engine_bad_revert, &bad_revert_flags, p, s, err);
}

const struct pv_engine pv_engine_ksplice = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "ksplice",
	.description = "Stops the world, walks every thread's stack (an unreliable walk counts "
	               "as unsafe) and writes a jmp rel32 over each entry only when no frame is "
	               "in a replaced function, retrying with doubling waits up to a bound, else "
	               "gives up with the target unchanged (Ksplice, Arnold and Kaashoek, "
	               "EuroSys 2009).",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = ksplice_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
	.flags = PV_ENGINE_STACKS,
	.apply_on_top = jmp_apply_on_top,
};

const struct pv_engine pv_engine_skip_thread = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "skip-thread",
	.description = "Mutant of stw-jmp: checks the stack of every thread but the newest "
	               "before writing the jmp.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = skip_thread_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
};

const struct pv_engine pv_engine_bad_revert = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "bad-revert",
	.description = "Mutant of stw-jmp: revert puts back only the first of the 5 bytes the "
	               "jmp overwrote.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = bad_revert_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
};

const struct pv_engine pv_engine_stw_jmp = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "stw-jmp",
	.description = "Stops every thread, retries until none is inside or returns into a "
	               "replaced function, then writes a 5-byte jmp rel32 over each entry, "
	               "retrying at a steady pace (kpatch's stop_machine model, 2014).",
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

const struct pv_engine pv_engine_no_op = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "no-op",
	.description = "Mutant of stw-jmp: stops the threads and waits for them as stw-jmp "
	               "does, then reports success without writing a single byte.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = no_op_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
};

const struct pv_engine pv_engine_no_resume = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "no-resume",
	.description = "Mutant of stw-jmp: writes the jmp with every thread stopped and returns "
	               "without resuming them.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = no_resume_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
};

const struct pv_engine pv_engine_wx_left = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "wx-left",
	.description = "Mutant of stw-jmp: makes the pages it patches writable and executable "
	               "with an injected mprotect and never restores their protection.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = wx_left_plan,
	.apply = jmp_apply,
	.revert = jmp_revert,
	.release = jmp_release,
};
