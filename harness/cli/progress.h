/* The progress of an engine campaign on stderr: a line redrawn in place on
 * a terminal, a line every 10 seconds and one per finished job in a log. */
#ifndef PV_CLI_PROGRESS_H
#define PV_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../campaign/run.h"

struct pv_cli_progress {
	FILE *f;
	bool tty;
	double last;        /* when the last line was printed */
	bool drawn;         /* a \r line is on the terminal */
	/* One drive per backend, each counting from 0: where this one starts in
	 * the whole campaign. */
	size_t job_base, njobs;
	uint64_t violating_base;
	double drive_start;
	uint64_t violating;  /* whole campaign, so far */
};

/* The hooks of a campaign's options (struct pv_run_options) that show its
 * progress on f through pr, which must outlive the campaign. */
struct pv_run_progress pv_cli_progress_hooks(struct pv_cli_progress *pr, FILE *f);

#endif
