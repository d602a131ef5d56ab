/* The built-in engines: reference engines first, then the mutants, each with
 * the one defect it carries and the check that must catch it. */
#include "catalogue.h"

#include <string.h>

#include "hijack.h"
#include "jmp.h"
#include "strategies.h"

const char *const pv_backend_names[PV_BACKEND_COUNT] = {"emu", "ptrace"};

const char *pv_backend_name(unsigned backend)
{
	for (unsigned i = 0; i < PV_BACKEND_COUNT; i++)
		if (backend == 1u << i)
			return pv_backend_names[i];
	return NULL;
}

#define BOTH (PV_BACKEND_EMU | PV_BACKEND_PTRACE)
#define PTRACE PV_BACKEND_PTRACE
#define EMU PV_BACKEND_EMU
/* klp and its mutants keep per-thread patch state in thread_slot, which
 * the ptrace backend does not offer (apply would fail: an ERROR). */
#define KLP EMU

static const struct pv_engine_entry catalogue[] = {
	{&pv_engine_stw_jmp, 0, NULL, BOTH},
	{&pv_engine_ksplice, 0, NULL, BOTH},
	{&pv_engine_hotpatch_pad, 0, NULL, BOTH},
	{&pv_engine_pulp, 0, NULL, BOTH},
	{&pv_engine_pulp_guard, 0, NULL, BOTH},
	{&pv_engine_int3_live, 0, NULL, BOTH},
	{&pv_engine_klp, 0, NULL, KLP},
	{&pv_engine_got, 0, NULL, BOTH},
	{&pv_engine_hijack_jmp, 0, NULL, PTRACE},
	{&pv_engine_naive_write, 1,
	 "never stops the threads and writes the jmp one byte per write, so a thread can "
	 "execute a half-written jmp (caught by torn-exec or crash)", BOTH},
	{&pv_engine_no_quiesce, 1,
	 "never checks where the stopped threads are, so one paused inside the first 5 bytes "
	 "or inside the old function resumes in the middle of the new jmp or in old code "
	 "after the switch (caught by torn-exec, crash or consistency)", BOTH},
	{&pv_engine_clobber, 1,
	 "the thread it hijacks to checksum the patch image gets its general registers back "
	 "but not its SSE/AVX registers or flags (caught by state-regs on ptrace)", PTRACE},
	{&pv_engine_eintr, 1,
	 "kicks threads blocked in a system call out of the kernel without restart handling, "
	 "so the call returns EINTR (caught by syscall-disrupted on ptrace)", PTRACE},
	{&pv_engine_skip_thread, 1,
	 "stops every thread but checks the stack of all but the newest, so the jmp goes in "
	 "while that thread is inside or returns into the old function (caught by consistency "
	 "or torn-exec)", BOTH},
	{&pv_engine_bad_revert, 1,
	 "revert restores the opcode byte of the 5 the jmp overwrote but not the displacement, "
	 "which stays in the old function (caught by rollback-bytes, then torn-exec or crash)",
	 BOTH},
	{&pv_engine_no_op, 1,
	 "reports success without writing the jmp, so every call still reaches the old code "
	 "(caught by ineffective)", BOTH},
	{&pv_engine_no_resume, 1,
	 "returns from apply and revert with every thread still stopped, so the target makes "
	 "no progress until the harness resumes it (caught by liveness)", BOTH},
	{&pv_engine_no_sync, 1,
	 "runs the breakpoint protocol without sync_core, so other cores may keep executing "
	 "stale code bytes (caught by xmc-unsynced on counter-fentry)", BOTH},
	{&pv_engine_no_stack_check, 1,
	 "switches every thread to the new code at once, even one inside or returning into a "
	 "replaced function, which then runs old and new code in one thread (caught by "
	 "consistency for `thread` on nested, where the old caller then calls the new callee; "
	 "target-verify there too)", KLP},
	{&pv_engine_free_early, 1,
	 "revert unmaps the trampoline while a thread may still run in it (caught by "
	 "use-after-revert on counter-fentry)", KLP},
	{&pv_engine_leaky, 1,
	 "revert never unmaps the trampoline it mapped (caught by rollback-leak on "
	 "counter-fentry)", KLP},
	{&pv_engine_klp_stack_clobber, 1,
	 "klp, but a patch applied over another saves the fentry NOP, not the jmp to the stub "
	 "below, so reverting the top patch unhooks the function while the patch below is "
	 "still applied (caught by ineffective on counter-stack-fentry)", KLP},
	{&pv_engine_klp_stack_unhooked, 1,
	 "klp, but a patch applied over another leaves the fentry site's jmp to the stub below, "
	 "so calls keep reaching the patch below after every thread switched (caught by "
	 "ineffective on counter-stack-fentry: the entry of the older replacement is watched)",
	 KLP},
	{&pv_engine_pc_migrate, 1,
	 "moves every thread it finds stopped inside an old function's body to the "
	 "replacement's entry (a redirected int3 at its pc) instead of letting it finish the "
	 "call in old code, so that call runs old and new code (caught by consistency for "
	 "`call` on counter-pad)", EMU},
	{&pv_engine_stack_clobber, 1,
	 "pulp, but a patch applied over another saves that patch's jumps over the originals "
	 "the one below kept, so the last revert of a stack restores the first patch's code "
	 "(caught by rollback-bytes and ineffective in a sequence such as "
	 "apply:counter-fix,apply:counter-fix2,revert:counter-fix,revert-all on counter-pad)",
	 BOTH},
	{&pv_engine_replace_keep, 1,
	 "pulp, but a cumulative replace leaves the older patches' redirects on the functions "
	 "the new patch does not replace, so an older patch keeps running there instead of "
	 "the original (caught by ineffective after the replace step, and rollback-bytes at "
	 "the last revert, in duo-replace: apply:duo-fix,apply:duo-fix2,replace:duo-cumul,"
	 "revert-all on duo-pad)",
	 BOTH},
	{&pv_engine_wx_left, 1,
	 "makes the text pages it patches writable and executable with an injected mprotect "
	 "and never restores them, so the target's mappings change across the pause (caught "
	 "by state-os on ptrace)", PTRACE},
	{&pv_engine_redzone, 1,
	 "its injected call puts its frame at the thread's rsp, overwriting the 128-byte red "
	 "zone a leaf function may use (caught by state-mem on ptrace)", PTRACE},
};

const struct pv_engine_entry *pv_engine_catalogue(size_t *count)
{
	*count = sizeof(catalogue) / sizeof(catalogue[0]);
	return catalogue;
}

const struct pv_engine_entry *pv_engine_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(catalogue) / sizeof(catalogue[0]); i++)
		if (!strcmp(catalogue[i].engine->name, name))
			return &catalogue[i];
	return NULL;
}
