/* Explorers: what makes the choices of each schedule.
 *
 *   random   uniform stream bytes from splitmix64(seed, index).
 *   pct      Burckhardt et al., ASPLOS 2010: random distinct priorities for
 *            the workers and the engine, d-1 priority change points among
 *            the k choices of a run; the highest-priority thread that can
 *            run always runs (the engine cannot while it waits for the
 *            workers in advance). A bug of depth d is found by one run with
 *            probability at least 1/(n*k^(d-1)).
 *   bounded  CHESS-style preemption bounding: every schedule with at most K
 *            preemptions, in depth-first order. While apply or revert runs
 *            the engine goes on from operation to operation unless
 *            preempted; a preemption either runs a worker in its place
 *            (before an operation, between write units) or cuts off a
 *            worker running inside a hot window. Apply begins before any
 *            worker runs; every other choice is the scheduler's default.
 *
 * random and pct are pure functions of (settings, schedule index), so any
 * subset of indices can run anywhere. bounded is a tree walk whose
 * top-level branches (the first preemption point) partition it. Both kinds
 * of partition make `--shard I/N` and `--jobs N`. pct and bounded answer
 * choices as they come (harness/model/run.h, pv_chooser), and the emulator
 * records the stream that replays the run. A lifecycle sequence is one run
 * (pv_emu_run_sequence_chosen): k and the preemption alternatives span all
 * its steps. */
#ifndef PV_HARNESS_EXPLORE_H
#define PV_HARNESS_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>
#include <patchvet/target.h>

#include "../model/campaign.h"
#include "../model/run.h"

/* Length of a random explorer's stream. The emulator continues with its
 * default rule when a stream runs out, so this bounds only the decisions
 * that are explored, not the run. */
#define PV_EXPLORE_STREAM_LEN 256
/* Bytes an adaptive explorer's run may record (choices beyond take the
 * default rule, unasked). */
#define PV_EXPLORE_RECORD_MAX 65536
#define PV_PCT_MAX_DEPTH 8
/* bounded: schedules are numbered by their preemption points, 16 bits a
 * point (points beyond PV_EXPLORE_RECORD_MAX cannot exist). */
#define PV_BOUNDED_MAX_PREEMPTIONS 4

/* The built-in explorers' rows in harness/explore/registry.c, in its
 * order: pv_explorer.kind is a row of the table the driver is given (the
 * built-in one unless a caller passes its own), so an explorer added there
 * needs no constant here. */
enum pv_explorer_kind {
	PV_EXPLORE_RANDOM = 0,
	PV_EXPLORE_PCT = 1,
	PV_EXPLORE_BOUNDED = 2,
};

struct pv_explorer {
	unsigned kind;         /* its row (enum pv_explorer_kind for the built-ins) */
	uint64_t seed;
	size_t stream_len;     /* random: bytes per stream; 0 picks PV_EXPLORE_STREAM_LEN */
	/* The explorers' parameters, each in the slot its registry row names
	 * (harness/explore/registry.c); the built-ins' have names too. */
	union {
		struct {
			unsigned depth;        /* pct: bug depth d, 1..PV_PCT_MAX_DEPTH */
			unsigned preemptions;  /* bounded: K, 0..PV_BOUNDED_MAX_PREEMPTIONS */
		};
		unsigned param[PV_EXPLORER_PARAMS];
	};
};

/* A deterministic share of the work: part `index` of `count` (0-based). */
struct pv_partition {
	uint64_t index, count;
};

/* splitmix64 (Steele, Lea, Flood 2014): a tiny generator whose outputs are
 * well mixed even for neighbouring states, which is what per-index streams
 * derived from (seed, index) need. */
static inline uint64_t pv_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The schedule indices of one partition below a limit: index % count ==
 * part index, ascending. random and pct walk them. */
struct pv_explore_indices {
	uint64_t next, limit;
	struct pv_partition part; /* count >= 1 */
};
bool pv_explore_indices_next(struct pv_explore_indices *it, uint64_t *index);

/* Bytes a stream of x needs, x->kind a built-in row: the buffer size for
 * pv_explore_stream and for a run's record (registry.c). */
size_t pv_explore_stream_len(const struct pv_explorer *x);

/* random.c. Fills buf[0..cap) with the stream of schedule `index`; *len
 * receives its length. PV_ERANGE when cap is too small, PV_EINVAL for an
 * adaptive explorer. */
int pv_explore_stream(const struct pv_explorer *x, uint64_t index, uint8_t *buf, size_t cap,
                      size_t *len, struct pv_error *err);

/* ------------------------------------------------------------ pct.c */

struct pv_pct {
	uint64_t rng;
	unsigned workers;                /* the engine is thread `workers` */
	unsigned prio[PV_MAX_WORKERS + 1];
	uint64_t change[PV_PCT_MAX_DEPTH]; /* choice indices of the change points */
	unsigned nchange;
	int current;                     /* who ran last: a worker, the engine, -1 */
};

/* Sets p up for schedule `index` with n = workers + 1 threads and k =
 * steps (choices of a run, > 0). */
void pv_pct_start(struct pv_pct *p, const struct pv_explorer *x, uint64_t index,
                  unsigned workers, uint64_t steps);
/* The pv_chooser function; ctx is a struct pv_pct. */
int pv_pct_choose(void *ctx, const struct pv_choice *c);
/* 1/(n*k^(d-1)): the probability that one run finds a given depth-d bug. */
double pv_pct_bound(unsigned threads, uint64_t steps, unsigned depth);

/* ------------------------------------------------------------ bounded.c */

struct pv_bounded_node {
	uint16_t points[PV_BOUNDED_MAX_PREEMPTIONS]; /* preemption ordinals, ascending */
	unsigned npoints;
};

struct pv_bounded {
	unsigned k;
	struct pv_partition part;
	struct pv_bounded_node *stack;   /* owned: schedules still to run */
	size_t nstack, cap;
	struct pv_bounded_node cur;      /* the schedule being run */
	bool counted;                    /* cur belongs to this partition */
	uint64_t seen;                   /* preemption alternatives offered so far
	                                    in the current run */
	unsigned phases;                 /* phase choices of the current run */
	uint64_t ran, space;             /* schedules of this partition run / known */
};

int pv_bounded_open(struct pv_bounded *b, unsigned k, struct pv_partition part,
                    struct pv_error *err);
void pv_bounded_close(struct pv_bounded *b);
/* The next schedule to run: false when the (partition's) space is
 * exhausted. *counted is false for a run this partition makes only to learn
 * the tree (the baseline of partitions other than the first); *id is the
 * schedule's number (pv_bounded_id). */
bool pv_bounded_next(struct pv_bounded *b, bool *counted, uint64_t *id);
/* After the run of the schedule pv_bounded_next gave: extends the tree. */
int pv_bounded_done(struct pv_bounded *b, struct pv_error *err);
/* The pv_chooser function; ctx is a struct pv_bounded. */
int pv_bounded_choose(void *ctx, const struct pv_choice *c);
/* A schedule's number: its points p1 < p2 < ... as 16-bit digits p+1,
 * most significant first, so numbers sort as the depth-first order does
 * (the baseline, with no preemption, is 0). */
uint64_t pv_bounded_id(const struct pv_bounded_node *n);
/* The preemptions of schedule id: "no preemption" or "preemption
 * alternatives 12, 40" (their numbers in the order the run offered them). */
void pv_bounded_describe(uint64_t id, char *buf, size_t len);

#endif
