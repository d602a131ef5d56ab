/* klp: Linux livepatch / kGraft (SUSE, 2014; upstream 4.0, 2015; per-task
 * consistency since 4.12, 2017) on targets with an fentry NOP at each
 * entry (gcc -pg -mfentry -mnop-mcount, the kernel's ftrace layout).
 *
 * The engine maps a trampoline near the target (one stub per replaced
 * function) that reads the calling thread's patch state from its thread
 * slot (pv_space_thread_slot: one address, per-thread contents, like %fs)
 * and jumps to the new function (state 1) or to the old body just after
 * the fentry NOP (state 0):
 *     movabs $slot, %r11 ; cmpq $0, (%r11) ; jne new ; jmp old+5
 * (r11 is a scratch register at every call). With the threads stopped, the
 * fentry NOP becomes `jmp trampoline`; since it is one 5-byte instruction,
 * a stopped thread is never inside it.
 *
 * The transition: every thread starts in state 0 and switches to 1 at a
 * safe point, i.e. when it is stopped and a reliable stack walk finds no
 * replaced function (and no trampoline) on its stack. The engine stops the
 * world, switches every thread that is at a safe point, lets the others run,
 * and tries again with growing waits; the transition ends when every live
 * thread has switched. A thread so runs only old code until it switches,
 * then only new code (consistency `thread`). Revert is the same transition
 * back to 0 (safe: no new function on the stack), then, with the threads
 * stopped, the NOP goes back, the engine waits until no thread is still
 * inside the trampoline, and unmaps it. An apply that cannot finish its
 * transition reverts what it did and gives up (PV_EBUSY).
 *
 * Stacking, as Linux keeps a func_stack per function whose top
 * entry the ftrace handler follows: a thread's slot holds its patch level,
 * the number of stacked patches whose transition it has completed. The
 * patch at level L (the L-th on the stack) redirects the fentry NOP to its
 * own stub, which compares the level with L:
 *     movabs $slot, %r11 ; cmpq $L, (%r11) ; jae new ; jmp below
 * where below is the stub of the nearest patch under it that replaces the
 * same function, or the old body. Its transition moves every thread from
 * L-1 to L, one safe point at a time, and its safe points also exclude the
 * version it supersedes (the replacement below, as klp_check_stack_func
 * does) and every stub of the stack. Its revert is the transition back to
 * L-1, then the NOP site gets back the bytes it held before (the jmp to the
 * stub below). Only the top patch may be reverted: one with another
 * applied over it is refused, target unchanged, as Linux 4.12 to 5.0 did
 * ("only the last enabled patch can be disabled", __klp_disable_patch).
 * Not modelled: the cumulative `replace` patch of Linux 5.1.
 *
 * Mutants, one defect each: no-stack-check (switches every thread at once,
 * wherever it is), free-early (unmaps the trampoline without waiting for
 * the threads inside it), leaky (never unmaps it), klp-stack-clobber (a
 * patch applied over another saves the fentry NOP the one below saved, not
 * the jmp to the stub below, so its revert unhooks the function while the
 * patch below is still applied), klp-stack-unhooked (a patch applied over
 * another leaves the site's jmp to the stub below, so its own stub is
 * never reached: only a dynamic check sees it, the stubs choosing by the
 * thread's slot at run time). */
#include "strategies.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define STUB_LEN 32
#define PAGE 4096u
#define SLOT 0
/* Rounds of the transition before apply gives up; revert and the cancel
 * of a failed apply try harder, since the target is mixed until they end. */
#define APPLY_ROUNDS 40
#define REVERT_ROUNDS 400
#define WAIT_MAX 16u
/* How far from a function its trampoline may land (map_near's promise is
 * 2 GiB; backends place it much closer). */
#define REACH_MARGIN (64ull << 20)

struct klp_flags {
	bool stack_check;   /* switch a thread only at a safe point */
	bool drain;         /* wait until no thread is in the trampoline before unmapping */
	bool unmap;         /* unmap the trampoline at all */
	bool clobber;       /* on top of another, save the NOP instead of the jmp below */
	bool keep_below;    /* on top of another, leave the site's jmp to the stub below */
};

