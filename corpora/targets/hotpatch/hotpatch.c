/* hotpatch: the counter target with a Windows-style hot-patchable bump.
 * gcc's ms_hook_prologue puts 32 int3 bytes before the entry and makes the
 * first instruction `lea 0x0(%rsp),%rsp` (8 bytes), in every flavour: a
 * 2-byte store at the entry can never split an instruction a thread is
 * about to execute, which is what Windows' /hotpatch guarantees and what
 * hotpatch-pad needs. The workload and the self-check are counter's. */
#define PV_BUMP_ATTRS __attribute__((ms_hook_prologue))
#include "../counter/counter.c"
