/* The explorers, one row each (registry.c): the name `--explore` takes, the
 * parameters it has (an option of `patchvet run`, a key of results.json, a
 * setting parts of one campaign must share), and the operations the driver
 * runs a job's schedules with. A new explorer is its own file in this folder
 * plus one row; the driver, `patchvet run`, results.json, merge and the
 * reports find it here. */
#ifndef PV_EXPLORE_REGISTRY_H
#define PV_EXPLORE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "../model/campaign.h"
#include "../model/run.h"
#include "../util/must_check.h"
#include "explore.h"

/* One parameter. Its value lives in pv_explorer.param[slot] while a
 * campaign runs and in pv_campaign.param[slot] in its results; slots are
 * shared by every row (a campaign has one explorer), so a new parameter
 * takes a slot no other row uses. */
struct pv_explorer_param {
	const char *name;        /* "depth": the option --depth and the key in
	                            results.json */
	const char *metavar;     /* "D", in the usage line */
	unsigned slot;           /* < PV_EXPLORER_PARAMS */
	unsigned min, max, def;  /* accepted range, and the value without the option */
	const char *wants;       /* what usage says before the range: "--depth
	                            wants a bug depth from 1 to 8" */
	bool zero_kept;          /* results.json has it even when it is 0 */
};

/* A job as an explorer sees it when it opens. */
struct pv_explore_job {
	const struct pv_explorer *x;  /* seed and parameters */
	struct pv_partition part;     /* this share of the work; count >= 1 */
	uint64_t limit;               /* --schedules (all parts together) */
	unsigned workers;             /* the workload's threads, the engine aside */
	/* Runs the job once with every choice left to its default (pct counts
	 * the choices of a run with it). */
	int (*baseline)(void *ctx, struct pv_run_result *res, struct pv_error *err);
	void *baseline_ctx;
};

/* How one schedule is to run: a stream explorer fills stream[0..cap) and
 * sets len; an adaptive one sets chooser (the backend records its answers
 * in stream, the replayable run). */
struct pv_explore_run {
	uint8_t *stream;
	size_t cap, len;
	struct pv_chooser chooser;    /* .choose NULL: run the stream */
};

/* What the driver runs a job's schedules with; each explorer's file
 * defines its table (random.c, pct.c, bounded.c). */
struct pv_explorer_ops {
	/* open (*state is the explorer's, freed by close), then per schedule
	 * next, start, the run, done; then close, which fills g with what the
	 * explorer can promise over `runs` runs (g NULL: the job failed, only
	 * free). next's *counted is false for a run made only to learn (not a
	 * schedule of this part). done may be NULL. */
	int (*open)(void **state, const struct pv_explore_job *job, struct pv_error *err);
	bool (*next)(void *state, uint64_t *index, bool *counted);
	int (*start)(void *state, uint64_t index, struct pv_explore_run *run,
	             struct pv_error *err);
	int (*done)(void *state, struct pv_error *err);
	void (*close)(void *state, uint64_t runs, struct pv_guarantee *g);
	/* r's guarantee as one sentence into buf (left "" when there is
	 * nothing to promise); NULL: never promises anything (random sampling). */
	void (*sentence)(const struct pv_result *r, char *buf, size_t len);
	/* Restates g for `runs` runs once the parts of a campaign are merged;
	 * NULL: nothing depends on the run count. */
	void (*restate)(struct pv_guarantee *g, uint64_t runs);
	/* A reproducer's schedule in words ("preemption alternatives 3, 9");
	 * NULL: "schedule N of seed S". */
	void (*describe)(uint64_t schedule, char *buf, size_t len);
};

extern const struct pv_explorer_ops pv_explore_random_ops, pv_explore_pct_ops,
	pv_explore_bounded_ops;

/* One row. */
struct pv_explorer_info {
	const char *name;             /* "pct": --explore's word, results.json's
	                                 "explorer", reproducers' explorer */
	const char *help;             /* its entry in `run --help`, one paragraph */
	bool adaptive;                /* chooses as the run goes: a backend must
	                                 offer run_chosen (emu) */
	bool whole_share;             /* every part of --shard/--jobs may run
	                                 --schedules (a tree whose parts are its
	                                 branches), not its share of the indices */
	uint64_t unbounded_schedules; /* --schedules when not given (bounded: until
	                                 the space is exhausted); 0: the command's */
	const struct pv_explorer_param *params;
	size_t nparams;
	const struct pv_explorer_ops *ops;
};

/* A set of rows: the built-in one, or a caller's (a test adds a row). The
 * first row is the default explorer, which backends that cannot choose as
 * the run goes fall back to. */
struct pv_explorer_table {
	const struct pv_explorer_info *rows;
	size_t n;
};

/* The built-in explorers, in the order lists and help texts show them. */
const struct pv_explorer_table *pv_explorers_builtin(void);

/* The row called name in t (NULL: the built-in table), or NULL. *kind
 * (may be NULL) receives its index. */
const struct pv_explorer_info *pv_explorer_find(const struct pv_explorer_table *t,
                                                const char *name, unsigned *kind);

/* Row `kind` of t (NULL: built-ins), or NULL. */
const struct pv_explorer_info *pv_explorer_row(const struct pv_explorer_table *t, unsigned kind);

/* "random, pct or bounded": the names of t's rows, for messages. */
void pv_explorer_names(const struct pv_explorer_table *t, const char *sep, const char *last,
                       char *buf, size_t len);

/* Every parameter of t's rows, each once (two rows may share one), in row
 * order; returns how many, at most cap stored. */
size_t pv_explorer_params(const struct pv_explorer_table *t,
                          const struct pv_explorer_param **out, size_t cap);

/* Parses a parameter's option argument: PV_EINVAL with usage's sentence
 * ("--depth wants a bug depth from 1 to 8, not '9'") when out of range. */
int pv_explorer_param_parse(const struct pv_explorer_param *p, const char *arg, unsigned *value,
                            struct pv_error *err) PV_MUST_CHECK;

/* Sets x's parameters of every row of t to their defaults. */
void pv_explorer_defaults(const struct pv_explorer_table *t, struct pv_explorer *x);

/* Bytes a run's stream or record needs under row xi. */
size_t pv_explorer_buffer(const struct pv_explorer_info *xi, const struct pv_explorer *x);

/* The campaign's explorer settings from x under row xi: its name, seed,
 * stream length and the parameters of xi (the other slots 0). */
void pv_explorer_to_campaign(const struct pv_explorer_info *xi, const struct pv_explorer *x,
                             struct pv_campaign *c);

#endif
