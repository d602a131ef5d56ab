#include "driver.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../model/version.h"
#include "../util/files.h"
#include "../util/exit.h"
#include "driver_sequence.h"
#include "../load/reproducer.h"
#include "../util/clock.h"

static void put_safe(char **p, char *end, const char *s)
{
	for (; *s && *p < end; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		*(*p)++ = ok ? c : '_';
	}
}

int pv_repro_name(const char *engine, const char *scenario, const char *check, char *buf,
                  size_t len)
{
	size_t need = strlen("repro/--") + strlen(engine) + 2 + strlen(scenario) +
	              strlen(check) + strlen(".pvr") + 1;
	if (len < need)
		return PV_ERANGE;
	char *p = buf, *end = buf + len - 1;
	put_safe(&p, end, "repro/");
	p[-1] = '/'; /* put_safe maps '/' to '_' */
	put_safe(&p, end, engine);
	put_safe(&p, end, "--");
	put_safe(&p, end, scenario);
	put_safe(&p, end, "--");
	put_safe(&p, end, check);
	put_safe(&p, end, ".pvr");
	*p = '\0';
	return 0;
}

/* State of one drive, shared by the helpers below. */
struct drive {
	const struct pv_drive_config *cfg;
	struct pv_campaign *c;
	struct pv_progress prog;
	double run_start;    /* when the current job's runs started */
	bool repro_dir_made;
	uint8_t *stream;
	size_t stream_cap;
	struct pv_reproducer *repro; /* scratch, formatted and saved per violation */
	const struct pv_job *job;    /* the current one */
	void *states[PV_SEQ_MAX_PATCHES]; /* its engine's plans, one per patch */
};

/* The row of the drive's explorer; pv_drive checks it exists. */
static const struct pv_explorer_info *drive_explorer(const struct pv_drive_config *cfg)
{
	return pv_explorer_row(cfg->explorers, cfg->explorer.kind);
}

static void report(struct drive *d, const struct pv_result *finished)
{
	if (!d->cfg->progress)
		return;
	d->prog.seconds = d->c->seconds + (d->run_start ? pv_now_s() - d->run_start : 0);
	d->prog.job_finished = finished != NULL;
	d->prog.result = finished;
	d->cfg->progress(d->cfg->progress_ctx, &d->prog);
}

static int save_reproducer(struct drive *d, const struct pv_job *job,
                           const struct pv_result *res, uint64_t schedule,
                           const struct pv_violation *v, size_t stream_len,
                           struct pv_violation_stat *stat, struct pv_error *err)
{
	char rel[PATH_MAX], path[PATH_MAX];
	if (pv_repro_name(job->engine->name, job->scenario, v->check, rel, sizeof(rel)) ||
	    snprintf(path, sizeof(path), "%s/%s", d->cfg->out_dir, rel) >= (int)sizeof(path))
		return pv_error_set(err, PV_ERANGE, "%s: reproducer path too long", d->cfg->out_dir);
	if (!d->repro_dir_made) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/repro", d->cfg->out_dir);
		int rc = pv_mkdir_p(dir, err);
		if (rc)
			return rc;
		d->repro_dir_made = true;
	}
	struct pv_reproducer *r = d->repro;
	memset(r, 0, sizeof(*r));
	snprintf(r->patchvet_version, sizeof(r->patchvet_version), "%s", PV_VERSION);
	snprintf(r->engine, sizeof(r->engine), "%s", job->engine->name);
	if (job->engine_spec) {
		snprintf(r->engine_spec, sizeof(r->engine_spec), "%s", job->engine_spec);
		snprintf(r->engine_sha256, sizeof(r->engine_sha256), "%s", job->engine_sha256);
	}
	snprintf(r->scenario, sizeof(r->scenario), "%s", job->scenario);
	snprintf(r->scenario_file, sizeof(r->scenario_file), "%s", job->scenario_file);
	snprintf(r->backend, sizeof(r->backend), "%s", d->cfg->backend->name);
	snprintf(r->flavour, sizeof(r->flavour), "%s", job->flavour);
	snprintf(r->mem_model, sizeof(r->mem_model), "%s", pv_mem_model_name(d->cfg->mem_model));
	r->workers = job->workload.workers;
	r->iterations = job->workload.iterations;
	r->param = job->workload.param;
	snprintf(r->target, sizeof(r->target), "%s", job->target);
	memcpy(r->target_sha256, job->target_sha256, sizeof(r->target_sha256));
	snprintf(r->patch, sizeof(r->patch), "%s", job->patch);
	memcpy(r->patch_sha256, job->patch_sha256, sizeof(r->patch_sha256));
	snprintf(r->explorer, sizeof(r->explorer), "%s", drive_explorer(d->cfg)->name);
	r->seed = d->cfg->explorer.seed;
	r->schedule = schedule;
	snprintf(r->check, sizeof(r->check), "%s", v->check);
	r->thread = v->thread;
	r->address = v->address;
	r->step = v->step;
	snprintf(r->detail, sizeof(r->detail), "%s", v->detail);
	r->stream = d->stream;
	r->stream_len = stream_len;
	int rc = pv_repro_lifecycle(r, job, res, err);
	if (!rc)
		rc = pv_reproducer_save(path, r, err);
	if (!rc && !(stat->reproducer = strdup(rel)))
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	return rc;
}