struct klp_func {
	const char *name;
	char new_name[80];      /* "the replacement of NAME" */
	uint64_t site;          /* the fentry NOP */
	uint64_t old_lo, old_hi, new_lo, new_hi;
	uint8_t saved[PV_ENG_JMP_LEN];
};

struct klp_state {
	const struct pv_engine *engine;
	const struct klp_flags *flags;
	bool applied;
	struct klp_state *below, *above; /* the stack, while applied */
	unsigned level;             /* 1 + the patches below it */
	uint64_t tramp, tramp_len;  /* the mapping, 0 when none */
	uint64_t slot_addr;
	unsigned *tstate;           /* per thread id: 1 when at level, 0 at level - 1 */
	size_t ntstate;
	size_t nfuncs;
	struct klp_func funcs[];
};

/* ------------------------------------------------------------------ plan */

static int klp_plan(const struct pv_engine *e, const struct klp_flags *flags,
                    const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	*state = NULL;
	int rc = pv_eng_check_patch(e, patch, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		const char *name = f->old_name ? f->old_name : "?";
		const struct pv_prologue *pr = &f->prologue;
		if (!pr->fentry || pr->fentry_addr < f->old_addr)
			return pv_eng_refuse(err, e, "%s has no fentry NOP at its entry (klp patches "
			                             "through it: build with -pg -mfentry "
			                             "-mnop-mcount)", name);
		if (pr->fentry_addr + PV_ENG_JMP_LEN > f->old_addr + f->old_size)
			return pv_eng_refuse(err, e, "%s is too short for a 5-byte jmp (too-short)",
			                     name);
		/* The trampoline lies near the old function and must reach the new
		 * one with a rel32 branch too; the margin is its mapping area. */
		uint64_t dist = f->new_addr > f->old_addr ? f->new_addr - f->old_addr
		                                          : f->old_addr - f->new_addr;
		if (dist > INT32_MAX - REACH_MARGIN)
			return pv_eng_refuse(err, e, "the replacement of %s is out of reach of a "
			                             "trampoline near it (more than 2 GiB away)", name);
	}
	struct klp_state *st = calloc(1, sizeof(*st) + patch->nfuncs * sizeof(st->funcs[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->name);
	st->engine = e;
	st->flags = flags;
	st->nfuncs = patch->nfuncs;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		struct klp_func *k = &st->funcs[i];
		k->name = f->old_name ? f->old_name : "?";
		snprintf(k->new_name, sizeof(k->new_name), "the replacement of %s", k->name);
		k->site = f->prologue.fentry_addr;
		k->old_lo = f->old_addr;
		k->old_hi = f->old_addr + f->old_size;
		k->new_lo = f->new_addr;
		k->new_hi = f->new_addr + (f->new_size ? f->new_size : 1);
	}
	*state = st;
	return 0;
}

static void klp_release(void *state)
{
	struct klp_state *st = state;
	if (st)
		free(st->tstate);
	free(st);
}

/* ------------------------------------------------------------- trampoline */

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned b = 0; b < 4; b++)
		p[b] = (uint8_t)(v >> (8 * b));
}

/* The nearest patch under st that replaces k's function, and its index
 * there; NULL when none does. */
static const struct klp_state *under(const struct klp_state *st, const struct klp_func *k,
                                     size_t *idx)
{
	for (const struct klp_state *b = st->below; b; b = b->below)
		for (size_t i = 0; i < b->nfuncs; i++)
			if (b->funcs[i].site == k->site) {
				*idx = i;
				return b;
			}
	return NULL;
}

/* Where a thread below st's level goes from st's stub of k: the stub of the
 * patch under it, or the old body after the fentry NOP. */
static uint64_t below_of(const struct klp_state *st, const struct klp_func *k)
{
	size_t i;
	const struct klp_state *b = under(st, k, &i);
	return b ? b->tramp + i * STUB_LEN : k->site + PV_ENG_JMP_LEN;
}

