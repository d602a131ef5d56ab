/* patchvet import-crashes DIR --engine E --scenario S [--flavour F] [--out DIR]:
 * turns the crashes of schedule fuzzing (fuzz/schedule.c under afl-fuzz)
 * into reproducers. Each crash input is a decision stream; it runs again on
 * the emu backend, and each distinct (check, address) it shows becomes one
 * .pvr file (explorer "afl") that `patchvet replay` runs. */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "options.h"
#include "../util/files.h"
#include "../campaign/fuzzjob.h"
#include "../load/reproducer.h"

static const char import_help[] =
	"usage: patchvet import-crashes DIR --engine E --scenario S [--flavour F] [--out DIR]\n"
	"\n"
	"DIR is an afl-fuzz output directory (every instance's crashes/ in it, so a\n"
	"-M/-S campaign imports at once), one instance's directory, or a directory of\n"
	"crash inputs. Every input runs again as a decision stream on the emu backend\n"
	"with the engine and scenario it was fuzzed with (flavour F, default plain), and\n"
	"every distinct (check, address) becomes a reproducer in --out (default\n"
	"DIR/repro): ENGINE--SCENARIO--CHECK--ADDRESS.pvr, for `patchvet replay`.\n"
	"An input that shows no violation is listed: it crashed the harness itself.\n"
	"\n"
	"exit status: 1 reproducers were written, 0 no crash input shows a violation,\n"
	"             2 usage or input error, 3 internal error\n";

struct seen {
	char check[24];
	uint64_t address;
};

struct import {
	struct pv_fuzzjob *job;
	const char *out;
	bool out_made;
	struct seen *seen;
	size_t nseen, cap;
	size_t inputs, written, silent;
	struct pv_reproducer repro;
	struct pv_run_result res;
};

