/* Check `ineffective` (judge_ineffective.h). */
#include "ineffective.h"

#include <stdio.h>

uint64_t pv_ineffective_watch(const struct pv_ineffective_func *f)
{
	size_t next = 0; /* offsets below it were changed or precede a change */
	for (size_t i = 0; i < f->len; i++)
		if (f->now[i] != f->orig[i])
			next = i + 1;
	for (size_t i = 0; i < f->nboundaries; i++)
		if (f->boundaries[i] >= next && f->boundaries[i] < f->len)
			return f->entry + f->boundaries[i];
	return 0;
}

void pv_ineffective_word_entry(const char *name, const char *where, unsigned long long entry,
                               char *buf, size_t len)
{
	snprintf(buf, len, "apply returned success, but a call of %s%s%s at its entry (0x%llx) "
	                   "still runs the original code and no GOT slot leads to the replacement",
	         name, where ? " in " : "", where ? where : "", entry);
}