/* The stub of function k at address at. 0, or PV_ERANGE when a branch does
 * not reach. */
static int stub(const struct klp_state *st, const struct klp_func *k, uint64_t at,
                uint8_t out[STUB_LEN])
{
	memset(out, 0xcc, STUB_LEN);
	out[0] = 0x49; /* movabs $slot, %r11 */
	out[1] = 0xbb;
	for (unsigned b = 0; b < 8; b++)
		out[2 + b] = (uint8_t)(st->slot_addr >> (8 * b));
	out[10] = 0x49; /* cmpq $level, (%r11) */
	out[11] = 0x83;
	out[12] = 0x3b;
	out[13] = (uint8_t)st->level;
	out[14] = 0x0f; /* jae new */
	out[15] = 0x83;
	uint64_t other = below_of(st, k);
	if (!pv_eng_rel32_reaches(at + 20, k->new_lo) || !pv_eng_rel32_reaches(at + 25, other))
		return PV_ERANGE;
	put32(out + 16, (uint32_t)(k->new_lo - (at + 20)));
	out[20] = 0xe9; /* jmp below: the stub of the patch under it, or old + 5 */
	put32(out + 21, (uint32_t)(other - (at + 25)));
	return 0;
}

static int map_trampoline(struct klp_state *st, struct pv_space *sp, struct pv_error *err)
{
	const char *name = st->engine->name;
	uint64_t len = (st->nfuncs * STUB_LEN + PAGE - 1) / PAGE * PAGE;
	uint64_t at;
	int rc = pv_space_thread_slot(sp, 0, SLOT, 0, &st->slot_addr);
	if (rc)
		return pv_error_set(err, rc, "%s: no per-thread slot: %s", name, pv_strerror(rc));
	rc = pv_space_map_near(sp, st->funcs[0].site, len, PV_PROT_READ | PV_PROT_WRITE, &at);
	if (rc)
		return pv_error_set(err, rc, "%s: cannot map a trampoline near %s: %s", name,
		                    st->funcs[0].name, pv_strerror(rc));
	st->tramp = at;
	st->tramp_len = len;
	for (size_t i = 0; !rc && i < st->nfuncs; i++) {
		uint8_t code[STUB_LEN];
		rc = stub(st, &st->funcs[i], at + i * STUB_LEN, code);
		if (rc == PV_ERANGE) {
			pv_error_set(err, rc, "%s: the trampoline at 0x%llx cannot reach %s or its "
			                      "replacement with a rel32 branch", name,
			             (unsigned long long)at, st->funcs[i].name);
			break;
		}
		if (!rc)
			rc = pv_space_write(sp, at + i * STUB_LEN, code, STUB_LEN);
	}
	if (!rc)
		rc = pv_space_protect(sp, at, len, PV_PROT_READ | PV_PROT_EXEC);
	if (rc) {
		if (!err->msg[0])
			pv_error_set(err, rc, "%s: cannot write the trampoline: %s", name,
			             pv_strerror(rc));
		pv_space_unmap(sp, at, len);
		st->tramp = 0;
	}
	return rc;
}

/* ------------------------------------------------------------- threads */

/* The patch state slot of thread id, grown on demand; NULL when out of memory. */
static unsigned *tstate_of(struct klp_state *st, unsigned id)
{
	if (id >= st->ntstate) {
		size_t n = (size_t)id + 16;
		unsigned *v = realloc(st->tstate, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + st->ntstate, 0, (n - st->ntstate) * sizeof(*v));
		st->tstate = v;
		st->ntstate = n;
	}
	return &st->tstate[id];
}

/* One round of the transition to `goal`, the threads stopped: switches
 * every live thread at a safe point. *left receives how many have not
 * switched (the reason for the first in why). 0 or a negative code. */
