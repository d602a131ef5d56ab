#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../harness/explore/registry.h"
#include "../harness/model/version.h"
#include "internal.h"

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : json_object_new_null();
}

static struct json_object *hex(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static struct json_object *story_json(const struct pv_story *s)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "threads", json_object_new_uint64(s->threads));
	json_object_object_add(o, "preemptions", json_object_new_uint64(s->preemptions));
	struct json_object *evs = json_object_new_array();
	for (size_t i = 0; i < s->nevents; i++) {
		const struct pv_story_event *e = &s->events[i];
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "step", json_object_new_uint64(e->step));
		json_object_object_add(j, "thread", json_object_new_int(e->thread));
		json_object_object_add(j, "kind", json_object_new_string(pv_report_story_kind(e->kind)));
		json_object_object_add(j, "address", hex(e->address));
		json_object_object_add(j, "symbol", json_object_new_string(e->symbol));
		json_object_object_add(j, "text", json_object_new_string(e->text));
		json_object_array_add(evs, j);
	}
	json_object_object_add(o, "events", evs);
	return o;
}

/* null when the explorer promises nothing (random sampling). */
static struct json_object *guarantee_json(const struct pv_campaign *c, const struct pv_result *r)
{
	const struct pv_guarantee *g = &r->guarantee;
	if (!g->depth && !g->space && !g->space_known && !g->exhausted && !g->preemptions)
		return NULL;
	struct json_object *o = json_object_new_object();
	char sentence[512];
	pv_report_guarantee(c, r, sentence, sizeof(sentence));
	json_object_object_add(o, "explorer", str_or_null(c->explorer));
	json_object_object_add(o, "depth", json_object_new_uint64(g->depth));
	json_object_object_add(o, "threads", json_object_new_uint64(g->threads));
	json_object_object_add(o, "steps", json_object_new_uint64(g->steps));
	json_object_object_add(o, "per_run", json_object_new_double(g->per_run));
	json_object_object_add(o, "overall", json_object_new_double(g->overall));
	json_object_object_add(o, "preemptions", json_object_new_uint64(g->preemptions));
	json_object_object_add(o, "space", json_object_new_uint64(g->space));
	json_object_object_add(o, "space_known", json_object_new_boolean(g->space_known));
	json_object_object_add(o, "exhausted", json_object_new_boolean(g->exhausted));
	json_object_object_add(o, "sentence", json_object_new_string(sentence));
	return o;
}

/* null when not measured. */
static struct json_object *coverage_json(const struct pv_coverage *cv)
{
	if (!cv->pairs)
		return NULL;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "pairs", json_object_new_uint64(cv->pairs));
	json_object_object_add(o, "reached", json_object_new_uint64(cv->reached));
	struct json_object *m = json_object_new_array();
	for (size_t i = 0; i < cv->nmissed; i++) {
		struct json_object *p = json_object_new_object();
		json_object_object_add(p, "address", hex(cv->missed[i].address));
		json_object_object_add(p, "thread", json_object_new_int(cv->missed[i].thread));
		json_object_object_add(p, "symbol", json_object_new_string(cv->missed[i].symbol));
		json_object_array_add(m, p);
	}
	json_object_object_add(o, "missed", m);
	return o;
}

static struct json_object *violation_json(const struct pv_violation_stat *v)
{
	struct json_object *o = json_object_new_object();
	char addr[24];
	snprintf(addr, sizeof(addr), "0x%" PRIx64, v->address);
	json_object_object_add(o, "check", json_object_new_string(v->check));
	json_object_object_add(o, "count", json_object_new_uint64(v->count));
	json_object_object_add(o, "first_schedule", json_object_new_uint64(v->first_schedule));
	json_object_object_add(o, "rank_in_run", json_object_new_int((int)v->rank));
	json_object_object_add(o, "thread", json_object_new_int(v->thread));
	json_object_object_add(o, "address", json_object_new_string(addr));
	json_object_object_add(o, "detail", json_object_new_string(v->detail));
	json_object_object_add(o, "reproducer", str_or_null(v->reproducer));
	json_object_object_add(o, "story", v->story ? story_json(v->story) : NULL);
	return o;
}