/* Records an engine's failing return (not 0, not a clean PV_EBUSY give-up,
 * not revert's "not called"); the first one becomes the job's reason. */
static int engine_failed(struct pv_result *r, const char *engine, const char *what, int rc,
                         const char *msg, uint64_t schedule)
{
	if (r->failed)
		return 0;
	r->failed = true;
	r->reason_schedule = (int64_t)schedule;
	return pv_result_reason(r, "%s: %s returned %d (%s) in schedule %" PRIu64 "%s%s", engine,
	                        what, rc, pv_strerror(rc), schedule, msg[0] ? ": " : "", msg);
}

/* Schedules one job runs in this partition (a tree walk: at most). */
static uint64_t drive_share(const struct pv_drive_config *cfg)
{
	if (drive_explorer(cfg)->whole_share || cfg->part.count <= 1)
		return cfg->schedules;
	uint64_t n = cfg->schedules / cfg->part.count;
	return n + (cfg->part.index < cfg->schedules % cfg->part.count);
}

/* Where a job's schedules come from: the explorer's row and state, its
 * partition and its budgets. */
struct source {
	const struct pv_explorer_info *xi;
	void *state;             /* the explorer's, between open and close */
	uint64_t limit;          /* schedules (all partitions) */
	uint64_t ran;            /* counted runs so far */
	bool out_of_time;
	uint64_t max_steps;      /* the most choices one run made */
	/* For the baseline run. */
	struct drive *d;
	void *h, *engine_state;
	const struct pv_engine *engine;
};

/* The job's run with every default choice (pct's k). */
static int source_baseline(void *ctx, struct pv_run_result *res, struct pv_error *err)
{
	struct source *s = ctx;
	const struct pv_drive_config *cfg = s->d->cfg;
	const struct pv_job *job = s->d->job;
	return job->sequence ? cfg->backend->run_sequence(s->h, s->engine, s->d->states,
	                                                  job->sequence, NULL, 0, res, err)
	                     : cfg->backend->run(s->h, s->engine, s->engine_state, NULL, 0, res,
	                                         err);
}