static int round_once(struct klp_state *st, struct pv_space *sp, unsigned goal, size_t *left,
                      char *why, size_t whylen)
{
	struct pv_thread_info *th;
	size_t n;
	int rc = pv_eng_threads(sp, &th, &n);
	if (rc)
		return rc;
	/* Unsafe: inside (or returning into) what the thread is leaving (going
	 * up, the version under this patch: the replacement below or the old
	 * function), or in a stub of the stack, where the choice may be made
	 * already. */
	size_t depth = 0;
	for (const struct klp_state *b = st; b; b = b->below)
		depth++;
	size_t nw = st->nfuncs + depth;
	struct pv_eng_window *w = calloc(nw, sizeof(*w));
	if (!w) {
		free(th);
		return PV_ENOMEM;
	}
	for (size_t i = 0; i < st->nfuncs; i++) {
		const struct klp_func *k = &st->funcs[i];
		size_t bi;
		const struct klp_state *b = under(st, k, &bi);
		if (!goal)
			w[i] = (struct pv_eng_window){k->new_lo, k->new_hi, k->new_name};
		else if (b)
			w[i] = (struct pv_eng_window){b->funcs[bi].new_lo, b->funcs[bi].new_hi,
			                              b->funcs[bi].new_name};
		else
			w[i] = (struct pv_eng_window){k->old_lo, k->old_hi, k->name};
	}
	size_t nwin = st->nfuncs;
	for (const struct klp_state *b = st; b; b = b->below)
		w[nwin++] = (struct pv_eng_window){b->tramp, b->tramp + b->tramp_len,
		                                   b == st ? "the trampoline"
		                                           : "the trampoline of a patch below"};
	*left = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		unsigned *ts = tstate_of(st, th[i].id);
		if (!ts) {
			rc = PV_ENOMEM;
			break;
		}
		if (th[i].state == PV_THREAD_DONE || *ts == goal)
			continue;
		char reason[160] = "";
		int busy = st->flags->stack_check
		                   ? pv_eng_thread_busy(sp, th[i].id, w, nw, reason, sizeof(reason))
		                   : 0;
		if (busy < 0) {
			rc = busy;
		} else if (busy) {
			if (!(*left)++)
				snprintf(why, whylen, "%s", reason);
		} else {
			uint64_t addr;
			rc = pv_space_thread_slot(sp, th[i].id, SLOT, st->level - 1 + goal, &addr);
			if (!rc)
				*ts = goal;
		}
	}
	free(w);
	free(th);
	return rc;
}

/* The whole transition to goal, at most `rounds` rounds. 0 when every live
 * thread is in goal, PV_EBUSY when some are not (why says which), or an
 * error. The threads run between rounds and when it returns. */
static int transition(struct klp_state *st, struct pv_space *sp, unsigned goal,
                      unsigned rounds, char *why, size_t whylen)
{
	for (unsigned r = 0; r < rounds; r++) {
		int rc;
		if (r) {
			unsigned wait = r < WAIT_MAX ? r : WAIT_MAX;
			if ((rc = pv_space_advance(sp, wait)) && rc != PV_EUNSUPPORTED)
				return rc;
		}
		if ((rc = pv_space_stop_all(sp)))
			return rc;
		size_t left = 0;
		rc = round_once(st, sp, goal, &left, why, whylen);
		int rrc = pv_space_resume_all(sp);
		if (rc || rrc)
			return rc ? rc : rrc;
		if (!left)
			return 0;
	}
	return PV_EBUSY;
}

/* ------------------------------------------------------------ the sites */

static int sync(struct pv_space *sp)
{
	int rc = pv_space_sync_core(sp);
	return rc == PV_EUNSUPPORTED ? 0 : rc;
}

