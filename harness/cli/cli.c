/* What every command shares: counts, failures and usage errors as one line. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

void pv_cli_wrap(FILE *f, const char *first, const char *hang, const char *text,
                 unsigned width)
{
	size_t col = strlen(first);
	bool empty = true; /* nothing but the prefix on this line yet */
	fputs(first, f);
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, " ");
		if (!empty && col + 1 + n > width) {
			fputc('\n', f);
			fputs(hang, f);
			col = strlen(hang);
			empty = true;
		}
		if (!empty) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += n;
		empty = false;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}
