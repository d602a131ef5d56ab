/* corpora/expected: the single list of what each scenario must give.
 *
 * One expectation per line, words separated by blanks, `#` starts a comment:
 *     analysis SCENARIO FLAVOUR HAZARDS
 * FLAVOUR is plain, pad, fentry, cet or `*` (every flavour without a line of
 * its own); HAZARDS is `none` or hazard ids joined by commas, the union of
 * the hazards of the functions the patch replaces and of the patch itself.
 * Later kinds (engine verdicts) add their own first word. */
#ifndef PV_HARNESS_EXPECTED_H
#define PV_HARNESS_EXPECTED_H

#include <stddef.h>

#include <patchvet/error.h>

struct pv_expectation {
	char *kind;      /* "analysis" */
	char *scenario;
	char *flavour;   /* or "*" */
	unsigned hazards;/* PV_HAZARD_* bits */
	int line;        /* line number in the file, for messages */
};

struct pv_expected {
	char *path;
	struct pv_expectation *items;
	size_t count;
};

/* Parses path. PV_EFORMAT "FILE:LINE: ..." on a malformed line or an
 * unknown hazard id; PV_EIO when unreadable. */
int pv_expected_load(const char *path, struct pv_expected **out, struct pv_error *err);

void pv_expected_free(struct pv_expected *e);

/* The analysis expectation for scenario and flavour (an exact flavour line
 * first, else `*`), or NULL when the file has none. */
const struct pv_expectation *pv_expected_analysis(const struct pv_expected *e,
                                                  const char *scenario, const char *flavour);

/* Parses "none" or "id,id,..." into PV_HAZARD_* bits; PV_EINVAL for an
 * unknown id. */
int pv_hazards_parse(const char *text, unsigned *bits);

#endif