/* {"step": "apply:p1", "live": {"bump": "p1"}, "ran": N, "refused": N}. */
static struct json_object *step_json(const struct pv_step_record *st)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "step", json_object_new_string(st->step));
	struct json_object *live = NULL;
	if (st->live) {
		live = json_object_new_object();
		for (const char *p = st->live; *p;) {
			size_t n = strcspn(p, ",");
			const char *eq = memchr(p, '=', n);
			if (eq) {
				char key[128];
				snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
				json_object_object_add(live, key,
				                       json_object_new_string_len(eq + 1, (int)(p + n - eq - 1)));
			}
			p += n + (p[n] == ',');
		}
	}
	json_object_object_add(o, "live", live);
	json_object_object_add(o, "ran", json_object_new_uint64(st->ran));
	json_object_object_add(o, "refused", json_object_new_uint64(st->refused));
	return o;
}

struct json_object *pv_report_figure_json(const struct pv_overhead_figure *g)
{
	struct json_object *x = json_object_new_object();
	json_object_object_add(x, "figure", json_object_new_string(g->name));
	json_object_object_add(x, "measured", json_object_new_boolean(g->measured));
	json_object_object_add(x, "verdict", json_object_new_string(
		g->measured ? pv_claim_name(g->claim) : "NOT MEASURED"));
	json_object_object_add(x, "estimate", json_object_new_double(g->est));
	json_object_object_add(x, "lo", json_object_new_double(g->lo));
	json_object_object_add(x, "hi", json_object_new_double(g->hi));
	json_object_object_add(x, "threshold", json_object_new_double(g->threshold));
	json_object_object_add(x, "unit", json_object_new_string(g->unit));
	json_object_object_add(x, "note", json_object_new_string(g->note));
	return x;
}

static struct json_object *result_json(const struct pv_campaign *c, const struct pv_result *r)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "engine", json_object_new_string(r->engine));
	json_object_object_add(o, "scenario", json_object_new_string(r->scenario));
	json_object_object_add(o, "backend", json_object_new_string(r->backend));
	json_object_object_add(o, "flavour", json_object_new_string(r->flavour));
	json_object_object_add(o, "verdict", json_object_new_string(pv_verdict_name(r->verdict)));
	json_object_object_add(o, "reason", str_or_null(r->reason));
	json_object_object_add(o, "failed", json_object_new_boolean(r->failed));
	json_object_object_add(o, "reason_schedule", r->reason_schedule < 0
	                                                 ? json_object_new_null()
	                                                 : json_object_new_int64(r->reason_schedule));
	json_object_object_add(o, "schedules", json_object_new_uint64(r->schedules));
	json_object_object_add(o, "applied", json_object_new_uint64(r->applied));
	json_object_object_add(o, "gave_up", json_object_new_uint64(r->gave_up));
	struct json_object *vs = json_object_new_array();
	for (size_t i = 0; i < r->nviolations; i++)
		json_object_array_add(vs, violation_json(&r->violations[i]));
	json_object_object_add(o, "violations", vs);
	json_object_object_add(o, "target", str_or_null(r->target));
	json_object_object_add(o, "target_sha256",
	                       r->target_sha256[0] ? json_object_new_string(r->target_sha256)
	                                           : json_object_new_null());
	json_object_object_add(o, "patch", str_or_null(r->patch));
	json_object_object_add(o, "patch_sha256",
	                       r->patch_sha256[0] ? json_object_new_string(r->patch_sha256)
	                                          : json_object_new_null());
	json_object_object_add(o, "guarantee", guarantee_json(c, r));
	json_object_object_add(o, "coverage", coverage_json(&r->coverage));
	if (r->nsteps) {
		struct json_object *seq = json_object_new_array();
		for (size_t i = 0; i < r->nsteps; i++)
			json_object_array_add(seq, step_json(&r->steps[i]));
		json_object_object_add(o, "sequence", seq);
	}
	if (r->info)
		json_object_object_add(o, "information", json_object_new_string(r->info));
	struct json_object *ov = json_object_new_array();
	for (size_t i = 0; i < r->noverhead; i++)
		json_object_array_add(ov, pv_report_figure_json(&r->overhead[i]));
	json_object_object_add(o, "overhead", ov);
	json_object_object_add(o, "expected", str_or_null(r->expected));
	json_object_object_add(o, "as_expected", r->as_expected < 0
	                                             ? json_object_new_null()
	                                             : json_object_new_boolean(r->as_expected));
	return o;
}

