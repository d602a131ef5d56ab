/* The result model of a campaign: per engine x scenario x backend, a verdict
 * and the violations found, by check. Plain data and the rules that judge it;
 * nothing here runs a backend or prints. Report writers (reports/) see only
 * this header. */
#ifndef PV_HARNESS_CAMPAIGN_H
#define PV_HARNESS_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "../util/hash.h"
#include "../util/stats.h"
#include "../util/must_check.h"

enum pv_verdict {
	PV_VERDICT_SAFE = 0,    /* every schedule kept every check */
	PV_VERDICT_UNSAFE = 1,  /* at least one violation */
	PV_VERDICT_REFUSED = 2, /* the engine declined the patch, with a reason */
	PV_VERDICT_ERROR = 3,   /* the backend or the engine failed; see reason */
};

/* "SAFE", "UNSAFE", "REFUSED", "ERROR". */
const char *pv_verdict_name(enum pv_verdict v);
/* PV_EINVAL for anything else. */
int pv_verdict_parse(const char *name, enum pv_verdict *v);

/* One event of a violating run's story (`patchvet replay --trace`, the
 * HTML timeline): what a thread executed inside a hot window, what the
 * engine did, and the violation itself. */
enum pv_story_kind {
	PV_STORY_INSN = 0,      /* a thread executed the instruction at address */
	PV_STORY_ENGINE = 1,    /* an engine space operation (thread -1) */
	PV_STORY_WRITE = 2,     /* one atomic unit of a code write landed */
	PV_STORY_PREEMPT = 3,   /* the scheduler switched threads here */
	PV_STORY_VIOLATION = 4, /* the check failed here */
};

struct pv_story_event {
	uint64_t step;           /* scheduler decision count when it happened */
	int thread;              /* worker index; -1 for the engine */
	enum pv_story_kind kind;
	uint64_t address;        /* instruction or written byte; 0 when none */
	char symbol[64];         /* "counter_add+4", "" when unknown */
	char text[96];           /* disassembly, or the operation in words */
};

struct pv_story {
	unsigned threads;        /* workers: lanes 0..threads-1, plus the engine */
	uint64_t preemptions;    /* preemptions in the (minimized) stream */
	size_t nevents;
	struct pv_story_event *events; /* owned */
};

void pv_story_free(struct pv_story *s); /* frees s and what it owns; NULL ok */

/* One check that failed, summed over the schedules of one result. */
struct pv_violation_stat {
	char check[24];          /* check id (harness/checks/registry.h) */
	uint64_t count;          /* schedules in which it failed */
	uint64_t first_schedule; /* index of the first of them (bounded: its
	                            preemption points, pv_bounded_id) */
	unsigned rank;           /* its place among that run's violations */
	int thread;              /* of the first: thread, -1 when none */
	uint64_t address;        /* of the first: address, 0 when none */
	char detail[200];        /* of the first: one sentence */
	char *reproducer;        /* owned: path relative to the campaign's output
	                            directory, NULL when none was written */
	struct pv_story *story;  /* owned: the first violation's (minimized) story,
	                            NULL when none was made */
};

/* What the explorer of a result can promise (DESIGN.md, Explorers). */
struct pv_guarantee {
	unsigned depth;          /* pct: bug depth d */
	unsigned threads;        /* pct: n, the threads scheduled (workers + engine) */
	uint64_t steps;          /* pct: k, the most decisions one run made */
	double per_run;          /* pct: 1/(n*k^(d-1)) */
	double overall;          /* pct: 1-(1-per_run)^schedules */
	unsigned preemptions;    /* bounded: K */
	uint64_t space;          /* bounded: schedules in the space (as far as known) */
	bool space_known;        /* bounded: the whole space was enumerated */
	bool exhausted;          /* bounded: every schedule of the space ran */
};

/* Hot-window coverage: (instruction boundary in a hot window, thread)
 * pairs at which some code write was observed with that thread there. */
struct pv_coverage_pair {
	uint64_t address;
	int thread;
	char symbol[64];         /* "counter_add+4" */
};

struct pv_coverage {
	uint64_t pairs;          /* all pairs; 0 when not measured */
	uint64_t reached;
	struct pv_coverage_pair *missed; /* owned: pairs never reached */
	size_t nmissed;
};

/* One step of a lifecycle sequence (harness/model/sequence.h), over the
 * schedules of one result. */
struct pv_step_record {
	char *step;              /* owned: "apply:counter-fix", "revert-all" */
	char *live;              /* owned: after the step, in the first schedule
	                            that ran it, the version each replaced function
	                            ran: "bump=counter-fix,other=original" ("?" when
	                            the code does not say); NULL when never run */
	uint64_t ran;            /* schedules in which the step ran */
	uint64_t refused;        /* of those, the engine refused or gave up cleanly */
};

/* One overhead figure with its verdict on the claim
 * "under the threshold" (harness/bench/bench.h measures them; run and certify
 * carry them in their results). est/lo/hi in `unit`; an exact figure has
 * lo == hi == est. */
struct pv_overhead_figure {
	char name[24];           /* "cpu", "instructions", "memory-growth",
	                            "memory-growth-emu" */
	bool measured;           /* false: why in note, no verdict */
	double est, lo, hi, threshold;
	char unit[16];           /* "%", "KiB/cycle" */
	enum pv_claim claim;
	char note[PV_ERROR_MSG_MAX];
};

