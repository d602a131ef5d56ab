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

void pv_rollback_bytes_word_file(const struct pv_rollback_finding *f, const char *after,
                                 const char *where, char *buf, size_t len)
{
	snprintf(buf, len, "after %s, %zu code byte%s differ from the file, the first at %s "
	                   "(0x%02x, the file has 0x%02x)",
	         after, f->ndiff, f->ndiff == 1 ? "" : "s", where, f->now, f->orig);
}
