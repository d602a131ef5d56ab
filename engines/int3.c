/* int3-live: the breakpoint protocol of Linux's text_poke_bp (x86, 2007+;
 * the cross-modifying-code rules of the Intel SDM, vol. 3, 8.1.3). Without
 * stopping any thread, a 5-byte instruction becomes `jmp rel32` to the
 * replacement in three steps, each made visible to every core with
 * sync_core before the next:
 *   1. int3 on its first byte; a thread that traps there is sent on to the
 *      replacement (trap_redirect), as if the jmp were already in place;
 *   2. the 4 tail bytes (no thread can start there: the int3 is in front);
 *   3. the first byte, 0xe9;
 * then the redirect is removed. Revert runs the same protocol with the
 * original bytes (a thread trapping meanwhile still gets the replacement, a
 * whole call of it). Each call runs wholly old or wholly new code
 * (consistency `call`).
 *
 * The protocol is only safe when those 5 bytes are one instruction: a
 * thread may be stopped between two instructions inside them, and no
 * breakpoint helps it. So the engine needs a 5-byte first instruction (the
 * fentry NOP, which is what the kernel patches this way) and refuses
 * anything else.
 *
 * no-sync is int3-live without any sync_core. */
#include "strategies.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define INT3 0xcc

struct int3_site {
	const char *name;
	uint64_t at;            /* the 5-byte instruction */
	uint64_t to;            /* the replacement */
	uint8_t jmp[PV_ENG_JMP_LEN];
	uint8_t saved[PV_ENG_JMP_LEN];
};

struct int3_state {
	const struct pv_engine *engine;
	bool sync;              /* sync_core between the steps (no-sync: false) */
	bool applied;
	size_t nsites;
	struct int3_site sites[];
};

/* Where the 5 bytes are: the fentry NOP, else the first instruction (after
 * endbr64, which indirect calls must still find). */
static unsigned site_offset(const struct pv_patch_func *f)
{
	if (f->prologue.fentry && f->prologue.fentry_addr >= f->old_addr)
		return (unsigned)(f->prologue.fentry_addr - f->old_addr);
	return pv_eng_site_offset(f);
}

/* The offset of an instruction start strictly inside (off, off + 5), or 0. */
static unsigned inner_boundary(const struct pv_prologue *pr, unsigned off)
{
	for (size_t i = 0; pr->boundaries && i < pr->nboundaries; i++)
		if (pr->boundaries[i] > off && pr->boundaries[i] < off + PV_ENG_JMP_LEN)
			return pr->boundaries[i];
	return 0;
}

static int int3_plan(const struct pv_engine *e, bool sync, const struct pv_patch_desc *patch,
                     void **state, struct pv_error *err)
{
	*state = NULL;
	int rc = pv_eng_check_patch(e, patch, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		const char *name = f->old_name ? f->old_name : "?";
		unsigned off = site_offset(f);
		if ((rc = pv_eng_check_jmp_site(e, f, off, err)))
			return rc;
		unsigned inner = inner_boundary(&f->prologue, off);
		if (inner || !f->prologue.nboundaries)
			return pv_eng_refuse(err, e, "an instruction of %s starts at +%u, inside the 5 "
			                             "bytes at +%u: a thread may be stopped between "
			                             "them, which no breakpoint protects (int3-live "
			                             "needs a 5-byte first instruction, such as the "
			                             "fentry NOP)", name, inner, off);
	}
	struct int3_state *st = calloc(1, sizeof(*st) + patch->nfuncs * sizeof(st->sites[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->name);
	st->engine = e;
	st->sync = sync;
	st->nsites = patch->nfuncs;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		struct int3_site *s = &st->sites[i];
		s->name = f->old_name ? f->old_name : "?";
		s->at = f->old_addr + site_offset(f);
		s->to = f->new_addr;
		pv_eng_jmp_rel32(s->jmp, s->at, s->to);
	}
	*state = st;
	return 0;
}

static int sync_step(const struct int3_state *st, struct pv_space *sp)
{
	if (!st->sync)
		return 0; /* no-sync's defect */
	int rc = pv_space_sync_core(sp);
	return rc == PV_EUNSUPPORTED ? 0 : rc;
}

/* The protocol for one site: its 5 bytes become `bytes`. */
static int poke(const struct int3_state *st, struct pv_space *sp, const struct int3_site *s,
                const uint8_t *bytes)
{
	static const uint8_t int3 = INT3;
	int rc = pv_space_trap_redirect(sp, s->at, s->to);
	if (!rc)
		rc = pv_space_write(sp, s->at, &int3, 1);
	if (!rc)
		rc = sync_step(st, sp);
	if (!rc)
		rc = pv_space_write(sp, s->at + 1, bytes + 1, PV_ENG_JMP_LEN - 1);
	if (!rc)
		rc = sync_step(st, sp);
	if (!rc)
		rc = pv_space_write(sp, s->at, bytes, 1);
	if (!rc)
		rc = sync_step(st, sp);
	/* Only now may nothing trap there any more. */
	int rrc = pv_space_trap_redirect(sp, s->at, 0);
	return rc ? rc : rrc;
}

static int int3_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct int3_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "int3 engine: apply without a plan or a space");
	const char *name = st->engine->name;
	st->applied = false;
	for (size_t i = 0; i < st->nsites; i++) {
		struct int3_site *s = &st->sites[i];
		int rc = pv_space_read(sp, s->at, s->saved, PV_ENG_JMP_LEN);
		bool touched = !rc;
		if (!rc)
			rc = poke(st, sp, s, s->jmp);
		if (rc) {
			/* Back to the original for every site touched. */
			for (size_t j = 0; j < i + touched; j++)
				poke(st, sp, &st->sites[j], st->sites[j].saved);
			return pv_error_set(err, rc, "%s: cannot patch %s at 0x%llx: %s", name, s->name,
			                    (unsigned long long)s->at, pv_strerror(rc));
		}
	}
	st->applied = true;
	return 0;
}

static int int3_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct int3_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "int3 engine: revert without a plan or a space");
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "%s: revert before a successful apply",
		                    st->engine->name);
	for (size_t i = 0; i < st->nsites; i++) {
		int rc = poke(st, sp, &st->sites[i], st->sites[i].saved);
		if (rc)
			return pv_error_set(err, rc, "%s: cannot restore %s at 0x%llx: %s",
			                    st->engine->name, st->sites[i].name,
			                    (unsigned long long)st->sites[i].at, pv_strerror(rc));
	}
	st->applied = false;
	return 0;
}

static void int3_release(void *state)
{
	free(state);
}

static int int3_live_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return int3_plan(&pv_engine_int3_live, true, p, s, err);
}

static int no_sync_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return int3_plan(&pv_engine_no_sync, false, p, s, err);
}

const struct pv_engine pv_engine_int3_live = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "int3-live",
	.description = "Without stopping any thread, turns a 5-byte entry instruction (the "
	               "fentry NOP) into a jmp rel32: int3 on its first byte (trapping threads "
	               "go on to the replacement), sync_core, the tail bytes, sync_core, the "
	               "first byte, sync_core (Linux text_poke_bp; Intel SDM cross-modifying "
	               "code).",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = int3_live_plan,
	.apply = int3_apply,
	.revert = int3_revert,
	.release = int3_release,
};

const struct pv_engine pv_engine_no_sync = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "no-sync",
	.description = "Mutant of int3-live: runs the breakpoint protocol without a single "
	               "sync_core between its steps.",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = no_sync_plan,
	.apply = int3_apply,
	.revert = int3_revert,
	.release = int3_release,
};
