/* The report formats: one row each, with its writers. */
#include "registry.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/util/files.h"
#include "bench_report.h"

/* ------------------------------------------------------------ the writers, as rows call them */

static int text_campaign(const struct pv_campaign *c, const struct pv_report_info *info,
                         const char *dir, FILE *f, struct pv_error *err)
{
	(void)err;
	pv_report_text(c, info ? info->out_dir : dir, f);
	return 0;
}

static int json_campaign(const struct pv_campaign *c, const struct pv_report_info *info,
                         const char *dir, FILE *f, struct pv_error *err)
{
	(void)info;
	(void)dir;
	char *text = NULL;
	size_t len = 0;
	int rc = pv_report_json(c, &text, &len, err);
	if (!rc)
		fwrite(text, 1, len, f);
	free(text);
	return rc;
}

static int junit_campaign(const struct pv_campaign *c, const struct pv_report_info *info,
                          const char *dir, FILE *f, struct pv_error *err)
{
	(void)dir;
	(void)err;
	pv_report_junit(c, info, f);
	return 0;
}

static int md_campaign(const struct pv_campaign *c, const struct pv_report_info *info,
                       const char *dir, FILE *f, struct pv_error *err)
{
	(void)dir;
	(void)err;
	pv_report_markdown(c, info, f);
	return 0;
}

static int html_campaign(const struct pv_campaign *c, const struct pv_report_info *info,
                         const char *dir, FILE *f, struct pv_error *err)
{
	(void)dir;
	(void)err;
	pv_report_html(c, info, f);
	return 0;
}

static int text_bench(const struct pv_bench_result *r, FILE *f, struct pv_error *err)
{
	(void)err;
	pv_report_bench_text(r, f);
	return 0;
}

static int json_bench(const struct pv_bench_result *r, FILE *f, struct pv_error *err)
{
	char *js = NULL;
	int rc = pv_report_bench_json(r, &js, err);
	if (!rc)
		fprintf(f, "%s\n", js);
	free(js);
	return rc;
}

static int junit_bench(const struct pv_bench_result *r, FILE *f, struct pv_error *err)
{
	(void)err;
	pv_report_bench_junit(r, f);
	return 0;
}

static int md_bench(const struct pv_bench_result *r, FILE *f, struct pv_error *err)
{
	(void)err;
	pv_report_bench_md(r, f);
	return 0;
}

static int html_bench(const struct pv_bench_result *r, FILE *f, struct pv_error *err)
{
	(void)err;
	pv_report_bench_html(r, f);
	return 0;
}

/* ------------------------------------------------------------ the rows */

/* In enum pv_report_format's order: row i is bit 1u << i. */
static const struct pv_report_format_info formats[] = {
	{"text", "txt", NULL, NULL, false, text_campaign, text_bench},
	{"json", "json", "docs/report-schema.md", NULL, false, json_campaign, json_bench},
	{"junit", "xml", "JUnit XML for CI", "JUnit", false, junit_campaign, junit_bench},
	{"md", "md", "for a pull-request comment or a CI step summary", NULL, false, md_campaign,
	 md_bench},
	{"html", "html", "one self-contained page", NULL, true, html_campaign, html_bench},
};

static const struct pv_report_format_table builtin = {formats,
                                                      sizeof(formats) / sizeof(formats[0])};

const struct pv_report_format_table *pv_report_formats_builtin(void)
{
	return &builtin;
}

const struct pv_report_format_info *pv_report_format_row(const struct pv_report_format_table *t,
                                                         unsigned bit)
{
	t = t ? t : &builtin;
	for (size_t i = 0; i < t->n && i < 32; i++)
		if (bit == 1u << i)
			return &t->rows[i];
	return NULL;
}

const char *pv_report_format_name(unsigned format)
{
	const struct pv_report_format_info *f = pv_report_format_row(NULL, format);
	return f ? f->name : NULL;
}

const char *pv_report_format_ext(unsigned format)
{
	const struct pv_report_format_info *f = pv_report_format_row(NULL, format);
	return f ? f->ext : NULL;
}

