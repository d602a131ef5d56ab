/* Check `liveness` (liveness.h). */
#include "liveness.h"

#include <stdio.h>

void pv_liveness_word_auto_rollback(const char *engine, unsigned bound, const char *fault,
                                    char *buf, size_t len)
{
	snprintf(buf, len, "%s declares automatic rollback within %u monitor calls, but the patch "
	                   "was still applied %u calls after the injected %s",
	         engine, bound, bound, fault);
}

void pv_liveness_word_start(bool restart, unsigned workers, int ms, char *buf, size_t len)
{
	snprintf(buf, len, "%sthe %u workers did not all start within %d ms",
	         restart ? "after the restart, " : "", workers, ms);
}

void pv_liveness_word_finish(const char *who, int ms, char *buf, size_t len)
{
	snprintf(buf, len, "the target did not finish within %d ms after %s was done", ms, who);
}