static int source_open(struct source *s, struct drive *d, void *h,
                       const struct pv_engine *engine, void *state, const struct pv_job *job,
                       struct pv_error *err)
{
	const struct pv_drive_config *cfg = d->cfg;
	memset(s, 0, sizeof(*s));
	s->xi = drive_explorer(cfg);
	s->limit = cfg->schedules;
	s->d = d;
	s->h = h;
	s->engine = engine;
	s->engine_state = state;
	if (s->xi->adaptive &&
	    (job->sequence ? !cfg->backend->run_sequence_chosen : !cfg->backend->run_chosen))
		return pv_error_set(err, PV_EUNSUPPORTED,
		                    "explorer %s chooses as the run goes, which backend %s cannot "
		                    "offer; use --explore %s there",
		                    s->xi->name, cfg->backend->name,
		                    pv_explorer_row(cfg->explorers, 0)->name);
	struct pv_explore_job ej = {
		.x = &cfg->explorer,
		.part = cfg->part.count ? cfg->part : (struct pv_partition){0, 1},
		.limit = cfg->schedules,
		.workers = job->workload.workers,
		.baseline = source_baseline,
		.baseline_ctx = s,
	};
	return s->xi->ops->open(&s->state, &ej, err);
}

static bool source_next(struct source *s, uint64_t *index, bool *counted)
{
	if (s->out_of_time || s->ran >= s->limit)
		return false;
	return s->xi->ops->next(s->state, index, counted);
}

static int source_run(struct source *s, struct drive *d, void *h,
                      const struct pv_engine *engine, void *state, uint64_t index,
                      size_t *len, struct pv_run_result *res, struct pv_error *err)
{
	const struct pv_drive_config *cfg = d->cfg;
	struct pv_explore_run run = {.stream = d->stream, .cap = d->stream_cap};
	int rc = s->xi->ops->start(s->state, index, &run, err);
	if (rc)
		return rc;
	if (!run.chooser.choose) {
		*len = run.len;
		if (d->job->sequence)
			return cfg->backend->run_sequence(h, engine, d->states, d->job->sequence,
			                                  d->stream, *len, res, err);
		return cfg->backend->run(h, engine, state, d->stream, *len, res, err);
	}
	if (d->job->sequence)
		return cfg->backend->run_sequence_chosen(h, engine, d->states, d->job->sequence,
		                                         &run.chooser, d->stream, d->stream_cap, len,
		                                         res, err);
	return cfg->backend->run_chosen(h, engine, state, &run.chooser, d->stream, d->stream_cap,
	                                len, res, err);
}

/* The explorer's guarantee (r NULL: the job failed, none) and the
 * hot-window coverage, into r. */
static void source_close(struct source *s, struct drive *d, void *h, struct pv_result *r,
                         struct pv_error *err)
{
	const struct pv_drive_config *cfg = d->cfg;
	if (s->state)
		s->xi->ops->close(s->state, r ? r->schedules : 0, r ? &r->guarantee : NULL);
	s->state = NULL;
	if (r && cfg->backend->coverage) {
		struct pv_error cerr;
		pv_error_clear(&cerr);
		if (cfg->backend->coverage(h, &r->coverage, &cerr))
			pv_error_set(err, PV_ENOMEM, "%s", cerr.msg); /* the job keeps its verdict */
	}
}

/* One job. Returns non-zero only for failures that end the campaign. */
static int drive_job(struct drive *d, const struct pv_job *job, size_t index,
                     struct pv_error *err)
{
	const struct pv_drive_config *cfg = d->cfg;
	struct pv_campaign *c = d->c;
	const struct pv_engine *engine = job->engine;
	size_t ri;
	int rc = pv_campaign_add(c, engine->name, job->scenario, cfg->backend->name, job->flavour,
	                         &ri, err);
	if (rc)
		return rc;
	struct pv_result *r = &c->results[ri];
	r->target = strdup(job->target);
	r->patch = strdup(job->patch);
	if (!r->target || !r->patch)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	memcpy(r->target_sha256, job->target_sha256, sizeof(r->target_sha256));
	memcpy(r->patch_sha256, job->patch_sha256, sizeof(r->patch_sha256));

	d->prog.job = index;
	d->prog.engine = engine->name;
	d->prog.scenario = job->scenario;
	d->prog.done = 0;
	d->prog.schedules = drive_share(cfg);
	d->run_start = 0;

