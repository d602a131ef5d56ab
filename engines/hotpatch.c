/* hotpatch-pad: Windows hot patching (the /hotpatch and /FUNCTIONPADMIN
 * layout, Microsoft 2003+). Every patchable function starts with an
 * instruction of at least 2 bytes and has at least 5 bytes of padding before
 * its entry. The engine writes `jmp rel32` to the replacement into the
 * padding, where no thread ever runs, then turns the entry into `jmp rel8`
 * back to that jmp with one atomic aligned 2-byte store. No thread is
 * stopped: a thread at the entry executes either the whole old first
 * instruction or the whole short jmp, and no thread can be inside the
 * first instruction. Each call runs wholly old or wholly new code
 * (consistency `call`); a thread already inside the old function finishes
 * it there.
 *
 * Revert stores the original 2 bytes atomically, then puts the padding back
 * with the threads stopped and none about to execute the long jmp. */
#include "strategies.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define SHORT_LEN 2
#define ATTEMPTS 20

struct hp_site {
	const char *name;
	uint64_t entry;        /* the 2-byte store goes here */
	uint64_t pad;          /* entry - 5: the long jmp */
	uint8_t jmp[PV_ENG_JMP_LEN];
	uint8_t saved_pad[PV_ENG_JMP_LEN];
	uint16_t saved_entry;  /* the first 2 bytes, little endian */
	uint16_t short_jmp;    /* eb f9 */
};

struct hp_state {
	const struct pv_engine *engine;
	bool applied;
	size_t nsites;
	struct hp_site sites[];
};

static int hp_plan(const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	const struct pv_engine *e = &pv_engine_hotpatch_pad;
	*state = NULL;
	int rc = pv_eng_check_patch(e, patch, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		const struct pv_prologue *pr = &f->prologue;
		const char *name = f->old_name ? f->old_name : "?";
		/* Indirect calls under CET must still land on endbr64. */
		if (pr->endbr64)
			return pv_eng_refuse(err, e, "%s starts with endbr64, which a short jmp at "
			                             "the entry would replace", name);
		if (pr->first_insn_len < SHORT_LEN)
			return pv_eng_refuse(err, e, "the first instruction of %s is %u byte(s): a "
			                             "thread may be between the instructions the "
			                             "2-byte store would change (hot patching needs "
			                             "a first instruction of at least 2 bytes)",
			                     name, pr->first_insn_len);
		if (pr->padding_before < PV_ENG_JMP_LEN)
			return pv_eng_refuse(err, e, "%s has %u byte(s) of padding before its entry; "
			                             "the long jmp needs 5", name, pr->padding_before);
		if (f->old_addr % SHORT_LEN)
			return pv_eng_refuse(err, e, "the entry of %s (0x%llx) is not 2-byte aligned, "
			                             "so no single atomic store can change its first "
			                             "2 bytes", name, (unsigned long long)f->old_addr);
		if (!pv_eng_rel32_reaches(f->old_addr, f->new_addr))
			return pv_eng_refuse(err, e, "the replacement of %s is out of a jmp rel32's "
			                             "reach (more than 2 GiB away)", name);
	}
	struct hp_state *st = calloc(1, sizeof(*st) + patch->nfuncs * sizeof(st->sites[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->name);
	st->engine = e;
	st->nsites = patch->nfuncs;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		struct hp_site *s = &st->sites[i];
		s->name = f->old_name ? f->old_name : "?";
		s->entry = f->old_addr;
		s->pad = f->old_addr - PV_ENG_JMP_LEN;
		pv_eng_jmp_rel32(s->jmp, s->pad, f->new_addr);
		/* jmp rel8 from entry + 2 back to entry - 5: -7. */
		s->short_jmp = 0xeb | (uint16_t)((uint8_t)-(PV_ENG_JMP_LEN + SHORT_LEN) << 8);
	}
	*state = st;
	return 0;
}

static int sync(struct pv_space *sp)
{
	int rc = pv_space_sync_core(sp);
	return rc == PV_EUNSUPPORTED ? 0 : rc;
}

/* Puts site i's padding back; the threads are stopped and none is at the
 * long jmp. */
static int restore_pad(struct pv_space *sp, const struct hp_site *s)
{
	int rc = pv_space_write(sp, s->pad, s->saved_pad, PV_ENG_JMP_LEN);
	return rc ? rc : sync(sp);
}

static int hp_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct hp_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "hotpatch-pad: apply without a plan or a space");
	const char *name = st->engine->name;
	st->applied = false;
	for (size_t i = 0; i < st->nsites; i++) {
		struct hp_site *s = &st->sites[i];
		uint8_t entry[SHORT_LEN];
		int rc = pv_space_read(sp, s->pad, s->saved_pad, PV_ENG_JMP_LEN);
		if (!rc)
			rc = pv_space_read(sp, s->entry, entry, SHORT_LEN);
		if (rc)
			return pv_error_set(err, rc, "%s: cannot read the entry of %s: %s", name,
			                    s->name, pv_strerror(rc));
		s->saved_entry = (uint16_t)(entry[0] | entry[1] << 8);
		/* The padding first: nothing runs there until the entry says so. */
		if ((rc = pv_space_write(sp, s->pad, s->jmp, PV_ENG_JMP_LEN)) || (rc = sync(sp)) ||
		    (rc = pv_space_store_atomic(sp, s->entry, s->short_jmp, SHORT_LEN)) ||
		    (rc = sync(sp))) {
			/* Sites before i are live: put every one back as it was. */
			for (size_t j = 0; j < i; j++)
				pv_space_store_atomic(sp, st->sites[j].entry, st->sites[j].saved_entry,
				                      SHORT_LEN);
			return pv_error_set(err, rc, "%s: cannot patch %s at 0x%llx: %s", name, s->name,
			                    (unsigned long long)s->entry, pv_strerror(rc));
		}
	}
	st->applied = true;
	return 0;
}

