#include "merge.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../explore/registry.h"
#include "../util/files.h"

void pv_merge_init(struct pv_merge *m, const char *out_dir)
{
	memset(m, 0, sizeof(*m));
	pv_campaign_init(&m->out);
	m->out_dir = out_dir;
}

void pv_merge_free(struct pv_merge *m)
{
	pv_campaign_free(&m->out);
	free(m->parts);
	m->parts = NULL;
}

static struct pv_result *find(struct pv_campaign *c, const struct pv_result *r)
{
	for (size_t i = 0; i < c->nresults; i++) {
		struct pv_result *d = &c->results[i];
		if (!strcmp(d->engine, r->engine) && !strcmp(d->scenario, r->scenario) &&
		    !strcmp(d->backend, r->backend) && !strcmp(d->flavour, r->flavour))
			return d;
	}
	return NULL;
}

/* Copies src_dir/rel to out_dir/rel (atomically), unless they are one file. */
static int copy_reproducer(const struct pv_merge *m, const char *src_dir, const char *rel,
                           struct pv_error *err)
{
	if (!m->out_dir || !rel)
		return 0;
	char from[PATH_MAX], to[PATH_MAX], dir[PATH_MAX];
	if (snprintf(from, sizeof(from), "%s/%s", src_dir, rel) >= (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s/%s", m->out_dir, rel) >= (int)sizeof(to) ||
	    snprintf(dir, sizeof(dir), "%s/repro", m->out_dir) >= (int)sizeof(dir))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", rel);
	char rf[PATH_MAX], rt[PATH_MAX];
	if (realpath(from, rf) && realpath(to, rt) && !strcmp(rf, rt))
		return 0;
	char *buf = NULL;
	size_t len = 0;
	int rc = pv_file_read(from, 1u << 26, &buf, &len, err);
	if (rc == PV_ENOENT)
		rc = pv_error_set(err, PV_ENOENT, "%s: the reproducer a part names is missing; "
		                                  "keep each part's repro/ directory beside its "
		                                  "results.json", from);
	if (!rc)
		rc = pv_mkdir_p(dir, err);
	if (!rc)
		rc = pv_file_write_atomic(to, buf, len, err);
	free(buf);
	return rc;
}

static int strdup_into(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
	return s && !*dst ? PV_ENOMEM : 0;
}

/* Is (sa, ra) found before (sb, rb) by one run of the whole? */
static bool earlier(uint64_t sa, unsigned ra, uint64_t sb, unsigned rb)
{
	return sa < sb || (sa == sb && ra < rb);
}

static int add_violation(struct pv_merge *m, struct pv_result *d,
                         const struct pv_violation_stat *v, const char *src_dir,
                         struct pv_error *err)
{
	struct pv_violation_stat *s = NULL;
	for (size_t i = 0; i < d->nviolations; i++)
		if (!strcmp(d->violations[i].check, v->check))
			s = &d->violations[i];
	if (s) {
		uint64_t count = s->count + v->count;
		if (earlier(v->first_schedule, v->rank, s->first_schedule, s->rank)) {
			char *keep = s->reproducer;
			struct pv_story *story = s->story;
			*s = *v;
			s->reproducer = keep;
			s->story = story;
			if (strdup_into(&s->reproducer, v->reproducer))
				return pv_error_set(err, PV_ENOMEM, "out of memory");
			int rc = copy_reproducer(m, src_dir, v->reproducer, err);
			if (rc)
				return rc;
		}
		s->count = count;
		return 0;
	}
	struct pv_violation_stat *vs = realloc(d->violations, (d->nviolations + 1) * sizeof(*vs));
	if (!vs)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	d->violations = vs;
	s = &vs[d->nviolations++];
	*s = *v;
	s->story = NULL;
	s->reproducer = NULL;
	if (strdup_into(&s->reproducer, v->reproducer))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	return copy_reproducer(m, src_dir, v->reproducer, err);
}

/* Coverage of the whole: a pair is missed only when every part missed it. */
static int add_coverage(struct pv_coverage *d, const struct pv_coverage *s, bool first)
{
	if (!s->pairs)
		return 0;
	if (first || !d->pairs) {
		free(d->missed);
		*d = *s;
		d->missed = s->nmissed ? calloc(s->nmissed, sizeof(*d->missed)) : NULL;
		if (s->nmissed && !d->missed)
			return PV_ENOMEM;
		if (s->nmissed)
			memcpy(d->missed, s->missed, s->nmissed * sizeof(*d->missed));
		return 0;
	}
	size_t k = 0;
	for (size_t i = 0; i < d->nmissed; i++) {
		bool also = false;
		for (size_t j = 0; j < s->nmissed && !also; j++)
			also = s->missed[j].address == d->missed[i].address &&
			       s->missed[j].thread == d->missed[i].thread;
		if (also)
			d->missed[k++] = d->missed[i];
	}
	d->nmissed = k;
	d->reached = d->pairs - k;
	return 0;
}

static int add_result(struct pv_merge *m, const struct pv_result *r, const char *src_dir,
                      struct pv_error *err)
{
	struct pv_result *d = find(&m->out, r);
	bool first = !d;
	if (!d) {
		size_t idx;
		int rc = pv_campaign_add(&m->out, r->engine, r->scenario, r->backend, r->flavour,
		                         &idx, err);
		if (rc)
			return rc;
		d = &m->out.results[idx];
		if (strdup_into(&d->target, r->target) || strdup_into(&d->patch, r->patch))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		memcpy(d->target_sha256, r->target_sha256, sizeof(d->target_sha256));
		memcpy(d->patch_sha256, r->patch_sha256, sizeof(d->patch_sha256));
		d->guarantee = r->guarantee;
		d->guarantee.space = 0;
		d->guarantee.exhausted = d->guarantee.space_known = true;
	} else if (strcmp(d->target_sha256, r->target_sha256) ||
	           strcmp(d->patch_sha256, r->patch_sha256)) {
		return pv_error_set(err, PV_EINVAL, "%s on %s (%s): the parts ran different "
		                                    "binaries (their SHA-256 differ)",
		                    r->engine, r->scenario, r->backend);
	}
	d->schedules += r->schedules;
	d->applied += r->applied;
	d->gave_up += r->gave_up;
	d->refused |= r->refused;
	d->failed |= r->failed;
	/* The reason one run would give: the earliest schedule's. */
	if (r->reason && (!d->reason || (d->reason_schedule >= 0 &&
	                                 (r->reason_schedule < d->reason_schedule)))) {
		if (strdup_into(&d->reason, r->reason))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		d->reason_schedule = r->reason_schedule;
	}
	for (size_t i = 0; i < r->nviolations; i++) {
		int rc = add_violation(m, d, &r->violations[i], src_dir, err);
		if (rc)
			return rc;
	}
	if (add_coverage(&d->coverage, &r->coverage, first))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	/* Overhead: measured the same in every part (exact emu
	 * figures of the same binaries), so the first part's are the cell's. */
	if (r->noverhead && !d->noverhead) {
		memcpy(d->overhead, r->overhead, sizeof(d->overhead));
		d->noverhead = r->noverhead;
	}
	/* Lifecycles: the first part's live versions and line,
	 * every part's counts. */
	if (r->info && !d->info && strdup_into(&d->info, r->info))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	if (r->nsteps && !d->nsteps) {
		if (!(d->steps = calloc(r->nsteps, sizeof(*d->steps))))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		d->nsteps = r->nsteps;
		for (size_t i = 0; i < r->nsteps; i++)
			if (strdup_into(&d->steps[i].step, r->steps[i].step))
				return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < r->nsteps && i < d->nsteps; i++) {
		d->steps[i].ran += r->steps[i].ran;
		d->steps[i].refused += r->steps[i].refused;
		if (r->steps[i].live && !d->steps[i].live &&
		    strdup_into(&d->steps[i].live, r->steps[i].live))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	struct pv_guarantee *g = &d->guarantee;
	if (r->guarantee.steps > g->steps)
		g->steps = r->guarantee.steps;
	g->space += r->guarantee.space;
	g->exhausted = g->exhausted && r->guarantee.exhausted;
	g->space_known = g->space_known && r->guarantee.space_known;
	return 0;
}

int pv_merge_add(struct pv_merge *m, const struct pv_campaign *c, const char *src_dir,
                 const char *what, struct pv_error *err)
{
	struct pv_campaign *o = &m->out;
	if (!m->started) {
		o->explorer = c->explorer;
		o->seed = c->seed;
		o->schedules = c->schedules;
		memcpy(o->param, c->param, sizeof(o->param));
		o->time_budget = c->time_budget;
		o->stream_len = c->stream_len;
		o->shard_count = c->shard_count;
		m->started = true;
	} else if (strcmp(o->explorer, c->explorer) || o->seed != c->seed ||
	           o->schedules != c->schedules || memcmp(o->param, c->param, sizeof(o->param)) ||
	           o->shard_count != c->shard_count) {
		return pv_error_set(err, PV_EINVAL,
		                    "%s is not a part of the same campaign: explorer %s, seed %" PRIu64
		                    ", %" PRIu64 " schedules, %" PRIu64 " parts, where the first "
		                    "part has %s, seed %" PRIu64 ", %" PRIu64 " schedules, %" PRIu64
		                    " parts",
		                    what, c->explorer, c->seed, c->schedules, c->shard_count,
		                    o->explorer, o->seed, o->schedules, o->shard_count);
	}
	for (size_t i = 0; i < m->nparts; i++)
		if (m->parts[i] == c->shard_index)
			return pv_error_set(err, PV_EINVAL, "%s is shard %" PRIu64 "/%" PRIu64
			                                    ", which was merged already",
			                    what, c->shard_index + 1, c->shard_count);
	uint64_t *p = realloc(m->parts, (m->nparts + 1) * sizeof(*p));
	if (!p)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	m->parts = p;
	m->parts[m->nparts++] = c->shard_index;
	m->seconds += c->seconds;
	for (size_t i = 0; i < c->nresults; i++) {
		int rc = add_result(m, &c->results[i], src_dir, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int cmp_violation(const void *a, const void *b)
{
	const struct pv_violation_stat *x = a, *y = b;
	if (earlier(x->first_schedule, x->rank, y->first_schedule, y->rank))
		return -1;
	return earlier(y->first_schedule, y->rank, x->first_schedule, x->rank);
}

void pv_merge_finish(struct pv_merge *m, uint64_t *missing)
{
	struct pv_campaign *o = &m->out;
	/* The parts were read from results.json, whose explorers are the
	 * built-in ones. */
	const struct pv_explorer_info *xi = pv_explorer_find(NULL, o->explorer, NULL);
	o->total_schedules = 0;
	for (size_t i = 0; i < o->nresults; i++) {
		struct pv_result *r = &o->results[i];
		/* (schedule, rank) pairs are distinct within a result: qsort's
		 * instability cannot show. */
		if (r->nviolations > 1) /* qsort wants a non-null base even for none */
			qsort(r->violations, r->nviolations, sizeof(*r->violations), cmp_violation);
		if (xi && xi->ops->restate)
			xi->ops->restate(&r->guarantee, r->schedules);
		if (!r->guarantee.depth && !r->guarantee.preemptions && !r->guarantee.space)
			r->guarantee.exhausted = r->guarantee.space_known = false;
		/* A refusal is not a failure; drop the reason of a result that no
		 * longer fails. */
		pv_result_judge(r);
		o->total_schedules += r->schedules;
	}
	o->seconds = m->seconds;
	*missing = o->shard_count > m->nparts ? o->shard_count - m->nparts : 0;
	if (!*missing) {
		o->shard_index = 0;
		o->shard_count = 1;
	} else if (m->nparts == 1) {
		o->shard_index = m->parts[0];
	}
}
