/* Check `crash` (crash.h). */
#include "crash.h"

#include <stdio.h>

void pv_crash_word_thread(unsigned tid, const char *why, const char *where, char *buf,
                          size_t len)
{
	snprintf(buf, len, "thread %u %s at %s", tid, why, where);
}

void pv_crash_word_thread_signal(int thread, const char *sig, const char *where,
                                 unsigned long long fault_addr, char *buf, size_t len)
{
	snprintf(buf, len, "thread %d died of SIG%s at %s (fault address 0x%llx)", thread,
	         sig ? sig : "?", where, fault_addr);
}

void pv_crash_word_signal(const char *sig, const char *when, char *buf, size_t len)
{
	snprintf(buf, len, "the target died of SIG%s%s%s", sig ? sig : "?", when ? " during " : "",
	         when ? when : "");
}
