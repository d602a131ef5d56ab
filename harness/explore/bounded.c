/* CHESS-style preemption bounding, explore.h says how. */
#include "explore.h"

#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>

#include "registry.h"

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

/* ------------------------------------------------------------ its row's operations */

struct bounded_state {
	const struct pv_explorer *x;
	struct pv_bounded b;
};

static int bounded_open(void **state, const struct pv_explore_job *job, struct pv_error *err)
{
	struct bounded_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	s->x = job->x;
	int rc = pv_bounded_open(&s->b, job->x->preemptions, job->part, err);
	if (rc) {
		pv_bounded_close(&s->b);
		free(s);
		return rc;
	}
	*state = s;
	return 0;
}

static bool bounded_next(void *state, uint64_t *index, bool *counted)
{
	struct bounded_state *s = state;
	return pv_bounded_next(&s->b, counted, index);
}

static int bounded_start(void *state, uint64_t index, struct pv_explore_run *run,
                         struct pv_error *err)
{
	(void)index; /* pv_bounded_next made it the current schedule */
	(void)err;
	struct bounded_state *s = state;
	run->chooser = (struct pv_chooser){.choose = pv_bounded_choose, .ctx = &s->b};
	return 0;
}

static int bounded_done_run(void *state, struct pv_error *err)
{
	return pv_bounded_done(&((struct bounded_state *)state)->b, err);
}

static void bounded_close(void *state, uint64_t runs, struct pv_guarantee *g)
{
	(void)runs;
	struct bounded_state *s = state;
	if (g) {
		g->preemptions = s->x->preemptions;
		g->exhausted = s->b.nstack == 0;
		/* Known once no schedule left to run can grow the tree. */
		g->space_known = true;
		for (size_t i = 0; i < s->b.nstack; i++)
			g->space_known &= s->b.stack[i].npoints >= s->b.k;
		g->space = s->b.space;
	}
	pv_bounded_close(&s->b);
	free(s);
}

static void bounded_sentence(const struct pv_result *r, char *buf, size_t len)
{
	const struct pv_guarantee *g = &r->guarantee;
	if (!g->space_known && !g->exhausted && !g->space)
		return;
	char space[64];
	snprintf(space, sizeof(space), "of %s%" PRIu64 " schedules",
	         g->space_known ? "" : "at least ", g->space);
	snprintf(buf, len,
	         "bounded, at most %u preemption%s: the space %s %s (%.1f%%)%s",
	         g->preemptions, g->preemptions == 1 ? "" : "s", space,
	         g->exhausted ? "is exhausted, every schedule ran"
	                      : "is not exhausted (raise --schedules or --time)",
	         g->space ? 100.0 * (double)r->schedules / (double)g->space : 0.0,
	         g->exhausted && !r->nviolations
	             ? ", and no schedule within the bound violates a check"
	             : "");
}

const struct pv_explorer_ops pv_explore_bounded_ops = {
	.open = bounded_open,
	.next = bounded_next,
	.start = bounded_start,
	.done = bounded_done_run,
	.close = bounded_close,
	.sentence = bounded_sentence,
	.describe = pv_bounded_describe,
};