/* With the threads stopped: every fentry NOP becomes `jmp stub`. */
static int redirect(struct klp_state *st, struct pv_space *sp)
{
	int rc = 0;
	size_t i;
	for (i = 0; !rc && i < st->nfuncs; i++) {
		struct klp_func *k = &st->funcs[i];
		uint8_t jmp[PV_ENG_JMP_LEN];
		uint64_t stub_at = st->tramp + i * STUB_LEN;
		if (!pv_eng_rel32_reaches(k->site + PV_ENG_JMP_LEN, stub_at))
			rc = PV_ERANGE;
		if (!rc)
			rc = pv_space_read(sp, k->site, k->saved, PV_ENG_JMP_LEN);
		/* klp-stack-clobber's defect: the NOP the patch below saved, not
		 * the jmp to its stub. */
		size_t bi;
		const struct klp_state *b = st->flags->clobber ? under(st, k, &bi) : NULL;
		if (b)
			memcpy(k->saved, b->funcs[bi].saved, PV_ENG_JMP_LEN);
		pv_eng_jmp_rel32(jmp, k->site, stub_at);
		/* klp-stack-unhooked's defect: a function already hooked (by the
		 * patch below) is taken as hooked for this patch too. */
		if (!rc && !(st->flags->keep_below && under(st, k, &bi)))
			rc = pv_space_write(sp, k->site, jmp, PV_ENG_JMP_LEN);
	}
	if (rc) /* the ones written before go back */
		for (size_t j = 0; j + 1 < i; j++)
			pv_space_write(sp, st->funcs[j].site, st->funcs[j].saved, PV_ENG_JMP_LEN);
	return rc ? rc : sync(sp);
}

/* Every live thread in state 0: the NOPs go back (threads stopped), the
 * trampoline empties, and it is unmapped. 0, PV_EBUSY (a thread stays in
 * the trampoline; it is left mapped) or an error. */
static int unhook(struct klp_state *st, struct pv_space *sp, char *why, size_t whylen)
{
	int rc = pv_space_stop_all(sp);
	for (size_t i = 0; !rc && i < st->nfuncs; i++)
		rc = pv_space_write(sp, st->funcs[i].site, st->funcs[i].saved, PV_ENG_JMP_LEN);
	if (!rc)
		rc = sync(sp);
	/* Nothing enters the trampoline any more; wait for those inside. */
	for (unsigned r = 0; !rc && st->flags->drain && r < REVERT_ROUNDS; r++) {
		unsigned id;
		int in = pv_eng_pc_in(sp, st->tramp, st->tramp + st->tramp_len, &id);
		if (in < 0)
			rc = in;
		if (in <= 0)
			break;
		snprintf(why, whylen, "thread %u is still in the trampoline", id);
		if ((rc = pv_space_resume_all(sp)) ||
		    ((rc = pv_space_advance(sp, 1)) && rc != PV_EUNSUPPORTED) ||
		    (rc = pv_space_stop_all(sp)))
			break;
		if (r + 1 == REVERT_ROUNDS)
			rc = PV_EBUSY;
	}
	if (!rc && st->flags->unmap) {
		rc = pv_space_unmap(sp, st->tramp, st->tramp_len);
		if (!rc)
			st->tramp = 0;
	}
	int rrc = pv_space_resume_all(sp);
	return rc ? rc : rrc;
}

/* ---------------------------------------------------------- apply/revert */

/* The trampoline, the redirects and the transition of st (level and below
 * set); undone when the transition cannot finish. */
static int apply_transition(struct klp_state *st, struct pv_space *sp, struct pv_error *err)
{
	const char *name = st->engine->name;
	int rc = map_trampoline(st, sp, err);
	if (rc)
		return rc;
	if ((rc = pv_space_stop_all(sp)) || (rc = redirect(st, sp))) {
		pv_space_resume_all(sp);
		pv_space_unmap(sp, st->tramp, st->tramp_len);
		st->tramp = 0;
		return pv_error_set(err, rc, "%s: cannot redirect the fentry NOPs: %s", name,
		                    pv_strerror(rc));
	}
	if ((rc = pv_space_resume_all(sp)))
		return pv_error_set(err, rc, "%s: cannot resume the threads: %s", name,
		                    pv_strerror(rc));
	char why[160] = "";
	rc = transition(st, sp, 1, st->flags->stack_check ? APPLY_ROUNDS : 1, why, sizeof(why));
	if (!rc) {
		st->applied = true;
		return 0;
	}
	if (rc != PV_EBUSY)
		return pv_error_set(err, rc, "%s: apply: the transition failed: %s", name,
		                    pv_strerror(rc));
	/* Give up cleanly: back to 0 everywhere, then unhook. */
	char why2[160] = "";
	int crc = transition(st, sp, 0, REVERT_ROUNDS, why2, sizeof(why2));
	if (!crc)
		crc = unhook(st, sp, why2, sizeof(why2));
	if (crc)
		return pv_error_set(err, crc == PV_EBUSY ? PV_ETIMEDOUT : crc,
		                    "%s: apply gave up (%s) and could not undo its transition: %s",
		                    name, why, crc == PV_EBUSY ? why2 : pv_strerror(crc));
	return pv_error_set(err, PV_EBUSY, "%s: apply gave up after %u rounds, target "
	                                   "unchanged: %s", name, APPLY_ROUNDS, why);
}

