/* Check `target-verify` (target_verify.h). */
#include "target_verify.h"

#include <stdio.h>

void pv_target_verify_word_verify(int status, bool wrote, const char *output, char *buf,
                                  size_t len)
{
	snprintf(buf, len, "pv_verify returned %d%s%s", status, wrote ? "; the target wrote: " : "",
	         output);
}

void pv_target_verify_word_exit(int code, const char *first, char *buf, size_t len)
{
	snprintf(buf, len, "the target exited with status %d%s%s", code, first[0] ? ": " : "",
	         first);
}
