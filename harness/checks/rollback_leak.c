/* Check `rollback-leak` (rollback_leak.h). */
#include "rollback_leak.h"

int pv_judge_leak(const struct pv_release_range *held, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (held[i].len)
			return (int)i;
	return -1;
}