/* Apply st over bl (NULL: the first patch). */
static int apply_over(struct klp_state *st, struct klp_state *bl, struct pv_space *sp,
                      struct pv_error *err)
{
	/* Its own transition starts with every thread at the level below (a
	 * first patch: each run starts from a fresh target, no mapping). */
	st->applied = false;
	st->tramp = 0;
	st->above = NULL;
	st->below = bl;
	st->level = bl ? bl->level + 1 : 1;
	if (st->tstate)
		memset(st->tstate, 0, st->ntstate * sizeof(*st->tstate));
	int rc = apply_transition(st, sp, err);
	if (rc)
		st->below = NULL;
	else if (bl)
		bl->above = st;
	return rc;
}

static int klp_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct klp_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "klp engine: apply without a plan or a space");
	return apply_over(st, NULL, sp, err);
}

static int klp_apply_on_top(void *state, void *below, struct pv_space *sp,
                            struct pv_error *err)
{
	struct klp_state *st = state, *bl = below;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "klp engine: apply without a plan or a space");
	if (bl && (bl->engine != st->engine || !bl->applied || bl->above || bl == st))
		return pv_error_set(err, PV_ESTATE, "%s: the patch below is not the applied top "
		                                    "of this engine's stack", st->engine->name);
	/* The stub compares a level with a sign-extended 8-bit immediate. */
	if (bl && bl->level >= 100)
		return pv_error_set(err, PV_EREFUSED, "%s: %u patches are stacked already, the "
		                                      "most this engine supports", st->engine->name,
		                    bl->level);
	return apply_over(st, bl, sp, err);
}

static int klp_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct klp_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "klp engine: revert without a plan or a space");
	const char *name = st->engine->name;
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "%s: revert before a successful apply", name);
	if (st->above)
		return pv_error_set(err, PV_EREFUSED, "%s: another patch is applied over this one; "
		                                      "only the top patch of the stack can be "
		                                      "reverted (revert the newer ones first), "
		                                      "target unchanged", name);
	char why[160] = "";
	int rc = transition(st, sp, 0, st->flags->stack_check ? REVERT_ROUNDS : 1, why,
	                    sizeof(why));
	if (!rc)
		rc = unhook(st, sp, why, sizeof(why));
	if (rc)
		/* Threads are mixed or the trampoline is busy: no clean way back. */
		return pv_error_set(err, rc == PV_EBUSY ? PV_ETIMEDOUT : rc,
		                    "%s: revert could not finish: %s", name,
		                    rc == PV_EBUSY ? why : pv_strerror(rc));
	st->applied = false;
	if (st->below) /* leave the stack */
		st->below->above = NULL;
	st->below = NULL;
	return 0;
}

/* ---------------------------------------------------------------- engines */

static const struct klp_flags klp_flags = {.stack_check = true, .drain = true, .unmap = true};
static const struct klp_flags no_stack_check_flags = {.drain = true, .unmap = true};
static const struct klp_flags free_early_flags = {.stack_check = true, .unmap = true};
static const struct klp_flags leaky_flags = {.stack_check = true, .drain = true};
static const struct klp_flags stack_clobber_flags = {.stack_check = true, .drain = true,
                                                     .unmap = true, .clobber = true};
