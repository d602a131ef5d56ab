/* patchvet: is it safe to apply this patch, with this engine, to a program
 * that is running? Dispatches to one function per command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/version.h"
#include "cli.h"

static const char usage[] =
	"usage: patchvet COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  run      [--engine E]... [--scenario S]... [--backend emu|ptrace|all]\n"
	"           [--schedules N] [--seed N] [--flavour F] [--explore random|pct|bounded]\n"
	"           [--time S] [--shard I/N] [--jobs N] [--out DIR] [--format LIST]\n"
	"           | --resume DIR\n"
	"           without --engine/--backend: the default campaign, compared with\n"
	"           corpora/expected; with them: engines x scenarios on a backend\n"
	"  replay   REPRO [--trace]\n"
	"           run a reproducer again; exit 1 when its violation reproduces\n"
	"  minimize REPRO -o OUT\n"
	"           the fewest preemptions that still show the reproducer's violation\n"
	"  merge    RESULTS.json... --out DIR [--format LIST]\n"
	"           join the results of the shards of one campaign\n"
	"  import-crashes DIR --engine E --scenario S [--out DIR]\n"
	"           AFL++ crash inputs as reproducers (docs/fuzzing.md)\n"
	"  analyze  TARGET [--patch PATCH] [--function NAME]... [--json]\n"
	"           patchability analysis of a target's functions\n"
	"  certify  --engine E --scenario S [--backend B] [--out DIR] | --verify CERT\n"
	"           a certificate of one engine on one patch, or re-check one\n"
	"  bench    --engine E --scenario S [--backend ptrace|emu] [--time SECONDS]\n"
	"           [--threshold 2%] [--json] [--out DIR]\n"
	"           overhead and disruption, with a verdict on the threshold\n"
	"  list     engines|scenarios|checks\n"
	"  help     this text;  --version  the version\n"
	"\n"
	"exit status: 0 all as expected, 1 a violation or unexpected verdict,\n"
	"             2 usage or input error, 3 internal error or inconclusive\n";

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
		{"certify", pv_cmd_certify},
		{"bench", pv_cmd_bench},
		{"import-crashes", pv_cmd_import},
		{"list", pv_cmd_list},
		{"merge", pv_cmd_merge},
		{"minimize", pv_cmd_minimize},
		{"replay", pv_cmd_replay},
		{"run", pv_cmd_run},
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "patchvet: unknown command '%s' (see patchvet --help)\n", cmd);
	return PV_EXIT_USAGE;
}
