/* Delta debugging (Zeller and Hildebrandt, TSE 2002) on a decision stream:
 * the fewest choices that differ from the scheduler's default (preemptions,
 * other threads, shorter slices, other phases) with which the run still
 * shows the same check. */
#ifndef PV_HARNESS_MINIMIZE_H
#define PV_HARNESS_MINIMIZE_H

#include <stddef.h>
#include <stdint.h>

#include "rerun.h"

struct pv_minimize_result {
	uint8_t *stream;            /* owned (free): the minimized stream */
	size_t len;
	uint64_t choices_before;    /* choices that differ from the default */
	uint64_t choices_after;
	uint64_t preemptions_before; /* hot-window preemptions of the run */
	uint64_t preemptions_after;
	uint64_t runs;              /* test runs made */
	struct pv_run_result run;   /* of the minimized stream */
};

/* Minimizes the session's reproducer stream within max_runs test runs.
 * PV_EUNSUPPORTED on a backend that cannot record (ptrace); PV_ESTATE when
 * the reproducer's own stream no longer shows its check. */
int pv_minimize(struct pv_session *s, uint64_t max_runs, struct pv_minimize_result *out,
                struct pv_error *err);

#endif
