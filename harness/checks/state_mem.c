/* Check `state-mem` (state_mem.h). */
#include "state_mem.h"

#include <stdio.h>

void pv_state_mem_word_pause(const char *why, char *buf, size_t len)
{
	snprintf(buf, len, "the target's writable memory (%s) changed while every thread was "
	                   "stopped by the engine",
	         why);
}