	struct pv_error jerr;
	pv_error_clear(&jerr);
	void *h = NULL, *state = NULL;
	int fatal = 0;
	d->job = job;
	memset(d->states, 0, sizeof(d->states));
	rc = pv_lifecycle_open(cfg->backend, cfg->mem_model, job, r, &h, d->states, &jerr);
	state = d->states[0];
	if (rc == PV_EREFUSED) {
		r->refused = true;
		fatal = pv_result_reason(r, "%s", jerr.msg[0] ? jerr.msg : "refused, no reason given");
		goto done;
	}
	if (rc == PV_ENOENT) {
		/* Something the scenario names does not exist (a replaced
		 * function, a symbol the patch needs): the user's to fix, said
		 * once, before any engine is judged on it. */
		r->failed = true;
		pv_result_reason(r, "%s", jerr.msg);
		return pv_error_set(err, PV_ENOENT, "%s: %s", job->scenario,
		                    jerr.msg[0] ? jerr.msg : pv_strerror(rc));
	}
	if (rc && rc != PV_EREFUSED && (job->program || job->attach_pid)) {
		/* The program itself does not run as its scenario says: the
		 * user's input to fix, not a verdict. */
		r->failed = true;
		fatal = pv_error_set(err, pv_exit_for(rc) == PV_EXIT_USAGE ? rc : PV_EINVAL,
		                     "scenario %s: %s", job->scenario,
		                     jerr.msg[0] ? jerr.msg : pv_strerror(rc));
		goto done;
	}
	if (rc) {
		r->failed = true;
		fatal = pv_result_reason(r, "%s", jerr.msg[0] ? jerr.msg : pv_strerror(rc));
		goto done;
	}

	d->run_start = pv_now_s();
	struct source src;
	if ((rc = source_open(&src, d, h, engine, state, job, &jerr))) {
		r->failed = true;
		fatal = pv_result_reason(r, "%s", jerr.msg[0] ? jerr.msg : pv_strerror(rc));
		goto done;
	}
	uint64_t i;
	bool counted;
	while (!fatal && source_next(&src, &i, &counted)) {
		size_t len = 0;
		struct pv_run_result res;
		memset(&res, 0, sizeof(res));
		pv_error_clear(&jerr);
		rc = source_run(&src, d, h, engine, state, i, &len, &res, &jerr);
		if (!rc && src.xi->ops->done)
			rc = src.xi->ops->done(src.state, &jerr);
		if (rc) {
			r->failed = true;
			fatal = pv_result_reason(r, "schedule %" PRIu64 " could not run: %s", i,
			                         jerr.msg[0] ? jerr.msg : pv_strerror(rc));
			break;
		}
		pv_checks_at_end(cfg->checks, &res);
		if (res.decisions > src.max_steps)
			src.max_steps = res.decisions;
		if (!counted)
			continue;
		if (pv_lifecycle_record(r, job, &res))
			fatal = pv_error_set(err, PV_ENOMEM, "out of memory");
		src.ran++;
		r->schedules++;
		c->total_schedules++;
		if (res.apply_rc == 0)
			r->applied++;
		else if (res.apply_rc == PV_EBUSY)
			r->gave_up++;
		else
			fatal = engine_failed(r, engine->name, "apply", res.apply_rc, res.engine_error,
			                      i);
		if (!fatal && res.revert_rc != 0 && res.revert_rc != 1 && res.revert_rc != PV_EBUSY)
			fatal = engine_failed(r, engine->name, "revert", res.revert_rc,
			                      res.engine_error, i);
		size_t nv = res.nviolations < PV_RUN_MAX_VIOLATIONS ? res.nviolations
		                                                    : PV_RUN_MAX_VIOLATIONS;
		for (size_t k = 0; !fatal && k < nv; k++) {
			const struct pv_violation *v = &res.violations[k];
			bool first;
			struct pv_violation_stat *s = pv_result_violation(
				r, v->check, i, (unsigned)k, v->thread, v->address, v->detail, &first);
			if (!s)
				fatal = pv_error_set(err, PV_ENOMEM, "out of memory");
			else if (first && cfg->out_dir)
				fatal = save_reproducer(d, job, r, i, v, len, s, err);
		}
		if (nv)
			d->prog.violating++;
		d->prog.done++;
		d->prog.campaign_done++;
		report(d, NULL);
		if ((cfg->time_budget > 0 && pv_now_s() - d->run_start >= cfg->time_budget) ||
		    (nv && cfg->stop_at_violation))
			src.out_of_time = true;
	}
	source_close(&src, d, h, fatal ? NULL : r, err);
	c->seconds += pv_now_s() - d->run_start;
	d->run_start = 0;
done:
	pv_lifecycle_close(cfg->backend, job, h, d->states);
	/* The campaign's total assumed every job runs all its schedules. */
	d->prog.campaign_schedules -= drive_share(cfg) - d->prog.done;
	pv_result_judge(r);
	if (fatal == PV_ENOMEM) /* pv_result_reason does not fill err */
		pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!fatal)
		report(d, r);
	return fatal;
}

