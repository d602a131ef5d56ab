/* patchvet bench --engine E --scenario S [--backend ptrace|emu] [--time S]
 * [--threshold 2%] [--cycles N] [--seed N] [--json] [--out DIR]: the
 * overhead and disruption of one engine on one scenario (harness/bench.h),
 * with a verdict per figure on the threshold. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../engines/catalogue.h"
#include "../engines/plugin.h"
#include "../reports/bench_report.h"
#include "bench.h"
#include "cli.h"
#include "files.h"

static const char bench_help[] =
	"usage: patchvet bench --engine E --scenario S [--backend ptrace|emu] [--time SECONDS]\n"
	"                      [--threshold 2%] [--cycles N] [--workers N] [--seed N] [--json]\n"
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
	"where the scenario lists them. --json prints the result as JSON; --out DIR also\n"
	"writes DIR/bench.txt and DIR/bench.json.\n"
	"\n"
	"exit status: 0 every figure SUPPORTED, 1 a figure REFUTED,\n"
	"             2 usage or input error, 3 inconclusive, not measured or internal error\n";

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

static int write_file(const char *dir, const char *name, const char *text,
                      struct pv_error *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		if (f)
			fclose(f);
		return pv_error_set(err, PV_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

static int emit(const struct pv_bench_result *r, bool json, const char *out_dir,
                struct pv_error *err)
{
	char *js = NULL, *txt = NULL;
	size_t tlen = 0;
	int rc = pv_report_bench_json(r, &js, err);
	if (rc)
		return rc;
	FILE *mf = open_memstream(&txt, &tlen);
	if (!mf) {
		free(js);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	pv_report_bench_text(r, mf);
	fclose(mf);
	fputs(json ? js : txt, stdout);
	if (json)
		fputc('\n', stdout);
	if (out_dir) {
		if (mkdir(out_dir, 0755) && errno != EEXIST)
			rc = pv_error_set(err, PV_EIO, "cannot make %s: %s", out_dir, strerror(errno));
		if (!rc)
			rc = write_file(out_dir, "bench.txt", txt, err);
		if (!rc)
			rc = write_file(out_dir, "bench.json", js, err);
	}
	free(js);
	free(txt);
	return rc;
}

int pv_cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{"engine", required_argument, NULL, 'e'},
		{"scenario", required_argument, NULL, 's'},
		{"backend", required_argument, NULL, 'b'},
		{"time", required_argument, NULL, 't'},
		{"threshold", required_argument, NULL, 'T'},
		{"cycles", required_argument, NULL, 'c'},
		{"seed", required_argument, NULL, 'S'},
		{"workers", required_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *engine = NULL, *scenario = NULL, *backend = NULL, *out_dir = NULL;
	struct pv_bench_config cfg = {.time_s = 20, .threshold_pct = 2, .cycles = 100, .seed = 1,
	                              .native = true, .emu = true, .progress = stderr};
	bool json = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'e': engine = optarg; break;
		case 's': scenario = optarg; break;
		case 'b': backend = optarg; break;
		case 'j': json = true; break;
		case 'o': out_dir = optarg; break;
		case 't':
			if (parse_double(optarg, &cfg.time_s, false) || cfg.time_s <= 0 ||
			    cfg.time_s > 86400)
				return pv_cli_usage("bench", "--time wants seconds (0 < s <= 86400), not "
				                             "'%s'", optarg);
			break;
		case 'T':
			if (parse_double(optarg, &cfg.threshold_pct, true) || cfg.threshold_pct < 0 ||
			    cfg.threshold_pct > 1000)
				return pv_cli_usage("bench", "--threshold wants a percentage such as 2%%, "
				                             "not '%s'", optarg);
			break;
		case 'c': {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v < 2 || v > 100000)
				return pv_cli_usage("bench", "--cycles wants a count from 2 to 100000, not "
				                             "'%s'", optarg);
			cfg.cycles = (unsigned)v;
			break;
		}
		case 'w': {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v < 1 || v > 64)
				return pv_cli_usage("bench", "--workers wants a count from 1 to 64, not "
				                             "'%s'", optarg);
			cfg.cpu_workers = (unsigned)v;
			break;
		}
		case 'S':
			errno = 0;
			cfg.seed = strtoull(optarg, &end, 0);
			if (errno || *end || !optarg[0] || optarg[0] == '-')
				return pv_cli_usage("bench", "--seed wants a number, not '%s'", optarg);
			break;
		case 'h': fputs(bench_help, stdout); return PV_EXIT_OK;
		default:
			return pv_cli_usage("bench", "unknown option or missing value '%s'",
			                    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return pv_cli_usage("bench", "unexpected argument '%s'", argv[optind]);
	if (!engine)
		return pv_cli_usage("bench", "say which engine to measure (--engine E)");
	if (!scenario)
		return pv_cli_usage("bench", "say which scenario to measure on (--scenario S)");
	if (backend) {
		if (!strcmp(backend, "emu"))
			cfg.native = false;
		else if (!strcmp(backend, "ptrace"))
			cfg.emu = false;
		else
			return pv_cli_usage("bench", "--backend is ptrace or emu, not '%s'", backend);
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
	if (emit(&res, json, out_dir, &err)) {
		status = pv_cli_fail(&err);
		goto out;
	}
	status = pv_bench_exit_status(&res);
out:
	pv_bench_result_free(&res);
	pv_plugin_close(plugin);
	return status;
}
