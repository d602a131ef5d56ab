/* patchvet: is it safe to apply this patch, with this engine, to a program
 * that is running? Dispatches to one function per command. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: patchvet COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  run      [--engine E]... [--scenario S]... [--backend emu] [--schedules N]\n"
	"           [--seed N] [--flavour F] [--out DIR] [--format LIST]\n"
	"           without --engine/--backend: the default campaign, compared with\n"
	"           corpora/expected; with them: engines x scenarios on a backend\n"
	"  replay   REPRO [--trace]\n"
	"           run a reproducer again; exit 1 when its violation reproduces\n"
	"  analyze  TARGET [--patch PATCH] [--function NAME]... [--json]\n"
	"           patchability analysis of a target's functions\n"
	"  list     engines|scenarios|checks\n"
	"  help     this text;  --version  the version\n"
	"\n"
	"exit status: 0 all as expected, 1 a violation or unexpected verdict,\n"
	"             2 usage or input error, 3 internal error or inconclusive\n";

int pv_exit_for(int code)
{
	switch (code) {
	case PV_EINVAL:
	case PV_EIO:
	case PV_EFORMAT:
	case PV_EUNSUPPORTED:
	case PV_ENOENT:
	case PV_EABI:
	case PV_ERANGE:
		return PV_EXIT_USAGE;
	default:
		return PV_EXIT_INTERNAL;
	}
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

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return PV_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return PV_EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("patchvet %s\n", PV_VERSION);
		return PV_EXIT_OK;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{"analyze", pv_cmd_analyze},
		{"import-crashes", pv_cmd_import},
		{"list", pv_cmd_list},
		{"replay", pv_cmd_replay},
		{"run", pv_cmd_run},
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	static const char *const later[] = {"minimize", "bench", "certify", "merge"};
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++)
		if (!strcmp(cmd, later[i])) {
			fprintf(stderr, "patchvet: '%s' is not available in patchvet %s yet\n", cmd,
			        PV_VERSION);
			return PV_EXIT_USAGE;
		}
	fprintf(stderr, "patchvet: unknown command '%s' (see patchvet --help)\n", cmd);
	return PV_EXIT_USAGE;
}
