/* PCT (Burckhardt et al., ASPLOS 2010), explore.h says how. */
#include "explore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

static uint64_t below(uint64_t *rng, uint64_t n)
{
	/* Multiply-shift: unbiased enough for n far below 2^64. */
	return (uint64_t)(((unsigned __int128)pv_splitmix64(rng) * n) >> 64);
}

void pv_pct_start(struct pv_pct *p, const struct pv_explorer *x, uint64_t index,
                  unsigned workers, uint64_t steps)
{
	memset(p, 0, sizeof(*p));
	uint64_t a = x->seed ^ 0x7063742d73656564ull, b = index; /* "pct-seed" */
	p->rng = pv_splitmix64(&a) ^ pv_splitmix64(&b);
	if (workers > PV_MAX_WORKERS)
		workers = PV_MAX_WORKERS;
	p->workers = workers;
	unsigned d = x->depth < 1 ? 1 : x->depth > PV_PCT_MAX_DEPTH ? PV_PCT_MAX_DEPTH : x->depth;
	unsigned n = workers + 1;
	/* Initial priorities d .. d+n-1 in random order (Fisher-Yates); the
	 * change points later hand out d-1 .. 1, below all of them. */
	for (unsigned i = 0; i < n; i++)
		p->prio[i] = d + i;
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = (unsigned)below(&p->rng, i + 1);
		unsigned t = p->prio[i];
		p->prio[i] = p->prio[j];
		p->prio[j] = t;
	}
	p->nchange = d - 1;
	for (unsigned i = 0; i < p->nchange; i++)
		p->change[i] = below(&p->rng, steps ? steps : 1);
	p->current = -1;
}

/* At a change point the thread that runs drops below every initial
 * priority: the i-th change point gives d-1-i. */
static void change_points(struct pv_pct *p, uint64_t index)
{
	for (unsigned i = 0; i < p->nchange; i++)
		if (p->change[i] == index && p->current >= 0)
			p->prio[p->current] = p->nchange - i;
}

int pv_pct_choose(void *ctx, const struct pv_choice *c)
{
	struct pv_pct *p = ctx;
	unsigned engine = p->workers;
	switch (c->kind) {
	case PV_CHOICE_PHASE:
		change_points(p, c->index);
		return (int)below(&p->rng, 16);
	case PV_CHOICE_SLICE: {
		change_points(p, c->index);
		/* The engine competes for the slice only while it has work of its
		 * own; waiting for the workers (advance, a call on a lock) it is
		 * not enabled, and PCT runs the highest-priority enabled thread.
		 * Choosing nobody there would starve the workers it waits for. */
		int best = c->engine_waits && !c->engine_yields ? (int)engine : -1;
		unsigned pos = 0;
		for (unsigned i = 0; i < c->nrunnable; i++) {
			unsigned t = c->runnable[i];
			if (t < engine && (best < 0 || p->prio[t] > p->prio[best])) {
				best = (int)t;
				pos = i;
			}
		}
		if (best < 0)
			return -1;
		p->current = best;
		return best == (int)engine ? PV_CHOICE_NOBODY : PV_CHOICE_SLICE_BYTE(pos);
	}
	case PV_CHOICE_PREEMPT: {
		if (c->thread >= 0 && (unsigned)c->thread < engine)
			p->current = c->thread;
		change_points(p, c->index);
		if (p->current < 0)
			return PV_CHOICE_PREEMPT_NO;
		/* Preemption points come while the engine waits: it, or a
		 * runnable worker, may now outrank the running thread. */
		unsigned top = p->prio[engine];
		for (unsigned i = 0; i < c->nrunnable; i++)
			if (c->runnable[i] != (unsigned)p->current && c->runnable[i] < engine &&
			    p->prio[c->runnable[i]] > top)
				top = p->prio[c->runnable[i]];
		if (top > p->prio[p->current]) {
			p->current = (int)engine;
			return PV_CHOICE_PREEMPT_YES;
		}
		return PV_CHOICE_PREEMPT_NO;
	}
	}
	return -1;
}

double pv_pct_bound(unsigned threads, uint64_t steps, unsigned depth)
{
	double b = 1.0 / (threads ? threads : 1);
	for (unsigned i = 1; i < depth; i++)
		b /= (double)(steps ? steps : 1);
	return b;
}


/* ------------------------------------------------------------ its row's operations */

struct pct_state {
	const struct pv_explorer *x;
	struct pv_explore_indices it;
	unsigned workers;
	uint64_t steps;          /* k */
	struct pv_pct pct;
};

static int pct_open(void **state, const struct pv_explore_job *job, struct pv_error *err)
{
	struct pct_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	s->x = job->x;
	s->it = (struct pv_explore_indices){.limit = job->limit, .part = job->part};
	s->workers = job->workers;
	/* k: the choices of the run with every default, the same in every
	 * partition so every part draws the same change points. A sequence
	 * is one run: k counts the choices of all its steps. */
	struct pv_run_result res;
	int rc = job->baseline(job->baseline_ctx, &res, err);
	if (rc) {
		free(s);
		return rc;
	}
	s->steps = res.decisions ? res.decisions : 1;
	*state = s;
	return 0;
}

static bool pct_next(void *state, uint64_t *index, bool *counted)
{
	struct pct_state *s = state;
	*counted = true;
	return pv_explore_indices_next(&s->it, index);
}

static int pct_start_run(void *state, uint64_t index, struct pv_explore_run *run,
                         struct pv_error *err)
{
	(void)err;
	struct pct_state *s = state;
	pv_pct_start(&s->pct, s->x, index, s->workers, s->steps);
	run->chooser = (struct pv_chooser){.choose = pv_pct_choose, .ctx = &s->pct};
	return 0;
}

static void pct_close(void *state, uint64_t runs, struct pv_guarantee *g)
{
	struct pct_state *s = state;
	if (g) {
		g->depth = s->x->depth;
		g->threads = s->workers + 1;
		g->steps = s->steps;
		pv_guarantee_update(g, runs);
	}
	free(s);
}

static void pct_sentence(const struct pv_result *r, char *buf, size_t len)
{
	const struct pv_guarantee *g = &r->guarantee;
	if (!g->depth)
		return;
	snprintf(buf, len,
	         "PCT, bug depth %u: each run finds a given depth-%u bug with probability "
	         ">= 1/(n*k^(d-1)) = %.3g (n = %u threads, k = %" PRIu64 " steps), so %" PRIu64
	         " schedules find it with probability >= %.*f",
	         g->depth, g->depth, g->per_run, g->threads, g->steps, r->schedules,
	         /* enough digits that a bound short of 1 never reads as 1 */
	         g->overall > 0.999 ? 6 : 4, g->overall);
}

static void pct_restate(struct pv_guarantee *g, uint64_t runs)
{
	if (g->depth)
		pv_guarantee_update(g, runs);
}

const struct pv_explorer_ops pv_explore_pct_ops = {
	.open = pct_open,
	.next = pct_next,
	.start = pct_start_run,
	.close = pct_close,
	.sentence = pct_sentence,
	.restate = pct_restate,
};