#define PV_OVERHEAD_MAX 8

struct pv_result {
	char *engine, *scenario, *backend, *flavour; /* owned */
	char *target, *patch;    /* owned: the binaries run */
	char target_sha256[PV_SHA256_HEX_LEN + 1];
	char patch_sha256[PV_SHA256_HEX_LEN + 1];
	enum pv_verdict verdict; /* set by pv_result_judge */
	bool refused;            /* plan said PV_EREFUSED */
	bool failed;             /* the backend or the engine failed */
	char *reason;            /* owned: why REFUSED or ERROR; NULL otherwise */
	int64_t reason_schedule; /* the schedule the reason comes from, -1 when it
	                            is not about one (plan, open) */
	uint64_t schedules;      /* runs made */
	uint64_t applied;        /* runs whose apply succeeded */
	uint64_t gave_up;        /* runs whose apply gave up cleanly (PV_EBUSY) */
	struct pv_violation_stat *violations; /* owned, in order of discovery */
	size_t nviolations;
	struct pv_guarantee guarantee; /* of the campaign's explorer on this result */
	struct pv_coverage coverage;
	char *expected;          /* owned: the expectation compared with, as
	                            written ("UNSAFE torn-exec crash"), or NULL */
	int as_expected;         /* -1 when not compared, else 0 or 1 */
	struct pv_step_record *steps; /* owned: a sequence's steps, NULL when none */
	size_t nsteps;
	char *info;              /* owned: an information line, not a verdict
	                            ("auto-rollback: not declared"), NULL when none */
	uint64_t faults;         /* runs in which a fault was injected after apply */
	uint64_t rolled_back;    /* of those, the engine's monitor rolled back */
	/* Overhead figures where they were measured (run:
	 * SAFE emu results; certify: its result). Inline, so copies carry them. */
	struct pv_overhead_figure overhead[PV_OVERHEAD_MAX];
	size_t noverhead;
};

/* Slots for explorers' parameters (harness/explore/registry.c names which
 * parameter is in which slot). */
#define PV_EXPLORER_PARAMS 4

struct pv_campaign {
	const char *explorer;    /* its registry row's name: "random", "pct",
	                            "bounded" (static string) */
	union {                  /* the explorer's parameters, 0 in the slots
	                            of parameters it does not have */
		struct {
			unsigned depth;       /* pct: d */
			unsigned preemptions; /* bounded: K */
		};
		unsigned param[PV_EXPLORER_PARAMS];
	};
	double time_budget;      /* seconds per result, 0 when none */
	uint64_t shard_index, shard_count; /* this campaign's share: 0-based part of
	                            count (0 of 1 for a whole one); after merge,
	                            shard_count is 1 when every part was joined */
	uint64_t seed;
	uint64_t schedules;      /* requested per result */
	size_t stream_len;       /* bytes per decision stream */
	struct pv_result *results; /* owned */
	size_t nresults;
	uint64_t total_schedules; /* runs made, all results */
	double seconds;          /* time spent running schedules (timing) */
};

void pv_campaign_init(struct pv_campaign *c);
/* Frees everything the campaign owns (not c itself). */
void pv_campaign_free(struct pv_campaign *c);

/* Appends an empty result; its index goes to *index (pointers into
 * c->results move when results are added). */
PV_MUST_CHECK int pv_campaign_add(struct pv_campaign *c, const char *engine, const char *scenario,
                    const char *backend, const char *flavour, size_t *index,
                    struct pv_error *err);

/* Appends a deep copy of r (its story left out). */
PV_MUST_CHECK int pv_campaign_add_copy(struct pv_campaign *c, const struct pv_result *r,
                         struct pv_error *err);

/* Records that `check` failed in `schedule`. *first is set when this is the
 * check's first failure in r (then thread, address and detail are kept).
 * Returns the check's entry, NULL when out of memory. */
struct pv_violation_stat *pv_result_violation(struct pv_result *r, const char *check,
                                              uint64_t schedule, unsigned rank, int thread,
                                              uint64_t address, const char *detail,
                                              bool *first);

/* The entry of check in r, or NULL. */
const struct pv_violation_stat *pv_result_find(const struct pv_result *r, const char *check);

/* Replaces r->reason (printf-style). Returns 0 or PV_ENOMEM. */
int pv_result_reason(struct pv_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The verdict: REFUSED when refused, else UNSAFE when any violation, else
 * ERROR when failed, else SAFE. Sets and returns r->verdict. */
enum pv_verdict pv_result_judge(struct pv_result *r);

/* Exit status for the verdicts alone (not compared with expectations):
 * 1 when any is UNSAFE, else 3 when any is ERROR, else 0 (SAFE and REFUSED
 * are both acceptable answers). */
int pv_campaign_exit_status(const struct pv_campaign *c);

/* pct: per_run and overall for `runs` runs, from depth, threads, steps. */
void pv_guarantee_update(struct pv_guarantee *g, uint64_t runs);

/* Runs per second over the time spent running, 0 when nothing ran. */
double pv_campaign_rate(const struct pv_campaign *c);

#endif
