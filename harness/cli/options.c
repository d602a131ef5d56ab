/* The options commands share, parsed in one place so that a --seed or a
 * --backend means the same in every command that takes it. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <patchvet/error.h>

#include "../../engines/catalogue.h"
#include "../../reports/registry.h"
#include "../../reports/report.h"
#include "../backend/registry.h"
#include "../load/scenario.h"
#include "cli.h"

/* One row per shared option: its bit, long name and value (the letter run
 * and certify take as a short option). */
static const struct {
	unsigned bit;
	const char *name;
	int val;
} shared[] = {
	{PV_CLI_OPT_ENGINE, "engine", 'e'},    {PV_CLI_OPT_SCENARIO, "scenario", 's'},
	{PV_CLI_OPT_BACKEND, "backend", 'b'},  {PV_CLI_OPT_SCHEDULES, "schedules", 'n'},
	{PV_CLI_OPT_SEED, "seed", 'S'},        {PV_CLI_OPT_FLAVOUR, "flavour", 'f'},
	{PV_CLI_OPT_OUT, "out", 'o'},          {PV_CLI_OPT_FORMAT, "format", 'F'},
	{PV_CLI_OPT_TIME, "time", 'T'},
};
#define NSHARED (sizeof(shared) / sizeof(shared[0]))

unsigned pv_cli_options_takes(const struct option *opts)
{
	unsigned takes = 0;
	for (; opts->name; opts++)
		for (size_t i = 0; i < NSHARED; i++)
			if (!strcmp(opts->name, shared[i].name) && opts->val == shared[i].val)
				takes |= shared[i].bit;
	return takes;
}

int pv_cli_parse_seed(const char *s, uint64_t *out)
{
	if (!s)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+')
		s++;
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!(base == 16 ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s)))
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* "emu or ptrace", "emu, ptrace or all": what --backend takes. */
static void backend_names(bool all, char *buf, size_t len)
{
	size_t count = 0, n = 0;
	const struct pv_backend_info *b = pv_backends(&count);
	size_t total = count + all;
	buf[0] = '\0';
	for (size_t i = 0; i < total && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
		                      i == 0 ? "" : i + 1 == total ? " or " : ", ",
		                      i < count ? pv_backend_name(b[i].bit) : "all");
}

static int take_named(struct pv_cli_options *o, const char *arg, enum pv_cli_many many,
                      const char **last, const char **all, size_t *n, const char *what,
                      const char *why)
{
	if (many == PV_CLI_ONCE && *last)
		return pv_cli_usage(o->cmd, "one --%s only%s", what, why ? why : "");
	if (many == PV_CLI_MANY)
		all[(*n)++] = arg;
	*last = arg;
	return 0;
}

int pv_cli_options_take(struct pv_cli_options *o, int c, const char *arg)
{
	size_t i = 0;
	while (i < NSHARED && shared[i].val != c)
		i++;
	if (i == NSHARED || !(o->takes & shared[i].bit))
		return -1;
	switch (shared[i].bit) {
	case PV_CLI_OPT_ENGINE:
		return take_named(o, arg, o->engine_many, &o->engine, o->engines, &o->nengines,
		                  "engine", o->engine_once_why);
	case PV_CLI_OPT_SCENARIO:
		return take_named(o, arg, o->scenario_many, &o->scenario, o->scenarios,
		                  &o->nscenarios, "scenario", NULL);
	case PV_CLI_OPT_BACKEND:
		if (!pv_backend_find(arg) && !(o->backend_all && !strcmp(arg, "all"))) {
			char names[128];
			backend_names(o->backend_all, names, sizeof(names));
			return pv_cli_usage(o->cmd, "unknown backend '%s' (%s)", arg, names);
		}
		o->backend = arg;
		return 0;
	case PV_CLI_OPT_SCHEDULES:
		if (pv_cli_parse_count(arg, 1, 1000000000, &o->schedules))
			return pv_cli_usage(o->cmd, "--schedules wants a number from 1 to 1000000000, "
			                            "not '%s'", arg);
		o->schedules_given = true;
		return 0;
	case PV_CLI_OPT_SEED:
		if (pv_cli_parse_seed(arg, &o->seed))
			return pv_cli_usage(o->cmd, "--seed wants an unsigned 64-bit number, not '%s'",
			                    arg);
		return 0;
	case PV_CLI_OPT_FLAVOUR:
		if (!(o->flavour = pv_flavour_from_name(arg)))
			return pv_cli_usage(o->cmd, "unknown flavour '%s' (plain, pad, fentry or cet)",
			                    arg);
		o->flavour_name = arg;
		return 0;
	case PV_CLI_OPT_OUT: o->out_dir = arg; return 0;
	case PV_CLI_OPT_FORMAT: {
		struct pv_error err;
		pv_error_clear(&err);
		if (pv_report_formats_parse_in(NULL, arg, o->formats_allowed, &o->formats, &err))
			return pv_cli_usage(o->cmd, "--format: %s", err.msg);
		return 0;
	}
	case PV_CLI_OPT_TIME: {
		char *end = NULL;
		double t = strtod(arg, &end);
		if (end == arg || *end || !(t > 0) || t > o->time_max)
			return pv_cli_usage(o->cmd, "--time wants seconds (0 < s <= %.0f), not '%s'",
			                    o->time_max, arg);
		o->time_s = t;
		o->time_given = true;
		return 0;
	}
	}
	return -1;
}
