/* What every command shares: counts, failures and usage errors as one line. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int pv_cli_parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int pv_cli_fail(const struct pv_error *err)
{
	fprintf(stderr, "patchvet: %s\n", err->msg[0] ? err->msg : pv_strerror(err->code));
	return pv_exit_for(err->code);
}

int pv_cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "patchvet %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see patchvet %s --help)\n", cmd);
	return PV_EXIT_USAGE;
}
