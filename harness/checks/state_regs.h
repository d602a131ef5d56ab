/* Check `state-regs`: every thread's full register state (general, flags,
 * SSE/AVX, fs_base) is unchanged across every pause the engine causes (the
 * ptrace backend compares them around each pause, the exec adapter around
 * each command of the tool). */
#ifndef PV_HARNESS_CHECK_STATE_REGS_H
#define PV_HARNESS_CHECK_STATE_REGS_H

#include <stddef.h>

/* Thread tid's registers changed: why says which, when around what. */
void pv_state_regs_word(unsigned tid, const char *why, const char *when, char *buf, size_t len);

#endif
