#include "certificate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "internal.h"
#include "report.h"

void pv_certificate_free(struct pv_certificate *cert)
{
	if (!cert)
		return;
	free(cert->verdicts);
	cert->verdicts = NULL;
	cert->nverdicts = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pv_certificate_verdicts(struct pv_certificate *cert, const struct pv_campaign *c,
                            struct pv_error *err)
{
	free(cert->verdicts);
	cert->nverdicts = 0;
	cert->verdicts = calloc(c->nresults + 1, sizeof(*cert->verdicts));
	if (!cert->verdicts)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		struct pv_cert_verdict *v = &cert->verdicts[cert->nverdicts++];
		snprintf(v->engine, sizeof(v->engine), "%s", r->engine);
		snprintf(v->scenario, sizeof(v->scenario), "%s", r->scenario);
		snprintf(v->backend, sizeof(v->backend), "%s", r->backend);
		v->verdict = r->verdict;
		/* Sorted, so a different order of discovery is the same verdict. */
		const char *ids[64];
		size_t n = 0;
		for (size_t k = 0; k < r->nviolations && n < 64; k++)
			ids[n++] = r->violations[k].check;
		qsort(ids, n, sizeof(ids[0]), cmp_str);
		size_t used = 0;
		for (size_t k = 0; k < n && used < sizeof(v->checks); k++) {
			int w = snprintf(v->checks + used, sizeof(v->checks) - used, "%s%s", k ? " " : "",
			                 ids[k]);
			if (w < 0)
				break;
			used += (size_t)w;
		}
	}
	return 0;
}

void pv_certificate_overhead_judge(struct pv_cert_overhead *o)
{
	const struct pv_overhead_figure *cpu = NULL, *redirect = NULL, *insns = NULL;
	bool mem_refuted = false, mem_unsure = false, any = false;
	for (size_t i = 0; i < o->nfigures; i++) {
		const struct pv_overhead_figure *g = &o->figures[i];
		if (!g->measured)
			continue;
		any = true;
		if (!strncmp(g->name, "memory", 6)) {
			mem_refuted |= g->claim == PV_CLAIM_REFUTED;
			mem_unsure |= g->claim != PV_CLAIM_SUPPORTED;
		} else if (!strcmp(g->name, "cpu")) {
			cpu = g;
		} else if (!strcmp(g->name, "redirect")) {
			redirect = g;
		} else if (!strcmp(g->name, "instructions")) {
			insns = g;
		}
	}
	/* Native CPU measures the claim itself; in emu, the engine's own
	 * instructions do (the patch's code is the vendor's cost, not the
	 * engine's), and the whole path only when the split is missing. */
	if (!cpu)
		cpu = redirect ? redirect : insns;
	snprintf(o->judged_by, sizeof(o->judged_by), "%s", cpu ? cpu->name : "");
	o->judged = any;
	if (mem_refuted || (cpu && cpu->claim == PV_CLAIM_REFUTED))
		o->verdict = PV_CLAIM_REFUTED;
	else if (cpu && cpu->claim == PV_CLAIM_SUPPORTED && !mem_unsure)
		o->verdict = PV_CLAIM_SUPPORTED;
	else
		o->verdict = PV_CLAIM_INCONCLUSIVE;
}

static struct json_object *overhead_json(const struct pv_cert_overhead *o)
{
	struct json_object *x = json_object_new_object();
	json_object_object_add(x, "verdict", json_object_new_string(
		o->judged ? pv_claim_name(o->verdict) : "NOT MEASURED"));
	json_object_object_add(x, "judged_by", o->judged_by[0]
	                                            ? json_object_new_string(o->judged_by)
	                                            : json_object_new_null());
	json_object_object_add(x, "threshold_pct", json_object_new_double(o->threshold_pct));
	json_object_object_add(x, "time_seconds", json_object_new_double(o->time_s));
	json_object_object_add(x, "cycles", json_object_new_int((int)o->cycles));
	json_object_object_add(x, "note", json_object_new_string(o->note));
	struct json_object *fs = json_object_new_array();
	for (size_t i = 0; i < o->nfigures; i++)
		json_object_array_add(fs, pv_report_figure_json(&o->figures[i]));
	json_object_object_add(x, "figures", fs);
	return x;
}

static struct json_object *file_json(const struct pv_cert_file *f)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "file", json_object_new_string(f->path));
	json_object_object_add(o, "sha256", json_object_new_string(f->sha256));
	return o;
}

