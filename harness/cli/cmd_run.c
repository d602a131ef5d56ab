/* patchvet run: its help, its options and the choice of campaign:
 * - the default one (no --engine, no --backend): the patchability analysis of
 *   every scenario in every flavour it suits (harness/campaign/analysis.c),
 *   then every engine verdict line of corpora/expected run on its backend,
 *   all compared with corpora/expected;
 * - an engine campaign (--engine and/or --backend): engines x scenarios on a
 *   backend, judged by the verdicts alone (harness/campaign/engine_campaign.c). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <limits.h>
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
#include "../campaign/expected.h"
#include "../util/files.h"
#include "../campaign/checkpoint.h"
#include "../campaign/analysis.h"
#include "../campaign/run.h"
#include "../explore/registry.h"
#include "../load/scenario.h"
#include "../model/sequence.h"
#include "../../emulator/emu.h"

/* run --help: these pieces around what the explorer and format registries
 * say (run_help_print). */
static const char run_help_usage[] =
	"usage: patchvet run [--engine E]... [--scenario S]... [--backend emu|ptrace|all]\n"
	"                    [--schedules N] [--seed N] [--flavour F]\n";
static const char run_help_campaigns[] =
	"                    [--time SECONDS] [--shard I/N] [--jobs N] [--stop-at-first]\n"
	"                    [--out DIR] [--format LIST]\n"
	"                    [--sequence STEPS] [--fault crash|stall|slowdown]\n"
	"       patchvet run --pid PID --engine E --scenario S [--schedules N]\n"
	"       patchvet run --resume DIR\n"
	"\n"
	"Without --engine and --backend: the default campaign. The patchability\n"
	"analysis of the built-in scenarios (or those named) in every flavour, then\n"
	"every `verdict` line of corpora/expected (of the named scenarios) run on its\n"
	"backend (ptrace ones with at most 20 schedules: real processes are slow); each\n"
	"result is compared with corpora/expected. Reports: DIR/report.txt and\n"
	"report.json (analysis), DIR/results.* (verdicts, see --format).\n"
	"\n"
	"With --engine or --backend: an engine campaign on a backend (default emu: the\n"
	"emulator; ptrace: the native targets as real processes; all: both). Every\n"
	"engine named (default: all built-in ones, `patchvet list engines`) on every\n"
	"scenario named (a name or a path; default: the built-in ones that list the\n"
	"backend), N schedules each (default 1000; 20 for a [program] scenario) from\n"
	"the random explorer seeded with --seed (default 1), the targets in flavour F\n"
	"(default plain). Writes\n"
	"DIR/results.* and, for the first violation of each check,\n"
	"DIR/repro/ENGINE--SCENARIO--CHECK.pvr (`patchvet replay` runs it again).\n"
	"DIR defaults to out/.\n"
	"\n";
static const char run_help_sequence[] =
	"\n"
	"--sequence STEPS: a patch lifecycle instead of one apply and one revert,\n"
	"e.g. apply:counter-fix,apply:counter-fix2,revert:counter-fix,revert-all\n"
	"(patches by built-in name or path, at most 4 on emu; `restart` kills and\n"
	"restarts the target while patched). After each step the\n"
	"version of every replaced function that runs is checked (ineffective) and\n"
	"recorded in results.json; rollback-bytes once no patch is applied. Without\n"
	"--flavour, a scenario the engine refuses in its flavour runs in the next\n"
	"flavour it is built in that the engine accepts (pulp: pad).\n"
	"A step fault:crash|stall|slowdown injects that fault there, judged against\n"
	"the most recent apply still applied.\n"
	"--fault crash|stall|slowdown: once apply returned, a worker dies, every\n"
	"running worker stops, or every call of a patched function costs its caller\n"
	"8 scheduling slices (ptrace: 20 ms asleep), until the patch is reverted; an\n"
	"engine that declares automatic rollback must revert within its bound.\n"
	"\n"
	"Explorers (emu; ptrace takes random streams only):\n";
