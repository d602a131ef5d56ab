/* pulp: libpulp, SUSE's user-space live patching (Cunha et al., 2019+), on
 * targets built with -fpatchable-function-entry=16,14: 14 NOP bytes before
 * each entry and a 2-byte NOP at it. With every thread stopped, the engine
 * writes `jmp *0(%rip)` and the replacement's 8-byte address into the 14
 * padding bytes and `jmp rel8` back to them (eb f0) over the entry's 2
 * bytes. The absolute jump reaches a replacement anywhere, so the patch need
 * not be near the target.
 *
 * libpulp does not walk stacks: a thread inside an old function finishes
 * that call in old code, the next one runs new code (consistency `call`).
 * What it must avoid is a stopped thread between the entry's two bytes
 * (two 1-byte NOPs in gcc's layout), which would resume in the middle of
 * the short jmp: it waits for that thread to move on.
 *
 * pc-migrate is pulp that also moves every thread it finds stopped inside
 * an old function's body to the replacement's entry (an int3 at the
 * thread's pc with a trap redirect, kept until revert), instead of letting
 * it finish the call in old code: that call then runs old and new code.
 *
 * Stacking (libpulp applies a patch over a live one): the second patch
 * saves the bytes it overwrites, which are the first patch's jumps, so
 * reverting the top one brings the first back. Reverting a patch that has
 * another above it, with every thread stopped: a function the patch above
 * also replaces keeps running that patch's code, which inherits the saved
 * bytes (they are what must come back when it goes); the others get their
 * saved bytes back. stack-clobber is pulp that, on a second patch, saves
 * its own jumps over the first patch's originals, so the last revert
 * restores the first patch's code.
 *
 * Cumulative replace (libpulp's replace): with every thread stopped, P's
 * redirects are written over whatever runs now, P keeps the bottom-most
 * saved bytes (the original ones) for its revert, and the functions only
 * the older patches replaced get their original bytes back; the older
 * patches leave the stack. replace-keep is pulp whose replace leaves those
 * older redirects in place. pulp-guard is pulp with a health
 * monitor: it reverts on its own when a worker dies, or no worker makes
 * progress, after an apply. */
#include "strategies.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define PAD_LEN 14    /* ff 25 00 00 00 00 + 8-byte address */
#define ENTRY_LEN 2   /* eb f0 */
#define ATTEMPTS 20

/* A breakpoint pc-migrate put where a thread was stopped. */
#define MIGRATE_MAX 8

struct pulp_site {
	const char *name;
	uint64_t entry;
	uint64_t body_hi;      /* end of the old function */
	uint64_t to;           /* the replacement's entry */
	uint8_t pad[PAD_LEN], entry_jmp[ENTRY_LEN];
	uint8_t saved_pad[PAD_LEN], saved_entry[ENTRY_LEN];
};

struct pulp_migration {
	uint64_t at;
	uint8_t saved;
};

struct pulp_state {
	const struct pv_engine *engine;
	bool migrate;          /* pc-migrate's defect */
	bool clobber;          /* stack-clobber's defect */
	bool keep;             /* replace-keep's defect */
	bool applied;
	struct pulp_state *below, *above; /* the stack, while applied */
	unsigned crashed0;     /* pulp-guard: crashed workers when apply ended */
	uint64_t progress;     /* pulp-guard: progress at the last monitor call */
	unsigned quiet;        /* pulp-guard: monitor calls without progress */
	size_t nmig;
	struct pulp_migration mig[MIGRATE_MAX];
	size_t nsites;
	struct pulp_site sites[];
};

static bool boundary_at(const struct pv_prologue *pr, unsigned off)
{
	for (size_t i = 0; pr->boundaries && i < pr->nboundaries; i++)
		if (pr->boundaries[i] == off)
			return true;
	return false;
}

static int pulp_plan_as(const struct pv_engine *e, bool migrate, bool clobber,
                        const struct pv_patch_desc *patch, void **state, struct pv_error *err);

static int pulp_plan_keep(const struct pv_engine *e, const struct pv_patch_desc *patch,
                          void **state, struct pv_error *err)
{
	int rc = pulp_plan_as(e, false, false, patch, state, err);
	if (!rc)
		((struct pulp_state *)*state)->keep = true;
	return rc;
}

