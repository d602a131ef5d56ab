/* eintr: a mutant of hijack-jmp (engines/hijack.c). So that threads blocked
 * in the kernel inside a replaced function unwind sooner, it kicks every
 * thread that is inside a system call out of it (a hijacked call to a bare
 * `ret`) before it looks at the stacks, but without the restart handling the
 * kernel applies after a ptrace stop: the read, futex or nanosleep returns EINTR to a program that
 * never asked for signals (caught by syscall-disrupted, and by the blocking
 * target's own verification). */
#include "hijack.h"

static const struct hj_flags eintr_flags = {
	.kick = true,
	.kick_flags = PV_CALL_NO_RESTART,
};

static int eintr_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return hj_plan(&pv_engine_eintr, &eintr_flags, p, s, err);
}

const struct pv_engine pv_engine_eintr = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "eintr",
	.description = "Mutant of hijack-jmp: it kicks threads blocked in a system call out of "
	               "the kernel to quiesce sooner, and the call returns EINTR instead of "
	               "being restarted.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = eintr_plan,
	.apply = hj_apply,
	.revert = hj_revert,
	.release = hj_release,
};
