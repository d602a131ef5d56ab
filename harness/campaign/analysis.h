/* The patchability analysis campaign of the default `patchvet run`. */
#ifndef PV_CAMPAIGN_ANALYSIS_H
#define PV_CAMPAIGN_ANALYSIS_H

#include <patchvet/error.h>

#include "../util/must_check.h"
#include "expected.h"
#include "run.h"

/* Analyses every scenario of o (default: every built-in one) in every
 * flavour it is built in and compares the hazards with the analysis lines
 * of expected. Prints the table to stdout, writes OUT/report.txt and
 * OUT/report.json as o->formats asks and names them. *exit_code: 1 when a
 * result is unexpected, else 0. Returns 0, or a negative PV_E code with err
 * filled on an input or internal error. */
PV_MUST_CHECK int pv_run_analysis(const struct pv_run_options *o, const char *data,
                                  const struct pv_expected *expected, int *exit_code,
                                  struct pv_error *err);

#endif