static int pulp_plan_as(const struct pv_engine *e, bool migrate, bool clobber,
                        const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	*state = NULL;
	int rc = pv_eng_check_patch(e, patch, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		const struct pv_prologue *pr = &f->prologue;
		const char *name = f->old_name ? f->old_name : "?";
		if (pr->endbr64)
			return pv_eng_refuse(err, e, "%s starts with endbr64, which the short jmp at "
			                             "the entry would replace", name);
		if (pr->padding_before < PAD_LEN)
			return pv_eng_refuse(err, e, "%s has %u byte(s) of padding before its entry; "
			                             "libpulp's layout (-fpatchable-function-entry=16,14)"
			                             " has 14", name, pr->padding_before);
		if (f->old_size < ENTRY_LEN || !boundary_at(pr, ENTRY_LEN))
			return pv_eng_refuse(err, e, "the first 2 bytes of %s are not whole "
			                             "instructions (libpulp's entry is a 2-byte NOP)",
			                     name);
	}
	struct pulp_state *st = calloc(1, sizeof(*st) + patch->nfuncs * sizeof(st->sites[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->name);
	st->engine = e;
	st->migrate = migrate;
	st->clobber = clobber;
	st->nsites = patch->nfuncs;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		struct pulp_site *s = &st->sites[i];
		s->name = f->old_name ? f->old_name : "?";
		s->entry = f->old_addr;
		s->body_hi = f->old_addr + f->old_size;
		s->to = f->new_addr;
		static const uint8_t jmp_rip[6] = {0xff, 0x25, 0, 0, 0, 0};
		memcpy(s->pad, jmp_rip, sizeof(jmp_rip));
		for (unsigned b = 0; b < 8; b++)
			s->pad[6 + b] = (uint8_t)(f->new_addr >> (8 * b));
		s->entry_jmp[0] = 0xeb;
		s->entry_jmp[1] = (uint8_t)-(PAD_LEN + ENTRY_LEN);
	}
	*state = st;
	return 0;
}

static int pulp_plan(const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	return pulp_plan_as(&pv_engine_pulp, false, false, patch, state, err);
}

/* pc-migrate's defect: every stopped thread whose pc lies in an old body
 * (past the entry's short jmp) gets an int3 there that sends it to the
 * replacement's entry when it resumes. */
static int migrate_threads(struct pulp_state *st, struct pv_space *sp)
{
	struct pv_thread_info *th;
	size_t n;
	int rc = pv_eng_threads(sp, &th, &n);
	for (size_t t = 0; !rc && t < n; t++) {
		for (size_t i = 0; !rc && i < st->nsites; i++) {
			const struct pulp_site *s = &st->sites[i];
			uint64_t pc = th[t].pc;
			if (th[t].state == PV_THREAD_DONE || pc < s->entry + ENTRY_LEN || pc >= s->body_hi)
				continue;
			bool known = false;
			for (size_t m = 0; m < st->nmig && !known; m++)
				known = st->mig[m].at == pc;
			if (known || st->nmig == MIGRATE_MAX)
				continue;
			static const uint8_t int3 = 0xcc;
			struct pulp_migration *m = &st->mig[st->nmig];
			rc = pv_space_read(sp, pc, &m->saved, 1);
			if (!rc)
				rc = pv_space_trap_redirect(sp, pc, s->to);
			if (!rc)
				rc = pv_space_write(sp, pc, &int3, 1);
			if (!rc) {
				m->at = pc;
				st->nmig++;
			}
		}
	}
	free(th);
	return rc;
}

/* Takes the breakpoints out again (threads stopped): bytes first, then the
 * redirects, so no thread meets an int3 nobody handles. */
static int unmigrate(struct pulp_state *st, struct pv_space *sp)
{
	int rc = 0;
	for (size_t m = 0; !rc && m < st->nmig; m++)
		rc = pv_space_write(sp, st->mig[m].at, &st->mig[m].saved, 1);
	for (size_t m = 0; !rc && m < st->nmig; m++)
		rc = pv_space_trap_redirect(sp, st->mig[m].at, 0);
	if (!rc)
		st->nmig = 0;
	return rc;
}

/* 1 when a stopped thread is where the bytes about to change would catch
 * it: between the entry's bytes and, when reverting, in the padding (a
 * thread at the entry itself resumes on a whole instruction either way).
 * 0 when none, < 0 on a space error. */
static int caught_site(const struct pulp_site *s, struct pv_space *sp, bool reverting,
                       char *why, size_t whylen)
{
	unsigned id;
	int rc = pv_eng_pc_in(sp, s->entry + 1, s->entry + ENTRY_LEN, &id);
	if (!rc && reverting)
		rc = pv_eng_pc_in(sp, s->entry - PAD_LEN, s->entry, &id);
	if (rc > 0)
		snprintf(why, whylen, "thread %u is inside the bytes being rewritten at %s", id,
		         s->name);
	return rc;
}

static int caught(const struct pulp_state *st, struct pv_space *sp, bool reverting, char *why,
                  size_t whylen)
{
	for (size_t i = 0; i < st->nsites; i++) {
		int rc = caught_site(&st->sites[i], sp, reverting, why, whylen);
		if (rc)
			return rc;
	}
	return 0;
}

/* The nearest patch above st that replaces the function at entry, and its
 * site there; NULL when none does. */
static struct pulp_site *site_above(struct pulp_state *st, uint64_t entry)
{
	for (struct pulp_state *a = st->above; a; a = a->above)
		for (size_t i = 0; i < a->nsites; i++)
			if (a->sites[i].entry == entry)
				return &a->sites[i];
	return NULL;
}

static int write_all(struct pulp_state *st, struct pv_space *sp, bool reverting)
{
	int rc = reverting && st->migrate ? unmigrate(st, sp) : 0;
	if (!rc && reverting && st->above) {
		/* Out of order: hand the saved bytes up where a newer patch runs,
		 * put them back elsewhere; then leave the stack. */
		for (size_t i = 0; !rc && i < st->nsites; i++) {
			struct pulp_site *s = &st->sites[i], *up = site_above(st, s->entry);
			if (up) {
				memcpy(up->saved_pad, s->saved_pad, PAD_LEN);
				memcpy(up->saved_entry, s->saved_entry, ENTRY_LEN);
				continue;
			}
			rc = pv_space_write(sp, s->entry, s->saved_entry, ENTRY_LEN);
			if (!rc)
				rc = pv_space_write(sp, s->entry - PAD_LEN, s->saved_pad, PAD_LEN);
		}
		if (!rc) {
			rc = pv_space_sync_core(sp);
			if (rc == PV_EUNSUPPORTED)
				rc = 0;
		}
		return rc;
	}
	/* Apply: the padding before the entry that leads there; revert: the
	 * entry first, so nothing reaches the padding while it changes. */
	for (size_t i = 0; !rc && i < st->nsites; i++) {
		struct pulp_site *s = &st->sites[i];
		if (!reverting) {
			rc = pv_space_read(sp, s->entry - PAD_LEN, s->saved_pad, PAD_LEN);
			if (!rc)
				rc = pv_space_read(sp, s->entry, s->saved_entry, ENTRY_LEN);
			if (!rc)
				rc = pv_space_write(sp, s->entry - PAD_LEN, s->pad, PAD_LEN);
			if (!rc)
				rc = pv_space_write(sp, s->entry, s->entry_jmp, ENTRY_LEN);
		} else {
			rc = pv_space_write(sp, s->entry, s->saved_entry, ENTRY_LEN);
			if (!rc)
				rc = pv_space_write(sp, s->entry - PAD_LEN, s->saved_pad, PAD_LEN);
		}
	}
	if (!rc && !reverting && st->migrate)
		rc = migrate_threads(st, sp);
	/* stack-clobber's defect: its saved bytes (the patch below's jumps)
	 * overwrite the originals the patch below kept. */
	for (size_t i = 0; !rc && !reverting && st->clobber && st->below && i < st->nsites; i++)
		for (size_t k = 0; k < st->below->nsites; k++)
			if (st->below->sites[k].entry == st->sites[i].entry) {
				memcpy(st->below->sites[k].saved_pad, st->sites[i].saved_pad, PAD_LEN);
				memcpy(st->below->sites[k].saved_entry, st->sites[i].saved_entry,
				       ENTRY_LEN);
			}
	if (!rc) {
		rc = pv_space_sync_core(sp);
		if (rc == PV_EUNSUPPORTED)
			rc = 0;
	}
	return rc;
}

static int pulp_switch(struct pulp_state *st, struct pv_space *sp, bool reverting,
                       struct pv_error *err)
{
	const char *name = st->engine->name;
	const char *verb = reverting ? "revert" : "apply";
	char why[160] = "";
	for (unsigned attempt = 0; attempt < ATTEMPTS; attempt++) {
		int rc;
		if (attempt && (rc = pv_space_advance(sp, attempt)) && rc != PV_EUNSUPPORTED)
			return pv_error_set(err, rc, "%s: %s: letting the threads run failed: %s", name,
			                    verb, pv_strerror(rc));
		if ((rc = pv_space_stop_all(sp)))
			return pv_error_set(err, rc, "%s: %s: cannot stop the threads: %s", name, verb,
			                    pv_strerror(rc));
		int busy = caught(st, sp, reverting, why, sizeof(why));
		if (!busy)
			rc = write_all(st, sp, reverting);
		int rrc = pv_space_resume_all(sp);
		if (busy < 0 || rc || rrc)
			return pv_error_set(err, busy < 0 ? busy : rc ? rc : rrc, "%s: %s failed: %s",
			                    name, verb, pv_strerror(busy < 0 ? busy : rc ? rc : rrc));
		if (!busy) {
			st->applied = !reverting;
			if (reverting) { /* leave the stack */
				if (st->above)
					st->above->below = st->below;
				if (st->below)
					st->below->above = st->above;
				st->above = st->below = NULL;
			} else if (st->below) {
				st->below->above = st;
			}
			return 0;
		}
	}
	return pv_error_set(err, PV_EBUSY, "%s: %s gave up after %u attempts, target unchanged: "
	                                   "%s", name, verb, ATTEMPTS, why);
}

static int pulp_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct pulp_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "pulp: apply without a plan or a space");
	st->applied = false;
	st->nmig = 0;
	st->below = st->above = NULL;
	int rc = pulp_switch(st, sp, false, err);
	struct pv_health h = {.sz = sizeof(h)};
	st->quiet = 0;
	if (!rc && !pv_space_health(sp, &h)) {
		st->crashed0 = h.crashed;
		st->progress = h.progress;
	}
	return rc;
}

