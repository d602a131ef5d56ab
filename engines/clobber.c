/* clobber: a mutant of hijack-jmp (engines/hijack.c). Its hijacked call
 * restores the general registers but neither the SSE/AVX registers nor
 * rflags, as an injector that saves only what PTRACE_GETREGS gives and runs
 * vectorised code does. A thread it borrows resumes with xmm0, xmm1 and the
 * flags of the checksum loop instead of its own (caught by state-regs, and by
 * the fpu target's own verification). */
#include "hijack.h"

static const struct hj_flags clobber_flags = {
	.checksum = true,
	.call_flags = PV_CALL_NO_EXT | PV_CALL_NO_FLAGS,
};

static int clobber_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return hj_plan(&pv_engine_clobber, &clobber_flags, p, s, err);
}

const struct pv_engine pv_engine_clobber = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "clobber",
	.description = "Mutant of hijack-jmp: the thread it hijacks to checksum the patch "
	               "image gets its general registers back, but not its SSE/AVX registers "
	               "or its flags.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = clobber_plan,
	.apply = hj_apply,
	.revert = hj_revert,
	.release = hj_release,
};
