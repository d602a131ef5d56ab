/* Check `rollback-leak` (rollback_leak.h). */
#include "rollback_leak.h"

#include <stdio.h>

int pv_judge_leak(const struct pv_release_range *held, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (held[i].len)
			return (int)i;
	return -1;
}

void pv_rollback_leak_word(size_t n, uint64_t addr, uint64_t len, const char *after, char *buf,
                           size_t buflen)
{
	snprintf(buf, buflen,
	         "after %s, the engine still holds %zu mapping(s) it made with map_near (0x%llx "
	         "bytes at 0x%llx first)",
	         after, n, (unsigned long long)len, (unsigned long long)addr);
}