static const struct klp_flags stack_unhooked_flags = {.stack_check = true, .drain = true,
                                                      .unmap = true, .keep_below = true};

static int plan_klp(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return klp_plan(&pv_engine_klp, &klp_flags, p, s, err);
}

static int plan_no_stack_check(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return klp_plan(&pv_engine_no_stack_check, &no_stack_check_flags, p, s, err);
}

static int plan_free_early(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return klp_plan(&pv_engine_free_early, &free_early_flags, p, s, err);
}

static int plan_leaky(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return klp_plan(&pv_engine_leaky, &leaky_flags, p, s, err);
}

static int plan_stack_clobber(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return klp_plan(&pv_engine_klp_stack_clobber, &stack_clobber_flags, p, s, err);
}

static int plan_stack_unhooked(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return klp_plan(&pv_engine_klp_stack_unhooked, &stack_unhooked_flags, p, s, err);
}

const struct pv_engine pv_engine_klp = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "klp",
	.description = "Turns each fentry NOP into a jmp to a trampoline that picks the old or "
	               "the new function by the calling thread's patch state; each thread "
	               "switches when stopped with no replaced function on its stack, and the "
	               "transition ends when all have (Linux livepatch per-task consistency, "
	               "4.12, 2017; kGraft, SUSE 2014); patches stack, the top one is "
	               "reverted first.",
	.consistency = PV_CONSISTENCY_THREAD,
	.plan = plan_klp,
	.apply = klp_apply,
	.revert = klp_revert,
	.release = klp_release,
	.flags = PV_ENGINE_STACKS,
	.apply_on_top = klp_apply_on_top,
};

const struct pv_engine pv_engine_no_stack_check = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "no-stack-check",
	.description = "Mutant of klp: switches every thread's patch state at once, without "
	               "looking at its stack.",
	.consistency = PV_CONSISTENCY_THREAD,
	.plan = plan_no_stack_check,
	.apply = klp_apply,
	.revert = klp_revert,
	.release = klp_release,
};

const struct pv_engine pv_engine_free_early = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "free-early",
	.description = "Mutant of klp: revert unmaps the trampoline as soon as the fentry NOPs "
	               "are back, without waiting for threads still running in it.",
	.consistency = PV_CONSISTENCY_THREAD,
	.plan = plan_free_early,
	.apply = klp_apply,
	.revert = klp_revert,
	.release = klp_release,
};

const struct pv_engine pv_engine_leaky = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "leaky",
	.description = "Mutant of klp: revert never unmaps the trampoline.",
	.consistency = PV_CONSISTENCY_THREAD,
	.plan = plan_leaky,
	.apply = klp_apply,
	.revert = klp_revert,
	.release = klp_release,
};

const struct pv_engine pv_engine_klp_stack_clobber = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "klp-stack-clobber",
	.description = "Mutant of klp: a patch applied over another saves the fentry NOP the "
	               "one below saved instead of the jmp to its trampoline, so reverting the "
	               "top patch unhooks the function while the patch below is applied.",
	.consistency = PV_CONSISTENCY_THREAD,
	.plan = plan_stack_clobber,
	.apply = klp_apply,
	.revert = klp_revert,
	.release = klp_release,
	.flags = PV_ENGINE_STACKS,
	.apply_on_top = klp_apply_on_top,
};

const struct pv_engine pv_engine_klp_stack_unhooked = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "klp-stack-unhooked",
	.description = "Mutant of klp: a patch applied over another leaves the fentry site's "
	               "jmp to the stub below in place, so every call still reaches the patch "
	               "below once the threads have switched.",
	.consistency = PV_CONSISTENCY_THREAD,
	.plan = plan_stack_unhooked,
	.apply = klp_apply,
	.revert = klp_revert,
	.release = klp_release,
	.flags = PV_ENGINE_STACKS,
	.apply_on_top = klp_apply_on_top,
};
