#include "explore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64 (Steele, Lea, Flood 2014): a tiny generator whose outputs are
 * well mixed even for neighbouring states, which is what per-index streams
 * derived from (seed, index) need. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *const names[] = {"random", "pct", "bounded"};

int pv_explorer_parse(const char *name, enum pv_explorer_kind *kind)
{
	for (unsigned i = 0; name && i < 3; i++)
		if (!strcmp(name, names[i])) {
			*kind = (enum pv_explorer_kind)i;
			return 0;
		}
	return PV_EINVAL;
}

const char *pv_explorer_name(enum pv_explorer_kind kind)
{
	return (unsigned)kind < 3 ? names[kind] : "?";
}

bool pv_explorer_adaptive(enum pv_explorer_kind kind)
{
	return kind == PV_EXPLORE_PCT || kind == PV_EXPLORE_BOUNDED;
}

size_t pv_explore_stream_len(const struct pv_explorer *x)
{
	if (pv_explorer_adaptive(x->kind))
		return PV_EXPLORE_RECORD_MAX;
	return x->stream_len ? x->stream_len : PV_EXPLORE_STREAM_LEN;
}

/* Stream i of seed s: the generator started at splitmix64(s) ^
 * splitmix64(i), so streams of one seed are unrelated to each other and to
 * those of the next seed. */
static void random_stream(uint64_t seed, uint64_t index, uint8_t *buf, size_t len)
{
	uint64_t a = seed, b = index;
	uint64_t state = splitmix64(&a) ^ splitmix64(&b);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = splitmix64(&state);
		for (size_t k = 0; k < 8 && i + k < len; k++)
			buf[i + k] = (uint8_t)(v >> (8 * k));
	}
}

int pv_explore_stream(const struct pv_explorer *x, uint64_t index, uint8_t *buf, size_t cap,
                      size_t *len, struct pv_error *err)
{
	size_t n = pv_explore_stream_len(x);
	if (cap < n)
		return pv_error_set(err, PV_ERANGE, "a decision stream needs %zu bytes, the buffer "
		                                    "holds %zu", n, cap);
	if (x->kind == PV_EXPLORE_RANDOM) {
		random_stream(x->seed, index, buf, n);
		*len = n;
		return 0;
	}
	return pv_error_set(err, PV_EINVAL, "explorer %s makes its choices during the run, not "
	                                    "as a stream beforehand", pv_explorer_name(x->kind));
}

/* ------------------------------------------------------------ pct */

static uint64_t below(uint64_t *rng, uint64_t n)
{
	/* Multiply-shift: unbiased enough for n far below 2^64. */
	return (uint64_t)(((unsigned __int128)splitmix64(rng) * n) >> 64);
}

