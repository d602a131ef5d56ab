/* patchvet merge RESULTS.json... --out DIR: joins the results of the parts
 * of one campaign (`run --shard I/N` on several machines) into the result of
 * the whole, with the reproducers of the first violations. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/registry.h"
#include "../../reports/report.h"
#include "cli.h"
#include "options.h"
#include "../util/files.h"
#include "../campaign/merge.h"
#include "../campaign/stories.h"

/* merge --help: the formats' paragraph comes from the format registry. */
static const char merge_help_usage[] =
	"usage: patchvet merge RESULTS.json... --out DIR [--format LIST]\n"
	"\n";
static const char merge_help_tail[] =
	"runs and violations add up, the first violation of each check is the\n"
	"earliest of any part, and its reproducer is copied to DIR/repro/ from the\n"
	"repro/ directory beside that part's results.json. Parts of different\n"
	"campaigns (explorer, seed, schedules, shard count) are refused; a missing\n"
	"part is reported.\n"
	"\n"
	"exit status: 0 every verdict SAFE or REFUSED, 1 an UNSAFE verdict,\n"
	"             2 bad input, 3 an ERROR verdict\n";

static void merge_help_print(FILE *f)
{
	char exts[128], names[128], para[512];
	pv_report_formats_join(NULL, PV_FORMAT_ALL, PV_FORMAT_FIELD_EXT, ",", ",", exts,
	                       sizeof(exts));
	pv_report_formats_join(NULL, PV_FORMAT_ALL, PV_FORMAT_FIELD_NAME, ", ", ", ", names,
	                       sizeof(names));
	snprintf(para, sizeof(para),
	         "Joins the results.json of the parts of one campaign (`patchvet run --shard I/N`, "
	         "each part run anywhere with the same options) into DIR/results.{%s} (--format "
	         "picks fewer: %s), as if the campaign had run at once:", exts, names);
	fputs(merge_help_usage, f);
	pv_cli_wrap(f, "", "", para, 72);
	fputs(merge_help_tail, f);
}

/* The directory of path ("." when it has none). */
static void dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

static int merge(char **files, int n, const char *out, unsigned formats, int *exit_code,
                 struct pv_error *err)
{
	struct pv_merge m;
	pv_merge_init(&m, out);
	int rc = pv_mkdir_p(out, err);
	for (int i = 0; !rc && i < n; i++) {
		char *text = NULL, dir[PATH_MAX];
		size_t len = 0;
		struct pv_campaign part;
		rc = pv_file_read(files[i], 1u << 30, &text, &len, err);
		if (!rc)
			rc = pv_report_json_read(text, len, files[i], &part, err);
		free(text);
		if (rc)
			break;
		dir_of(files[i], dir, sizeof(dir));
		rc = pv_merge_add(&m, &part, dir, files[i], err);
		pv_campaign_free(&part);
	}
	if (!rc) {
		uint64_t missing;
		pv_merge_finish(&m, &missing);
		printf("patchvet %s merge: %d part%s of a campaign of %llu (%s explorer, seed %llu)\n\n",
		       PV_VERSION, n, n == 1 ? "" : "s",
		       (unsigned long long)(missing ? m.out.shard_count : (uint64_t)m.nparts),
		       m.out.explorer, (unsigned long long)m.out.seed);
		pv_report_text(&m.out, out, stdout);
		if (missing)
			fprintf(stderr, "patchvet: note: %llu of %llu parts are missing: these results "
			                "cover part of the campaign\n",
			        (unsigned long long)missing, (unsigned long long)m.out.shard_count);
		struct pv_report_info info = {.title = "patchvet campaign (merged)", .out_dir = out};
		unsigned written = 0;
		rc = pv_report_formats_stories(formats) ? pv_campaign_stories(&m.out, out, err) : 0;
		if (!rc)
			rc = pv_report_write(&m.out, &info, out, "results", formats, &written, err);
		pv_report_formats_announce(stdout, "results", out, "results", written);
		if (!rc)
			*exit_code = pv_campaign_exit_status(&m.out);
	}
	pv_merge_free(&m);
	return rc;
}

int pv_cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct pv_cli_options so = {
		.cmd = "merge", .takes = pv_cli_options_takes(opts),
		.formats_allowed = PV_FORMAT_ALL, .formats = PV_FORMAT_ALL,
	};
	struct pv_error err;
	pv_error_clear(&err);
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:F:h", opts, NULL)) != -1) {
		int taken = pv_cli_options_take(&so, c, optarg);
		if (taken > 0)
			return taken;
		if (taken == 0)
			continue;
		switch (c) {
		case 'h': merge_help_print(stdout); return PV_EXIT_OK;
		default:
			return pv_cli_usage("merge", "unknown or incomplete option '%s'",
			                    argv[optind - 1]);
		}
	}
	const char *out = so.out_dir;
	unsigned formats = so.formats;
	if (optind == argc)
		return pv_cli_usage("merge", "name the results.json files of the parts to join");
	if (!out)
		return pv_cli_usage("merge", "say where the joined results go (--out DIR)");
	int rc = PV_EXIT_INTERNAL;
	if (merge(argv + optind, argc - optind, out, formats, &rc, &err))
		return pv_cli_fail(&err);
	return rc;
}
