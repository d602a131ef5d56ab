/* What an engine is: the thing under test, which plans, applies and reverts a
 * patch on a running target through a space (space.h).
 *
 * Engines come built in, as plugins (`--engine path/to/engine.so`: the shared
 * object exports PV_ENGINE_ENTRY_SYMBOL, a function returning its struct
 * pv_engine), or through the exec adapter. All of them see only this header,
 * space.h, patch.h and error.h.
 *
 * ABI: struct pv_engine and struct pv_patch_desc start with their own size;
 * members are only added at the end, and patchvet reads a member only when
 * the engine's `sz` covers it. An engine whose abi_version differs from
 * PV_ABI_VERSION is refused with a sentence naming both versions. */
#ifndef PATCHVET_ENGINE_H
#define PATCHVET_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>
#include <patchvet/space.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The consistency an engine guarantees; checks hold it to its claim. */
enum pv_consistency {
	PV_CONSISTENCY_NONE = 0,   /* no promise beyond the universal checks */
	PV_CONSISTENCY_CALL = 1,   /* every call runs wholly old or wholly new code */
	PV_CONSISTENCY_THREAD = 2, /* a thread runs only old code until it switches, at a
	                              safe point, to only new code (kGraft/klp) */
	PV_CONSISTENCY_GLOBAL = 3, /* all threads switch at one instant, none inside a
	                              replaced function (stop_machine, Ksplice) */
};

/* Facts about the first bytes of a function, from patchvet's analysis, so an
 * engine can plan without a disassembler of its own. */
struct pv_prologue {
	unsigned first_insn_len;   /* length of the first instruction, bytes */
	unsigned padding_before;   /* NOP/int3 bytes directly before the entry */
	int endbr64;               /* non-zero when the entry is endbr64 */
	int fentry;                /* non-zero when a 5-byte fentry NOP is at the entry
	                              (after endbr64, if any) */
	uint64_t fentry_addr;      /* address of that NOP, 0 when fentry is 0 */
	const uint8_t *boundaries; /* instruction start offsets within the first 32 bytes */
	size_t nboundaries;        /* number of entries in boundaries */
	unsigned hazards;          /* PV_HAZARD_* bits that apply to this function */
};

/* Hazard bits (the ids are `patchvet list checks`' analysis companions). */
#define PV_HAZARD_TOO_SHORT (1u << 0)             /* function smaller than a 5-byte jump */
#define PV_HAZARD_BRANCH_INTO_PROLOGUE (1u << 1)  /* a direct branch lands inside bytes 1..4 */
#define PV_HAZARD_RIP_RELATIVE_PROLOGUE (1u << 2) /* RIP-relative instruction starts in bytes 0..4 */
#define PV_HAZARD_DATA_LAYOUT_CHANGE (1u << 3)    /* patch changes the size of a target object */
#define PV_HAZARD_MISSING_FUNCTION (1u << 4)      /* a replaced function is not in the target */

/* One replacement, resolved against the running target. */
struct pv_patch_func {
	const char *old_name;      /* the target function being replaced */
	const char *new_name;      /* its replacement in the patch */
	uint64_t old_addr;         /* entry of the old function in the target */
	uint64_t old_size;         /* its size in bytes (from the symbol table) */
	uint64_t new_addr;         /* entry of the new function, patch image loaded */
	uint64_t new_size;         /* its size in bytes */
	struct pv_prologue prologue; /* analysis of the old function's entry */
};

/* A GOT (or PLT GOT) slot of a dynamic target: a pointer through which the
 * target calls a replaced function. */
struct pv_got_slot {
	size_t func;               /* index into pv_patch_desc.funcs */
	uint64_t addr;             /* the 8-byte slot, 8-byte aligned */
};

/* The patch as the harness prepared it: the patch image is already mapped
 * into the target and relocated; the engine only redirects execution. */
struct pv_patch_desc {
	size_t sz;                 /* sizeof(struct pv_patch_desc) of the harness */
	const char *path;          /* the patch file, for messages */
	const struct pv_patch_func *funcs; /* replacements, in table order */
	size_t nfuncs;             /* number of replacements */
	uint64_t image_addr;       /* where the patch image starts in the target */
	uint64_t image_size;       /* its size in bytes */
	unsigned hazards;          /* PV_HAZARD_* bits of the whole patch */
	/* Added after ABI 1's first release (read them only when sz covers
	 * them): the GOT slots that lead to replaced functions; none (NULL, 0)
	 * for a static target, whose calls are all direct. */
	const struct pv_got_slot *got_slots;
	size_t ngot_slots;
};

/* An engine. Instances are const and stateless; per-patch state lives in the
 * object that plan returns and release frees. */
struct pv_engine {
	/* sizeof(struct pv_engine) the engine was compiled with. */
	size_t sz;

	/* PV_ABI_VERSION the engine was compiled against. */
	unsigned abi_version;

	/* Short unique name, [a-z0-9-]+ ("ksplice", "naive-write"). */
	const char *name;

	/* One sentence: the strategy modelled, and where it was published. */
	const char *description;

	/* The consistency this engine guarantees (enum pv_consistency). */
	int consistency;

