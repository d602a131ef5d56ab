/* What every report format shares: the sentence on an explorer's
 * guarantee, escaping, the axes and counts of a campaign. The formats
 * themselves are rows of registry.c. */
#include "report.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/explore/registry.h"
#include "../harness/util/files.h"
#include "internal.h"

void pv_report_guarantee(const struct pv_campaign *c, const struct pv_result *r, char *buf,
                         size_t len)
{
	buf[0] = '\0';
	/* A campaign that does not name its explorer: whichever row's
	 * guarantee r carries. */
	const struct pv_explorer_table *t = pv_explorers_builtin();
	for (size_t i = 0; i < t->n && !buf[0]; i++) {
		const struct pv_explorer_info *xi = &t->rows[i];
		if (xi->ops->sentence && (!c->explorer || !c->explorer[0] ||
		                          !strcmp(c->explorer, xi->name)))
			xi->ops->sentence(r, buf, len);
	}
}

const char *pv_report_story_kind(enum pv_story_kind k)
{
	switch (k) {
	case PV_STORY_INSN: return "insn";
	case PV_STORY_ENGINE: return "engine";
	case PV_STORY_WRITE: return "write";
	case PV_STORY_PREEMPT: return "preempt";
	case PV_STORY_VIOLATION: return "violation";
	}
	return "?";
}

void pv_xml_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		switch (ch) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			fputc(ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' ? '?' : ch, f);
		}
	}
}

static const char *axis_of(const struct pv_result *r, enum pv_axis axis)
{
	return axis == PV_AXIS_BACKEND ? r->backend : axis == PV_AXIS_ENGINE ? r->engine
	                                                                    : r->scenario;
}

size_t pv_report_axis(const struct pv_campaign *c, const char *backend, enum pv_axis axis,
                      const char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		if (backend && strcmp(r->backend, backend))
			continue;
		const char *v = axis_of(r, axis);
		size_t k = 0;
		while (k < n && strcmp(out[k], v))
			k++;
		if (k == n)
			out[n++] = v;
	}
	return n;
}

const struct pv_result *pv_report_cell(const struct pv_campaign *c, const char *backend,
                                       const char *engine, const char *scenario)
{
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		if (!strcmp(r->backend, backend) && !strcmp(r->engine, engine) &&
		    !strcmp(r->scenario, scenario))
			return r;
	}
	return NULL;
}

void pv_report_counts(const struct pv_campaign *c, size_t counts[4], size_t *unexpected,
                      bool *compared)
{
	memset(counts, 0, 4 * sizeof(counts[0]));
	*unexpected = 0;
	*compared = false;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		if ((unsigned)r->verdict < 4)
			counts[r->verdict]++;
		*unexpected += r->as_expected == 0;
		*compared |= r->as_expected >= 0;
	}
}

void pv_report_replay(const char *out_dir, const char *reproducer, char *buf, size_t len)
{
	snprintf(buf, len, "patchvet replay %s%s%s", out_dir ? out_dir : "", out_dir ? "/" : "",
	         reproducer);
}