/* With every entry restored: stops the threads until none is at a long
 * jmp, then puts the padding back. 1 when it gave up, 0 done, < 0 error. */
static int restore_pads(struct hp_state *st, struct pv_space *sp, char *why, size_t whylen)
{
	for (unsigned attempt = 0; attempt < ATTEMPTS; attempt++) {
		int rc;
		if (attempt && (rc = pv_space_advance(sp, attempt)) && rc != PV_EUNSUPPORTED)
			return rc;
		if ((rc = pv_space_stop_all(sp)))
			return rc;
		bool busy = false;
		for (size_t i = 0; !rc && !busy && i < st->nsites; i++) {
			unsigned id;
			rc = pv_eng_pc_in(sp, st->sites[i].pad, st->sites[i].entry, &id);
			if (rc == 1) {
				snprintf(why, whylen, "thread %u is at the long jmp before %s", id,
				         st->sites[i].name);
				busy = true;
				rc = 0;
			}
		}
		for (size_t i = 0; !rc && !busy && i < st->nsites; i++)
			rc = restore_pad(sp, &st->sites[i]);
		int rrc = pv_space_resume_all(sp);
		if (rc || rrc)
			return rc ? rc : rrc;
		if (!busy)
			return 0;
	}
	return 1;
}

static int hp_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct hp_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "hotpatch-pad: revert without a plan or a space");
	const char *name = st->engine->name;
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "%s: revert before a successful apply", name);
	int rc = 0;
	for (size_t i = 0; !rc && i < st->nsites; i++)
		rc = pv_space_store_atomic(sp, st->sites[i].entry, st->sites[i].saved_entry,
		                           SHORT_LEN);
	if (!rc)
		rc = sync(sp);
	if (rc)
		return pv_error_set(err, rc, "%s: cannot restore an entry: %s", name, pv_strerror(rc));
	char why[160] = "";
	rc = restore_pads(st, sp, why, sizeof(why));
	if (rc < 0)
		return pv_error_set(err, rc, "%s: revert: %s", name, pv_strerror(rc));
	if (rc > 0) {
		/* Back to the applied state, so that "gave up" means unchanged. */
		for (size_t i = 0; i < st->nsites; i++)
			pv_space_store_atomic(sp, st->sites[i].entry, st->sites[i].short_jmp, SHORT_LEN);
		sync(sp);
		return pv_error_set(err, PV_EBUSY, "%s: revert gave up after %u attempts, the patch "
		                                   "stays applied: %s", name, ATTEMPTS, why);
	}
	st->applied = false;
	return 0;
}

static void hp_release(void *state)
{
	free(state);
}

const struct pv_engine pv_engine_hotpatch_pad = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "hotpatch-pad",
	.description = "Without stopping any thread, writes a jmp rel32 into the padding before "
	               "each entry, then one atomic aligned 2-byte store turns the entry's first "
	               "instruction into a short jmp back to it (Windows hot patching, "
	               "/hotpatch and /FUNCTIONPADMIN, Microsoft 2003).",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = hp_plan,
	.apply = hp_apply,
	.revert = hp_revert,
	.release = hp_release,
};