int pv_certificate_json(const struct pv_certificate *cert, const struct pv_campaign *c,
                        char **text, size_t *len, struct pv_error *err)
{
	char *campaign = NULL;
	size_t clen = 0;
	int rc = pv_report_json(c, &campaign, &clen, err);
	if (rc)
		return rc;
	struct json_object *root = json_object_new_object();
	json_object_object_add(root, "schema", json_object_new_string(PV_CERT_SCHEMA));
	json_object_object_add(root, "kind", json_object_new_string("certificate"));
	json_object_object_add(root, "patchvet_version",
	                       json_object_new_string(cert->patchvet_version));
	json_object_object_add(root, "created", json_object_new_string(cert->created));
	struct json_object *e = file_json(&cert->engine);
	json_object_object_add(e, "argument", json_object_new_string(cert->engine_arg));
	json_object_object_add(e, "kind", json_object_new_string(cert->engine_kind));
	json_object_object_add(root, "engine", e);
	json_object_object_add(root, "scenario", json_object_new_string(cert->scenario_arg));
	json_object_object_add(root, "backend", json_object_new_string(cert->backend));
	json_object_object_add(root, "flavour", json_object_new_string(cert->flavour));
	json_object_object_add(root, "target", file_json(&cert->target));
	json_object_object_add(root, "patch", file_json(&cert->patch));
	json_object_object_add(root, "explorer", json_object_new_string(cert->explorer));
	json_object_object_add(root, "seed", json_object_new_uint64(cert->seed));
	json_object_object_add(root, "schedules", json_object_new_uint64(cert->schedules));
	json_object_object_add(root, "stream_length", json_object_new_uint64(c->stream_len));
	struct json_object *g = json_object_new_array();
	for (size_t i = 0; i < c->nresults; i++) {
		char sentence[512];
		pv_report_guarantee(c, &c->results[i], sentence, sizeof(sentence));
		json_object_array_add(g, sentence[0] ? json_object_new_string(sentence)
		                                     : json_object_new_string("none: random sampling "
		                                                              "bounds nothing"));
	}
	json_object_object_add(root, "guarantees", g);
	struct json_object *vs = json_object_new_array();
	for (size_t i = 0; i < cert->nverdicts; i++) {
		const struct pv_cert_verdict *v = &cert->verdicts[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "engine", json_object_new_string(v->engine));
		json_object_object_add(o, "scenario", json_object_new_string(v->scenario));
		json_object_object_add(o, "backend", json_object_new_string(v->backend));
		json_object_object_add(o, "verdict", json_object_new_string(pv_verdict_name(v->verdict)));
		struct json_object *checks = json_object_new_array();
		char copy[sizeof(v->checks)], *save = NULL;
		snprintf(copy, sizeof(copy), "%s", v->checks);
		for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
			json_object_array_add(checks, json_object_new_string(w));
		json_object_object_add(o, "checks", checks);
		json_object_array_add(vs, o);
	}
	json_object_object_add(root, "verdicts", vs);
	if (cert->overhead.present)
		json_object_object_add(root, "overhead", overhead_json(&cert->overhead));
	json_object_object_add(root, "command", json_object_new_string(cert->command));
	json_object_object_add(root, "verify_command", json_object_new_string(cert->verify_command));
	struct json_object *camp = json_tokener_parse(campaign);
	free(campaign);
	json_object_object_add(root, "campaign", camp);
	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
	*len = s ? strlen(s) : 0;
	*text = s ? malloc(*len + 2) : NULL;
	if (!*text || !camp) {
		free(*text);
		*text = NULL;
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	} else {
		memcpy(*text, s, *len);
		(*text)[(*len)++] = '\n';
		(*text)[*len] = '\0';
	}
	json_object_put(root);
	return rc;
}

/* ----------------------------------------------------------------- load */

struct loader {
	const char *path;
	struct pv_error *err;
};

static int missing(const struct loader *l, const char *field)
{
	return pv_error_set(l->err, PV_EFORMAT, "%s: not a %s certificate: field '%s' is missing "
	                                        "or of the wrong type",
	                    l->path, PV_CERT_SCHEMA, field);
}

