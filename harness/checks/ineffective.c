/* Check `ineffective` (judge_ineffective.h). */
#include "ineffective.h"

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