static int pulp_apply_on_top(void *state, void *below, struct pv_space *sp,
                             struct pv_error *err)
{
	struct pulp_state *st = state, *bl = below;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "pulp: apply without a plan or a space");
	if (bl && (bl->engine != st->engine || !bl->applied || bl->above || bl == st))
		return pv_error_set(err, PV_ESTATE, "%s: the patch below is not the applied top "
		                                    "of this engine's stack", st->engine->name);
	st->applied = false;
	st->nmig = 0;
	st->above = NULL;
	st->below = bl;
	int rc = pulp_switch(st, sp, false, err);
	if (rc)
		st->below = NULL;
	return rc;
}

/* ---------------------------------------------------------- cumulative replace */

/* The site at entry of st, NULL when st does not replace that function. */
static struct pulp_site *site_at(struct pulp_state *st, uint64_t entry)
{
	for (size_t i = 0; i < st->nsites; i++)
		if (st->sites[i].entry == entry)
			return &st->sites[i];
	return NULL;
}

/* The oldest of below[] that replaces the function at entry: its saved
 * bytes are the original ones. NULL when none does. */
static struct pulp_site *site_bottom(struct pulp_state *const *below, size_t nbelow,
                                     uint64_t entry)
{
	for (size_t b = 0; b < nbelow; b++) {
		struct pulp_site *s = site_at(below[b], entry);
		if (s)
			return s;
	}
	return NULL;
}

