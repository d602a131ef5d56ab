#include "expected.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../load/analysis.h"
#include "../backend/registry.h"
#include "../checks/registry.h"
#include "../load/scenario.h"

/* Most words a line may have: a verdict line with every check listed. */
#define MAX_WORDS 24

int pv_hazards_parse(const char *text, unsigned *bits)
{
	*bits = 0;
	if (!strcmp(text, "none"))
		return 0;
	const char *p = text;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		unsigned found = 0;
		for (unsigned bit = 1; bit && pv_hazard_id(bit); bit <<= 1) {
			const char *id = pv_hazard_id(bit);
			if (strlen(id) == len && !strncmp(id, p, len))
				found = bit;
		}
		if (!found)
			return PV_EINVAL;
		*bits |= found;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

void pv_expected_free(struct pv_expected *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->count; i++) {
		free(e->items[i].kind);
		free(e->items[i].scenario);
		free(e->items[i].flavour);
		free(e->items[i].engine);
		free(e->items[i].backend);
		for (size_t k = 0; k < e->items[i].nchecks; k++)
			free(e->items[i].checks[k]);
		free(e->items[i].checks);
	}
	free(e->items);
	free(e->path);
	free(e);
}

/* A new zeroed item at the end of e, NULL when out of memory. */
static struct pv_expectation *new_item(struct pv_expected *e, const char *kind,
                                       const char *scenario, int line)
{
	struct pv_expectation *items = realloc(e->items, (e->count + 1) * sizeof(*items));
	if (!items)
		return NULL;
	e->items = items;
	struct pv_expectation *it = &items[e->count++];
	memset(it, 0, sizeof(*it));
	it->line = line;
	it->kind = strdup(kind);
	it->scenario = strdup(scenario);
	return it->kind && it->scenario ? it : NULL;
}

static int parse_analysis(struct pv_expected *e, char **w, int n, int lineno,
                          struct pv_error *err)
{
	if (n != 4)
		return pv_error_set(err, PV_EFORMAT,
		                    "%s:%d: expected 'analysis SCENARIO FLAVOUR HAZARDS'", e->path,
		                    lineno);
	unsigned bits;
	if (pv_hazards_parse(w[3], &bits))
		return pv_error_set(err, PV_EFORMAT, "%s:%d: unknown hazard in '%s'", e->path,
		                    lineno, w[3]);
	struct pv_expectation *it = new_item(e, w[0], w[1], lineno);
	if (!it || !(it->flavour = strdup(w[2])))
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->path);
	it->hazards = bits;
	return 0;
}

static int parse_verdict(struct pv_expected *e, char **w, int n, int lineno,
                         struct pv_error *err)
{
	if (n < 5)
		return pv_error_set(err, PV_EFORMAT,
		                    "%s:%d: expected 'verdict SCENARIO ENGINE BACKEND VERDICT "
		                    "[CHECK...]'", e->path, lineno);
	char names[64];
	if (!pv_backend_find(w[3]))
		return pv_error_set(err, PV_EFORMAT, "%s:%d: unknown backend '%s' (%s)", e->path,
		                    lineno, w[3], pv_backend_names_joined(names, sizeof(names), "or"));
	enum pv_verdict v;
	if (pv_verdict_parse(w[4], &v))
		return pv_error_set(err, PV_EFORMAT,
		                    "%s:%d: unknown verdict '%s' (SAFE, UNSAFE, REFUSED or ERROR)",
		                    e->path, lineno, w[4]);
	if (n > 5 && v != PV_VERDICT_UNSAFE)
		return pv_error_set(err, PV_EFORMAT, "%s:%d: checks are listed only after UNSAFE",
		                    e->path, lineno);
	for (int i = 5; i < n; i++)
		if (!pv_check_find(e->checks, w[i]))
			return pv_error_set(err, PV_EFORMAT, "%s:%d: unknown check '%s' (`patchvet "
			                                     "list checks` lists them)", e->path,
			                    lineno, w[i]);
	for (size_t i = 0; i < e->count; i++)
		if (!strcmp(e->items[i].kind, "verdict") && !strcmp(e->items[i].scenario, w[1]) &&
		    !strcmp(e->items[i].engine, w[2]) && !strcmp(e->items[i].backend, w[3]))
			return pv_error_set(err, PV_EFORMAT, "%s:%d: a second verdict for %s %s %s "
			                                     "(the first is on line %d)", e->path,
			                    lineno, w[1], w[2], w[3], e->items[i].line);
	struct pv_expectation *it = new_item(e, w[0], w[1], lineno);
	if (!it || !(it->engine = strdup(w[2])) || !(it->backend = strdup(w[3])))
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->path);
	it->verdict = v;
	if (n > 5 && !(it->checks = calloc((size_t)(n - 5), sizeof(char *))))
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->path);
	for (int i = 5; i < n; i++)
		if (!(it->checks[it->nchecks++] = strdup(w[i])))
			return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->path);
	return 0;
}

