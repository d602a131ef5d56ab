/* Check `state-os` (state_os.h). */
#include "state_os.h"

#include <stdio.h>

void pv_state_os_word(const char *why, const char *cmd, char *buf, size_t len)
{
	if (cmd)
		snprintf(buf, len, "%s during %s (the tool's command)", why, cmd);
	else
		snprintf(buf, len, "%s across a pause of the engine", why);
}
