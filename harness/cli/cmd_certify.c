/* patchvet certify: its help and options; making and verifying a
 * certificate is harness/campaign/certify.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engines/catalogue.h"
#include "../../engines/plugin.h"
#include "../../reports/registry.h"
#include "../../reports/report.h"
#include "cli.h"
#include "options.h"
#include "progress.h"
#include "../exec/adapter.h"
#include "../campaign/certify.h"
#include "../load/scenario.h"

static const char certify_help[] =
	"usage: patchvet certify --engine E --scenario S [--backend emu|ptrace]\n"
	"                        [--schedules N] [--seed N] [--flavour F] [--out DIR]\n"
	"                        [--overhead-time SECONDS] [--format LIST]\n"
	"       patchvet certify --verify CERT [--out DIR]\n"
	"\n";
/* The paragraph that lists the formats is made by certify_help_print. */
static const char certify_help_tail[] =
	"\n"
	"It also measures the overhead as `patchvet bench` does, in the same flavour:\n"
	"exact emulated instructions per operation and the engine's mappings over 20\n"
	"apply/revert cycles (emu), and, when the scenario runs natively and\n"
	"--overhead-time is not 0 (default 10 seconds), native CPU time of patched\n"
	"against unpatched processes in A/B pairs, and memory growth natively. Each\n"
	"figure is SUPPORTED, REFUTED or INCONCLUSIVE against 2%; the certificate's\n"
	"overhead verdict is REFUTED when a memory figure is or the CPU claim is (the\n"
	"native cpu figure judges it when measured, the instruction count otherwise).\n"
	"\n"
	"--verify CERT hashes the certified files again (a changed file: exit 2, one\n"
	"line naming it with both hashes), re-runs the campaign with the same\n"
	"settings (reproducers and results under DIR, default CERT's directory/verify)\n"
	"and compares the verdicts: exit 0 and `confirmed`, or exit 1 and `refuted`\n"
	"with the verdicts that differ. It measures the overhead again: an exact\n"
	"figure must be equal and a statistical one (cpu) must keep its verdict; one\n"
	"that moved to or from INCONCLUSIVE, or a native one that cannot be measured\n"
	"here, is reported as unsettled, not refuted.\n"
	"\n"
	"exit status (certify): 0 every verdict SAFE or REFUSED and the overhead not\n"
	"REFUTED, 1 UNSAFE or overhead REFUTED, 2 bad input, 3 an ERROR verdict; the\n"
	"certificate is written in every case but 2.\n";

#define CERT_FORMATS PV_FORMAT_ALL

