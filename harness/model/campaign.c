#include "campaign.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const verdict_names[] = {"SAFE", "UNSAFE", "REFUSED", "ERROR"};

const char *pv_verdict_name(enum pv_verdict v)
{
	return (unsigned)v < 4 ? verdict_names[v] : "?";
}

int pv_verdict_parse(const char *name, enum pv_verdict *v)
{
	for (unsigned i = 0; name && i < 4; i++)
		if (!strcmp(name, verdict_names[i])) {
			*v = (enum pv_verdict)i;
			return 0;
		}
	return PV_EINVAL;
}

void pv_story_free(struct pv_story *s)
{
	if (!s)
		return;
	free(s->events);
	free(s);
}

void pv_campaign_init(struct pv_campaign *c)
{
	memset(c, 0, sizeof(*c));
	c->explorer = "random";
	c->shard_count = 1;
}

static void result_free(struct pv_result *r)
{
	free(r->engine);
	free(r->scenario);
	free(r->backend);
	free(r->flavour);
	free(r->target);
	free(r->patch);
	free(r->reason);
	free(r->expected);
	for (size_t i = 0; i < r->nsteps; i++) {
		free(r->steps[i].step);
		free(r->steps[i].live);
	}
	free(r->steps);
	free(r->info);
	for (size_t i = 0; i < r->nviolations; i++) {
		free(r->violations[i].reproducer);
		pv_story_free(r->violations[i].story);
	}
	free(r->violations);
	free(r->coverage.missed);
}

void pv_campaign_free(struct pv_campaign *c)
{
	for (size_t i = 0; i < c->nresults; i++)
		result_free(&c->results[i]);
	free(c->results);
	c->results = NULL;
	c->nresults = 0;
}

int pv_campaign_add(struct pv_campaign *c, const char *engine, const char *scenario,
                    const char *backend, const char *flavour, size_t *index,
                    struct pv_error *err)
{
	struct pv_result *v = realloc(c->results, (c->nresults + 1) * sizeof(*v));
	if (!v)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	c->results = v;
	struct pv_result *r = &v[c->nresults];
	memset(r, 0, sizeof(*r));
	r->as_expected = -1;
	r->reason_schedule = -1;
	r->engine = strdup(engine);
	r->scenario = strdup(scenario);
	r->backend = strdup(backend);
	r->flavour = strdup(flavour);
	if (!r->engine || !r->scenario || !r->backend || !r->flavour) {
		result_free(r);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	*index = c->nresults++;
	return 0;
}

static int dup_or_null(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return s && !*dst ? PV_ENOMEM : 0;
}

int pv_campaign_add_copy(struct pv_campaign *c, const struct pv_result *r,
                         struct pv_error *err)
{
	size_t i;
	int rc = pv_campaign_add(c, r->engine, r->scenario, r->backend, r->flavour, &i, err);
	if (rc)
		return rc;
	struct pv_result *d = &c->results[i];
	char *engine = d->engine, *scenario = d->scenario, *backend = d->backend,
	     *flavour = d->flavour;
	*d = *r;
	d->engine = engine;
	d->scenario = scenario;
	d->backend = backend;
	d->flavour = flavour;
	d->target = d->patch = d->reason = d->expected = NULL;
	d->violations = NULL;
	d->nviolations = 0;
	d->coverage.missed = NULL;
	d->coverage.nmissed = 0;
	if (dup_or_null(&d->target, r->target) || dup_or_null(&d->patch, r->patch) ||
	    dup_or_null(&d->reason, r->reason) || dup_or_null(&d->expected, r->expected))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	if (r->nviolations && !(d->violations = calloc(r->nviolations, sizeof(*d->violations))))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	for (size_t k = 0; k < r->nviolations; k++) {
		d->violations[k] = r->violations[k];
		d->violations[k].story = NULL;
		d->violations[k].reproducer = NULL;
		d->nviolations++;
		if (dup_or_null(&d->violations[k].reproducer, r->violations[k].reproducer))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	if (r->coverage.nmissed) {
		d->coverage.missed = calloc(r->coverage.nmissed, sizeof(*d->coverage.missed));
		if (!d->coverage.missed)
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		memcpy(d->coverage.missed, r->coverage.missed,
		       r->coverage.nmissed * sizeof(*d->coverage.missed));
		d->coverage.nmissed = r->coverage.nmissed;
	}
	return 0;
}

const struct pv_violation_stat *pv_result_find(const struct pv_result *r, const char *check)
{
	for (size_t i = 0; i < r->nviolations; i++)
		if (!strcmp(r->violations[i].check, check))
			return &r->violations[i];
	return NULL;
}

struct pv_violation_stat *pv_result_violation(struct pv_result *r, const char *check,
                                              uint64_t schedule, unsigned rank, int thread,
                                              uint64_t address, const char *detail,
                                              bool *first)
{
	*first = false;
	for (size_t i = 0; i < r->nviolations; i++)
		if (!strcmp(r->violations[i].check, check)) {
			r->violations[i].count++;
			return &r->violations[i];
		}
	struct pv_violation_stat *v = realloc(r->violations, (r->nviolations + 1) * sizeof(*v));
	if (!v)
		return NULL;
	r->violations = v;
	struct pv_violation_stat *s = &v[r->nviolations++];
	memset(s, 0, sizeof(*s));
	snprintf(s->check, sizeof(s->check), "%s", check);
	s->count = 1;
	s->first_schedule = schedule;
	s->rank = rank;
	s->thread = thread;
	s->address = address;
	snprintf(s->detail, sizeof(s->detail), "%s", detail ? detail : "");
	*first = true;
	return s;
}

int pv_result_reason(struct pv_result *r, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PV_ENOMEM;
	free(r->reason);
	r->reason = s;
	return 0;
}

enum pv_verdict pv_result_judge(struct pv_result *r)
{
	if (r->refused)
		r->verdict = PV_VERDICT_REFUSED;
	else if (r->nviolations)
		r->verdict = PV_VERDICT_UNSAFE;
	else if (r->failed)
		r->verdict = PV_VERDICT_ERROR;
	else
		r->verdict = PV_VERDICT_SAFE;
	return r->verdict;
}

int pv_campaign_exit_status(const struct pv_campaign *c)
{
	bool unsafe = false, error = false;
	for (size_t i = 0; i < c->nresults; i++) {
		unsafe |= c->results[i].verdict == PV_VERDICT_UNSAFE;
		error |= c->results[i].verdict == PV_VERDICT_ERROR;
	}
	return unsafe ? 1 : error ? 3 : 0;
}

double pv_campaign_rate(const struct pv_campaign *c)
{
	return c->seconds > 0 ? (double)c->total_schedules / c->seconds : 0.0;
}

void pv_guarantee_update(struct pv_guarantee *g, uint64_t runs)
{
	if (!g->depth)
		return;
	double p = 1.0 / (g->threads ? g->threads : 1);
	for (unsigned i = 1; i < g->depth; i++)
		p /= (double)(g->steps ? g->steps : 1);
	g->per_run = p;
	/* 1-(1-p)^runs without losing p when it is tiny. */
	g->overall = -expm1((double)runs * log1p(-p));
}
