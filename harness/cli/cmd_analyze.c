/* patchvet analyze TARGET [--patch PATCH] [--function NAME]... [--json]
 * patchvet analyze --pid PID --patch PATCH [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../load/analysis.h"
#include "../load/objects.h"
#include "../../reports/analysis.h"
#include "cli.h"
#include "../load/image.h"
#include "../load/patchfile.h"

static const char analyze_help[] =
	"usage: patchvet analyze TARGET [--patch PATCH] [--function NAME]... [--json]\n"
	"       patchvet analyze --pid PID --patch PATCH [--json]\n"
	"\n"
	"Reports, for each function named (or each function PATCH replaces, or every\n"
	"function), its address, size, instruction boundaries in the first 32 bytes,\n"
	"padding before the entry, endbr64, fentry NOP, RIP-relative operands and the\n"
	"hazards too-short, branch-into-prologue, rip-relative-prologue; for a patch,\n"
	"its replacements and the hazards data-layout-change and missing-function.\n"
	"A function PATCH replaces is found in TARGET or in the shared libraries it\n"
	"needs; with --pid, in the objects running process PID has loaded (read from\n"
	"/proc, the process is not stopped).\n";

int pv_cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{"patch", required_argument, NULL, 'p'},
		{"function", required_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"pid", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *patch_path = NULL, *pid_arg = NULL;
	bool json = false;
	const char **names = calloc((size_t)argc, sizeof(*names));
	size_t nnames = 0;
	int rc = PV_EXIT_OK;
	if (!names)
		return PV_EXIT_INTERNAL;

	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "p:f:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'P': pid_arg = optarg; break;
		case 'p': patch_path = optarg; break;
		case 'f': names[nnames++] = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(analyze_help, stdout); free(names); return PV_EXIT_OK;
		default:
			free(names);
			return pv_cli_usage("analyze", "unknown or incomplete option '%s'",
			                    argv[optind - 1]);
		}
	}
	char exe[64];
	long pid = 0;
	if (pid_arg) {
		char *end = NULL;
		pid = strtol(pid_arg, &end, 10);
		if (!*pid_arg || *end || pid <= 0 || pid > 4194304 || !patch_path || nnames ||
		    optind != argc) {
			free(names);
			return pv_cli_usage("analyze", "--pid takes a process id, with --patch and "
			                               "without TARGET or --function");
		}
		snprintf(exe, sizeof(exe), "/proc/%ld/exe", pid);
	}
	if (!pid && optind != argc - 1) {
		free(names);
		return pv_cli_usage("analyze", optind >= argc ? "a TARGET file is required"
		                                              : "exactly one TARGET file is expected");
	}

	struct pv_error err;
	pv_error_clear(&err);
	struct pv_image *target = NULL;
	struct pv_patch *patch = NULL;
	struct pv_analysis *analysis = NULL;
	int e = pv_image_open(pid ? exe : argv[optind], &target, &err);
	if (!e && patch_path)
		e = pv_patch_open(patch_path, &patch, &err);
	/* A patch's functions are looked up in the libraries too. */
	struct pv_objects objs = {0};
	if (!e && pid && !(e = pv_objects_from_maps(&objs, target, pid, &err)))
		e = pv_analyze_in(&objs, patch, &analysis, &err);
	else if (!e && !pid && patch && !nnames && !(e = pv_objects_from_files(&objs, target, &err)))
		e = pv_analyze_in(&objs, patch, &analysis, &err);
	else if (!e)
		e = pv_analyze(target, patch, names, nnames, &analysis, &err);
	pv_objects_free(&objs);
	if (e) {
		rc = pv_cli_fail(&err);
	} else if (json) {
		struct json_object *o = pv_analysis_to_json(analysis);
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		                                        JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		pv_analysis_print(stdout, analysis);
	}
	pv_analysis_free(analysis);
	pv_patch_close(patch);
	pv_image_close(target);
	free(names);
	return rc;
}
