/* Check `crash`: no thread faults, executes an invalid instruction, or
 * dies. The backends see it themselves (Unicorn's fault on an instruction,
 * a fatal signal of a real process); the sentences are worded here. */
#ifndef PV_HARNESS_CHECK_CRASH_H
#define PV_HARNESS_CHECK_CRASH_H

#include <stddef.h>

/* Emulated thread tid faulted: why (Unicorn's reason) at where. */
void pv_crash_word_thread(unsigned tid, const char *why, const char *where, char *buf,
                          size_t len);

/* The target process died of signal sig ("SEGV", from sigabbrev_np), during
 * when (NULL: not said). */
void pv_crash_word_signal(const char *sig, const char *when, char *buf, size_t len);

/* Thread `thread` of a real process died of signal sig at where, touching
 * fault_addr. */
void pv_crash_word_thread_signal(int thread, const char *sig, const char *where,
                                 unsigned long long fault_addr, char *buf, size_t len);

#endif
