/* patchvet bench --engine E --scenario S [--backend ptrace|emu] [--time S]
 * [--threshold 2%] [--cycles N] [--seed N] [--json] [--out DIR]: the
 * overhead and disruption of one engine on one scenario (harness/bench/bench.h),
 * with a verdict per figure on the threshold. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../engines/catalogue.h"
#include "../../engines/plugin.h"
#include "../../reports/bench_report.h"
#include "../../reports/registry.h"
#include "../../reports/report.h"
#include "../backend/registry.h"
#include "../bench/bench.h"
#include "cli.h"
#include "options.h"
#include "../util/files.h"

/* bench --help: the pieces around the formats' sentence (bench_help_print). */
static const char bench_help[] =
	"usage: patchvet bench --engine E --scenario S [--backend ptrace|emu] [--time SECONDS]\n"
	"                      [--threshold 2%] [--cycles N] [--workers N] [--seed N] [--json]\n"
	"                      [--format LIST]\n"
	"                      [--out DIR]\n"
	"\n"
	"Measures what the engine costs on the scenario, patched against unpatched, and\n"
	"judges the claim \"the overhead is under the threshold\" per figure:\n"
	"  cpu           native CPU time per operation: unpatched and patched processes in\n"
	"                A/B pairs of random order for --time seconds (default 20), each\n"
	"                process with --workers workers (default 1: contention between\n"
	"                workers adds more noise than the 2% to be resolved); the ratio\n"
	"                of means with a paired bootstrap 95% interval;\n"
	"  instructions  exact instructions per operation in the emulator;\n"
	"  memory-growth what the engine leaves mapped over --cycles apply/revert cycles\n"
	"                (default 100) of one process, with Rss/Pss and their slopes.\n"
	"It also prints Rss/Pss patched and unpatched, the engine's own mappings, and the\n"
	"longest pause a thread sees in apply and in revert (p50/p99/max over the cycles).\n"
	"SUPPORTED: the interval's upper bound is under the threshold; REFUTED: its lower\n"
	"bound is over it; INCONCLUSIVE: the threshold is inside it. The scenario runs in\n"
	"its first flavour the engine does not refuse. Without --backend both are measured\n"
	"where the scenario lists them. --json prints the result as JSON; --out DIR also\n";
static const char bench_help_tail[] =
	"\n"
	"exit status: 0 every figure SUPPORTED, 1 a figure REFUTED,\n"
	"             2 usage or input error, 3 inconclusive, not measured or internal error\n";

/* The default formats of bench: text and json. */
#define BENCH_FORMATS (PV_FORMAT_TEXT | PV_FORMAT_JSON)

static void bench_help_print(FILE *f)
{
	/* The formats bench can write: those with a bench writer. */
	const struct pv_report_format_table *t = pv_report_formats_builtin();
	unsigned benchable = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->rows[i].bench)
			benchable |= 1u << i;
	char defaults[256], names[128], exts[128], para[768];
	size_t at = 0;
	defaults[0] = '\0';
	for (size_t i = 0, k = 0; i < t->n; i++)
		if ((BENCH_FORMATS & benchable) & (1u << i))
			at += (size_t)snprintf(defaults + at, sizeof(defaults) - at, "%sDIR/bench.%s",
			                       k++ ? " and " : "", t->rows[i].ext);
	pv_report_formats_join(t, benchable, PV_FORMAT_FIELD_NAME, ", ", ", ", names,
	                       sizeof(names));
	pv_report_formats_join(t, benchable, PV_FORMAT_FIELD_EXT, ",", ",", exts, sizeof(exts));
	snprintf(para, sizeof(para),
	         "writes %s, or the --format list (%s: DIR/bench.{%s}; the HTML draws every "
	         "interval against its threshold).", defaults, names, exts);
	fputs(bench_help, f);
	pv_cli_wrap(f, "", "", para, 76);
	fputs(bench_help_tail, f);
}

static int parse_double(const char *s, double *out, bool percent)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno)
		return -1;
	if (percent && *end == '%')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* DIR/bench.EXT for each format asked for, each written atomically. */
static int emit(const struct pv_bench_result *r, bool json, const char *out_dir,
                unsigned formats, struct pv_error *err)
{
	char *js = NULL;
	int rc = pv_report_bench_json(r, &js, err);
	if (rc)
		return rc;
	if (json) {
		fputs(js, stdout);
		fputc('\n', stdout);
	} else {
		pv_report_bench_text(r, stdout);
	}
	if (out_dir && !(rc = pv_mkdir_p(out_dir, err)))
		rc = pv_report_bench_write(r, out_dir, "bench", formats, err);
	free(js);
	return rc;
}

