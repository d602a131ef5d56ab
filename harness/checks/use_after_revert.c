/* Checks `use-after-revert` and `rollback-leak` (judge_release.h). */
#include "use_after_revert.h"

int pv_judge_released_fetch(const struct pv_release_range *released, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (addr - released[i].addr < released[i].len)
			return (int)i;
	return -1;
}

int pv_judge_leak(const struct pv_release_range *held, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (held[i].len)
			return (int)i;
	return -1;
}
