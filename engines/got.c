/* got: redirection through the global offset table, as user-space
 * patchers that interpose on dynamic symbols do (LD_PRELOAD interposition,
 * PLT hooking as in Facebook's plthook and in ELF hot-patching tools). Each
 * GOT slot that leads to a replaced function gets the replacement's address
 * with one atomic 8-byte store, so a call through it reads the old or the
 * new pointer, never a mix, and runs one whole function (consistency
 * `call`). No code changes and no thread is stopped.
 *
 * Calls that do not go through the GOT (a static target, a call inside the
 * same object, a function pointer taken earlier) still reach the old code:
 * the engine refuses a function without a slot, and on a target that has
 * one slot but also direct calls the `ineffective` check catches it. */
#include "strategies.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common.h"

#define SLOT_LEN 8

struct got_entry {
	uint64_t addr;
	uint64_t to;
	uint64_t saved;
};

struct got_state {
	const struct pv_engine *engine;
	bool applied;
	size_t n;
	struct got_entry slots[];
};

static int got_plan(const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	const struct pv_engine *e = &pv_engine_got;
	*state = NULL;
	int rc = pv_eng_check_patch(e, patch, err);
	if (rc)
		return rc;
	bool described = patch->sz >= offsetof(struct pv_patch_desc, ngot_slots) + sizeof(size_t);
	size_t n = described && patch->got_slots ? patch->ngot_slots : 0;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const char *name = patch->funcs[i].old_name ? patch->funcs[i].old_name : "?";
		bool found = false;
		for (size_t k = 0; k < n && !found; k++)
			found = patch->got_slots[k].func == i;
		if (!found)
			return pv_eng_refuse(err, e, "the target has no GOT slot for %s (%s): its calls "
			                             "are direct, and a GOT redirect would change nothing",
			                     name, described ? "a static target, or one that never "
			                                       "calls it through the PLT"
			                                     : "the harness describes no GOT");
	}
	for (size_t k = 0; k < n; k++)
		if (patch->got_slots[k].func >= patch->nfuncs || patch->got_slots[k].addr % SLOT_LEN)
			return pv_error_set(err, PV_EINVAL, "%s: GOT slot %zu (0x%llx) is not an aligned "
			                                    "slot of a replaced function", e->name, k,
			                    (unsigned long long)patch->got_slots[k].addr);
	struct got_state *st = calloc(1, sizeof(*st) + n * sizeof(st->slots[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->name);
	st->engine = e;
	st->n = n;
	for (size_t k = 0; k < n; k++) {
		st->slots[k].addr = patch->got_slots[k].addr;
		st->slots[k].to = patch->funcs[patch->got_slots[k].func].new_addr;
	}
	*state = st;
	return 0;
}

static int got_apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct got_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "got: apply without a plan or a space");
	st->applied = false;
	for (size_t k = 0; k < st->n; k++) {
		struct got_entry *g = &st->slots[k];
		int rc = pv_space_read(sp, g->addr, &g->saved, SLOT_LEN);
		if (!rc)
			rc = pv_space_store_atomic(sp, g->addr, g->to, SLOT_LEN);
		if (rc) {
			for (size_t j = 0; j < k; j++)
				pv_space_store_atomic(sp, st->slots[j].addr, st->slots[j].saved, SLOT_LEN);
			return pv_error_set(err, rc, "%s: cannot redirect the GOT slot at 0x%llx: %s",
			                    st->engine->name, (unsigned long long)g->addr,
			                    pv_strerror(rc));
		}
	}
	st->applied = true;
	return 0;
}

static int got_revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct got_state *st = state;
	if (!st || !sp)
		return pv_error_set(err, PV_EINVAL, "got: revert without a plan or a space");
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "%s: revert before a successful apply",
		                    st->engine->name);
	for (size_t k = 0; k < st->n; k++) {
		int rc = pv_space_store_atomic(sp, st->slots[k].addr, st->slots[k].saved, SLOT_LEN);
		if (rc)
			return pv_error_set(err, rc, "%s: cannot restore the GOT slot at 0x%llx: %s",
			                    st->engine->name, (unsigned long long)st->slots[k].addr,
			                    pv_strerror(rc));
	}
	st->applied = false;
	return 0;
}

static void got_release(void *state)
{
	free(state);
}

const struct pv_engine pv_engine_got = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "got",
	.description = "Points each GOT slot that leads to a replaced function at its "
	               "replacement with one atomic 8-byte store, without stopping threads or "
	               "changing code (PLT/GOT interposition, as plthook-style user-space "
	               "patchers do); direct calls keep reaching the old code.",
	.consistency = PV_CONSISTENCY_CALL,
	.plan = got_plan,
	.apply = got_apply,
	.revert = got_revert,
	.release = got_release,
};