static int get_str(const struct loader *l, struct json_object *o, const char *key,
                   const char *field, char *buf, size_t len)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return missing(l, field);
	if (snprintf(buf, len, "%s", json_object_get_string(v)) >= (int)len)
		return pv_error_set(l->err, PV_EFORMAT, "%s: field '%s' is too long", l->path, field);
	return 0;
}

static int get_u64(const struct loader *l, struct json_object *o, const char *key,
                   uint64_t *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return missing(l, key);
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_file(const struct loader *l, struct json_object *root, const char *key,
                    struct pv_cert_file *f)
{
	struct json_object *o;
	char field[64];
	if (!json_object_object_get_ex(root, key, &o) || !json_object_is_type(o, json_type_object))
		return missing(l, key);
	snprintf(field, sizeof(field), "%s.file", key);
	int rc = get_str(l, o, "file", field, f->path, sizeof(f->path));
	snprintf(field, sizeof(field), "%s.sha256", key);
	if (!rc)
		rc = get_str(l, o, "sha256", field, f->sha256, sizeof(f->sha256));
	if (!rc && strlen(f->sha256) != PV_SHA256_HEX_LEN)
		rc = pv_error_set(l->err, PV_EFORMAT, "%s: field '%s' is not 64 hex digits", l->path,
		                  field);
	return rc;
}

static int load_verdicts(const struct loader *l, struct json_object *root,
                         struct pv_certificate *cert)
{
	struct json_object *vs;
	if (!json_object_object_get_ex(root, "verdicts", &vs) ||
	    !json_object_is_type(vs, json_type_array))
		return missing(l, "verdicts");
	size_t n = json_object_array_length(vs);
	cert->verdicts = calloc(n + 1, sizeof(*cert->verdicts));
	if (!cert->verdicts)
		return pv_error_set(l->err, PV_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		struct json_object *o = json_object_array_get_idx(vs, i), *checks;
		struct pv_cert_verdict *v = &cert->verdicts[i];
		char verdict[16];
		if ((rc = get_str(l, o, "engine", "verdicts[].engine", v->engine, sizeof(v->engine))) ||
		    (rc = get_str(l, o, "scenario", "verdicts[].scenario", v->scenario,
		                  sizeof(v->scenario))) ||
		    (rc = get_str(l, o, "backend", "verdicts[].backend", v->backend,
		                  sizeof(v->backend))) ||
		    (rc = get_str(l, o, "verdict", "verdicts[].verdict", verdict, sizeof(verdict))))
			break;
		if (pv_verdict_parse(verdict, &v->verdict))
			return pv_error_set(l->err, PV_EFORMAT, "%s: '%s' is not a verdict", l->path,
			                    verdict);
		if (!json_object_object_get_ex(o, "checks", &checks) ||
		    !json_object_is_type(checks, json_type_array))
			return missing(l, "verdicts[].checks");
		size_t used = 0;
		for (size_t k = 0; k < json_object_array_length(checks); k++) {
			const char *id = json_object_get_string(json_object_array_get_idx(checks, k));
			int w = snprintf(v->checks + used, sizeof(v->checks) - used, "%s%s", k ? " " : "",
			                 id ? id : "");
			if (w < 0 || (size_t)w >= sizeof(v->checks) - used)
				return pv_error_set(l->err, PV_EFORMAT, "%s: too many checks in a verdict",
				                    l->path);
			used += (size_t)w;
		}
		cert->nverdicts++;
	}
	return rc;
}

/* The optional "overhead" (absent in certificates made before they
 * carried overhead figures). */
static int load_overhead(const struct loader *l, struct json_object *root,
                         struct pv_cert_overhead *o)
{
	struct json_object *x, *v;
	memset(o, 0, sizeof(*o));
	if (!json_object_object_get_ex(root, "overhead", &x))
		return 0;
	if (!json_object_is_type(x, json_type_object))
		return missing(l, "overhead");
	o->present = true;
	const char *num[] = {"threshold_pct", "time_seconds", "cycles"};
	double *dst[] = {&o->threshold_pct, &o->time_s, NULL};
	for (size_t i = 0; i < 3; i++) {
		char field[40];
		snprintf(field, sizeof(field), "overhead.%s", num[i]);
		if (!json_object_object_get_ex(x, num[i], &v) ||
		    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) ||
		    json_object_get_double(v) < 0 || json_object_get_double(v) > 1e6)
			return missing(l, field);
		if (dst[i])
			*dst[i] = json_object_get_double(v);
		else
			o->cycles = (unsigned)json_object_get_int(v);
	}
	int rc = get_str(l, x, "note", "overhead.note", o->note, sizeof(o->note));
	if (rc)
		return rc;
	if (!json_object_object_get_ex(x, "figures", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > PV_OVERHEAD_MAX)
		return missing(l, "overhead.figures");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		char why[80];
		if (pv_report_figure_read(json_object_array_get_idx(v, i), &o->figures[i], why,
		                          sizeof(why)))
			return pv_error_set(l->err, PV_EFORMAT, "%s: overhead.figures[%zu]: %s", l->path,
			                    i, why);
		o->nfigures++;
	}
	/* The verdict follows from the figures; a stored one that does not is
	 * an edited certificate. */
	char stored[24];
	rc = get_str(l, x, "verdict", "overhead.verdict", stored, sizeof(stored));
	if (rc)
		return rc;
	pv_certificate_overhead_judge(o);
	if (strcmp(stored, o->judged ? pv_claim_name(o->verdict) : "NOT MEASURED"))
		return pv_error_set(l->err, PV_EFORMAT, "%s: overhead.verdict says %s, but its figures "
		                                        "make it %s", l->path, stored,
		                    o->judged ? pv_claim_name(o->verdict) : "NOT MEASURED");
	return 0;
}

