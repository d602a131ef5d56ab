/* The engine campaign of patchvet run: resolve and check every input before
 * anything runs (so bad input is exit 2 with one line), drive the jobs on
 * the backend, report progress to the caller's hooks, print the table, write
 * the reports. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../engines/catalogue.h"
#include "../../reports/registry.h"
#include "../../reports/report.h"
#include "../backend/registry.h"
#include "../bench/bench.h"
#include "../model/campaign.h"
#include "../model/version.h"
#include "../util/exit.h"
#include "driver.h"
#include "engine_load.h"
#include "../exec/adapter.h"
#include "../util/files.h"
#include "../util/hash.h"
#include "jobs.h"
#include "checkpoint.h"
#include "run.h"
#include "stories.h"
#include "../load/scenario.h"
#include "../util/clock.h"

/* A scenario on one backend with everything its jobs need, resolved and
 * hashed once (each backend runs its own build of the target). */
struct scen {
	struct pv_scenario *sc;
	unsigned backend;        /* one enum pv_backend bit */
	char file[PATH_MAX];
	char target[PATH_MAX];
	char patch[PATH_MAX];
	char target_sha256[PV_SHA256_HEX_LEN + 1];
	char patch_sha256[PV_SHA256_HEX_LEN + 1];
	unsigned flavour;        /* the one its jobs run in */
	/* A lifecycle sequence: `patch` is its first patch. */
	struct pv_sequence seq;
	bool has_seq;
	char seq_patch[PV_SEQ_MAX_PATCHES][PATH_MAX];
	const char *extra[PV_SEQ_MAX_PATCHES];
	char alt_target[4][PATH_MAX];
	struct pv_job_alt alts[4];
	size_t nalts;
};

struct plan {
	struct scen **scens;     /* each allocated alone: jobs point into them */
	size_t nscens;
	struct pv_job *jobs;     /* grouped by backend, emu first */
	const struct pv_expectation **expect; /* per job; NULL when not compared */
	unsigned *backend;       /* per job: its enum pv_backend bit */
	size_t njobs;
	/* --engine FILE.so and exec:FILE, open until the end; each allocated
	 * alone (jobs point at their spec). */
	struct pv_loaded_engine **loaded;
	size_t nloaded;
	unsigned fault;          /* --fault, every job */
	const char *work_dir;    /* --out: program scenarios' {workdir}s */
	int pid;                 /* --pid */
};

/* Ptrace runs are real processes (about a tenth of a second each): the
 * default campaign runs at most this many schedules of each ptrace job. */
#define DEFAULT_PTRACE_SCHEDULES 20

static const struct pv_backend_ops *backend_ops(unsigned backend)
{
	const struct pv_backend_info *b = pv_backend_of(backend);
	return b ? b->ops : pv_backend_of(PV_BACKEND_EMU)->ops;
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nscens; i++) {
		pv_sequence_free(&p->scens[i]->seq);
		pv_scenario_free(p->scens[i]->sc);
		free(p->scens[i]);
	}
	free(p->scens);
	free(p->jobs);
	free(p->expect);
	free(p->backend);
	for (size_t i = 0; i < p->nloaded; i++) {
		pv_engine_unload(p->loaded[i]);
		free(p->loaded[i]);
	}
	free(p->loaded);
}

/* Jobs of exec engines run on the exec adapter, a backend of its own. */
static const struct pv_backend_ops *job_ops(const struct plan *p, size_t job)
{
	return pv_exec_engine_is(p->jobs[job].engine) ? &pv_backend_exec_ops
	                                              : backend_ops(p->backend[job]);
}

/* --engine exec:FILE runs only on ptrace, which it picks when --backend is
 * not given. */
