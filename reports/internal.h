/* Helpers the report writers share; not for callers of report.h. */
#ifndef PV_REPORTS_INTERNAL_H
#define PV_REPORTS_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "campaign.h"

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

#endif