int pv_drive_adopt(const struct pv_drive_config *cfg, size_t job, size_t njobs,
                   const struct pv_result *r, struct pv_campaign *c, struct pv_error *err)
{
	int rc = pv_campaign_add_copy(c, r, err);
	if (rc)
		return rc;
	c->total_schedules += r->schedules;
	if (cfg->progress) {
		struct pv_progress p = {.job = job, .njobs = njobs, .engine = r->engine,
		                        .scenario = r->scenario, .done = r->schedules,
		                        .schedules = r->schedules, .job_finished = true,
		                        .seconds = c->seconds, .result = &c->results[c->nresults - 1]};
		cfg->progress(cfg->progress_ctx, &p);
	}
	return 0;
}

int pv_drive(const struct pv_drive_config *cfg, const struct pv_job *jobs, size_t njobs,
             struct pv_campaign *c, struct pv_error *err)
{
	if (!cfg || !cfg->backend || (njobs && !jobs) || !c)
		return pv_error_set(err, PV_EINVAL, "pv_drive: no configuration, jobs or campaign");
	int vrc = pv_check_registry_validate(cfg->checks, err);
	if (vrc)
		return vrc;
	if (!drive_explorer(cfg))
		return pv_error_set(err, PV_EINVAL, "pv_drive: explorer %u is not in the table",
		                    cfg->explorer.kind);
	struct drive d = {.cfg = cfg, .c = c};
	pv_explorer_to_campaign(drive_explorer(cfg), &cfg->explorer, c);
	c->time_budget = cfg->time_budget;
	c->shard_index = cfg->part.count ? cfg->part.index : 0;
	c->shard_count = cfg->part.count ? cfg->part.count : 1;
	c->schedules = cfg->schedules;
	d.stream_cap = c->stream_len;
	d.stream = malloc(d.stream_cap);
	d.repro = malloc(sizeof(*d.repro));
	if (!d.stream || !d.repro) {
		free(d.stream);
		free(d.repro);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	d.prog.njobs = njobs;
	d.prog.campaign_schedules = drive_share(cfg) * njobs;
	int rc = 0;
	for (size_t i = 0; !rc && i < njobs; i++) {
		if (cfg->finished && cfg->finished[i]) {
			rc = pv_drive_adopt(cfg, i, njobs, cfg->finished[i], c, err);
			d.prog.campaign_schedules -= drive_share(cfg);
			continue;
		}
		rc = drive_job(&d, &jobs[i], i, err);
		if (!rc && cfg->job_done)
			rc = cfg->job_done(cfg->job_done_ctx, i, &c->results[c->nresults - 1], err);
	}
	free(d.stream);
	free(d.repro);
	return rc;
}
