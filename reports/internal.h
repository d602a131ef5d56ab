/* Helpers the report writers share; not for callers of report.h. */
#ifndef PV_REPORTS_INTERNAL_H
#define PV_REPORTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../harness/model/campaign.h"

/* Writes s with & < > " ' escaped and control characters XML 1.0 forbids
 * replaced by '?', for text and attribute values of XML and HTML. */
void pv_xml_escape(FILE *f, const char *s);

enum pv_axis { PV_AXIS_BACKEND, PV_AXIS_ENGINE, PV_AXIS_SCENARIO };

/* The distinct values of one axis in order of first appearance, among the
 * results on `backend` (every result when NULL). out has room for
 * c->nresults entries; returns how many were stored. */
size_t pv_report_axis(const struct pv_campaign *c, const char *backend, enum pv_axis axis,
                      const char **out);

/* The first result of (engine, scenario, backend), or NULL. */
const struct pv_result *pv_report_cell(const struct pv_campaign *c, const char *backend,
                                       const char *engine, const char *scenario);

/* Counts of results by verdict (index enum pv_verdict) and unexpected ones;
 * *compared is set when any result was compared with an expectation. */
void pv_report_counts(const struct pv_campaign *c, size_t counts[4], size_t *unexpected,
                      bool *compared);

/* The "replay" command of a reproducer path relative to out_dir (NULL:
 * as is). */
void pv_report_replay(const char *out_dir, const char *reproducer, char *buf, size_t len);

/* Overhead figures (reports/overhead.c), as every report shows them. */
const char *pv_report_claim_colour(const struct pv_overhead_figure *g);
/* "SUPPORTED", "REFUTED", "INCONCLUSIVE" or "not measured". */
const char *pv_report_claim_word(const struct pv_overhead_figure *g);
/* pv_report_figure_where, _exact and _line: reports/report.h. */

/* A figure as JSON, the keys bench.json's "verdicts" use: figure,
 * measured, verdict ("NOT MEASURED" when not), estimate, lo, hi,
 * threshold, unit, note. */
struct json_object;
struct json_object *pv_report_figure_json(const struct pv_overhead_figure *g);
/* Reads one back; PV_EFORMAT with the key at fault in why (a short
 * phrase) when it is not one. */
int pv_report_figure_read(struct json_object *o, struct pv_overhead_figure *g, char *why,
                          size_t len);

/* The overhead figures of c's results as text lines (a count per verdict
 * when there are many results) and as a Markdown table; nothing when no
 * result carries any. */
void pv_report_overhead_text(const struct pv_campaign *c, FILE *f);
void pv_report_overhead_md(const struct pv_campaign *c, FILE *f);

/* JUnit for a command that stands by its overhead (certify): a testsuite
 * "patchvet.overhead" with a test case per figure, REFUTED a failure, not
 * measured skipped. counts: [tests, failures, skipped]. */
void pv_report_overhead_junit_counts(const struct pv_campaign *c, size_t counts[3]);
void pv_report_overhead_junit(const struct pv_campaign *c, FILE *f);

/* One row of an overhead plot: a label and its figure. */
struct pv_plot_row {
	const char *label;
	const struct pv_overhead_figure *fig;
};

/* The rows' intervals against their thresholds on one axis, as inline SVG
 * (class "overhead-plot"): a bar per interval, a dot per estimate, a
 * dashed line per threshold, the verdict at the right. */
void pv_report_overhead_plot(const struct pv_plot_row *rows, size_t n, FILE *f);

#endif