static bool is_dir(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* "id:000012,sig:06,..." -> 12; otherwise fallback. */
static uint64_t afl_id(const char *name, uint64_t fallback)
{
	char *end;
	if (strncmp(name, "id:", 3))
		return fallback;
	unsigned long long v = strtoull(name + 3, &end, 10);
	return end == name + 3 ? fallback : v;
}

static void put_safe(char *dst, size_t len, const char *s)
{
	size_t n = 0;
	for (; *s && n + 1 < len; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		dst[n++] = ok ? c : '_';
	}
	dst[n] = '\0';
}

static int save(struct import *im, const char *input, uint64_t id, const uint8_t *stream,
                size_t len, const struct pv_violation *v, struct pv_error *err)
{
	const struct pv_fuzzjob *j = im->job;
	char e[64], s[128], path[PATH_MAX];
	put_safe(e, sizeof(e), j->engine->name);
	put_safe(s, sizeof(s), j->scenario);
	if (snprintf(path, sizeof(path), "%s/%s--%s--%s--0x%" PRIx64 ".pvr", im->out, e, s,
	             v->check, v->address) >= (int)sizeof(path))
		return pv_error_set(err, PV_ERANGE, "%s: reproducer path too long", im->out);
	if (!im->out_made) {
		int rc = pv_mkdir_p(im->out, err);
		if (rc)
			return rc;
		im->out_made = true;
	}
	struct pv_reproducer *r = &im->repro;
	memset(r, 0, sizeof(*r));
	snprintf(r->patchvet_version, sizeof(r->patchvet_version), "%s", PV_VERSION);
	snprintf(r->engine, sizeof(r->engine), "%s", j->engine->name);
	snprintf(r->scenario, sizeof(r->scenario), "%s", j->scenario);
	snprintf(r->scenario_file, sizeof(r->scenario_file), "%s", j->scenario_file);
	snprintf(r->backend, sizeof(r->backend), "emu");
	snprintf(r->flavour, sizeof(r->flavour), "%s", j->flavour);
	snprintf(r->mem_model, sizeof(r->mem_model), "%s", pv_mem_model_name(j->mem_model));
	r->workers = j->workload.workers;
	r->iterations = j->workload.iterations;
	r->param = j->workload.param;
	snprintf(r->target, sizeof(r->target), "%s", j->target);
	memcpy(r->target_sha256, j->target_sha256, sizeof(r->target_sha256));
	snprintf(r->patch, sizeof(r->patch), "%s", j->patch);
	memcpy(r->patch_sha256, j->patch_sha256, sizeof(r->patch_sha256));
	snprintf(r->explorer, sizeof(r->explorer), "afl");
	r->seed = 0;
	r->schedule = id; /* AFL's id of the crash input */
	snprintf(r->check, sizeof(r->check), "%s", v->check);
	r->thread = v->thread;
	r->address = v->address;
	r->step = v->step;
	snprintf(r->detail, sizeof(r->detail), "%s", v->detail);
	r->stream = stream;
	r->stream_len = len;
	int rc = pv_reproducer_save(path, r, err);
	if (!rc) {
		printf("%s: %s at 0x%" PRIx64 " (from %s)\n", path, v->check, v->address, input);
		im->written++;
	}
	return rc;
}

/* Is (check, address) new? Remembers it when it is. */
static int first_seen(struct import *im, const struct pv_violation *v, bool *first,
                      struct pv_error *err)
{
	*first = false;
	for (size_t i = 0; i < im->nseen; i++)
		if (im->seen[i].address == v->address && !strcmp(im->seen[i].check, v->check))
			return 0;
	if (im->nseen == im->cap) {
		size_t cap = im->cap ? 2 * im->cap : 16;
		struct seen *n = realloc(im->seen, cap * sizeof(*n));
		if (!n)
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		im->seen = n;
		im->cap = cap;
	}
	struct seen *s = &im->seen[im->nseen++];
	snprintf(s->check, sizeof(s->check), "%s", v->check);
	s->address = v->address;
	*first = true;
	return 0;
}

static int read_input(const char *path, uint8_t **buf, size_t *len, struct pv_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return pv_error_set(err, PV_EIO, "%s: cannot read the crash input", path);
	*buf = malloc(PV_REPRO_MAX_STREAM + 1);
	*len = *buf ? fread(*buf, 1, PV_REPRO_MAX_STREAM + 1, f) : 0;
	bool bad = ferror(f);
	fclose(f);
	if (!*buf)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	if (bad)
		return pv_error_set(err, PV_EIO, "%s: cannot read the crash input", path);
	if (*len > PV_REPRO_MAX_STREAM)
		return pv_error_set(err, PV_ERANGE, "%s: longer than a reproducer's stream may be "
		                                    "(%u bytes)", path, PV_REPRO_MAX_STREAM);
	return 0;
}

static int import_one(struct import *im, const char *path, const char *name, uint64_t index,
                      struct pv_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_input(path, &buf, &len, err);
	if (!rc)
		rc = pv_fuzzjob_run(im->job, buf, len, &im->res, err);
	size_t nv = im->res.nviolations < PV_RUN_MAX_VIOLATIONS ? im->res.nviolations
	                                                        : PV_RUN_MAX_VIOLATIONS;
	if (!rc) {
		im->inputs++;
		if (!nv) {
			im->silent++;
			printf("%s: no violation when replayed (it crashed the harness itself; "
			       "run build/fuzz/bin/schedule %s %s < %s)\n", path, im->job->engine->name,
			       im->job->scenario, path);
		}
	}
	for (size_t k = 0; !rc && k < nv; k++) {
		bool first;
		rc = first_seen(im, &im->res.violations[k], &first, err);
		if (!rc && first)
			rc = save(im, path, afl_id(name, index), buf, len, &im->res.violations[k], err);
	}
	free(buf);
	return rc;
}

static int skip_name(const struct dirent *de)
{
	return de->d_name[0] != '.' && strncmp(de->d_name, "README", 6);
}

/* Every input of one crashes directory, in name order. */
static int import_dir(struct import *im, const char *dir, struct pv_error *err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, skip_name, alphasort);
	if (n < 0)
		return pv_error_set(err, PV_EIO, "%s: cannot list the directory", dir);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		if (!rc && snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) <
		                   (int)sizeof(path) && !is_dir(path))
			rc = import_one(im, path, names[i]->d_name, (uint64_t)i, err);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* DIR/crashes, DIR/NAME/crashes for every instance NAME, or DIR itself. */