static const char run_help_tail[] =
	"--time SECONDS stops each engine x scenario after that long. --shard I/N\n"
	"runs the I-th of N deterministic parts of the work (join the parts'\n"
	"results.json with `patchvet merge`); --jobs N runs N worker processes with\n"
	"the same results as one (bounded: when its space is exhausted within the\n"
	"budget). --stop-at-first ends each engine x scenario at its first\n"
	"violating schedule (fail fast in CI; each part of a sharded run stops at\n"
	"its own).\n"
	"\n"
	"patchvet run --resume DIR continues a run that was interrupted (SIGINT,\n"
	"SIGTERM, a lost machine) with the options it had, from the results it had\n"
	"finished: every engine x scenario x backend whose result was final is kept\n"
	"(DIR/.checkpoint/, removed once the reports are written), the others run\n"
	"again. The results equal those of an uninterrupted run.\n"
	"\n"
	"--pid PID applies and reverts S's patch in process PID, which must run S's\n"
	"target (one schedule, or N): patchvet never kills it and leaves it running\n"
	"and untraced, even when patchvet itself is killed (no thread is ever in a\n"
	"group-stop; no thread is steered, no signal sent). The last line says\n"
	"whether the patch was left applied.\n"
	"\n"
	"An engine is a built-in name, a plugin (path/to/engine.so), or exec:FILE: an\n"
	"external patcher described by FILE, run on ptrace (docs/exec-adapter.md).\n"
	"\n"
	"exit status: 0 every verdict SAFE or REFUSED (or as expected), 1 a violation\n"
	"(or an unexpected result), 2 bad input, 3 an ERROR verdict\n";

/* The default formats of run (text,json). */
#define RUN_FORMATS (PV_FORMAT_TEXT | PV_FORMAT_JSON)

static void run_help_print(FILE *f)
{
	const struct pv_explorer_table *xt = pv_explorers_builtin();
	fputs(run_help_usage, f);
	fputs("                    [--explore ", f);
	for (size_t i = 0; i < xt->n; i++)
		fprintf(f, "%s%s", i ? "|" : "", xt->rows[i].name);
	fputs("]", f);
	const struct pv_explorer_param *params[PV_EXPLORER_PARAMS];
	size_t np = pv_explorer_params(NULL, params, PV_EXPLORER_PARAMS);
	for (size_t i = 0; i < np && i < PV_EXPLORER_PARAMS; i++)
		fprintf(f, " [--%s %s]", params[i]->name, params[i]->metavar);
	fputs("\n", f);
	fputs(run_help_campaigns, f);

	/* --format: every format's name, file and what it is for. */
	const struct pv_report_format_table *ft = pv_report_formats_builtin();
	char *para = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&para, &len);
	if (m) {
		fputs("--format LIST: comma-separated, of", m);
		for (size_t i = 0; i < ft->n; i++) {
			const struct pv_report_format_info *fm = &ft->rows[i];
			fprintf(m, "%s%s (results.%s%s%s)", i == 0 ? " " : i + 1 == ft->n ? " and " : ", ",
			        fm->name, fm->ext, fm->help ? ", " : "", fm->help ? fm->help : "");
		}
		char def[128];
		pv_report_formats_join(ft, RUN_FORMATS, PV_FORMAT_FIELD_NAME, ",", ",", def,
		                       sizeof(def));
		fprintf(m, "; default %s.", def);
		if (!fclose(m))
			pv_cli_wrap(f, "", "", para, 76);
	}
	free(para);
	fputs(run_help_sequence, f);
	for (size_t i = 0; i < xt->n; i++) {
		char first[32];
		snprintf(first, sizeof(first), "  %-8s ", xt->rows[i].name);
		pv_cli_wrap(f, first, "           ", xt->rows[i].help, 78);
	}
	fputs(run_help_tail, f);
}

static int load_expected(const char *data, struct pv_expected **out, struct pv_error *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/expected", data) >= (int)sizeof(path))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", data);
	return pv_expected_load(path, NULL, out, err);
}

