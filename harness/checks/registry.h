/* The check ids of DESIGN.md: stable names that reports and tests use. */
#ifndef PV_HARNESS_CHECKS_H
#define PV_HARNESS_CHECKS_H

#include <stddef.h>

struct pv_check_info {
	const char *id;        /* "torn-exec" */
	const char *property;  /* one sentence: what a run must keep */
};

/* The table of every check, in DESIGN.md order; *count receives its length. */
const struct pv_check_info *pv_checks(size_t *count);

/* The check called id, or NULL. */
const struct pv_check_info *pv_check_find(const char *id);

#endif
