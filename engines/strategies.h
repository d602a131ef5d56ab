/* The reference engines beyond the jmp family, one file per strategy, and
 * the mutants built from them (each differs from its reference by one
 * defect; engines/catalogue.c states it and the check that catches it). */
#ifndef PV_ENGINES_STRATEGIES_H
#define PV_ENGINES_STRATEGIES_H

#include <patchvet/engine.h>

/* engines/hotpatch.c: Windows hot patching through the padding. */
extern const struct pv_engine pv_engine_hotpatch_pad;

/* engines/pulp.c: libpulp's padding + short jmp, threads stopped. */
extern const struct pv_engine pv_engine_pulp;
/* Mutant: also moves threads stopped inside an old body to the new entry. */
extern const struct pv_engine pv_engine_pc_migrate;
/* Mutant: a patch stacked on another clobbers the originals it saved. */
extern const struct pv_engine pv_engine_stack_clobber;
extern const struct pv_engine pv_engine_replace_keep;
/* pulp with a health monitor that rolls back on its own. */
extern const struct pv_engine pv_engine_pulp_guard;

/* engines/int3.c: the text_poke_bp breakpoint protocol, and its mutant
 * without sync_core. */
extern const struct pv_engine pv_engine_int3_live;
extern const struct pv_engine pv_engine_no_sync;

/* engines/klp.c: livepatch's per-thread transition through a trampoline,
 * and four mutants. */
extern const struct pv_engine pv_engine_klp;
extern const struct pv_engine pv_engine_no_stack_check;
extern const struct pv_engine pv_engine_free_early;
extern const struct pv_engine pv_engine_leaky;
extern const struct pv_engine pv_engine_klp_stack_clobber;
extern const struct pv_engine pv_engine_klp_stack_unhooked;

/* engines/got.c: atomic stores into the GOT slots of dynamic targets. */
extern const struct pv_engine pv_engine_got;

/* engines/redzone.c: hijack-jmp whose injected call overwrites the red zone
 * (ptrace only). */
extern const struct pv_engine pv_engine_redzone;

#endif
