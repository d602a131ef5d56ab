/* The random explorer: uniform stream bytes from pv_splitmix64(seed, index),
 * and the partition of schedule indices random and pct share. */
#include "explore.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

#include "registry.h"

bool pv_explore_indices_next(struct pv_explore_indices *it, uint64_t *index)
{
	/* Indices of this partition: index % count == part. */
	uint64_t i = it->next;
	if (i % it->part.count != it->part.index)
		i += (it->part.index + it->part.count - i % it->part.count) % it->part.count;
	if (i >= it->limit)
		return false;
	it->next = i + 1;
	*index = i;
	return true;
}

/* Stream i of seed s: the generator started at pv_splitmix64(s) ^
 * pv_splitmix64(i), so streams of one seed are unrelated to each other and to
 * those of the next seed. */
static void random_stream(uint64_t seed, uint64_t index, uint8_t *buf, size_t len)
{
	uint64_t a = seed, b = index;
	uint64_t state = pv_splitmix64(&a) ^ pv_splitmix64(&b);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = pv_splitmix64(&state);
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
	                                    "as a stream beforehand", pv_explorer_row(NULL, x->kind) ? pv_explorer_row(NULL, x->kind)->name : "?");
}


/* ------------------------------------------------------------ its row's operations */

struct random_state {
	const struct pv_explorer *x;
	struct pv_explore_indices it;
};

static int random_open(void **state, const struct pv_explore_job *job, struct pv_error *err)
{
	struct random_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	s->x = job->x;
	s->it = (struct pv_explore_indices){.limit = job->limit, .part = job->part};
	*state = s;
	return 0;
}

static bool random_next(void *state, uint64_t *index, bool *counted)
{
	struct random_state *s = state;
	*counted = true;
	return pv_explore_indices_next(&s->it, index);
}

static int random_start(void *state, uint64_t index, struct pv_explore_run *run,
                        struct pv_error *err)
{
	struct random_state *s = state;
	size_t n = s->x->stream_len ? s->x->stream_len : PV_EXPLORE_STREAM_LEN;
	if (run->cap < n)
		return pv_error_set(err, PV_ERANGE, "a decision stream needs %zu bytes, the buffer "
		                                    "holds %zu", n, run->cap);
	random_stream(s->x->seed, index, run->stream, n);
	run->len = n;
	run->chooser.choose = NULL;
	return 0;
}

static void random_close(void *state, uint64_t runs, struct pv_guarantee *g)
{
	(void)runs;
	(void)g; /* sampling promises nothing measurable */
	free(state);
}

const struct pv_explorer_ops pv_explore_random_ops = {
	.open = random_open,
	.next = random_next,
	.start = random_start,
	.close = random_close,
};