/* With every thread stopped: a thread between the bytes about to change
 * (P's entries; entries and padding of the older patches' sites that go
 * back to the original) holds the replace up. */
static int replace_caught(struct pulp_state *st, struct pulp_state *const *below,
                          size_t nbelow, struct pv_space *sp, char *why, size_t whylen)
{
	int rc = caught(st, sp, false, why, whylen);
	for (size_t b = 0; !rc && b < nbelow; b++)
		for (size_t i = 0; !rc && i < below[b]->nsites; i++)
			if (!site_at(st, below[b]->sites[i].entry))
				rc = caught_site(&below[b]->sites[i], sp, true, why, whylen);
	return rc;
}

/* P's redirects written over whatever runs now, with the original bytes
 * (the bottom-most saved ones) kept for its revert; the functions only the
 * older patches replaced get their original bytes back (entry first). */
static int replace_write(struct pulp_state *st, struct pulp_state *const *below, size_t nbelow,
                         struct pv_space *sp)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < st->nsites; i++) {
		struct pulp_site *s = &st->sites[i], *bottom = site_bottom(below, nbelow, s->entry);
		if (bottom) {
			memcpy(s->saved_pad, bottom->saved_pad, PAD_LEN);
			memcpy(s->saved_entry, bottom->saved_entry, ENTRY_LEN);
		} else {
			rc = pv_space_read(sp, s->entry - PAD_LEN, s->saved_pad, PAD_LEN);
			if (!rc)
				rc = pv_space_read(sp, s->entry, s->saved_entry, ENTRY_LEN);
		}
		/* Over a live redirect the entry already leads to the padding:
		 * the padding's address is what changes. */
		if (!rc)
			rc = pv_space_write(sp, s->entry - PAD_LEN, s->pad, PAD_LEN);
		if (!rc)
			rc = pv_space_write(sp, s->entry, s->entry_jmp, ENTRY_LEN);
	}
	/* replace-keep's defect: the older patches' other redirects stay. */
	for (size_t b = 0; !rc && !st->keep && b < nbelow; b++)
		for (size_t i = 0; !rc && i < below[b]->nsites; i++) {
			const struct pulp_site *o = &below[b]->sites[i];
			if (site_at(st, o->entry) || site_bottom(below, b, o->entry))
				continue; /* P's now, or restored with an older patch's */
			rc = pv_space_write(sp, o->entry, o->saved_entry, ENTRY_LEN);
			if (!rc)
				rc = pv_space_write(sp, o->entry - PAD_LEN, o->saved_pad, PAD_LEN);
		}
	if (!rc) {
		rc = pv_space_sync_core(sp);
		if (rc == PV_EUNSUPPORTED)
			rc = 0;
	}
	return rc;
}

