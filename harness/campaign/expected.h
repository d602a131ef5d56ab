/* corpora/expected: the single list of what each scenario must give.
 *
 * One expectation per line, words separated by blanks, `#` starts a comment:
 *     analysis SCENARIO FLAVOUR HAZARDS
 * FLAVOUR is plain, pad, fentry, cet or `*` (every flavour without a line of
 * its own); HAZARDS is `none` or hazard ids joined by commas, the union of
 * the hazards of the functions the patch replaces and of the patch itself.
 * and, for engine verdicts on a backend,
 *     verdict SCENARIO ENGINE BACKEND VERDICT [CHECK...]
 * VERDICT is SAFE, UNSAFE, REFUSED or ERROR; the CHECK ids (only with
 * UNSAFE) say that at least one of them must be among the violations. The
 * run uses the scenario's plain flavour. `patchvet run` without --engine
 * and --backend runs every verdict line and compares. */
#ifndef PV_HARNESS_EXPECTED_H
#define PV_HARNESS_EXPECTED_H

#include <stddef.h>

#include <patchvet/error.h>

#include "../model/campaign.h"
#include "../checks/registry.h"
#include "../util/must_check.h"

struct pv_expectation {
	char *kind;      /* "analysis" or "verdict" */
	char *scenario;
	char *flavour;   /* analysis: a flavour or "*"; verdict: NULL */
	unsigned hazards;/* analysis: PV_HAZARD_* bits */
	char *engine;    /* verdict: the engine's name (checked when run) */
	char *backend;   /* verdict: "emu" or "ptrace" */
	enum pv_verdict verdict; /* verdict */
	char **checks;   /* verdict: any-of check ids; owned */
	size_t nchecks;
	int line;        /* line number in the file, for messages */
};

struct pv_expected {
	char *path;
	const struct pv_check_registry *checks; /* the ids a verdict line may name */
	struct pv_expectation *items;
	size_t count;
};

/* Parses path; a verdict line may name the checks of reg (NULL: the
 * built-in ones; kept, so it must outlive *out). PV_EFORMAT "FILE:LINE: ..."
 * on a malformed line, an unknown check or hazard id; PV_EIO when
 * unreadable. */
PV_MUST_CHECK int pv_expected_load(const char *path, const struct pv_check_registry *reg,
                                   struct pv_expected **out, struct pv_error *err);

void pv_expected_free(struct pv_expected *e);

/* The analysis expectation for scenario and flavour (an exact flavour line
 * first, else `*`), or NULL when the file has none. */
const struct pv_expectation *pv_expected_analysis(const struct pv_expected *e,
                                                  const char *scenario, const char *flavour);

/* The verdict expectation for scenario, engine and backend, or NULL. */
const struct pv_expectation *pv_expected_verdict(const struct pv_expected *e,
                                                 const char *scenario, const char *engine,
                                                 const char *backend);

/* True when result r is what the verdict line x says: the same verdict and,
 * when x lists checks, at least one of them among r's violations. */
bool pv_expected_holds(const struct pv_expectation *x, const struct pv_result *r);

/* "UNSAFE torn-exec crash": the line's verdict and checks, into buf. */
void pv_expectation_format(const struct pv_expectation *x, char *buf, size_t len);

/* Parses "none" or "id,id,..." into PV_HAZARD_* bits; PV_EINVAL for an
 * unknown id. */
int pv_hazards_parse(const char *text, unsigned *bits);

#endif
