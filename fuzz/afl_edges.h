/* Edges of the emulated code into AFL's coverage map: a block hook for
 * pv_emu_set_block_hook. AFL-style edge = hash(block) ^ (hash(previous) >> 1);
 * when the thread changes, its index is mixed into the previous location, so
 * the same blocks in another interleaving are new edges. */
#ifndef PV_FUZZ_AFL_EDGES_H
#define PV_FUZZ_AFL_EDGES_H

#include <stdint.h>

struct pv_afl_edges {
	uint32_t prev;   /* previous location, already shifted */
	int thread;      /* thread of the previous block, -1 at the start of a run */
	uint64_t blocks; /* blocks seen (for the harness's own sanity check) */
};

/* Call before every run. */
void pv_afl_edges_reset(struct pv_afl_edges *s);

/* The block hook; ctx is a struct pv_afl_edges. */
void pv_afl_edge(void *ctx, uint64_t address, int thread);

#endif
