/* Check `syscall-disrupted`: a thread blocked in a system call sees no
 * spurious EINTR or lost data because of the engine. The ptrace backend
 * judges it around each pause: a thread stopped inside a restartable call
 * must come back to restart it, not with its return value changed. */
#ifndef PV_HARNESS_CHECK_SYSCALL_DISRUPTED_H
#define PV_HARNESS_CHECK_SYSCALL_DISRUPTED_H

#include <stddef.h>

/* Thread tid, blocked in system call nr (called name), returns ret from it
 * instead of restarting it; when: around what. */
void pv_syscall_disrupted_word(unsigned tid, const char *name, long nr, long long ret,
                               const char *when, char *buf, size_t len);

#endif
