/* Explorers: what produces the decision stream of each schedule. Every
 * explorer is a pure function of its settings and the schedule's index, so a
 * schedule can be regenerated (a reproducer stores the stream anyway) and
 * `--shard I/N` can later split a campaign by index alone. */
#ifndef PV_HARNESS_EXPLORE_H
#define PV_HARNESS_EXPLORE_H

#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

/* Length of a random explorer's stream. The emulator continues with its
 * default rule when a stream runs out, so this bounds only the decisions
 * that are explored, not the run. */
#define PV_EXPLORE_STREAM_LEN 256

enum pv_explorer_kind {
	PV_EXPLORE_RANDOM = 0, /* uniform bytes from splitmix64(seed, index) */
};

struct pv_explorer {
	enum pv_explorer_kind kind;
	uint64_t seed;
	size_t stream_len; /* bytes per stream; 0 picks PV_EXPLORE_STREAM_LEN */
};

/* The explorer called name ("random"), PV_EINVAL for an unknown one. */
int pv_explorer_parse(const char *name, enum pv_explorer_kind *kind);
const char *pv_explorer_name(enum pv_explorer_kind kind);

/* Bytes a stream of x needs: the buffer size for pv_explore_stream. */
size_t pv_explore_stream_len(const struct pv_explorer *x);

/* Fills buf[0..cap) with the decision stream of schedule `index`; *len
 * receives its length. PV_ERANGE when cap is too small. */
int pv_explore_stream(const struct pv_explorer *x, uint64_t index, uint8_t *buf, size_t cap,
                      size_t *len, struct pv_error *err);

#endif
