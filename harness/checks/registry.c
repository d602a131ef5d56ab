#include "registry.h"

#include <string.h>

static const struct pv_check_info checks[] = {
	{"crash", "no thread faults, executes an invalid instruction, or dies"},
	{"torn-exec", "no thread executes an instruction whose bytes mix old and new code, "
	              "or starts at a byte that is not an instruction boundary of the code "
	              "version it sees"},
	{"xmc-unsynced", "code changed while other threads run is made visible by a "
	                 "serializing protocol (int3 first, sync_core)"},
	{"consistency", "the engine's declared consistency (global/thread/call) holds"},
	{"ineffective", "after apply completes, no call path still reaches the old code"},
	{"state-mem", "target data changes only by the target's own execution"},
	{"state-regs", "every thread's full register state is unchanged across every pause "
	               "the engine causes"},
	{"state-os", "file descriptors, mappings, signal masks/handlers, pending signals "
	             "unchanged"},
	{"syscall-disrupted", "a thread blocked in a syscall sees no spurious EINTR or lost "
	                      "data because of the engine"},
	{"rollback-bytes", "after revert, every changed code byte equals the original ELF's "
	                   "byte"},
	{"rollback-leak", "after revert, the engine's mappings and memory are released; "
	                  "repeated apply/revert does not grow memory"},
	{"use-after-revert", "no thread executes in memory that the engine released"},
	{"liveness", "apply and revert finish (or refuse) within their bound; the target "
	             "keeps making progress"},
	{"target-verify", "the target's own self-check of its results passes"},
};

const struct pv_check_info *pv_checks(size_t *count)
{
	*count = sizeof(checks) / sizeof(checks[0]);
	return checks;
}

const struct pv_check_info *pv_check_find(const char *id)
{
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (strcmp(checks[i].id, id) == 0)
			return &checks[i];
	return NULL;
}
