/* The explorers: one row each, with the parameters it takes and the file
 * that runs it. */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct pv_explorer_param pct_params[] = {
	{.name = "depth", .metavar = "D", .slot = 0, .min = 1, .max = PV_PCT_MAX_DEPTH, .def = 3,
	 .wants = "a bug depth from "},
};

static const struct pv_explorer_param bounded_params[] = {
	{.name = "preemptions", .metavar = "K", .slot = 1, .min = 0,
	 .max = PV_BOUNDED_MAX_PREEMPTIONS, .def = 1, .wants = "", .zero_kept = true},
};

#define PARAMS(a) a, sizeof(a) / sizeof(a[0])

static const struct pv_explorer_info explorers[] = {
	{"random", "uniform random decision streams (the default);", false, false, 0, NULL, 0,
	 &pv_explore_random_ops},
	{"pct",
	 "probabilistic concurrency testing with bug depth D (--depth, default 3): the report "
	 "states the probability bound reached;",
	 true, false, 0, PARAMS(pct_params), &pv_explore_pct_ops},
	{"bounded",
	 "every schedule with at most K preemptions inside hot windows (--preemptions, default "
	 "1), depth first; without --schedules it runs until the space is exhausted (at most "
	 "10,000,000).",
	 true, true, 10000000, PARAMS(bounded_params), &pv_explore_bounded_ops},
};

static const struct pv_explorer_table builtin = {explorers,
                                                 sizeof(explorers) / sizeof(explorers[0])};

const struct pv_explorer_table *pv_explorers_builtin(void)
{
	return &builtin;
}

const struct pv_explorer_info *pv_explorer_find(const struct pv_explorer_table *t,
                                                const char *name, unsigned *kind)
{
	t = t ? t : &builtin;
	for (size_t i = 0; name && i < t->n; i++)
		if (!strcmp(t->rows[i].name, name)) {
			if (kind)
				*kind = (unsigned)i;
			return &t->rows[i];
		}
	return NULL;
}

const struct pv_explorer_info *pv_explorer_row(const struct pv_explorer_table *t, unsigned kind)
{
	t = t ? t : &builtin;
	return kind < t->n ? &t->rows[kind] : NULL;
}

void pv_explorer_names(const struct pv_explorer_table *t, const char *sep, const char *last,
                       char *buf, size_t len)
{
	t = t ? t : &builtin;
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->n && at < len; i++) {
		int w = snprintf(buf + at, len - at, "%s%s", i == 0 ? "" : i + 1 == t->n ? last : sep,
		                 t->rows[i].name);
		if (w < 0)
			break;
		at += (size_t)w;
	}
}

size_t pv_explorer_params(const struct pv_explorer_table *t,
                          const struct pv_explorer_param **out, size_t cap)
{
	t = t ? t : &builtin;
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->rows[i].nparams; k++) {
			const struct pv_explorer_param *p = &t->rows[i].params[k];
			bool seen = false;
			for (size_t j = 0; j < n && j < cap; j++)
				seen |= out[j] == p || !strcmp(out[j]->name, p->name);
			if (seen)
				continue;
			if (n < cap)
				out[n] = p;
			n++;
		}
	return n;
}

int pv_explorer_param_parse(const struct pv_explorer_param *p, const char *arg, unsigned *value,
                            struct pv_error *err)
{
	char *end = NULL;
	/* Digits only: strtoull would take a sign or blanks. */
	bool digits = arg[0] && strspn(arg, "0123456789") == strlen(arg);
	unsigned long long v = digits ? strtoull(arg, &end, 10) : 0;
	if (!digits || v < p->min || v > p->max)
		return pv_error_set(err, PV_EINVAL, "--%s wants %s%u to %u, not '%s'", p->name,
		                    p->wants, p->min, p->max, arg);
	*value = (unsigned)v;
	return 0;
}

void pv_explorer_defaults(const struct pv_explorer_table *t, struct pv_explorer *x)
{
	t = t ? t : &builtin;
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->rows[i].nparams; k++)
			x->param[t->rows[i].params[k].slot] = t->rows[i].params[k].def;
}

size_t pv_explorer_buffer(const struct pv_explorer_info *xi, const struct pv_explorer *x)
{
	if (xi && xi->adaptive)
		return PV_EXPLORE_RECORD_MAX;
	return x->stream_len ? x->stream_len : PV_EXPLORE_STREAM_LEN;
}

size_t pv_explore_stream_len(const struct pv_explorer *x)
{
	return pv_explorer_buffer(pv_explorer_row(NULL, x->kind), x);
}

void pv_explorer_to_campaign(const struct pv_explorer_info *xi, const struct pv_explorer *x,
                             struct pv_campaign *c)
{
	c->explorer = xi->name;
	c->seed = x->seed;
	c->stream_len = pv_explorer_buffer(xi, x);
	memset(c->param, 0, sizeof(c->param));
	for (size_t k = 0; k < xi->nparams; k++)
		c->param[xi->params[k].slot] = x->param[xi->params[k].slot];
}