static int pulp_apply_replace(void *state, void *const *below_v, size_t nbelow,
                              struct pv_space *sp, struct pv_error *err)
{
	struct pulp_state *st = state;
	if (!st || !sp || (nbelow && !below_v))
		return pv_error_set(err, PV_EINVAL, "pulp: replace without a plan or a space");
	const char *name = st->engine->name;
	if (nbelow > 64)
		return pv_error_set(err, PV_EINVAL, "%s: replace over %zu patches; at most 64",
		                    name, nbelow);
	struct pulp_state *below[64];
	for (size_t b = 0; b < nbelow; b++) {
		below[b] = below_v[b];
		if (!below[b] || below[b]->engine != st->engine || !below[b]->applied ||
		    below[b] == st)
			return pv_error_set(err, PV_ESTATE, "%s: patch %zu of the stack to replace is "
			                                    "not applied by this engine", name, b + 1);
	}
	if (!nbelow)
		return pulp_apply(st, sp, err);
	st->applied = false;
	st->nmig = 0;
	st->below = st->above = NULL;
	char why[160] = "";
	for (unsigned attempt = 0; attempt < ATTEMPTS; attempt++) {
		int rc;
		if (attempt && (rc = pv_space_advance(sp, attempt)) && rc != PV_EUNSUPPORTED)
			return pv_error_set(err, rc, "%s: replace: letting the threads run failed: %s",
			                    name, pv_strerror(rc));
		if ((rc = pv_space_stop_all(sp)))
			return pv_error_set(err, rc, "%s: replace: cannot stop the threads: %s", name,
			                    pv_strerror(rc));
		int busy = replace_caught(st, below, nbelow, sp, why, sizeof(why));
		if (!busy)
			rc = replace_write(st, below, nbelow, sp);
		int rrc = pv_space_resume_all(sp);
		if (busy < 0 || rc || rrc)
			return pv_error_set(err, busy < 0 ? busy : rc ? rc : rrc, "%s: replace failed: %s",
			                    name, pv_strerror(busy < 0 ? busy : rc ? rc : rrc));
		if (busy)
			continue;
		for (size_t b = 0; b < nbelow; b++) {
			below[b]->applied = false;
			below[b]->above = below[b]->below = NULL;
		}
		st->applied = true;
		struct pv_health h = {.sz = sizeof(h)};
		st->quiet = 0;
		if (!pv_space_health(sp, &h)) {
			st->crashed0 = h.crashed;
			st->progress = h.progress;
		}
		return 0;
	}
	return pv_error_set(err, PV_EBUSY, "%s: replace gave up after %u attempts, target "
	                                   "unchanged: %s", name, ATTEMPTS, why);
}

static int pulp_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct pulp_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "pulp: revert without a plan or a space");
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "%s: revert before a successful apply",
		                    st->engine->name);
	return pulp_switch(st, sp, true, err);
}

static void pulp_release(void *state)
{
	free(state);
}