int pv_certificate_load(const char *path, struct pv_certificate *cert, struct pv_error *err)
{
	memset(cert, 0, sizeof(*cert));
	struct loader l = {.path = path, .err = err};
	struct json_object *root = json_object_from_file(path);
	if (!root) {
		FILE *f = fopen(path, "r");
		if (!f)
			return pv_error_set(err, PV_ENOENT, "%s: no such certificate", path);
		fclose(f);
		return pv_error_set(err, PV_EFORMAT, "%s: not JSON (%s)", path,
		                    json_util_get_last_err());
	}
	char schema[64] = "";
	struct json_object *e;
	int rc = get_str(&l, root, "schema", "schema", schema, sizeof(schema));
	if (!rc && strcmp(schema, PV_CERT_SCHEMA))
		rc = pv_error_set(err, PV_EABI, "%s: schema '%s', this patchvet reads %s", path, schema,
		                  PV_CERT_SCHEMA);
	if (!rc)
		rc = get_str(&l, root, "patchvet_version", "patchvet_version", cert->patchvet_version,
		             sizeof(cert->patchvet_version));
	if (!rc)
		rc = get_str(&l, root, "created", "created", cert->created, sizeof(cert->created));
	if (!rc)
		rc = get_file(&l, root, "engine", &cert->engine);
	if (!rc && json_object_object_get_ex(root, "engine", &e)) {
		rc = get_str(&l, e, "argument", "engine.argument", cert->engine_arg,
		             sizeof(cert->engine_arg));
		if (!rc)
			rc = get_str(&l, e, "kind", "engine.kind", cert->engine_kind,
			             sizeof(cert->engine_kind));
	}
	if (!rc)
		rc = get_str(&l, root, "scenario", "scenario", cert->scenario_arg,
		             sizeof(cert->scenario_arg));
	if (!rc)
		rc = get_str(&l, root, "backend", "backend", cert->backend, sizeof(cert->backend));
	if (!rc)
		rc = get_str(&l, root, "flavour", "flavour", cert->flavour, sizeof(cert->flavour));
	if (!rc)
		rc = get_str(&l, root, "explorer", "explorer", cert->explorer, sizeof(cert->explorer));
	if (!rc)
		rc = get_u64(&l, root, "seed", &cert->seed);
	if (!rc)
		rc = get_u64(&l, root, "schedules", &cert->schedules);
	if (!rc)
		rc = get_file(&l, root, "target", &cert->target);
	if (!rc)
		rc = get_file(&l, root, "patch", &cert->patch);
	if (!rc)
		rc = get_str(&l, root, "command", "command", cert->command, sizeof(cert->command));
	if (!rc)
		rc = get_str(&l, root, "verify_command", "verify_command", cert->verify_command,
		             sizeof(cert->verify_command));
	if (!rc)
		rc = load_verdicts(&l, root, cert);
	if (!rc)
		rc = load_overhead(&l, root, &cert->overhead);
	json_object_put(root);
	if (rc)
		pv_certificate_free(cert);
	return rc;
}
