/* Check `use-after-revert`: no thread executes in memory the engine
 * released. The backend keeps the ranges the engine mapped for itself
 * (map_near) and released during a run; a thread that fetches an
 * instruction in one of them is this check (a fault there is this check,
 * not `crash`). The ranges' type is shared with rollback_leak.h. */
#ifndef PV_HARNESS_JUDGE_RELEASE_H
#define PV_HARNESS_JUDGE_RELEASE_H

#include <stddef.h>
#include <stdint.h>

struct pv_release_range {
	uint64_t addr, len;
};

/* Index of the released range holding the fetch at addr, or -1. */
int pv_judge_released_fetch(const struct pv_release_range *released, size_t n, uint64_t addr);

#endif