/* The default campaign: analysis, then the verdict lines; the worse exit
 * status of the two (a mismatch, 1, before an error, 3). */
static int run_default(const struct pv_run_options *o, struct pv_error *err, int *exit_code)
{
	char data[PATH_MAX];
	struct pv_expected *expected = NULL;
	int analysis = PV_EXIT_OK, verdicts = PV_EXIT_OK;
	int e = pv_data_dir(data, sizeof(data), err);
	if (!e)
		e = load_expected(data, &expected, err);
	if (!e)
		e = pv_run_analysis(o, data, expected, &analysis, err);
	if (!e)
		e = pv_run_engines(o, data, expected, true, &verdicts, err);
	if (!e)
		*exit_code = analysis == PV_EXIT_VIOLATION || verdicts == PV_EXIT_VIOLATION
		                     ? PV_EXIT_VIOLATION
		                     : analysis != PV_EXIT_OK ? analysis : verdicts;
	pv_expected_free(expected);
	return e;
}

static int run_engine_campaign(const struct pv_run_options *o, struct pv_error *err,
                               int *exit_code)
{
	char data[PATH_MAX];
	int e = pv_data_dir(data, sizeof(data), err);
	return e ? e : pv_run_engines(o, data, NULL, false, exit_code, err);
}

static int run_command(int argc, char **argv, const char *resume_dir);

/* --pid: one engine, one scenario, on ptrace, in one process; one schedule
 * unless --schedules says more. */
static int check_pid(struct pv_run_options *o)
{
	if (o->nengines != 1 || o->nscenarios != 1)
		return pv_cli_usage("run", "--pid takes one --engine and one --scenario (the patch to "
		                           "apply and revert in process %d)", o->pid);
	if (o->backend && strcmp(o->backend, "ptrace"))
		return pv_cli_usage("run", "--pid runs on --backend ptrace, not %s", o->backend);
	if (o->sequence || o->fault || o->jobs > 1 || o->resuming)
		return pv_cli_usage("run", "--pid takes no --sequence, --fault, --jobs or --resume: "
		                           "the process is not patchvet's to restart or fault");
	o->backend = "ptrace";
	if (!o->schedules_given)
		o->schedules = 1;
	return -1;
}

int pv_cmd_run(int argc, char **argv)
{
	/* --resume DIR: the interrupted run's own arguments, from its
	 * checkpoint; nothing else may be given. */
	const char *dir = NULL;
	if (argc >= 2 && !strncmp(argv[1], "--resume=", 9) && argc == 2)
		dir = argv[1] + 9;
	else if (argc >= 2 && !strcmp(argv[1], "--resume"))
		dir = argc == 3 ? argv[2] : NULL;
	for (int i = 1; !dir && i < argc; i++)
		if (!strncmp(argv[i], "--resume", 8))
			return pv_cli_usage("run", "--resume DIR takes the options of the interrupted "
			                           "run from DIR: give no others");
	if (!dir)
		return run_command(argc, argv, NULL);
	struct pv_error err;
	pv_error_clear(&err);
	int n = 0;
	char **saved = NULL;
	if (pv_checkpoint_command(dir, &n, &saved, &err))
		return pv_cli_fail(&err);
	char **v = malloc((size_t)(n + 2) * sizeof(*v));
	if (!v) {
		free(saved);
		return PV_EXIT_INTERNAL;
	}
	v[0] = argv[0];
	memcpy(v + 1, saved, (size_t)n * sizeof(*v));
	v[n + 1] = NULL;
	fprintf(stderr, "patchvet: resuming the run interrupted in %s\n", dir);
	int rc = run_command(n + 1, v, dir);
	free(v);
	free(saved);
	return rc;
}