	/* Decides whether the engine can apply this patch and prepares its
	 * state (*state, owned by the engine until release). Must not touch
	 * the target. Returns 0, or PV_EREFUSED with the reason in err (the
	 * verdict becomes REFUSED, which is correct behaviour, not a failure),
	 * or another PV_E* code for a real error. */
	int (*plan)(const struct pv_patch_desc *patch, void **state, struct pv_error *err);

	/* Makes the target run the new functions, through the space only.
	 * Returns 0 when every replacement is live, PV_EBUSY (with err) when it
	 * gave up cleanly and the target is unchanged, or another code. */
	int (*apply)(void *state, struct pv_space *space, struct pv_error *err);

	/* Undoes apply: the target runs the original functions, every code byte
	 * equals the original, and the engine's own mappings are released. Same
	 * return convention as apply. */
	int (*revert)(void *state, struct pv_space *space, struct pv_error *err);

	/* Frees the state plan made. Never touches the target. May be NULL
	 * when plan allocates nothing. */
	void (*release)(void *state);

	/* Added after ABI 1's first release (patch lifecycles); read only when
	 * sz covers them, so engines built before keep working and simply do
	 * not stack or monitor. */

	/* PV_ENGINE_* capability bits below. */
	unsigned flags;

	/* PV_ENGINE_STACKS: applies this state's patch on top of `below`, the
	 * state (from this engine's plan) of the patch on top of the stack now,
	 * applied and not reverted; NULL when no patch is applied, which makes
	 * it exactly apply. Afterwards, a function both patches replace runs
	 * this patch's code; the others of below stay live. Returns like apply;
	 * PV_EREFUSED (reason in err, target unchanged) when this pair cannot
	 * stack. Once patches are stacked, revert may be called on any of them
	 * in any order: it either removes that patch alone (every function it
	 * replaced then runs the newest other applied version, or the original)
	 * or returns PV_EBUSY or PV_EREFUSED with the target unchanged; never a
	 * mixture. An engine without this bit gets one patch at a time: a second
	 * apply is refused by patchvet ("engine does not stack patches"). */
	int (*apply_on_top)(void *state, void *below, struct pv_space *space,
	                    struct pv_error *err);

	/* PV_ENGINE_AUTO_ROLLBACK: the health monitor. When patchvet injects a
	 * fault after a successful apply (`--fault`, emu), it calls it once per
	 * scheduling slice while the patch is live; it reads pv_space_health
	 * and, when it sees an anomaly (a thread died, progress stalled),
	 * reverts the patch itself (as revert does, cleanly) and returns 1; 0
	 * while healthy; a negative PV_E* on error. */
	int (*monitor)(void *state, struct pv_space *space, struct pv_error *err);

	/* PV_ENGINE_AUTO_ROLLBACK: the most monitor calls, counted from the
	 * first one after a fault, before the rollback must be complete. */
	unsigned rollback_bound;

	/* Optional: the target was killed and started again from its file
	 * while this state's patch was applied (its code is the original
	 * again; the engine's state is kept). Called for every applied patch,
	 * oldest first, once the new process runs. Returns 0 when it applied
	 * the patch again (then judged like any apply), 1 when it leaves the
	 * process unpatched, or a negative PV_E*. NULL: leaves it unpatched. An
	 * engine that sets PV_ENGINE_PERSISTS claims its patches survive a
	 * restart: one left unpatched is then `ineffective`, not information. */
	int (*restarted)(void *state, struct pv_space *space, struct pv_error *err);

	/* PV_ENGINE_REPLACES: applies this state's patch as a cumulative patch
	 * that atomically replaces every applied one (Linux livepatch's atomic
	 * replace, libpulp's replace). below: the states (from this engine's
	 * plan) of the patches applied now, oldest first; nbelow 0 makes it
	 * exactly apply. Afterwards only this patch is applied: a function it
	 * replaces runs its code, a function only the patches below replaced
	 * runs the original again, the patches below are no longer applied
	 * (their revert is not called again), and this patch's revert restores
	 * every byte to the original. Returns like apply; PV_EBUSY or
	 * PV_EREFUSED leave the target and the stack unchanged. An engine
	 * without this bit is refused on a sequence with a replace step
	 * ("engine does not replace patches cumulatively"). */
	int (*apply_replace)(void *state, void *const *below, size_t nbelow,
	                     struct pv_space *space, struct pv_error *err);
};

/* Bits of pv_engine.flags. */
#define PV_ENGINE_STACKS (1u << 0)        /* apply_on_top; revert in any order */
#define PV_ENGINE_AUTO_ROLLBACK (1u << 1) /* monitor and rollback_bound */
#define PV_ENGINE_PERSISTS (1u << 2)      /* patches survive a restart (restarted) */
#define PV_ENGINE_REPLACES (1u << 3)      /* apply_replace: cumulative replace */

/* True when engine `e` has member `m` (its sz covers it). */
#define PV_ENGINE_HAS(e, m) \
	((e)->sz >= offsetof(struct pv_engine, m) + sizeof((e)->m))

/* A plugin exports `const struct pv_engine *patchvet_engine(void);`. */
#define PV_ENGINE_ENTRY_SYMBOL "patchvet_engine"
typedef const struct pv_engine *(*pv_engine_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif
