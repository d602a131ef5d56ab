/* Checks `use-after-revert` and `rollback-leak`: what becomes of the memory
 * an engine maps for itself (map_near). The backend keeps the ranges the
 * engine released during a run and the ones it still holds; this judge
 * decides.
 *   use-after-revert  a thread fetches an instruction in a released range
 *                     (a fault there is this check, not `crash`);
 *   rollback-leak     after a revert that returned 0, or an apply that gave
 *                     up (PV_EBUSY: nothing changed, it says), the engine
 *                     holds no mapping any more. */
#ifndef PV_HARNESS_JUDGE_RELEASE_H
#define PV_HARNESS_JUDGE_RELEASE_H

#include <stddef.h>
#include <stdint.h>

struct pv_release_range {
	uint64_t addr, len;
};

/* Index of the released range holding the fetch at addr, or -1. */
int pv_judge_released_fetch(const struct pv_release_range *released, size_t n, uint64_t addr);

/* Index of the first mapping the engine still holds after revert (or a
 * failed apply), or -1 when every one was released. */
int pv_judge_leak(const struct pv_release_range *held, size_t n);

#endif