static int run_command(int argc, char **argv, const char *resume_dir)
{
	static const struct option base[] = {
		{"scenario", required_argument, NULL, 's'},
		{"engine", required_argument, NULL, 'e'},
		{"backend", required_argument, NULL, 'b'},
		{"schedules", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 'S'},
		{"flavour", required_argument, NULL, 'f'},
		{"explore", required_argument, NULL, 'x'},
		{"time", required_argument, NULL, 'T'},
		{"shard", required_argument, NULL, 'P'},
		{"jobs", required_argument, NULL, 'j'},
		{"stop-at-first", no_argument, NULL, '1'},
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'F'},
		{"sequence", required_argument, NULL, 'Q'},
		{"fault", required_argument, NULL, 'U'},
		{"pid", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
	};
	/* --engine, --scenario, --backend, --schedules, --seed, --flavour,
	 * --time, --out and --format: harness/cli/options.c. */
	struct pv_cli_options so = {
		.cmd = "run",
		.engine_many = PV_CLI_MANY, .scenario_many = PV_CLI_MANY, .backend_all = true,
		.formats_allowed = PV_FORMAT_ALL, .time_max = 1e7,
		.out_dir = "out", .formats = RUN_FORMATS, .flavour = PV_FLAVOUR_PLAIN,
		.schedules = 1000, .seed = 1,
	};
	/* The explorers' parameters are options too: --depth, --preemptions. */
	enum { NBASE = sizeof(base) / sizeof(base[0]), PARAM_OPT = 0x100 };
	const struct pv_explorer_param *params[PV_EXPLORER_PARAMS];
	size_t np = pv_explorer_params(NULL, params, PV_EXPLORER_PARAMS);
	if (np > PV_EXPLORER_PARAMS)
		np = PV_EXPLORER_PARAMS;
	struct option opts[NBASE + PV_EXPLORER_PARAMS + 1];
	memcpy(opts, base, sizeof(base));
	for (size_t i = 0; i < np; i++)
		opts[NBASE + i] = (struct option){params[i]->name, required_argument, NULL,
		                                  PARAM_OPT + (int)i};
	opts[NBASE + np] = (struct option){0, 0, 0, 0};
	so.takes = pv_cli_options_takes(opts);
	struct pv_run_options o = {.shard = {0, 1}, .jobs = 1};
	pv_explorer_defaults(NULL, &o.explorer); /* the default explorer is row 0 */
	so.scenarios = calloc((size_t)argc, sizeof(*so.scenarios));
	so.engines = calloc((size_t)argc, sizeof(*so.engines));
	if (!so.scenarios || !so.engines) {
		free(so.scenarios);
		free(so.engines);
		return PV_EXIT_INTERNAL;
	}
	int c, rc = -1;
	optind = 1;
	opterr = 0;
	while (rc < 0 && (c = getopt_long(argc, argv, "+s:e:b:n:S:f:x:o:F:T:P:j:1hQ:U:p:", opts, NULL)) != -1) {
		int taken = pv_cli_options_take(&so, c, optarg);
		if (taken >= 0) {
			rc = taken ? taken : rc;
			continue;
		}
		switch (c) {
		case 'P': {
			unsigned long long i = 0, n = 0;
			int used = 0;
			if (sscanf(optarg, "%llu/%llu%n", &i, &n, &used) != 2 ||
			    optarg[used] || n < 1 || i < 1 || i > n || n > 1000000)
				rc = pv_cli_usage("run", "--shard wants I/N with 1 <= I <= N, not '%s'",
				                  optarg);
			o.shard = (struct pv_partition){i - 1, n};
			break;
		}
		case '1': o.stop_at_first = true; break;
		case 'j': {
			uint64_t v;
			if (pv_cli_parse_count(optarg, 1, 256, &v))
				rc = pv_cli_usage("run", "--jobs wants 1 to 256 worker processes, not '%s'",
				                  optarg);
			o.jobs = (unsigned)v;
			break;
		}
		case 'x':
			if (!pv_explorer_find(NULL, optarg, &o.explorer.kind)) {
				char names[128];
				pv_explorer_names(NULL, ", ", " or ", names, sizeof(names));
				rc = pv_cli_usage("run", "unknown explorer '%s' (%s)", optarg, names);
			}
			break;
		case 'Q': {
			struct pv_sequence seq;
			struct pv_error serr;
			pv_error_clear(&serr);
			if (pv_sequence_parse(optarg, &seq, &serr)) {
				rc = pv_cli_usage("run", "--sequence: %s", serr.msg);
			} else {
				pv_sequence_free(&seq);
			}
			o.sequence = optarg;
			break;
		}
		case 'U':
			if (!(o.fault = pv_fault_parse(optarg, strlen(optarg))))
				rc = pv_cli_usage("run", "--fault wants crash, stall or slowdown, not '%s'",
				                  optarg);
			break;
		case 'p': {
			uint64_t v;
			if (pv_cli_parse_count(optarg, 1, INT_MAX, &v))
				rc = pv_cli_usage("run", "--pid wants the id of a running process, not '%s'",
				                  optarg);
			o.pid = (int)v;
			break;
		}
		case 'h': run_help_print(stdout); rc = PV_EXIT_OK; break;
		default:
			if (c >= PARAM_OPT && c < PARAM_OPT + (int)np) {
				const struct pv_explorer_param *p = params[c - PARAM_OPT];
				struct pv_error perr;
				pv_error_clear(&perr);
				if (pv_explorer_param_parse(p, optarg, &o.explorer.param[p->slot], &perr))
					rc = pv_cli_usage("run", "%s", perr.msg);
				break;
			}
			rc = pv_cli_usage("run", "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	o.engines = so.engines;
	o.nengines = so.nengines;
	o.scenarios = so.scenarios;
	o.nscenarios = so.nscenarios;
	o.backend = so.backend;
	o.schedules = so.schedules;
	o.schedules_given = so.schedules_given;
	o.seed = so.seed;
	o.flavour = so.flavour;
	o.flavour_given = so.flavour_name != NULL;
	o.out_dir = so.out_dir;
	o.formats = so.formats;
	o.time_budget = so.time_s;
	if (rc < 0 && optind != argc)
		rc = pv_cli_usage("run", "unexpected argument '%s'", argv[optind]);
	o.argc = argc - 1;
	o.argv = argv + 1;
	if (resume_dir) {
		o.resuming = true;
		o.out_dir = resume_dir; /* the checkpoint is where its results go */
	}
	const struct pv_explorer_info *xi = pv_explorer_row(NULL, o.explorer.kind);
	if (rc < 0 && xi->adaptive && o.backend && strcmp(o.backend, "emu"))
		rc = pv_cli_usage("run", "explorer %s chooses as the emulated run goes: it needs "
		                         "--backend emu", xi->name);
	if (rc < 0 && o.fault && o.sequence)
		rc = pv_cli_usage("run", "--fault and --sequence: put the fault in the sequence "
		                         "instead, as a step fault:%s", pv_fault_name(o.fault));
	if (rc < 0 && o.pid)
		rc = check_pid(&o);
	if (rc < 0 && o.fault && !o.backend)
		o.backend = "emu";
	if (rc < 0 && xi->unbounded_schedules && !o.schedules_given)
		o.schedules = xi->unbounded_schedules;
	/* Plugins are loaded (and checked) by the campaign. */
	for (size_t i = 0; rc < 0 && i < o.nengines; i++)
		if (!pv_plugin_is_path(o.engines[i]) && !pv_exec_is_spec(o.engines[i]) &&
		    !pv_engine_find(o.engines[i]))
			rc = pv_cli_usage("run", "unknown engine '%s'; `patchvet list engines` shows "
			                         "the built-in ones", o.engines[i]);
	if (rc < 0) {
		struct pv_error err;
		pv_error_clear(&err);
		struct pv_cli_progress shown;
		o.progress = pv_cli_progress_hooks(&shown, stderr);
		bool engines = o.nengines || o.backend || o.sequence || o.fault;
		if ((engines ? run_engine_campaign(&o, &err, &rc) : run_default(&o, &err, &rc)))
			rc = pv_cli_fail(&err);
	}
	free(o.scenarios);
	free(o.engines);
	return rc;
}
