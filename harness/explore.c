#include "explore.h"

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

int pv_explorer_parse(const char *name, enum pv_explorer_kind *kind)
{
	if (name && !strcmp(name, "random")) {
		*kind = PV_EXPLORE_RANDOM;
		return 0;
	}
	return PV_EINVAL;
}

const char *pv_explorer_name(enum pv_explorer_kind kind)
{
	return kind == PV_EXPLORE_RANDOM ? "random" : "?";
}

size_t pv_explore_stream_len(const struct pv_explorer *x)
{
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
	switch (x->kind) {
	case PV_EXPLORE_RANDOM:
		random_stream(x->seed, index, buf, n);
		*len = n;
		return 0;
	}
	return pv_error_set(err, PV_EINVAL, "unknown explorer %d", (int)x->kind);
}
