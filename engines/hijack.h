/* The hijack family (engines/hijack.c): libpulp-style user-space patching.
 * The engine stops every thread, borrows one of them to run code of its own
 * inside the target (here: a vectorised checksum proving the patch image
 * arrived intact), waits until no thread is inside or returns into a
 * replaced function, then writes a jmp rel32 over each entry. It needs
 * pv_space_call_flags (ptrace backend).
 *
 * One implementation, flags for the mutants (engines/clobber.c,
 * engines/eintr.c); each differs from the reference by one defect. */
#ifndef PV_ENGINES_HIJACK_H
#define PV_ENGINES_HIJACK_H

#include <stdbool.h>

#include <patchvet/engine.h>

struct hj_flags {
	bool checksum;        /* hijack a thread to checksum the patch image */
	unsigned call_flags;  /* PV_CALL_* bits of that hijack: what is not restored */
	bool kick;            /* before looking at the stacks, hijack every thread blocked
	                         in a system call so it leaves the kernel sooner */
	unsigned kick_flags;  /* PV_CALL_* bits of a kick */
};

int hj_plan(const struct pv_engine *e, const struct hj_flags *flags,
            const struct pv_patch_desc *patch, void **state, struct pv_error *err);
int hj_apply(void *state, struct pv_space *space, struct pv_error *err);
int hj_revert(void *state, struct pv_space *space, struct pv_error *err);
void hj_release(void *state);

/* Reference: everything restored, no kicks. */
extern const struct pv_engine pv_engine_hijack_jmp;
/* Mutant (engines/clobber.c): the checksum call restores neither SSE nor rflags. */
extern const struct pv_engine pv_engine_clobber;
/* Mutant (engines/eintr.c): kicks blocked threads out of their system call
 * without restart handling, so the call returns EINTR. */
extern const struct pv_engine pv_engine_eintr;

#endif
