/* Report writers: they see the campaign's result model (harness/campaign.h)
 * and nothing else, so every backend's results read the same. */
#ifndef PV_REPORTS_REPORT_H
#define PV_REPORTS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include <patchvet/error.h>

#include "campaign.h"

/* The table: engine, scenario, backend, verdict, schedules, violations by
 * check; then the reasons of REFUSED and ERROR verdicts, the first
 * violation of each check with its reproducer (under out_dir, which may be
 * NULL), and a summary line with the rate. */
void pv_report_text(const struct pv_campaign *c, const char *out_dir, FILE *f);

/* results.json: {"results": [...], "summary": {...}, ...,
 * "schedules_per_second", "elapsed_seconds"}. The last two are the only
 * fields that depend on timing. *text is malloc'd, owned by the caller. */
int pv_report_json(const struct pv_campaign *c, char **text, size_t *len,
                   struct pv_error *err);

/* The story of a run (harness/campaign.h), one event a line. */
void pv_report_story(const struct pv_story *s, FILE *f);

/* Reads a results.json (pv_report_json's output) into c, which it
 * initialises; `what` names the file in messages. PV_EFORMAT with the field
 * at fault for anything else; c is left empty then. */
int pv_report_json_read(const char *text, size_t len, const char *what, struct pv_campaign *c,
                        struct pv_error *err);

#endif
