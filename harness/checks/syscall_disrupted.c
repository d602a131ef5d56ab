/* Check `syscall-disrupted` (syscall_disrupted.h). */
#include "syscall_disrupted.h"

#include <stdio.h>

void pv_syscall_disrupted_word(unsigned tid, const char *name, long nr, long long ret,
                               const char *when, char *buf, size_t len)
{
	snprintf(buf, len, "thread %u was blocked in %s (syscall %ld) and returns %lld from it "
	                   "instead of restarting it, %s",
	         tid, name, nr, ret, when);
}