void pv_pct_start(struct pv_pct *p, const struct pv_explorer *x, uint64_t index,
                  unsigned workers, uint64_t steps)
{
	memset(p, 0, sizeof(*p));
	uint64_t a = x->seed ^ 0x7063742d73656564ull, b = index; /* "pct-seed" */
	p->rng = splitmix64(&a) ^ splitmix64(&b);
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

/* ------------------------------------------------------------ bounded */

int pv_bounded_open(struct pv_bounded *b, unsigned k, struct pv_partition part,
                    struct pv_error *err)
{
	memset(b, 0, sizeof(*b));
	if (k > PV_BOUNDED_MAX_PREEMPTIONS)
		return pv_error_set(err, PV_EINVAL, "--preemptions wants 0 to %d, not %u",
		                    PV_BOUNDED_MAX_PREEMPTIONS, k);
	if (!part.count || part.index >= part.count)
		return pv_error_set(err, PV_EINVAL, "partition %llu of %llu does not exist",
		                    (unsigned long long)part.index, (unsigned long long)part.count);
	b->k = k;
	b->part = part;
	b->cap = 64;
	b->stack = malloc(b->cap * sizeof(*b->stack));
	if (!b->stack)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	b->stack[b->nstack++] = (struct pv_bounded_node){.npoints = 0};
	b->space = part.index == 0; /* the baseline is the first partition's */
	return 0;
}

void pv_bounded_close(struct pv_bounded *b)
{
	free(b->stack);
	b->stack = NULL;
	b->nstack = 0;
}

uint64_t pv_bounded_id(const struct pv_bounded_node *n)
{
	uint64_t id = 0;
	for (unsigned i = 0; i < n->npoints && i < PV_BOUNDED_MAX_PREEMPTIONS; i++)
		id |= (uint64_t)(n->points[i] + 1u) << (16 * (PV_BOUNDED_MAX_PREEMPTIONS - 1 - i));
	return id;
}

void pv_bounded_describe(uint64_t id, char *buf, size_t len)
{
	if (!id) {
		snprintf(buf, len, "no preemption");
		return;
	}
	size_t at = (size_t)snprintf(buf, len, "preemption alternatives");
	for (int i = PV_BOUNDED_MAX_PREEMPTIONS - 1; i >= 0 && at < len; i--) {
		unsigned d = (unsigned)(id >> (16 * i)) & 0xffff;
		if (d)
			at += (size_t)snprintf(buf + at, len - at, "%s %u",
			                       i == PV_BOUNDED_MAX_PREEMPTIONS - 1 ? "" : ",", d - 1);
	}
}

bool pv_bounded_next(struct pv_bounded *b, bool *counted, uint64_t *id)
{
	if (!b->nstack)
		return false;
	b->cur = b->stack[--b->nstack];
	b->counted = b->cur.npoints > 0 || b->part.index == 0;
	b->seen = 0;
	b->phases = 0;
	*counted = b->counted;
	*id = pv_bounded_id(&b->cur);
	return true;
}

int pv_bounded_done(struct pv_bounded *b, struct pv_error *err)
{
	if (b->counted)
		b->ran++;
	if (b->cur.npoints >= b->k)
		return 0;
	uint64_t first = b->cur.npoints ? b->cur.points[b->cur.npoints - 1] + 1u : 0;
	/* Pushed last to first, so they pop in ascending (depth-first) order;
	 * the top level keeps only this partition's points. */
	for (uint64_t p = b->seen; p-- > first;) {
		if (b->cur.npoints == 0 && p % b->part.count != b->part.index)
			continue;
		if (p >= 0xffff)
			continue;
		if (b->nstack == b->cap) {
			size_t cap = 2 * b->cap;
			struct pv_bounded_node *v = realloc(b->stack, cap * sizeof(*v));
			if (!v)
				return pv_error_set(err, PV_ENOMEM, "out of memory for the schedule tree");
			b->stack = v;
			b->cap = cap;
		}
		struct pv_bounded_node *n = &b->stack[b->nstack++];
		*n = b->cur;
		n->points[n->npoints++] = (uint16_t)p;
		b->space++;
	}
	return 0;
}

int pv_bounded_choose(void *ctx, const struct pv_choice *c)
{
	struct pv_bounded *b = ctx;
	/* The engine runs its operations back to back unless preempted: a
	 * worker runs in its place (one alternative per runnable worker), or
	 * a worker running inside a hot window while the engine waits is cut
	 * off (one alternative). Every other choice takes the default. */
	if (c->kind == PV_CHOICE_SLICE && c->engine_waits && !c->engine_yields) {
		uint64_t first = b->seen;
		b->seen += c->nrunnable;
		for (unsigned i = 0; i < b->cur.npoints; i++)
			if (b->cur.points[i] >= first && b->cur.points[i] < b->seen)
				return PV_CHOICE_SLICE_BYTE(b->cur.points[i] - first);
		return PV_CHOICE_NOBODY;
	}
	/* Apply begins before any worker has run: where the workers are when
	 * the code changes is then up to the preemptions alone. */
	if (c->kind == PV_CHOICE_PHASE)
		return b->phases++ == 0 ? 0 : -1;
	if (c->kind != PV_CHOICE_PREEMPT)
		return -1;
	uint64_t ordinal = b->seen++;
	for (unsigned i = 0; i < b->cur.npoints; i++)
		if (b->cur.points[i] == ordinal)
			return PV_CHOICE_PREEMPT_YES;
	return -1;
}
