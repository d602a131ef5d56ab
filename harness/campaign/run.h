/* patchvet run, shared by its two parts: the patchability analysis campaign
 * (harness/campaign/analysis.c) and the engine campaign on a backend
 * (harness/campaign/engine_campaign.c). */
#ifndef PV_HARNESS_RUN_H
#define PV_HARNESS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "expected.h"
#include "../explore/explore.h"

struct pv_progress;

/* What the caller shows while a campaign runs (harness/cli/progress.c
 * draws it on a terminal or logs it); every member may be NULL. */
struct pv_run_progress {
	void (*begin)(void *ctx, size_t njobs);     /* once the jobs are planned */
	void (*drive)(void *ctx, size_t first_job); /* before each drive (one per backend) */
	void (*update)(void *ctx, const struct pv_progress *p); /* campaign/driver.h */
	void (*end)(void *ctx);                     /* after the last drive */
	void *ctx;
};

struct pv_run_options {
	const char **scenarios;  /* names or paths, as given */
	size_t nscenarios;
	const char **engines;    /* names, as given */
	size_t nengines;
	const char *backend;     /* as given, NULL when not */
	unsigned flavour;        /* one enum pv_flavour bit */
	bool flavour_given;      /* --flavour was given; otherwise a scenario not
	                            built in `flavour` runs in its first flavour
	                            (counter-pad: pad) */
	uint64_t schedules;
	bool schedules_given;    /* bounded: without it, run until exhausted */
	uint64_t seed;
	struct pv_explorer explorer; /* kind, depth, preemptions (seed: above) */
	double time_budget;      /* --time: seconds per engine x scenario, 0 none */
	struct pv_partition shard; /* --shard I/N as {I-1, N}; {0, 1} by default */
	unsigned jobs;           /* --jobs: worker processes, 1 by default */
	bool stop_at_first;      /* --stop-at-first: each job ends at its first
	                            violating schedule */
	int argc;                /* the run's own arguments, kept for --resume */
	char **argv;
	bool resuming;           /* --resume: finished results come from the
	                            checkpoint in out_dir */
	const char *out_dir;
	unsigned formats;        /* enum pv_report_format bits (reports/report.h) */
	const char *sequence;    /* --sequence, checked; NULL when not given */
	unsigned fault;          /* --fault: enum pv_fault (emulator/emu.h) */
	int pid;                 /* --pid: run in this running process (ptrace), 0: none */
	struct pv_run_progress progress; /* all NULL: nothing shown */
};

/* The engine campaign. With from_expected, the jobs are the verdict lines
 * of `expected` (those of the named scenarios when scenarios are given) and
 * every result is compared with its line; otherwise the engines (default:
 * every built-in one) times the scenarios (default: every built-in one
 * that lists the backend). Prints the table to stdout, reports progress to
 * o->progress, writes OUT/results.EXT for each format of o->formats and
 * reproducers under OUT/repro/. *exit_code receives the exit status of the
 * results; the return is non-zero (err filled) on an input or internal
 * error. */
int pv_run_engines(const struct pv_run_options *o, const char *data_dir,
                   const struct pv_expected *expected, bool from_expected, int *exit_code,
                   struct pv_error *err);

/* The engine campaign of o (never compared with expectations) into c,
 * which the caller initialised and frees: progress to o->progress, no table, no
 * report files (reproducers still go to OUT/repro/). certify runs this. */
struct pv_campaign;
int pv_run_engines_campaign(const struct pv_run_options *o, const char *data_dir,
                            struct pv_campaign *c, struct pv_error *err);

#endif
