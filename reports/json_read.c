/* results.json read back into the result model, for `patchvet merge` and for
 * --jobs (whose workers hand their results over as files). Strict: a field
 * of the wrong type, a missing one or an unknown verdict is an error naming
 * the file and the field, never a half-read campaign. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../harness/explore/explore.h"
#include "../harness/explore/registry.h"
#include "internal.h"

struct reader {
	const char *what;       /* the file, for messages */
	char where[96];         /* "results[3].violations[0]" */
	struct pv_error *err;
};

__attribute__((format(printf, 2, 3))) static int bad(struct reader *rd, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pv_error_set(rd->err, PV_EFORMAT, "%s: %s%s%s (is it a results.json that patchvet "
	                                         "run wrote?)",
	                    rd->what, rd->where, rd->where[0] ? ": " : "", msg);
}

static struct json_object *field(struct json_object *o, const char *name)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, name, &v) ? v : NULL;
}

static int get_string(struct reader *rd, struct json_object *o, const char *name, bool nullable,
                      char **out)
{
	struct json_object *v = field(o, name);
	*out = NULL;
	if (!v && nullable)
		return 0;
	if (!v || !json_object_is_type(v, json_type_string))
		return bad(rd, "field \"%s\" should be a string", name);
	if (!(*out = strdup(json_object_get_string(v))))
		return pv_error_set(rd->err, PV_ENOMEM, "out of memory");
	return 0;
}

