/* Check `state-regs` (state_regs.h). */
#include "state_regs.h"

#include <stdio.h>

void pv_state_regs_word(unsigned tid, const char *why, const char *when, char *buf, size_t len)
{
	snprintf(buf, len, "thread %u: %s %s", tid, why, when);
}