int pv_report_json(const struct pv_campaign *c, char **text, size_t *len,
                   struct pv_error *err)
{
	struct json_object *root = json_object_new_object();
	json_object_object_add(root, "schema", json_object_new_string(PV_REPORT_SCHEMA));
	json_object_object_add(root, "patchvet_version", json_object_new_string(PV_VERSION));
	json_object_object_add(root, "kind", json_object_new_string("campaign"));
	json_object_object_add(root, "explorer", str_or_null(c->explorer));
	json_object_object_add(root, "seed", json_object_new_uint64(c->seed));
	/* The explorer's parameters (those of a built-in row: the explorers
	 * results.json can name). */
	const struct pv_explorer_info *xi = pv_explorer_find(NULL, c->explorer, NULL);
	for (size_t i = 0; xi && i < xi->nparams; i++) {
		const struct pv_explorer_param *p = &xi->params[i];
		if (c->param[p->slot] || p->zero_kept)
			json_object_object_add(root, p->name, json_object_new_int((int)c->param[p->slot]));
	}
	json_object_object_add(root, "time_budget", c->time_budget > 0
	                                                ? json_object_new_double(c->time_budget)
	                                                : json_object_new_null());
	char shard[48];
	snprintf(shard, sizeof(shard), "%" PRIu64 "/%" PRIu64, c->shard_index + 1, c->shard_count);
	json_object_object_add(root, "shard", json_object_new_string(shard));
	json_object_object_add(root, "schedules", json_object_new_uint64(c->schedules));
	json_object_object_add(root, "stream_length", json_object_new_uint64(c->stream_len));
	struct json_object *results = json_object_new_array();
	uint64_t counts[4] = {0};
	uint64_t unexpected = 0;
	for (size_t i = 0; i < c->nresults; i++) {
		json_object_array_add(results, result_json(c, &c->results[i]));
		if ((unsigned)c->results[i].verdict < 4)
			counts[c->results[i].verdict]++;
		unexpected += c->results[i].as_expected == 0;
	}
	json_object_object_add(root, "results", results);
	struct json_object *sum = json_object_new_object();
	json_object_object_add(sum, "results", json_object_new_uint64(c->nresults));
	json_object_object_add(sum, "safe", json_object_new_uint64(counts[PV_VERDICT_SAFE]));
	json_object_object_add(sum, "unsafe", json_object_new_uint64(counts[PV_VERDICT_UNSAFE]));
	json_object_object_add(sum, "refused", json_object_new_uint64(counts[PV_VERDICT_REFUSED]));
	json_object_object_add(sum, "error", json_object_new_uint64(counts[PV_VERDICT_ERROR]));
	json_object_object_add(sum, "unexpected", json_object_new_uint64(unexpected));
	json_object_object_add(sum, "total_schedules", json_object_new_uint64(c->total_schedules));
	json_object_object_add(root, "summary", sum);
	/* Timing, and nothing else that varies between two runs of one seed. */
	json_object_object_add(root, "schedules_per_second",
	                       json_object_new_double(pv_campaign_rate(c)));
	json_object_object_add(root, "elapsed_seconds", json_object_new_double(c->seconds));

	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = 0;
	*len = s ? strlen(s) : 0;
	*text = s ? malloc(*len + 2) : NULL;
	if (!*text) {
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	} else {
		memcpy(*text, s, *len);
		(*text)[(*len)++] = '\n';
		(*text)[*len] = '\0';
	}
	json_object_put(root);
	return rc;
}
