/* Check `state-os`: file descriptors, mappings (beyond the engine's own),
 * signal masks/handlers and pending signals are unchanged by the engine.
 * The ptrace backend compares them across each pause, the exec adapter
 * around each command of the tool. */
#ifndef PV_HARNESS_CHECK_STATE_OS_H
#define PV_HARNESS_CHECK_STATE_OS_H

#include <stddef.h>

/* What changed (why) across a pause of the engine, or during the tool's
 * command cmd when cmd is not NULL. */
void pv_state_os_word(const char *why, const char *cmd, char *buf, size_t len);

#endif