static int import_all(struct import *im, const char *dir, struct pv_error *err)
{
	char sub[PATH_MAX];
	if (!is_dir(dir))
		return pv_error_set(err, PV_ENOENT, "%s: no such directory", dir);
	snprintf(sub, sizeof(sub), "%s/crashes", dir);
	if (is_dir(sub))
		return import_dir(im, sub, err);
	struct dirent **names = NULL;
	int n = scandir(dir, &names, skip_name, alphasort);
	if (n < 0)
		return pv_error_set(err, PV_EIO, "%s: cannot list the directory", dir);
	int rc = 0, instances = 0;
	for (int i = 0; i < n; i++) {
		if (!rc && snprintf(sub, sizeof(sub), "%s/%s/crashes", dir, names[i]->d_name) <
		                   (int)sizeof(sub) && is_dir(sub)) {
			instances++;
			rc = import_dir(im, sub, err);
		}
		free(names[i]);
	}
	free(names);
	if (!rc && !instances)
		rc = import_dir(im, dir, err);
	return rc;
}

int pv_cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"engine", required_argument, NULL, 'e'},
		{"scenario", required_argument, NULL, 's'},
		{"flavour", required_argument, NULL, 'f'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct pv_cli_options so = {.cmd = "import-crashes", .takes = pv_cli_options_takes(opts)};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "e:s:f:o:h", opts, NULL)) != -1) {
		int taken = pv_cli_options_take(&so, c, optarg);
		if (taken > 0)
			return taken;
		if (taken == 0)
			continue;
		switch (c) {
		case 'h': fputs(import_help, stdout); return PV_EXIT_OK;
		default:
			return pv_cli_usage("import-crashes", "unknown option or missing value '%s'",
			                    argv[optind - 1]);
		}
	}
	const char *engine = so.engine, *scenario = so.scenario, *flavour = so.flavour_name;
	const char *out = so.out_dir;
	if (optind != argc - 1)
		return pv_cli_usage("import-crashes", "name one directory of AFL crashes (DIR)");
	if (!engine || !scenario)
		return pv_cli_usage("import-crashes", "say which --engine and --scenario were fuzzed");
	const char *dir = argv[optind];
	char def_out[PATH_MAX];
	if (!out) {
		snprintf(def_out, sizeof(def_out), "%s/repro", dir);
		out = def_out;
	}
	struct pv_error err;
	pv_error_clear(&err);
	struct import *im = calloc(1, sizeof(*im));
	if (!im)
		return PV_EXIT_INTERNAL;
	im->out = out;
	int rc = pv_fuzzjob_open(engine, scenario, flavour, NULL, NULL, &im->job, &err);
	if (!rc)
		rc = import_all(im, dir, &err);
	if (!rc)
		printf("import-crashes: %zu crash input%s, %zu reproducer%s written to %s, %zu "
		       "input%s without a violation\n",
		       im->inputs, im->inputs == 1 ? "" : "s", im->written,
		       im->written == 1 ? "" : "s", im->written ? out : "(none)", im->silent,
		       im->silent == 1 ? "" : "s");
	pv_fuzzjob_close(im->job);
	free(im->seen);
	size_t written = im->written;
	free(im);
	if (rc)
		return pv_cli_fail(&err);
	return written ? PV_EXIT_VIOLATION : PV_EXIT_OK;
}