static int exec_backend(const struct pv_run_options *o, const char **backend,
                        struct pv_error *err)
{
	for (size_t i = 0; i < o->nengines; i++) {
		if (!pv_exec_is_spec(o->engines[i]))
			continue;
		if (o->backend && strcmp(o->backend, "ptrace"))
			return pv_error_set(err, PV_EINVAL, "--engine %s: exec engines run only on the "
			                                    "ptrace backend, not on %s (use --backend "
			                                    "ptrace)", o->engines[i], o->backend);
		*backend = "ptrace";
	}
	return 0;
}

/* The engine of --engine ARG (engine_load.h): a built-in one, or a plugin
 * or an exec file kept open in p. */
static int find_engine(struct plan *p, const char *arg, const struct pv_engine **e,
                       unsigned *backends, struct pv_error *err)
{
	struct pv_loaded_engine **v = realloc(p->loaded, (p->nloaded + 1) * sizeof(*v));
	if (!v)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	p->loaded = v;
	struct pv_loaded_engine *l = calloc(1, sizeof(*l));
	if (!l)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = pv_engine_load(arg, l, err);
	if (rc) {
		free(l);
		return rc;
	}
	v[p->nloaded++] = l;
	*e = l->engine;
	*backends = l->backends;
	return 0;
}

/* The flavour a scenario's jobs run in: the one asked for, or, when
 * --flavour was not given and the scenario is not built in it, the
 * scenario's first (so counter-pad runs in pad). */
static unsigned job_flavour(unsigned flavour, bool given, const struct pv_scenario *sc)
{
	if (given || (sc->flavours & flavour))
		return flavour;
	for (unsigned b = 1; b <= PV_FLAVOUR_ALL; b <<= 1)
		if (sc->flavours & b)
			return b;
	return flavour;
}

/* The sequence of s (--sequence, else the scenario's own): its patches
 * resolved and hashed, and, when --flavour was not given, the scenario's
 * other flavours to fall back to when the engine refuses this one. */
static int plan_sequence(struct scen *s, const char *data, const struct pv_run_options *o,
                         const char *where, struct pv_error *err)
{
	const struct pv_scenario *sc = s->sc;
	const char *text = o->sequence ? o->sequence : sc->sequence;
	if (!text)
		return 0;
	int rc = pv_sequence_parse(text, &s->seq, err);
	if (rc)
		return rc;
	s->has_seq = true;
	for (size_t i = 0; !rc && i < s->seq.npatches; i++) {
		const char *name = s->seq.patches[i];
		char *buf = s->seq_patch[i];
		if (o->sequence && strchr(name, '/')) /* a path on the command line: as given */
			rc = snprintf(buf, PATH_MAX, "%s", name) >= PATH_MAX
			             ? pv_error_set(err, PV_ERANGE, "%s: path too long", name) : 0;
		else if (o->sequence)
			rc = snprintf(buf, PATH_MAX, "%s/patches/%s.so", data, name) >= PATH_MAX
			             ? pv_error_set(err, PV_ERANGE, "%s: path too long", name) : 0;
		else
			rc = pv_scenario_named_patch_path(sc, data, name, buf, PATH_MAX, err);
		char hash[PV_SHA256_HEX_LEN + 1];
		if (!rc && (rc = pv_sha256_file(buf, i ? hash : s->patch_sha256, err)) == PV_ENOENT)
			pv_error_set(err, rc, "%ssequence patch %s: no %s (a built-in patch name, or a "
			                      "path; run `make` to build the corpora)", where, name, buf);
		if (i)
			s->extra[i - 1] = buf;
	}
	if (!rc)
		memcpy(s->patch, s->seq_patch[0], PATH_MAX);
	for (unsigned b = 1; !rc && !o->flavour_given && b <= PV_FLAVOUR_ALL; b <<= 1) {
		if (!(sc->flavours & b) || b == s->flavour)
			continue;
		struct pv_job_alt *a = &s->alts[s->nalts];
		char *t = s->alt_target[s->nalts];
		rc = s->backend == PV_BACKEND_EMU
		             ? pv_scenario_emu_target_path(sc, data, b, t, PATH_MAX, err)
		             : pv_scenario_target_path(sc, data, b, t, PATH_MAX, err);
		if (!rc && pv_sha256_file(t, a->target_sha256, err))
			continue; /* a flavour not built: not a fallback */
		a->flavour = pv_flavour_name(b);
		a->target = t;
		s->nalts += !rc;
	}
	return rc;
}