static int parse_line(struct pv_expected *e, char *line, int lineno, struct pv_error *err)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *save = NULL;
	char *w[MAX_WORDS];
	int n = 0;
	for (char *tok = strtok_r(line, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_WORDS)
			return pv_error_set(err, PV_EFORMAT, "%s:%d: more than %d words", e->path,
			                    lineno, MAX_WORDS);
		w[n++] = tok;
	}
	if (n == 0)
		return 0;
	if (!strcmp(w[0], "analysis"))
		return parse_analysis(e, w, n, lineno, err);
	if (!strcmp(w[0], "verdict"))
		return parse_verdict(e, w, n, lineno, err);
	return pv_error_set(err, PV_EFORMAT,
	                    "%s:%d: unknown kind '%s' (expected 'analysis' or 'verdict')", e->path,
	                    lineno, w[0]);
}

int pv_expected_load(const char *path, const struct pv_check_registry *reg,
                     struct pv_expected **out, struct pv_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return pv_error_set(err, PV_EIO, "%s: cannot open: %s", path, strerror(errno));
	struct pv_expected *e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		fclose(f);
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", path);
	}
	e->checks = reg;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	while (!rc && getline(&line, &cap, f) >= 0)
		rc = parse_line(e, line, ++lineno, err);
	free(line);
	fclose(f);
	if (rc) {
		pv_expected_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

const struct pv_expectation *pv_expected_analysis(const struct pv_expected *e,
                                                  const char *scenario, const char *flavour)
{
	const struct pv_expectation *any = NULL;
	for (size_t i = 0; i < e->count; i++) {
		const struct pv_expectation *it = &e->items[i];
		if (strcmp(it->kind, "analysis") || strcmp(it->scenario, scenario))
			continue;
		if (!strcmp(it->flavour, flavour))
			return it;
		if (!strcmp(it->flavour, "*"))
			any = it;
	}
	return any;
}

const struct pv_expectation *pv_expected_verdict(const struct pv_expected *e,
                                                 const char *scenario, const char *engine,
                                                 const char *backend)
{
	for (size_t i = 0; i < e->count; i++) {
		const struct pv_expectation *it = &e->items[i];
		if (!strcmp(it->kind, "verdict") && !strcmp(it->scenario, scenario) &&
		    !strcmp(it->engine, engine) && !strcmp(it->backend, backend))
			return it;
	}
	return NULL;
}

bool pv_expected_holds(const struct pv_expectation *x, const struct pv_result *r)
{
	if (r->verdict != x->verdict)
		return false;
	if (!x->nchecks)
		return true;
	for (size_t i = 0; i < x->nchecks; i++)
		if (pv_result_find(r, x->checks[i]))
			return true;
	return false;
}

void pv_expectation_format(const struct pv_expectation *x, char *buf, size_t len)
{
	size_t n = 0;
	int w = snprintf(buf, len, "%s", pv_verdict_name(x->verdict));
	for (size_t i = 0; w >= 0 && (n += (size_t)w) < len && i < x->nchecks; i++)
		w = snprintf(buf + n, len - n, "%s%s", i ? "|" : " ", x->checks[i]);
}
