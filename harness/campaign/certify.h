/* Certificates (`patchvet certify`): one engine on one scenario, run as an
 * engine campaign and written as a certificate another party can check:
 * the hashes of what ran, the settings, every verdict, the overhead, the
 * command that re-runs it (reports/certificate.h holds its format). */
#ifndef PV_CAMPAIGN_CERTIFY_H
#define PV_CAMPAIGN_CERTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "../util/must_check.h"
#include "run.h"

#define PV_CERTIFY_OVERHEAD_TIME 10.0 /* default native A/B seconds */

struct pv_certify_options {
	const char *engine;      /* as --engine takes it */
	const char *scenario;    /* a name, or a path (certified absolute) */
	const char *backend;     /* NULL: emu (ptrace for an exec engine) */
	uint64_t schedules;
	bool schedules_given;    /* otherwise 1000 on emu, 20 on ptrace */
	uint64_t seed;
	const char *flavour;     /* a flavour's name; NULL: plain */
	const char *out_dir;
	unsigned formats;        /* enum pv_report_format bits; JSON always */
	double overhead_time;    /* native A/B seconds; 0: native not timed */
	struct pv_run_progress progress; /* the campaign's; all NULL: none */
};

/* Runs the campaign and the overhead measurement of o, prints the table,
 * the overhead verdict and the files written to stdout (progress to
 * stderr) and writes OUT/certificate.json and the other formats. Returns
 * the exit status (0 SAFE or REFUSED with the overhead not REFUTED, 1
 * UNSAFE or overhead REFUTED, 3 an ERROR verdict), or a negative PV_E
 * code with err filled when no certificate could be made or written. */
PV_MUST_CHECK int pv_certify_make(const struct pv_certify_options *o, struct pv_error *err);

/* Verifies the certificate at cert_path: hashes the certified files again
 * (a changed one: a line on stderr naming it, PV_EXIT_USAGE), re-runs the
 * campaign into out_dir (NULL: CERT's directory/verify) showing progress
 * through progress, re-measures the
 * overhead and prints `confirmed` (0) or `refuted` with what differs (1).
 * Returns the exit status, or a negative PV_E code with err filled. */
PV_MUST_CHECK int pv_certify_verify(const char *cert_path, const char *out_dir,
                                    const struct pv_run_progress *progress,
                                    struct pv_error *err);

#endif