static int get_fixed(struct reader *rd, struct json_object *o, const char *name, char *buf,
                     size_t len)
{
	struct json_object *v = field(o, name);
	if (!v || json_object_is_type(v, json_type_null)) {
		buf[0] = '\0';
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len)
		return bad(rd, "field \"%s\" should be a string of under %zu characters", name, len);
	memcpy(buf, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

static int get_u64(struct reader *rd, struct json_object *o, const char *name, bool optional,
                   uint64_t *out)
{
	struct json_object *v = field(o, name);
	if (!v && optional)
		return 0;
	if (!v || !json_object_is_type(v, json_type_int))
		return bad(rd, "field \"%s\" should be a whole number", name);
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) < (uint64_t)INT64_MAX)
		return bad(rd, "field \"%s\" should not be negative", name);
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_double(struct reader *rd, struct json_object *o, const char *name, double *out)
{
	struct json_object *v = field(o, name);
	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return bad(rd, "field \"%s\" should be a number", name);
	*out = json_object_get_double(v);
	return 0;
}

static int get_address(struct reader *rd, struct json_object *o, const char *name,
                       uint64_t *out)
{
	char buf[32], *end = NULL;
	int rc = get_fixed(rd, o, name, buf, sizeof(buf));
	if (rc)
		return rc;
	*out = buf[0] ? strtoull(buf, &end, 16) : 0;
	if (buf[0] && (strncmp(buf, "0x", 2) || !end || *end))
		return bad(rd, "field \"%s\" should be an address like \"0x401000\"", name);
	return 0;
}

static int read_violation(struct reader *rd, struct json_object *o, struct pv_violation_stat *v)
{
	uint64_t rank = 0;
	struct json_object *t = field(o, "thread");
	if (!json_object_is_type(o, json_type_object))
		return bad(rd, "a violation should be an object");
	int rc = get_fixed(rd, o, "check", v->check, sizeof(v->check));
	if (!rc && !v->check[0])
		rc = bad(rd, "a violation needs its \"check\"");
	if (!rc)
		rc = get_u64(rd, o, "count", false, &v->count);
	if (!rc)
		rc = get_u64(rd, o, "first_schedule", false, &v->first_schedule);
	if (!rc)
		rc = get_u64(rd, o, "rank_in_run", true, &rank);
	if (!rc && (!t || !json_object_is_type(t, json_type_int)))
		rc = bad(rd, "field \"thread\" should be a whole number");
	if (!rc) {
		int64_t th = json_object_get_int64(t);
		if (th < -1 || th > PV_MAX_WORKERS)
			rc = bad(rd, "field \"thread\" is out of range");
		v->thread = (int)th;
	}
	if (!rc)
		rc = get_address(rd, o, "address", &v->address);
	if (!rc)
		rc = get_fixed(rd, o, "detail", v->detail, sizeof(v->detail));
	if (!rc)
		rc = get_string(rd, o, "reproducer", true, &v->reproducer);
	if (!rc && v->reproducer && (v->reproducer[0] == '/' || strstr(v->reproducer, "..")))
		rc = bad(rd, "a reproducer path must stay inside the results directory, not '%s'",
		         v->reproducer);
	v->rank = (unsigned)(rank > 1000 ? 1000 : rank);
	return rc;
}

static int read_guarantee(struct reader *rd, struct json_object *o, struct pv_guarantee *g)
{
	if (!o || json_object_is_type(o, json_type_null))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return bad(rd, "\"guarantee\" should be an object or null");
	uint64_t depth = 0, threads = 0, pre = 0;
	struct json_object *b;
	int rc = get_u64(rd, o, "depth", true, &depth);
	if (!rc)
		rc = get_u64(rd, o, "threads", true, &threads);
	if (!rc)
		rc = get_u64(rd, o, "steps", true, &g->steps);
	if (!rc)
		rc = get_u64(rd, o, "preemptions", true, &pre);
	if (!rc)
		rc = get_u64(rd, o, "space", true, &g->space);
	if (!rc && (depth > PV_PCT_MAX_DEPTH || threads > PV_MAX_WORKERS + 1 ||
	            pre > PV_BOUNDED_MAX_PREEMPTIONS))
		rc = bad(rd, "the guarantee's depth, threads or preemptions are out of range");
	g->depth = (unsigned)depth;
	g->threads = (unsigned)threads;
	g->preemptions = (unsigned)pre;
	if ((b = field(o, "space_known")))
		g->space_known = json_object_get_boolean(b);
	if ((b = field(o, "exhausted")))
		g->exhausted = json_object_get_boolean(b);
	return rc;
}

static int read_coverage(struct reader *rd, struct json_object *o, struct pv_coverage *cv)
{
	if (!o || json_object_is_type(o, json_type_null))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return bad(rd, "\"coverage\" should be an object or null");
	int rc = get_u64(rd, o, "pairs", false, &cv->pairs);
	if (!rc)
		rc = get_u64(rd, o, "reached", false, &cv->reached);
	struct json_object *m = field(o, "missed");
	if (!rc && (!m || !json_object_is_type(m, json_type_array)))
		rc = bad(rd, "\"coverage.missed\" should be an array");
	size_t n = rc ? 0 : json_object_array_length(m);
	if (!rc && (cv->reached > cv->pairs || n > cv->pairs - cv->reached))
		rc = bad(rd, "coverage counts do not add up");
	if (!rc && n && !(cv->missed = calloc(n, sizeof(*cv->missed))))
		rc = pv_error_set(rd->err, PV_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < n; i++) {
		struct json_object *p = json_object_array_get_idx(m, i);
		struct pv_coverage_pair *q = &cv->missed[cv->nmissed++];
		uint64_t t = 0;
		if (!json_object_is_type(p, json_type_object))
			rc = bad(rd, "coverage.missed[%zu] should be an object", i);
		if (!rc)
			rc = get_address(rd, p, "address", &q->address);
		if (!rc)
			rc = get_u64(rd, p, "thread", false, &t);
		if (!rc && t >= PV_MAX_WORKERS)
			rc = bad(rd, "coverage.missed[%zu].thread is out of range", i);
		q->thread = (int)t;
		if (!rc)
			rc = get_fixed(rd, p, "symbol", q->symbol, sizeof(q->symbol));
	}
	return rc;
}

/* The optional "sequence" and "information" (absent: none). */
static int read_lifecycle(struct reader *rd, struct json_object *o, struct pv_result *r)
{
	struct json_object *info = field(o, "information"), *seq = field(o, "sequence");
	if (info && json_object_is_type(info, json_type_string) &&
	    !(r->info = strdup(json_object_get_string(info))))
		return pv_error_set(rd->err, PV_ENOMEM, "out of memory");
	if (!seq)
		return 0;
	if (!json_object_is_type(seq, json_type_array) || json_object_array_length(seq) > 64)
		return bad(rd, "field \"sequence\" should be an array of at most 64 steps");
	size_t n = json_object_array_length(seq);
	if (n && !(r->steps = calloc(n, sizeof(*r->steps))))
		return pv_error_set(rd->err, PV_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++, r->nsteps++) {
		struct json_object *st = json_object_array_get_idx(seq, i), *live;
		struct pv_step_record *d = &r->steps[i];
		if (!json_object_is_type(st, json_type_object))
			return bad(rd, "sequence[%zu] should be an object", i);
		rc = get_string(rd, st, "step", false, &d->step);
		if (!rc)
			rc = get_u64(rd, st, "ran", false, &d->ran);
		if (!rc)
			rc = get_u64(rd, st, "refused", false, &d->refused);
		live = field(st, "live");
		if (rc || !live || !json_object_is_type(live, json_type_object))
			continue;
		char buf[512] = "";
		size_t used = 0;
		json_object_object_foreach(live, key, val) {
			int w = snprintf(buf + used, sizeof(buf) - used, "%s%s=%s", used ? "," : "", key,
			                 json_object_get_string(val));
			if (w > 0 && (size_t)w < sizeof(buf) - used)
				used += (size_t)w;
		}
		if (!(d->live = strdup(buf)))
			rc = pv_error_set(rd->err, PV_ENOMEM, "out of memory");
	}
	return rc;
}

static int figure_str(struct json_object *o, const char *key, char *buf, size_t len)
{
	struct json_object *v = field(o, key);
	if (!v || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len)
		return -1;
	memcpy(buf, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

static int figure_num(struct json_object *o, const char *key, double *out)
{
	struct json_object *v = field(o, key);
	if (!v || (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)))
		return -1;
	*out = json_object_get_double(v);
	return isfinite(*out) ? 0 : -1;
}

int pv_report_figure_read(struct json_object *o, struct pv_overhead_figure *g, char *why,
                          size_t len)
{
	memset(g, 0, sizeof(*g));
	char verdict[24];
	struct json_object *m = field(o, "measured");
	const char *bad_key = !json_object_is_type(o, json_type_object) ? "(not an object)"
	                      : figure_str(o, "figure", g->name, sizeof(g->name)) ? "figure"
	                      : !m || !json_object_is_type(m, json_type_boolean) ? "measured"
	                      : figure_str(o, "verdict", verdict, sizeof(verdict)) ? "verdict"
	                      : figure_num(o, "estimate", &g->est) ? "estimate"
	                      : figure_num(o, "lo", &g->lo) ? "lo"
	                      : figure_num(o, "hi", &g->hi) ? "hi"
	                      : figure_num(o, "threshold", &g->threshold) ? "threshold"
	                      : figure_str(o, "unit", g->unit, sizeof(g->unit)) ? "unit"
	                      : figure_str(o, "note", g->note, sizeof(g->note)) ? "note"
	                                                                          : NULL;
	if (!bad_key) {
		g->measured = json_object_get_boolean(m);
		g->claim = PV_CLAIM_INCONCLUSIVE;
		if (!strcmp(verdict, "SUPPORTED"))
			g->claim = PV_CLAIM_SUPPORTED;
		else if (!strcmp(verdict, "REFUTED"))
			g->claim = PV_CLAIM_REFUTED;
		else if (strcmp(verdict, g->measured ? "INCONCLUSIVE" : "NOT MEASURED"))
			bad_key = "verdict";
	}
	if (!bad_key)
		return 0;
	snprintf(why, len, "key \"%s\" is missing or wrong", bad_key);
	return PV_EFORMAT;
}

/* The optional "overhead" (absent: none measured). */
static int read_overhead(struct reader *rd, struct json_object *o, struct pv_result *r)
{
	struct json_object *ov = field(o, "overhead");
	if (!ov)
		return 0;
	if (!json_object_is_type(ov, json_type_array) ||
	    json_object_array_length(ov) > PV_OVERHEAD_MAX)
		return bad(rd, "field \"overhead\" should be an array of at most %d figures",
		           PV_OVERHEAD_MAX);
	for (size_t i = 0; i < json_object_array_length(ov); i++) {
		char why[80];
		if (pv_report_figure_read(json_object_array_get_idx(ov, i), &r->overhead[i], why,
		                          sizeof(why)))
			return bad(rd, "overhead[%zu]: %s", i, why);
		r->noverhead++;
	}
	return 0;
}

static int read_result(struct reader *rd, struct json_object *o, struct pv_campaign *c)
{
	if (!json_object_is_type(o, json_type_object))
		return bad(rd, "a result should be an object");
	char *engine = NULL, *scenario = NULL, *backend = NULL, *flavour = NULL, *verdict = NULL;
	int rc = get_string(rd, o, "engine", false, &engine);
	if (!rc)
		rc = get_string(rd, o, "scenario", false, &scenario);
	if (!rc)
		rc = get_string(rd, o, "backend", false, &backend);
	if (!rc)
		rc = get_string(rd, o, "flavour", false, &flavour);
	if (!rc)
		rc = get_string(rd, o, "verdict", false, &verdict);
	size_t idx = 0;
	if (!rc)
		rc = pv_campaign_add(c, engine, scenario, backend, flavour, &idx, rd->err);
	free(engine);
	free(scenario);
	free(backend);
	free(flavour);
	if (rc) {
		free(verdict);
		return rc;
	}
	struct pv_result *r = &c->results[idx];
	enum pv_verdict v = PV_VERDICT_ERROR;
	if (pv_verdict_parse(verdict, &v))
		rc = bad(rd, "unknown verdict '%s'", verdict);
	free(verdict);
	r->verdict = v;
	r->refused = v == PV_VERDICT_REFUSED;
	struct json_object *f = field(o, "failed");
	r->failed = f ? json_object_get_boolean(f) : v == PV_VERDICT_ERROR;
	if (!rc)
		rc = get_string(rd, o, "reason", true, &r->reason);
	if (!rc && r->reason && json_object_is_type(field(o, "reason"), json_type_null)) {
		free(r->reason);
		r->reason = NULL;
	}
	struct json_object *rs = field(o, "reason_schedule");
	if (!rc && rs && json_object_is_type(rs, json_type_int)) {
		if (json_object_get_int64(rs) < 0)
			rc = bad(rd, "field \"reason_schedule\" should not be negative");
		r->reason_schedule = json_object_get_int64(rs);
	} else if (!rc && rs && !json_object_is_type(rs, json_type_null)) {
		rc = bad(rd, "field \"reason_schedule\" should be a whole number or null");
	}
	if (!rc)
		rc = get_u64(rd, o, "schedules", false, &r->schedules);
	if (!rc)
		rc = get_u64(rd, o, "applied", false, &r->applied);
	if (!rc)
		rc = get_u64(rd, o, "gave_up", false, &r->gave_up);
	if (!rc)
		rc = get_fixed(rd, o, "target_sha256", r->target_sha256, sizeof(r->target_sha256));
	if (!rc)
		rc = get_fixed(rd, o, "patch_sha256", r->patch_sha256, sizeof(r->patch_sha256));
	struct json_object *t = field(o, "target"), *p = field(o, "patch");
	if (!rc && t && json_object_is_type(t, json_type_string))
		rc = get_string(rd, o, "target", false, &r->target);
	if (!rc && p && json_object_is_type(p, json_type_string))
		rc = get_string(rd, o, "patch", false, &r->patch);
	struct json_object *vs = field(o, "violations");
	if (!rc && (!vs || !json_object_is_type(vs, json_type_array)))
		rc = bad(rd, "field \"violations\" should be an array");
	size_t n = rc ? 0 : json_object_array_length(vs);
	if (!rc && n > 64)
		rc = bad(rd, "%zu violations in one result: there are not that many checks", n);
	if (!rc && n && !(r->violations = calloc(n, sizeof(*r->violations))))
		rc = pv_error_set(rd->err, PV_ENOMEM, "out of memory");
	size_t at = strlen(rd->where);
	for (size_t i = 0; !rc && i < n; i++) {
		snprintf(rd->where + at, sizeof(rd->where) - at, ".violations[%zu]", i);
		rc = read_violation(rd, json_object_array_get_idx(vs, i), &r->violations[i]);
		r->nviolations++;
	}
	rd->where[at] = '\0';
	if (!rc)
		rc = read_guarantee(rd, field(o, "guarantee"), &r->guarantee);
	if (!rc)
		pv_guarantee_update(&r->guarantee, r->schedules); /* derived, not trusted */
	if (!rc)
		rc = read_coverage(rd, field(o, "coverage"), &r->coverage);
	if (!rc)
		rc = read_lifecycle(rd, o, r);
	if (!rc)
		rc = read_overhead(rd, o, r);
	if (!rc && (v == PV_VERDICT_UNSAFE) != (r->nviolations > 0))
		rc = bad(rd, "verdict %s does not agree with %zu violation(s)", pv_verdict_name(v),
		         r->nviolations);
	return rc;
}

int pv_report_json_read(const char *text, size_t len, const char *what, struct pv_campaign *c,
                        struct pv_error *err)
{
	struct reader rd = {.what = what, .err = err};
	pv_campaign_init(c);
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	struct json_object *root = len <= INT32_MAX ? json_tokener_parse_ex(tok, text, (int)len)
	                                            : NULL;
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int rc = 0;
	if (!root || je != json_tokener_success) {
		rc = bad(&rd, "not JSON (%s)", root ? "trailing data"
		                                    : json_tokener_error_desc(je));
		goto out;
	}
	for (; used < len; used++)
		if (text[used] != ' ' && text[used] != '\n' && text[used] != '\t' &&
		    text[used] != '\r') {
			rc = bad(&rd, "data after the JSON document");
			goto out;
		}
	if (!json_object_is_type(root, json_type_object)) {
		rc = bad(&rd, "the document should be an object");
		goto out;
	}
	char kind[32], explorer[16], shard[48];
	rc = get_fixed(&rd, root, "kind", kind, sizeof(kind));
	if (!rc && strcmp(kind, "campaign"))
		rc = bad(&rd, "\"kind\" is '%s', not 'campaign'", kind);
	if (!rc)
		rc = get_fixed(&rd, root, "explorer", explorer, sizeof(explorer));
	const struct pv_explorer_info *xi = rc ? NULL : pv_explorer_find(NULL, explorer, NULL);
	if (!rc && !xi)
		rc = bad(&rd, "unknown explorer '%s'", explorer);
	c->explorer = xi ? xi->name : pv_explorer_row(NULL, 0)->name;
	if (!rc)
		rc = get_u64(&rd, root, "seed", false, &c->seed);
	if (!rc)
		rc = get_u64(&rd, root, "schedules", false, &c->schedules);
	/* Every explorer's parameters, each optional and in its range. */
	const struct pv_explorer_param *params[PV_EXPLORER_PARAMS];
	size_t np = pv_explorer_params(NULL, params, PV_EXPLORER_PARAMS);
	bool out_of_range = false;
	for (size_t i = 0; !rc && i < np && i < PV_EXPLORER_PARAMS; i++) {
		uint64_t v = 0;
		rc = get_u64(&rd, root, params[i]->name, true, &v);
		out_of_range |= v > params[i]->max;
		c->param[params[i]->slot] = (unsigned)v;
	}
	if (!rc && out_of_range) {
		char names[128];
		size_t at = 0;
		names[0] = '\0';
		for (size_t i = 0; i < np && i < PV_EXPLORER_PARAMS && at < sizeof(names); i++)
			at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s",
			                       i == 0 ? "" : i + 1 == np ? " or " : ", ", params[i]->name);
		rc = bad(&rd, "%s out of range", names);
	}
	uint64_t slen = 0;
	if (!rc)
		rc = get_u64(&rd, root, "stream_length", true, &slen);
	c->stream_len = (size_t)slen;
	if (!rc)
		rc = get_double(&rd, root, "time_budget", &c->time_budget);
	if (!rc)
		rc = get_double(&rd, root, "elapsed_seconds", &c->seconds);
	if (!rc)
		rc = get_fixed(&rd, root, "shard", shard, sizeof(shard));
	if (!rc && shard[0]) {
		unsigned long long i = 0, n = 0;
		int used_n = 0;
		if (sscanf(shard, "%llu/%llu%n", &i, &n, &used_n) != 2 || shard[used_n] || !i ||
		    i > n)
			rc = bad(&rd, "\"shard\" should be I/N, not '%s'", shard);
		c->shard_index = i - 1;
		c->shard_count = n;
	}
	struct json_object *results = field(root, "results");
	if (!rc && (!results || !json_object_is_type(results, json_type_array)))
		rc = bad(&rd, "field \"results\" should be an array");
	size_t n = rc ? 0 : json_object_array_length(results);
	for (size_t i = 0; !rc && i < n; i++) {
		snprintf(rd.where, sizeof(rd.where), "results[%zu]", i);
		rc = read_result(&rd, json_object_array_get_idx(results, i), c);
		if (!rc)
			c->total_schedules += c->results[i].schedules;
	}
out:
	json_object_put(root);
	if (rc)
		pv_campaign_free(c);
	return rc;
}
