/* redzone: a mutant of hijack-jmp (engines/hijack.c). The thread it borrows
 * to checksum the patch image runs the call with its frame right at the
 * thread's stack pointer, as an injector that pushes a return address at
 * rsp does, instead of 128 bytes below it: a leaf function stopped there
 * loses what it kept in the System V red zone (caught by state-mem and the
 * target's verification on ptrace; the emulator's hijacked calls always
 * skip the red zone, so the mutant is registered for ptrace only). */
#include "hijack.h"
#include "strategies.h"

static const struct hj_flags redzone_flags = {
	.checksum = true,
	.call_flags = PV_CALL_NO_REDZONE,
};

static int redzone_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return hj_plan(&pv_engine_redzone, &redzone_flags, p, s, err);
}

const struct pv_engine pv_engine_redzone = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "redzone",
	.description = "Mutant of hijack-jmp: the call it injects into a stopped thread does "
	               "not skip the 128-byte red zone below the thread's stack pointer.",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = redzone_plan,
	.apply = hj_apply,
	.revert = hj_revert,
	.release = hj_release,
};
