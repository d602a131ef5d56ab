/* Report writers for `patchvet bench`: they see only the bench result
 * (harness/bench/bench.h). */
#ifndef PV_REPORTS_BENCH_REPORT_H
#define PV_REPORTS_BENCH_REPORT_H

#include <stdio.h>

#include <patchvet/error.h>

#include "../harness/bench/bench.h"

/* Every figure with its interval and verdict, for people. */
void pv_report_bench_text(const struct pv_bench_result *r, FILE *f);

/* The same as one JSON object; *text is malloc'd, owned by the caller. */
int pv_report_bench_json(const struct pv_bench_result *r, char **text, struct pv_error *err);

/* Markdown (a pull-request comment), JUnit XML (a test case per figure,
 * REFUTED a failure, not measured skipped), and one self-contained HTML page
 * drawing every interval against its threshold. */
void pv_report_bench_md(const struct pv_bench_result *r, FILE *f);
void pv_report_bench_junit(const struct pv_bench_result *r, FILE *f);
void pv_report_bench_html(const struct pv_bench_result *r, FILE *f);

#endif