void pv_report_formats_join(const struct pv_report_format_table *t, unsigned set,
                            enum pv_report_format_field field, const char *sep,
                            const char *last, char *buf, size_t len)
{
	t = t ? t : &builtin;
	size_t at = 0, k = 0, total = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->n && i < 32; i++)
		total += !!(set & (1u << i));
	for (size_t i = 0; i < t->n && i < 32 && at < len; i++) {
		if (!(set & (1u << i)))
			continue;
		k++;
		int w = snprintf(buf + at, len - at, "%s%s", k == 1 ? "" : k == total ? last : sep,
		                 field == PV_FORMAT_FIELD_EXT ? t->rows[i].ext : t->rows[i].name);
		if (w < 0)
			break;
		at += (size_t)w;
	}
}

void pv_report_formats_announce(FILE *f, const char *label, const char *dir, const char *base,
                                unsigned written)
{
	for (size_t i = 0; i < builtin.n; i++)
		if (written & (1u << i))
			fprintf(f, "%s: %s/%s.%s\n", label, dir, base, builtin.rows[i].ext);
}

bool pv_report_formats_stories(unsigned set)
{
	for (size_t i = 0; i < builtin.n; i++)
		if ((set & (1u << i)) && builtin.rows[i].stories)
			return true;
	return false;
}

int pv_report_formats_parse_in(const struct pv_report_format_table *t, const char *list,
                               unsigned allowed, unsigned *set, struct pv_error *err)
{
	t = t ? t : &builtin;
	char names[256];
	pv_report_formats_join(t, allowed, PV_FORMAT_FIELD_NAME, ", ", " and ", names,
	                       sizeof(names));
	char *copy = strdup(list);
	if (!copy)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	unsigned s = 0;
	int rc = 0;
	char *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w && !rc; w = strtok_r(NULL, ",", &save)) {
		unsigned bit = 0;
		for (size_t i = 0; i < t->n && i < 32; i++)
			if (!strcmp(w, t->rows[i].name) || !strcmp(w, t->rows[i].ext))
				bit = 1u << i;
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

int pv_report_formats_parse(const char *list, unsigned allowed, unsigned *set,
                            struct pv_error *err)
{
	return pv_report_formats_parse_in(NULL, list, allowed, set, err);
}

int pv_report_write_in(const struct pv_report_format_table *t, const struct pv_campaign *c,
                       const struct pv_report_info *info, const char *dir, const char *base,
                       unsigned set, unsigned *written, struct pv_error *err)
{
	t = t ? t : &builtin;
	if (written)
		*written = 0;
	int rc = pv_mkdir_p(dir, err);
	for (size_t i = 0; !rc && i < t->n && i < 32; i++) {
		unsigned bit = 1u << i;
		if (!(set & bit))
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s.%s", dir, base, t->rows[i].ext) >=
		    (int)sizeof(path))
			return pv_error_set(err, PV_ERANGE, "%s: path too long", dir);
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		if (!f)
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		rc = t->rows[i].campaign(c, info, dir, f, err);
		if (fclose(f) && !rc)
			rc = pv_error_set(err, PV_ENOMEM, "out of memory writing %s", path);
		if (!rc)
			rc = pv_file_write_atomic(path, text, len, err);
		free(text);
		if (!rc && written)
			*written |= bit;
	}
	return rc;
}

int pv_report_write(const struct pv_campaign *c, const struct pv_report_info *info,
                    const char *dir, const char *base, unsigned set, unsigned *written,
                    struct pv_error *err)
{
	return pv_report_write_in(NULL, c, info, dir, base, set, written, err);
}

int pv_report_bench_write(const struct pv_bench_result *r, const char *dir, const char *base,
                          unsigned set, struct pv_error *err)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < builtin.n; i++) {
		const struct pv_report_format_info *fm = &builtin.rows[i];
		if (!(set & (1u << i)) || !fm->bench)
			continue;
		char *text = NULL, path[PATH_MAX + 32];
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		if (!m)
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		rc = fm->bench(r, m, err);
		fclose(m);
		if (!rc && snprintf(path, sizeof(path), "%s/%s.%s", dir, base, fm->ext) >=
		               (int)sizeof(path))
			rc = pv_error_set(err, PV_ERANGE, "%s: path too long", dir);
		if (!rc)
			rc = pv_file_write_atomic(path, text, len, err);
		free(text);
	}
	return rc;
}
