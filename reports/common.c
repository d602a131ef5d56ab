/* What every report format shares: the format set, writing a report file,
 * and the sentence on an explorer's guarantee. */
#include "report.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/util/files.h"
#include "internal.h"

static const struct {
	unsigned bit;
	const char *name, *ext;
} formats[] = {
	{PV_FORMAT_TEXT, "text", "txt"},   {PV_FORMAT_JSON, "json", "json"},
	{PV_FORMAT_JUNIT, "junit", "xml"}, {PV_FORMAT_MD, "md", "md"},
	{PV_FORMAT_HTML, "html", "html"},
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

const char *pv_report_format_name(unsigned format)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (formats[i].bit == format)
			return formats[i].name;
	return NULL;
}

const char *pv_report_format_ext(unsigned format)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (formats[i].bit == format)
			return formats[i].ext;
	return NULL;
}

/* "text, json, junit, md and html" limited to allowed. */
static void format_list(unsigned allowed, char *buf, size_t len)
{
	size_t n = 0, k = 0, total = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NFORMATS; i++)
		total += !!(allowed & formats[i].bit);
	for (size_t i = 0; i < NFORMATS && n < len; i++) {
		if (!(allowed & formats[i].bit))
			continue;
		k++;
		int w = snprintf(buf + n, len - n, "%s%s", k == 1 ? "" : k == total ? " and " : ", ",
		                 formats[i].name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

int pv_report_formats_parse(const char *list, unsigned allowed, unsigned *set,
                            struct pv_error *err)
{
	char names[96];
	format_list(allowed, names, sizeof(names));
	char *copy = strdup(list);
	if (!copy)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	unsigned s = 0;
	int rc = 0;
	char *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w && !rc; w = strtok_r(NULL, ",", &save)) {
		unsigned bit = 0;
		for (size_t i = 0; i < NFORMATS; i++)
			if (!strcmp(w, formats[i].name) || !strcmp(w, formats[i].ext))
				bit = formats[i].bit;
		if (!(bit & allowed))
			rc = pv_error_set(err, PV_EINVAL, "unknown format '%s' (there are %s)", w, names);
		s |= bit;
	}
	free(copy);
	if (!rc && !s)
		rc = pv_error_set(err, PV_EINVAL, "no format in '%s' (there are %s)", list, names);
	if (!rc)
		*set = s;
	return rc;
}

int pv_report_write(const struct pv_campaign *c, const struct pv_report_info *info,
                    const char *dir, const char *base, unsigned set, unsigned *written,
                    struct pv_error *err)
{
	if (written)
		*written = 0;
	int rc = pv_mkdir_p(dir, err);
	for (size_t i = 0; !rc && i < NFORMATS; i++) {
		unsigned bit = formats[i].bit;
		if (!(set & bit))
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s.%s", dir, base, formats[i].ext) >=
		    (int)sizeof(path))
			return pv_error_set(err, PV_ERANGE, "%s: path too long", dir);
		char *text = NULL;
		size_t len = 0;
		if (bit == PV_FORMAT_JSON) {
			rc = pv_report_json(c, &text, &len, err);
		} else {
			FILE *f = open_memstream(&text, &len);
			if (!f)
				return pv_error_set(err, PV_ENOMEM, "out of memory");
			if (bit == PV_FORMAT_TEXT)
				pv_report_text(c, info ? info->out_dir : dir, f);
			else if (bit == PV_FORMAT_JUNIT)
				pv_report_junit(c, info, f);
			else if (bit == PV_FORMAT_MD)
				pv_report_markdown(c, info, f);
			else
				pv_report_html(c, info, f);
			if (fclose(f))
				rc = pv_error_set(err, PV_ENOMEM, "out of memory writing %s", path);
		}
		if (!rc)
			rc = pv_file_write_atomic(path, text, len, err);
		free(text);
		if (!rc && written)
			*written |= bit;
	}
	return rc;
}

void pv_report_guarantee(const struct pv_campaign *c, const struct pv_result *r, char *buf,
                         size_t len)
{
	const struct pv_guarantee *g = &r->guarantee;
	const char *x = c->explorer ? c->explorer : "";
	buf[0] = '\0';
	if (g->depth && (!strcmp(x, "pct") || !*x)) {
		snprintf(buf, len,
		         "PCT, bug depth %u: each run finds a given depth-%u bug with probability "
		         ">= 1/(n*k^(d-1)) = %.3g (n = %u threads, k = %" PRIu64 " steps), so %" PRIu64
		         " schedules find it with probability >= %.*f",
		         g->depth, g->depth, g->per_run, g->threads, g->steps, r->schedules,
		         /* enough digits that a bound short of 1 never reads as 1 */
		         g->overall > 0.999 ? 6 : 4, g->overall);
	} else if (!strcmp(x, "bounded") && (g->space_known || g->exhausted || g->space)) {
		char space[64];
		snprintf(space, sizeof(space), "of %s%" PRIu64 " schedules",
		         g->space_known ? "" : "at least ", g->space);
		snprintf(buf, len,
		         "bounded, at most %u preemption%s: the space %s %s (%.1f%%)%s",
		         g->preemptions, g->preemptions == 1 ? "" : "s", space,
		         g->exhausted ? "is exhausted, every schedule ran"
		                      : "is not exhausted (raise --schedules or --time)",
		         g->space ? 100.0 * (double)r->schedules / (double)g->space : 0.0,
		         g->exhausted && !r->nviolations
		             ? ", and no schedule within the bound violates a check"
		             : "");
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
