#include "expected.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"

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
	}
	free(e->items);
	free(e->path);
	free(e);
}

static int add_item(struct pv_expected *e, const char *kind, const char *scenario,
                    const char *flavour, unsigned hazards, int line)
{
	struct pv_expectation *items = realloc(e->items, (e->count + 1) * sizeof(*items));
	if (!items)
		return PV_ENOMEM;
	e->items = items;
	struct pv_expectation *it = &items[e->count];
	it->kind = strdup(kind);
	it->scenario = strdup(scenario);
	it->flavour = strdup(flavour);
	it->hazards = hazards;
	it->line = line;
	e->count++;
	if (!it->kind || !it->scenario || !it->flavour)
		return PV_ENOMEM;
	return 0;
}

static int parse_line(struct pv_expected *e, char *line, int lineno, struct pv_error *err)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *save = NULL;
	char *w[5];
	int n = 0;
	for (char *tok = strtok_r(line, " \t\r\n", &save); tok && n < 5;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = tok;
	if (n == 0)
		return 0;
	if (strcmp(w[0], "analysis") != 0)
		return pv_error_set(err, PV_EFORMAT, "%s:%d: unknown kind '%s' (expected 'analysis')",
		                    e->path, lineno, w[0]);
	if (n != 4)
		return pv_error_set(err, PV_EFORMAT,
		                    "%s:%d: expected 'analysis SCENARIO FLAVOUR HAZARDS'", e->path,
		                    lineno);
	unsigned bits;
	if (pv_hazards_parse(w[3], &bits))
		return pv_error_set(err, PV_EFORMAT, "%s:%d: unknown hazard in '%s'", e->path,
		                    lineno, w[3]);
	if (add_item(e, w[0], w[1], w[2], bits, lineno))
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->path);
	return 0;
}

int pv_expected_load(const char *path, struct pv_expected **out, struct pv_error *err)
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
