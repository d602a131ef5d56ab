/* Edges of the emulated code into AFL's coverage map: a block hook for
 * pv_emu_set_block_hook. AFL-style edge = hash(block) ^ (hash(previous) >> 1);
 * when the thread changes, its index is mixed into the previous location, so
 * the same blocks in another interleaving are new edges. */
#ifndef PV_FUZZ_AFL_EDGES_H
#define PV_FUZZ_AFL_EDGES_H

#include <stdint.h>

/* What goes into the map ($PATCHVET_FUZZ_EDGES, for comparing them). */
enum pv_afl_edge_mode {
	PV_AFL_EDGES_THREADS = 0, /* block edges, thread switches mixed in (default) */
	PV_AFL_EDGES_BLOCKS,      /* block edges only */
	PV_AFL_EDGES_NONE,        /* no emulated edges: the harness's own coverage */
};

struct pv_afl_edges {
	enum pv_afl_edge_mode mode;
	uint32_t prev;   /* previous location, already shifted */
	int thread;      /* thread of the previous block, -1 at the start of a run */
	uint64_t blocks; /* blocks seen (for the harness's own sanity check) */
};

/* "threads", "blocks" or "none"; -1 for anything else. */
int pv_afl_edge_mode_parse(const char *name);

/* Call before every run (keeps the mode). */
void pv_afl_edges_reset(struct pv_afl_edges *s);

/* The block hook; ctx is a struct pv_afl_edges. */
void pv_afl_edge(void *ctx, uint64_t address, int thread);

#endif
