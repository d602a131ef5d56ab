/* The report formats, one row each (registry.c): the word `--format` takes,
 * the file's extension, what help texts say of it, and its writers: one for
 * a campaign (run, merge, certify) and one for `patchvet bench` (NULL when
 * the format has none). A new format is its own file in reports/ plus one
 * row; --format, the writers' dispatch and the help texts of run, merge,
 * bench and certify come from here. */
#ifndef PV_REPORTS_REGISTRY_H
#define PV_REPORTS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <patchvet/error.h>

#include "../harness/bench/bench.h"
#include "../harness/model/campaign.h"
#include "../harness/util/must_check.h"
#include "report.h"

struct pv_report_format_info {
	const char *name;        /* "junit": --format's word */
	const char *ext;         /* "xml": the file's extension (--format takes it too) */
	const char *help;        /* what `run --help` says after its file name:
	                            "JUnit XML for CI"; NULL: nothing */
	const char *kind;        /* what the extension alone does not say, for
	                            `certify --help`: "JUnit"; NULL: nothing */
	bool stories;            /* shows the violations' stories: a campaign
	                            makes them before writing it */
	/* Writes c to f. dir is where the file goes (the text report shows
	 * reproducers under it when info names no out_dir); info may be NULL. */
	int (*campaign)(const struct pv_campaign *c, const struct pv_report_info *info,
	                const char *dir, FILE *f, struct pv_error *err);
	/* Writes a bench result to f; NULL: bench cannot write this format. */
	int (*bench)(const struct pv_bench_result *r, FILE *f, struct pv_error *err);
};

/* A set of rows; the format of row i is the bit 1u << i of a format set
 * (the built-in rows' bits are enum pv_report_format). */
struct pv_report_format_table {
	const struct pv_report_format_info *rows;
	size_t n;
};

/* The built-in formats, in the order help texts list them. */
const struct pv_report_format_table *pv_report_formats_builtin(void);

/* The row of one format bit in t (NULL: built-ins), or NULL. */
const struct pv_report_format_info *pv_report_format_row(const struct pv_report_format_table *t,
                                                         unsigned bit);

/* pv_report_formats_parse over t (NULL: built-ins). */
int pv_report_formats_parse_in(const struct pv_report_format_table *t, const char *list,
                               unsigned allowed, unsigned *set, struct pv_error *err)
	PV_MUST_CHECK;

/* pv_report_write over t (NULL: built-ins). */
int pv_report_write_in(const struct pv_report_format_table *t, const struct pv_campaign *c,
                       const struct pv_report_info *info, const char *dir, const char *base,
                       unsigned set, unsigned *written, struct pv_error *err)
	PV_MUST_CHECK;

/* DIR/BASE.EXT for every format of set that has a bench writer, each
 * written atomically (dir must exist). */
int pv_report_bench_write(const struct pv_bench_result *r, const char *dir, const char *base,
                          unsigned set, struct pv_error *err) PV_MUST_CHECK;

/* Which column pv_report_formats_join lists. */
enum pv_report_format_field { PV_FORMAT_FIELD_NAME, PV_FORMAT_FIELD_EXT };

/* The names (or extensions) of the formats of set in t (NULL: built-ins),
 * in row order, between sep and, before the last, last: "text, json and
 * html", "{txt,json,xml,md,html}" (with sep "," and last ","). */
void pv_report_formats_join(const struct pv_report_format_table *t, unsigned set,
                            enum pv_report_format_field field, const char *sep,
                            const char *last, char *buf, size_t len);

/* "LABEL: DIR/BASE.EXT" a line for each format of written, to f. */
void pv_report_formats_announce(FILE *f, const char *label, const char *dir, const char *base,
                                unsigned written);

/* Whether any format of set shows stories (a campaign makes them first). */
bool pv_report_formats_stories(unsigned set);

#endif
