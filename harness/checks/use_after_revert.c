/* Check `use-after-revert` (use_after_revert.h). */
#include "use_after_revert.h"

int pv_judge_released_fetch(const struct pv_release_range *released, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (addr - released[i].addr < released[i].len)
			return (int)i;
	return -1;
}