static void certify_help_print(FILE *f)
{
	/* Besides certificate.json: the other formats' files, named by their
	 * extension (and what it does not say). */
	const struct pv_report_format_table *t = pv_report_formats_builtin();
	char others[256], names[128], para[1024];
	size_t at = 0, k = 0, total = 0;
	others[0] = '\0';
	for (size_t i = 0; i < t->n; i++)
		total += (1u << i) != PV_FORMAT_JSON;
	for (size_t i = 0; i < t->n && at < sizeof(others); i++) {
		if ((1u << i) == PV_FORMAT_JSON)
			continue;
		const struct pv_report_format_info *fm = &t->rows[i];
		k++;
		at += (size_t)snprintf(others + at, sizeof(others) - at, "%s%s.%s%s%s%s",
		                       k == 1 ? "" : k == total ? " and " : ", ",
		                       k == 1 ? "certificate" : "", fm->ext, fm->kind ? " (" : "",
		                       fm->kind ? fm->kind : "", fm->kind ? ")" : "");
	}
	pv_report_formats_join(t, CERT_FORMATS, PV_FORMAT_FIELD_NAME, ", ", ", ", names,
	                       sizeof(names));
	snprintf(para, sizeof(para),
	         "Runs engine E on scenario S (N schedules, default 1000 on emu and 20 on ptrace; "
	         "random explorer seeded with --seed, default 1) and writes DIR/certificate.json "
	         "(default DIR: out): the SHA-256 of the target, the patch and the engine (a "
	         "plugin's .so; for a built-in engine, the patchvet binary), the patchvet version, "
	         "seed, schedules, explorer and its guarantee, every verdict and the exact command "
	         "that re-runs it; %s too when --format (%s) names them. Reproducers go to "
	         "DIR/repro/.", others, names);
	fputs(certify_help, f);
	pv_cli_wrap(f, "", "", para, 78);
	fputs(certify_help_tail, f);
}
int pv_cmd_certify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"engine", required_argument, NULL, 'e'},
		{"scenario", required_argument, NULL, 's'},
		{"backend", required_argument, NULL, 'b'},
		{"schedules", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 'S'},
		{"flavour", required_argument, NULL, 'f'},
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'F'},
		{"verify", required_argument, NULL, 'V'},
		{"overhead-time", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct pv_cli_options so = {
		.cmd = "certify", .takes = pv_cli_options_takes(opts),
		.engine_many = PV_CLI_ONCE, .scenario_many = PV_CLI_ONCE,
		.engine_once_why = " (a certificate is for one engine and one patch)",
		.formats_allowed = CERT_FORMATS, .seed = 1, .formats = PV_FORMAT_JSON,
	};
	struct pv_certify_options a = {.overhead_time = PV_CERTIFY_OVERHEAD_TIME};
	const char *verify = NULL;
	bool overhead_time_given = false;
	struct pv_error err;
	pv_error_clear(&err);
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+e:s:b:n:S:f:o:F:V:O:h", opts, NULL)) != -1) {
		int taken = pv_cli_options_take(&so, c, optarg);
		if (taken > 0)
			return taken;
		if (taken == 0)
			continue;
		switch (c) {
		case 'V': verify = optarg; break;
		case 'O': {
			char *end = NULL;
			errno = 0;
			a.overhead_time = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(a.overhead_time >= 0) ||
			    a.overhead_time > 86400)
				return pv_cli_usage("certify", "--overhead-time wants seconds from 0 (no "
				                               "native timing) to 86400, not '%s'", optarg);
			overhead_time_given = true;
			break;
		}
		case 'h': certify_help_print(stdout); return PV_EXIT_OK;
		default:
			return pv_cli_usage("certify", "unknown or incomplete option '%s'",
			                    argv[optind - 1]);
		}
	}
	a.engine = so.engine;
	a.scenario = so.scenario;
	a.backend = so.backend;
	a.schedules = so.schedules;
	a.schedules_given = so.schedules_given;
	a.seed = so.seed;
	a.flavour = so.flavour_name;
	a.out_dir = so.out_dir;
	a.formats = so.formats | PV_FORMAT_JSON;
	if (optind != argc)
		return pv_cli_usage("certify", "unexpected argument '%s'", argv[optind]);
	if (verify) {
		if (a.engine || a.scenario || a.backend || a.schedules_given || a.flavour ||
		    overhead_time_given)
			return pv_cli_usage("certify", "--verify takes its settings from the "
			                               "certificate; give only --out with it");
		struct pv_cli_progress shown;
		struct pv_run_progress hooks = pv_cli_progress_hooks(&shown, stderr);
		int status = pv_certify_verify(verify, a.out_dir, &hooks, &err);
		return status < 0 ? pv_cli_fail(&err) : status;
	}
	if (!a.engine || !a.scenario)
		return pv_cli_usage("certify", "--engine and --scenario are both required");
	if (!pv_plugin_is_path(a.engine) && !pv_exec_is_spec(a.engine) && !pv_engine_find(a.engine))
		return pv_cli_usage("certify", "unknown engine '%s'; `patchvet list engines` shows "
		                               "the built-in ones", a.engine);
	if (!a.out_dir)
		a.out_dir = "out";
	struct pv_cli_progress shown;
	a.progress = pv_cli_progress_hooks(&shown, stderr);
	int status = pv_certify_make(&a, &err);
	return status < 0 ? pv_cli_fail(&err) : status;
}