/* Loads scenario `what` (or finds it when loaded already) and checks that it
 * can run on `backend` in its job flavour (job_flavour): its files exist and
 * are hashed. `where` prefixes messages about it (an expected file's line),
 * may be "". */
static int plan_scenario(struct plan *p, const char *what, const char *data,
                         const struct pv_run_options *o, unsigned backend,
                         const char *where, size_t *index, struct pv_error *err)
{
	for (size_t i = 0; i < p->nscens; i++)
		if (p->scens[i]->backend == backend &&
		    (!strcmp(p->scens[i]->sc->name, what) || !strcmp(p->scens[i]->sc->file, what))) {
			*index = i;
			return 0;
		}
	struct scen **v = realloc(p->scens, (p->nscens + 1) * sizeof(*v));
	if (!v)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	p->scens = v;
	struct scen *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = pv_scenario_load(what, data, &s->sc, err);
	if (rc) {
		free(s);
		if (*where) {
			char msg[PV_ERROR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			pv_error_set(err, rc, "%s%s", where, msg);
		}
		return rc;
	}
	v[p->nscens++] = s;
	s->backend = backend;
	const struct pv_scenario *sc = s->sc;
	unsigned flavour = s->flavour = job_flavour(o->flavour, o->flavour_given, sc);
	if (!(sc->backends & backend))
		return pv_error_set(err, PV_EINVAL, "%sscenario %s does not list %s among its "
		                                    "backends (%s)", where, sc->name,
		                    pv_backend_name(backend), sc->file);
	if (sc->program && backend == PV_BACKEND_EMU)
		return pv_error_set(err, PV_EINVAL, "%sscenario %s runs a real program ([program] in "
		                                    "%s): it runs on --backend ptrace, not emu",
		                    where, sc->name, sc->file);
	if (!(sc->flavours & flavour))
		return pv_error_set(err, PV_EINVAL, "%sscenario %s is not built in flavour %s (%s)",
		                    where, sc->name, pv_flavour_name(flavour), sc->file);
	if (!sc->patch)
		return pv_error_set(err, PV_EINVAL, "%sscenario %s has no patch, and an engine "
		                                    "needs one (%s)", where, sc->name, sc->file);
	if ((rc = backend == PV_BACKEND_EMU
	                  ? pv_scenario_emu_target_path(sc, data, flavour, s->target,
	                                                sizeof(s->target), err)
	                  : pv_scenario_target_path(sc, data, flavour, s->target,
	                                            sizeof(s->target), err)) ||
	    (rc = pv_scenario_patch_path(sc, data, s->patch, sizeof(s->patch), err)))
		return rc;
	if (!realpath(sc->file, s->file))
		snprintf(s->file, sizeof(s->file), "%s", sc->file);
	/* Hashing reads both files: a missing one is found here, before any run. */
	if ((rc = pv_sha256_file(s->target, s->target_sha256, err)) ||
	    (rc = pv_sha256_file(s->patch, s->patch_sha256, err))) {
		if (rc == PV_ENOENT) {
			char msg[PV_ERROR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			pv_error_set(err, rc, "%sscenario %s: %s (run `make` to build the corpora)",
			             where, sc->name, msg);
		}
		return rc;
	}
	if ((rc = plan_sequence(s, data, o, where, err)))
		return rc;
	*index = p->nscens - 1;
	return 0;
}

static int plan_job(struct plan *p, size_t scen, const struct pv_engine *engine,
                    const struct pv_expectation *x, struct pv_error *err)
{
	struct pv_job *jobs = realloc(p->jobs, (p->njobs + 1) * sizeof(*jobs));
	if (jobs)
		p->jobs = jobs;
	const struct pv_expectation **ex = realloc(p->expect, (p->njobs + 1) * sizeof(*ex));
	if (ex)
		p->expect = ex;
	unsigned *bk = realloc(p->backend, (p->njobs + 1) * sizeof(*bk));
	if (bk)
		p->backend = bk;
	if (!jobs || !ex || !bk)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	const struct scen *s = p->scens[scen];
	struct pv_job *j = &jobs[p->njobs];
	memset(j, 0, sizeof(*j));
	j->engine = engine;
	for (size_t i = 0; i < p->nloaded; i++)
		if (p->loaded[i]->engine == engine && p->loaded[i]->spec[0]) {
			j->engine_spec = p->loaded[i]->spec;
			j->engine_sha256 = p->loaded[i]->sha256;
		}
	j->scenario = s->sc->name;
	j->scenario_file = s->file;
	j->flavour = pv_flavour_name(s->flavour);
	j->target = s->target;
	j->patch = s->patch;
	memcpy(j->target_sha256, s->target_sha256, sizeof(j->target_sha256));
	memcpy(j->patch_sha256, s->patch_sha256, sizeof(j->patch_sha256));
	j->workload = (struct pv_workload){.workers = s->sc->workers,
	                                   .iterations = s->sc->iterations,
	                                   .param = s->sc->param};
	if (s->has_seq) {
		j->sequence = &s->seq;
		j->extra_patches = s->extra;
		j->nextra = s->seq.npatches - 1;
		j->alts = s->alts;
		j->nalts = s->nalts;
	}
	j->fault = (enum pv_fault)p->fault;
	j->program = s->sc->program;
	j->work_dir = p->work_dir;
	j->attach_pid = p->pid;
	ex[p->njobs] = x;
	bk[p->njobs] = s->backend;
	p->njobs++;
	return 0;
}

static int unknown_engine(const char *name, const char *where, struct pv_error *err)
{
	return pv_error_set(err, PV_ENOENT, "%sunknown engine '%s'; `patchvet list engines` "
	                                    "shows the built-in ones", where, name);
}

/* Jobs from the command line: engines x scenarios, on each backend of
 * `backends` (emu first). */
static int plan_explicit(struct plan *p, const struct pv_run_options *o, const char *data,
                         unsigned backends, struct pv_error *err)
{
	size_t ncat;
	const struct pv_engine_entry *cat = pv_engine_catalogue(&ncat);
	size_t cap = o->nengines ? o->nengines : ncat;
	const struct pv_engine **engines = calloc(cap, sizeof(*engines));
	unsigned *cat_backends = calloc(cap, sizeof(*cat_backends));
	if (!engines || !cat_backends) {
		free(engines);
		free(cat_backends);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	size_t nengines = 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < cap; i++) {
		if (o->nengines) {
			rc = find_engine(p, o->engines[i], &engines[nengines], &cat_backends[nengines],
			                 err);
			nengines += !rc;
		} else {
			cat_backends[nengines] = cat[i].backends;
			engines[nengines++] = cat[i].engine;
		}
	}
	char **names = NULL;
	size_t nnames = 0;
	if (!rc && !o->nscenarios)
		rc = pv_scenario_list(data, &names, &nnames, err);
	for (unsigned b = PV_BACKEND_EMU; !rc && b <= PV_BACKEND_PTRACE; b <<= 1) {
		if (!(backends & b))
			continue;
		for (size_t i = 0; !rc && i < (o->nscenarios ? o->nscenarios : nnames); i++) {
			size_t si;
			if (!o->nscenarios) {
				/* The default list: built-in scenarios that run on b. */
				struct pv_scenario *sc = NULL;
				if ((rc = pv_scenario_load(names[i], data, &sc, err)))
					break;
				bool fits = (sc->backends & b) && sc->patch &&
				            (sc->flavours & job_flavour(o->flavour, o->flavour_given, sc));
				pv_scenario_free(sc);
				if (!fits)
					continue;
			} else if (backends != b) {
				/* --backend all: a named scenario runs on the backends it
				 * lists (one listing none of them is still an error). */
				struct pv_scenario *sc = NULL;
				if ((rc = pv_scenario_load(o->scenarios[i], data, &sc, err)))
					break;
				bool skip = !(sc->backends & b) && (sc->backends & backends);
				pv_scenario_free(sc);
				if (skip)
					continue;
			}
			rc = plan_scenario(p, o->nscenarios ? o->scenarios[i] : names[i], data, o, b,
			                   "", &si, err);
			/* Without --engine, each engine runs where it means something. */
			for (size_t k = 0; !rc && k < nengines; k++)
				if (o->nengines || (cat_backends[k] & b))
					rc = plan_job(p, si, engines[k], NULL, err);
		}
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(engines);
	free(cat_backends);
	return rc;
}

/* Jobs from the verdict lines of expected, on their backend (emu's first). */
static int plan_expected(struct plan *p, const struct pv_run_options *o, const char *data,
                         const struct pv_expected *x, struct pv_error *err)
{
	for (size_t n = 0; n < 2 * x->count; n++) {
		const struct pv_expectation *it = &x->items[n % x->count];
		unsigned b = n < x->count ? PV_BACKEND_EMU : PV_BACKEND_PTRACE;
		if (strcmp(it->kind, "verdict") || strcmp(it->backend, pv_backend_name(b)))
			continue;
		bool wanted = !o->nscenarios;
		for (size_t k = 0; !wanted && k < o->nscenarios; k++)
			wanted = !strcmp(o->scenarios[k], it->scenario);
		if (!wanted)
			continue;
		char where[PATH_MAX + 32];
		snprintf(where, sizeof(where), "%s:%d: ", x->path, it->line);
		const struct pv_engine_entry *e = pv_engine_find(it->engine);
		if (!e)
			return unknown_engine(it->engine, where, err);
		size_t si;
		int rc = plan_scenario(p, it->scenario, data, o, b, where, &si, err);
		if (!rc)
			rc = plan_job(p, si, e->engine, it, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ----------------------------------------------------------------- reports */

/* OUT/results.EXT for every format asked, each named on stdout. */
static int write_reports(const struct pv_run_options *o, struct pv_campaign *c,
                         struct pv_error *err)
{
	struct pv_report_info info = {.out_dir = o->out_dir};
	unsigned written = 0;
	/* A format that draws each violation's (minimized) story needs them. */
	int rc = pv_report_formats_stories(o->formats) ? pv_campaign_stories(c, o->out_dir, err)
	                                               : 0;
	if (!rc)
		rc = pv_report_write(c, &info, o->out_dir, "results", o->formats, &written, err);
	pv_report_formats_announce(stdout, "results", o->out_dir, "results", written);
	return rc;
}

/* Keeps each final result in the checkpoint (--resume). */
struct keeper {
	const char *out_dir;
	const struct pv_campaign *settings;
	size_t base;  /* index of the drive's first job in the plan */
};

static int keep_result(void *ctx, size_t job, const struct pv_result *r, struct pv_error *err)
{
	const struct keeper *k = ctx;
	return pv_checkpoint_save(k->out_dir, k->base + job, k->settings, r, err);
}

/* The work directories of --jobs workers an interruption left behind. */
static void remove_stale_workers(const char *out_dir)
{
	DIR *d = opendir(out_dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[PATH_MAX + 256];
		if (strncmp(de->d_name, ".jobs-", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", out_dir, de->d_name);
		pv_remove_tree(path);
	}
	if (d)
		closedir(d);
}

/* With expectations: 1 when a result differs from its line (3 when that
 * result is an ERROR), else 0. */
static int compare(struct pv_campaign *c, const struct plan *p, struct pv_error *err)
{
	bool unexpected = false, error = false;
	for (size_t i = 0; i < c->nresults && i < p->njobs; i++) {
		struct pv_result *r = &c->results[i];
		const struct pv_expectation *x = p->expect[i];
		if (!x)
			continue;
		char want[256];
		pv_expectation_format(x, want, sizeof(want));
		if (!(r->expected = strdup(want)))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		r->as_expected = pv_expected_holds(x, r);
		if (!r->as_expected) {
			unexpected |= r->verdict != PV_VERDICT_ERROR;
			error |= r->verdict == PV_VERDICT_ERROR;
		}
	}
	return unexpected ? PV_EXIT_VIOLATION : error ? PV_EXIT_INTERNAL : PV_EXIT_OK;
}

/* The backends a campaign runs on: --backend, else emu (an explicit
 * campaign) or those of the verdict lines (the default one). */
static int select_backends(const char *name, bool from_expected, unsigned *out,
                           struct pv_error *err)
{
	if (!name)
		*out = from_expected ? PV_BACKEND_ALL : PV_BACKEND_EMU;
	else if (!strcmp(name, "all"))
		*out = PV_BACKEND_ALL;
	else if (pv_backend_find(name))
		*out = pv_backend_find(name)->bit;
	else {
		size_t n;
		const struct pv_backend_info *b = pv_backends(&n);
		char names[96] = "";
		for (size_t i = 0; i < n; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			         i ? ", " : "", pv_backend_name(b[i].bit));
		return pv_error_set(err, PV_EINVAL, "unknown backend '%s' (%s or all)", name, names);
	}
	return 0;
}


/* The header's flavour: the one every result ran in when they agree (a
 * sequence falls back when the engine refuses the flavour it was given:
 * lifecycle.c), else the one asked for; each result that fell back is
 * named, with the flavour it fell back from. */
static void used_flavours(const struct pv_run_options *o, const struct pv_campaign *c,
                          const struct plan *p, char *buf, size_t len)
{
	const char *asked = o->flavour_given ? pv_flavour_name(o->flavour)
	                                     : "plain, or the scenario's own";
	const char *same = c->nresults ? c->results[0].flavour : NULL;
	size_t nfell = 0;
	char fell[240] = "";
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		if (same && r->flavour && strcmp(same, r->flavour))
			same = NULL;
		for (size_t k = 0; k < p->njobs; k++) {
			const struct pv_job *j = &p->jobs[k];
			if (!r->flavour || strcmp(j->engine->name, r->engine) ||
			    strcmp(j->scenario, r->scenario) || !strcmp(j->flavour, r->flavour))
				continue;
			size_t used = strlen(fell);
			if (nfell++ < 3)
				snprintf(fell + used, sizeof(fell) - used, "%s%s for %s on %s (fallback from "
				         "%s)", used ? "; " : "", r->flavour, r->engine, r->scenario,
				         j->flavour);
			break;
		}
	}
	if (nfell == 1 && same && c->nresults == 1)
		snprintf(buf, len, "%s", fell);
	else if (nfell)
		snprintf(buf, len, "%s; %s%s", asked, fell, nfell > 3 ? "; ..." : "");
	else if (same && c->nresults == 1)
		snprintf(buf, len, "%s", same);
	else
		snprintf(buf, len, "%s", asked);
}

/* Plans the jobs of o into p and drives them into c, with progress to
 * o->progress. *backends receives the backends asked for, *ptrace_schedules the
 * schedules of each ptrace job. */
static int plan_and_drive(const struct pv_run_options *o, const char *data_dir,
                          const struct pv_expected *expected, bool from_expected,
                          struct plan *p, struct pv_campaign *c, unsigned *backends,
                          uint64_t *ptrace_schedules, struct pv_error *err)
{
	const char *bname = o->backend;
	int rc = exec_backend(o, &bname, err);
	if (!rc)
		rc = select_backends(bname, from_expected, backends, err);
	if (rc)
		return rc;
	p->fault = o->fault;
	p->work_dir = o->out_dir;
	p->pid = o->pid;
	rc = from_expected ? plan_expected(p, o, data_dir, expected, err)
	                   : plan_explicit(p, o, data_dir, *backends, err);
	if (!rc && !p->njobs && !from_expected)
		rc = pv_error_set(err, PV_ENOENT, "no scenario to run on %s in flavour %s",
		                  *backends == PV_BACKEND_ALL ? "emu and ptrace"
		                                              : pv_backend_name(*backends),
		                  pv_flavour_name(o->flavour));
	if (rc || !p->njobs)
		return rc;
	const struct pv_run_progress *show = &o->progress;
	if (show->begin)
		show->begin(show->ctx, p->njobs);
	/* Every final result is kept as it comes, for --resume. */
	struct pv_campaign kept;
	pv_campaign_init(&kept);
	const struct pv_result **finished = calloc(p->njobs, sizeof(*finished));
	if (!finished)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	rc = pv_checkpoint_begin(o->out_dir, o->argc, o->argv, o->resuming, err);
	if (!rc && o->resuming) {
		remove_stale_workers(o->out_dir);
		rc = pv_checkpoint_load(o->out_dir, p->jobs, p->njobs, &kept, finished, err);
	}
	struct keeper keep = {.out_dir = o->out_dir, .settings = c};
	struct pv_drive_config cfg = {
		.explorer = o->explorer,
		.part = o->shard,
		.time_budget = o->time_budget,
		.stop_at_violation = o->stop_at_first,
		.mem_model = PV_MEM_BYTE,
		.out_dir = o->out_dir,
		.progress = show->update,
		.progress_ctx = show->ctx,
	};
	*ptrace_schedules = o->schedules;
	if (from_expected && *ptrace_schedules > DEFAULT_PTRACE_SCHEDULES)
		*ptrace_schedules = DEFAULT_PTRACE_SCHEDULES;
	rc = pv_mkdir_p(o->out_dir, err);
	/* One drive per run of jobs on the same backend (they are grouped by
	 * backend; exec engines' jobs have the exec adapter's). */
	for (size_t lo = 0, hi; !rc && lo < p->njobs; lo = hi) {
		for (hi = lo; hi < p->njobs && job_ops(p, hi) == job_ops(p, lo); hi++)
			;
		cfg.backend = job_ops(p, lo);
		cfg.schedules = p->backend[lo] == PV_BACKEND_PTRACE ? *ptrace_schedules
		                                                    : o->schedules;
		/* A real program's run takes seconds: unless told, as many
		 * schedules as the default campaign gives a ptrace job. */
		bool program = false;
		for (size_t k = lo; k < hi; k++)
			program |= p->jobs[k].program != NULL;
		if (program && !o->schedules_given && cfg.schedules > DEFAULT_PTRACE_SCHEDULES)
			cfg.schedules = DEFAULT_PTRACE_SCHEDULES;
		cfg.explorer = o->explorer;
		cfg.explorer.seed = o->seed;
		/* ptrace and exec take their timing from streams: the default
		 * explorer, the registry's first row. */
		if (!cfg.backend->run_chosen)
			cfg.explorer.kind = 0;
		if (show->drive)
			show->drive(show->ctx, lo);
		cfg.finished = finished + lo;
		cfg.job_done = keep_result;
		keep.base = lo;
		cfg.job_done_ctx = &keep;
		rc = pv_drive_jobs(&cfg, o->jobs, p->jobs + lo, hi - lo, c, err);
	}
	free(finished);
	pv_campaign_free(&kept);
	if (show->end)
		show->end(show->ctx);
	return rc;
}

/* The exact emu overhead figures (harness/bench/bench.h: instructions
 * per operation patched against unpatched, engine mappings over 20
 * apply/revert cycles) of every SAFE or UNSAFE emu result (the engine planned),
 * so the reports can draw them against the 2% claim. A few emu runs each:
 * about 1% of the default campaign's time. Lifecycle sequences and
 * injected faults are not a steady state to measure, and are skipped. */
#define OVERHEAD_CYCLES 20
#define OVERHEAD_THRESHOLD_PCT 2.0

static void measure_overhead(struct pv_campaign *c, const struct plan *p)
{
	double t0 = pv_now_s();
	size_t measured = 0;
	for (size_t i = 0; i < c->nresults && i < p->njobs; i++) {
		struct pv_result *r = &c->results[i];
		const struct pv_job *j = &p->jobs[i];
		if (p->backend[i] != PV_BACKEND_EMU || strcmp(r->backend, "emu") || !r->target ||
		    !r->patch || j->sequence || j->fault != PV_FAULT_NONE ||
		    pv_exec_engine_is(j->engine) ||
		    (r->verdict != PV_VERDICT_SAFE && r->verdict != PV_VERDICT_UNSAFE))
			continue;
		if (!pv_bench_emu_figures(j->engine, r->target, r->patch, j->workload.workers,
		                          j->workload.iterations, j->workload.param, OVERHEAD_CYCLES,
		                          OVERHEAD_THRESHOLD_PCT, r->overhead, &r->noverhead))
			measured++;
	}
	if (measured)
		fprintf(stderr, "patchvet: overhead: exact emu figures of %zu result%s (%.1f s)\n",
		        measured, measured == 1 ? "" : "s", pv_now_s() - t0);
}

int pv_run_engines_campaign(const struct pv_run_options *o, const char *data_dir,
                            struct pv_campaign *c, struct pv_error *err)
{
	struct plan p = {0};
	unsigned backends;
	uint64_t ptrace_schedules;
	int rc = plan_and_drive(o, data_dir, NULL, false, &p, c, &backends, &ptrace_schedules,
	                        err);
	plan_free(&p);
	return rc;
}

int pv_run_engines(const struct pv_run_options *o, const char *data_dir,
                   const struct pv_expected *expected, bool from_expected, int *exit_code,
                   struct pv_error *err)
{
	struct plan p = {0};
	struct pv_campaign c;
	pv_campaign_init(&c);
	unsigned backends = 0;
	uint64_t ptrace_schedules = o->schedules;
	*exit_code = PV_EXIT_OK;
	int rc = plan_and_drive(o, data_dir, expected, from_expected, &p, &c, &backends,
	                        &ptrace_schedules, err);
	if (rc || !p.njobs) {
		pv_campaign_free(&c);
		plan_free(&p);
		return rc;
	}
	const char *bnames = backends == PV_BACKEND_ALL ? "emu and ptrace"
	                                                : pv_backend_name(backends);
	int status = PV_EXIT_OK;
	measure_overhead(&c, &p);
	status = from_expected ? compare(&c, &p, err) : pv_campaign_exit_status(&c);
	if (status < 0)
		rc = status;
	if (!rc) {
		char each[64];
		if (from_expected && ptrace_schedules != o->schedules &&
		    (backends & PV_BACKEND_PTRACE))
			snprintf(each, sizeof(each), "%llu schedules each, %llu on ptrace",
			         (unsigned long long)o->schedules, (unsigned long long)ptrace_schedules);
		else
			snprintf(each, sizeof(each), "%llu schedules each",
			         (unsigned long long)o->schedules);
		char flavours[320];
		used_flavours(o, &c, &p, flavours, sizeof(flavours));
		printf("%spatchvet %s campaign: %zu engine run%s on %s (flavour %s, %s explorer, "
		       "seed %llu, %s)%s\n\n",
		       from_expected ? "\n" : "", PV_VERSION, p.njobs, p.njobs == 1 ? "" : "s", bnames,
		       flavours,
		       c.explorer ? c.explorer : "random",
		       (unsigned long long)o->seed, each,
		       from_expected ? ", compared with corpora/expected" : "");
		pv_report_text(&c, o->out_dir, stdout);
		rc = write_reports(o, &c, err);
		if (!rc)
			pv_checkpoint_end(o->out_dir);
	}
	if (!rc)
		*exit_code = status;
	pv_campaign_free(&c);
	plan_free(&p);
	return rc;
}
