/* Check `rollback-bytes` (judge_rollback.h). */
#include "rollback_bytes.h"

#include <string.h>

int pv_judge_rollback(uint64_t addr, const uint8_t *now, const uint8_t *orig, size_t len,
                      struct pv_rollback_finding *f)
{
	if (!memcmp(now, orig, len))
		return 0;
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < len; i++) {
		if (now[i] == orig[i])
			continue;
		if (!f->ndiff++) {
			f->addr = addr + i;
			f->now = now[i];
			f->orig = orig[i];
		}
	}
	return 1;
}
