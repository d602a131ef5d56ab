/* Check `rollback-leak`: after a revert that returned 0, or an apply that
 * gave up (PV_EBUSY: nothing changed, it says), the engine holds no mapping
 * it made for itself (map_near) any more. The backend keeps the ranges the
 * engine still holds; this judge decides. */
#ifndef PV_HARNESS_CHECK_ROLLBACK_LEAK_H
#define PV_HARNESS_CHECK_ROLLBACK_LEAK_H

#include <stddef.h>

#include "use_after_revert.h"

/* Index of the first mapping the engine still holds after revert (or a
 * failed apply), or -1 when every one was released. */
int pv_judge_leak(const struct pv_release_range *held, size_t n);

/* n mappings still held after (what: "revert", "apply gave up"), the first
 * of len bytes at addr. */
void pv_rollback_leak_word(size_t n, uint64_t addr, uint64_t len, const char *after, char *buf,
                           size_t buflen);

#endif
