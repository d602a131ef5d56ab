/* Check `rollback-bytes` (rollback_bytes.h). */
#include "rollback_bytes.h"

#include <stdio.h>
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

void pv_rollback_bytes_word(const struct pv_rollback_finding *f, const char *after,
                            const char *where, char *buf, size_t len)
{
	snprintf(buf, len,
	         "after %s, %s holds 0x%02x where the original has 0x%02x (%zu byte(s) differ "
	         "there)",
	         after, where, f->now, f->orig, f->ndiff);
}