const struct pv_engine pv_engine_pulp = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "pulp",
	.description = "With every thread stopped, writes `jmp *0(%rip)` and the replacement's "
	               "address into the 14 NOP bytes before each entry and a short jmp back to "
	               "them over the entry's 2-byte NOP (libpulp, SUSE's user-space live "
	               "patching, on -fpatchable-function-entry=16,14 targets).",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = pulp_plan,
	.apply = pulp_apply,
	.revert = pulp_revert,
	.release = pulp_release,
	.flags = PV_ENGINE_STACKS | PV_ENGINE_REPLACES,
	.apply_on_top = pulp_apply_on_top,
	.apply_replace = pulp_apply_replace,
};

static int pc_migrate_plan(const struct pv_patch_desc *patch, void **state,
                           struct pv_error *err)
{
	return pulp_plan_as(&pv_engine_pc_migrate, true, false, patch, state, err);
}

const struct pv_engine pv_engine_pc_migrate = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "pc-migrate",
	.description = "pulp, but every thread stopped inside an old function's body is moved "
	               "to the replacement's entry (an int3 at its pc, redirected) instead of "
	               "finishing its call in old code.",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = pc_migrate_plan,
	.apply = pulp_apply,
	.revert = pulp_revert,
	.release = pulp_release,
};

static int stack_clobber_plan(const struct pv_patch_desc *patch, void **state,
                              struct pv_error *err)
{
	return pulp_plan_as(&pv_engine_stack_clobber, false, true, patch, state, err);
}

const struct pv_engine pv_engine_stack_clobber = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "stack-clobber",
	.description = "pulp, but a patch applied over another overwrites the original bytes "
	               "the one below saved with the jumps it found there, so the last revert "
	               "restores the first patch's code instead of the original.",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = stack_clobber_plan,
	.apply = pulp_apply,
	.revert = pulp_revert,
	.release = pulp_release,
	.flags = PV_ENGINE_STACKS,
	.apply_on_top = pulp_apply_on_top,
};

static int replace_keep_plan(const struct pv_patch_desc *patch, void **state,
                             struct pv_error *err)
{
	return pulp_plan_keep(&pv_engine_replace_keep, patch, state, err);
}

const struct pv_engine pv_engine_replace_keep = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "replace-keep",
	.description = "pulp, but a cumulative replace leaves the older patches' redirects on "
	               "the functions the new patch does not replace, so an older patch keeps "
	               "running there instead of the original.",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = replace_keep_plan,
	.apply = pulp_apply,
	.revert = pulp_revert,
	.release = pulp_release,
	.flags = PV_ENGINE_STACKS | PV_ENGINE_REPLACES,
	.apply_on_top = pulp_apply_on_top,
	.apply_replace = pulp_apply_replace,
};

static int pulp_guard_plan(const struct pv_patch_desc *patch, void **state,
                           struct pv_error *err)
{
	return pulp_plan_as(&pv_engine_pulp_guard, false, false, patch, state, err);
}

#define STALL_CALLS 3

/* A worker died since apply, or none makes progress: revert (all threads
 * stopped, as revert does).
 * A revert that has to wait (PV_EBUSY) is tried again at the next call. */
static int pulp_guard_monitor(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct pulp_state *st = state;
	struct pv_health h = {.sz = sizeof(h)};
	int rc = pv_space_health(sp, &h);
	if (rc)
		return pv_error_set(err, rc, "%s: cannot read the target's health: %s",
		                    st->engine->name, pv_strerror(rc));
	/* A stall: no progress over 3 calls while workers are still at it. */
	st->quiet = h.progress == st->progress ? st->quiet + 1 : 0;
	st->progress = h.progress;
	bool stalled = st->quiet >= STALL_CALLS && h.crashed + h.finished < h.threads;
	if (!st->applied || (h.crashed <= st->crashed0 && !stalled))
		return 0;
	pv_space_note(sp, stalled ? "pulp-guard: no progress since apply; rolling back"
	                          : "pulp-guard: a worker died since apply; rolling back");
	rc = pulp_switch(st, sp, true, err);
	return rc == PV_EBUSY ? 0 : rc ? rc : 1;
}

const struct pv_engine pv_engine_pulp_guard = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "pulp-guard",
	.description = "pulp with a health monitor that reverts the patch on its own when a "
	               "worker dies or the workers stop making progress after apply (the "
	               "automatic rollback of fleet orchestration on top of libpulp).",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = pulp_guard_plan,
	.apply = pulp_apply,
	.revert = pulp_revert,
	.release = pulp_release,
	.flags = PV_ENGINE_STACKS | PV_ENGINE_AUTO_ROLLBACK,
	.apply_on_top = pulp_apply_on_top,
	.monitor = pulp_guard_monitor,
	.rollback_bound = 40,
};