int pv_cmd_bench(int argc, char **argv)
{
	/* bench takes no short options: these values only name its own rows. */
	enum { THRESHOLD = 0x100, CYCLES, WORKERS, JSON };
	static const struct option opts[] = {
		{"engine", required_argument, NULL, 'e'},
		{"scenario", required_argument, NULL, 's'},
		{"backend", required_argument, NULL, 'b'},
		{"time", required_argument, NULL, 'T'},
		{"threshold", required_argument, NULL, THRESHOLD},
		{"cycles", required_argument, NULL, CYCLES},
		{"seed", required_argument, NULL, 'S'},
		{"workers", required_argument, NULL, WORKERS},
		{"json", no_argument, NULL, JSON},
		{"format", required_argument, NULL, 'F'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct pv_cli_options so = {
		.cmd = "bench", .takes = pv_cli_options_takes(opts),
		.formats_allowed = PV_FORMAT_ALL, .time_max = 86400,
		.formats = BENCH_FORMATS, .seed = 1, .time_s = 20,
	};
	struct pv_bench_config cfg = {.threshold_pct = 2, .cycles = 100, .native = true,
	                              .emu = true, .progress = stderr};
	bool json = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		int taken = pv_cli_options_take(&so, c, optarg);
		if (taken > 0)
			return taken;
		if (taken == 0)
			continue;
		switch (c) {
		case JSON: json = true; break;
		case THRESHOLD:
			if (parse_double(optarg, &cfg.threshold_pct, true) || cfg.threshold_pct < 0 ||
			    cfg.threshold_pct > 1000)
				return pv_cli_usage("bench", "--threshold wants a percentage such as 2%%, "
				                             "not '%s'", optarg);
			break;
		case CYCLES: {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v < 2 || v > 100000)
				return pv_cli_usage("bench", "--cycles wants a count from 2 to 100000, not "
				                             "'%s'", optarg);
			cfg.cycles = (unsigned)v;
			break;
		}
		case WORKERS: {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v < 1 || v > 64)
				return pv_cli_usage("bench", "--workers wants a count from 1 to 64, not "
				                             "'%s'", optarg);
			cfg.cpu_workers = (unsigned)v;
			break;
		}
		case 'h': bench_help_print(stdout); return PV_EXIT_OK;
		default:
			return pv_cli_usage("bench", "unknown option or missing value '%s'",
			                    argv[optind - 1]);
		}
	}
	const char *engine = so.engine, *scenario = so.scenario, *out_dir = so.out_dir;
	unsigned formats = so.formats;
	cfg.seed = so.seed;
	cfg.time_s = so.time_s;
	if (optind < argc)
		return pv_cli_usage("bench", "unexpected argument '%s'", argv[optind]);
	if (!engine)
		return pv_cli_usage("bench", "say which engine to measure (--engine E)");
	if (!scenario)
		return pv_cli_usage("bench", "say which scenario to measure on (--scenario S)");
	/* One backend measures its figures only: emu its counts, ptrace the
	 * native ones. */
	if (so.backend) {
		const struct pv_backend_info *b = pv_backend_find(so.backend);
		cfg.native = b->bit == PV_BACKEND_PTRACE;
		cfg.emu = b->bit == PV_BACKEND_EMU;
	}
	struct pv_error err;
	pv_error_clear(&err);
	struct pv_plugin *plugin = NULL;
	if (pv_plugin_is_path(engine)) {
		if (pv_plugin_open(engine, &plugin, &err))
			return pv_cli_fail(&err);
		cfg.engine = pv_plugin_engine(plugin);
	} else {
		const struct pv_engine_entry *e = pv_engine_find(engine);
		if (!e)
			return pv_cli_usage("bench", "unknown engine '%s' (patchvet list engines)",
			                    engine);
		cfg.engine = e->engine;
	}
	char data[PATH_MAX];
	int status = PV_EXIT_INTERNAL;
	struct pv_bench_result res;
	memset(&res, 0, sizeof(res));
	if (pv_data_dir(data, sizeof(data), &err)) {
		status = pv_cli_fail(&err);
		goto out;
	}
	cfg.data_dir = data;
	cfg.scenario = scenario;
	if (pv_bench_run(&cfg, &res, &err)) {
		status = pv_cli_fail(&err);
		goto out;
	}
	if (emit(&res, json, out_dir, formats, &err)) {
		status = pv_cli_fail(&err);
		goto out;
	}
	status = pv_bench_exit_status(&res);
out:
	pv_bench_result_free(&res);
	pv_plugin_close(plugin);
	return status;
}
