/* Compiled with plain gcc: AFL++ 4.04c's afl-clang-fast refuses to link a
 * file of its own that names __afl_area_ptr (FACTS.md). The map is AFL's
 * CLASSIC 64 KiB one: the harness must be built with
 * AFL_LLVM_INSTRUMENT=CLASSIC, whose map is not sized to its own edges. */
#include "afl_edges.h"

#include <stddef.h>
#include <string.h>

extern uint8_t *__afl_area_ptr;
extern uint32_t __afl_map_size;

static uint32_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

int pv_afl_edge_mode_parse(const char *name)
{
	static const char *const names[] = {"threads", "blocks", "none"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

void pv_afl_edges_reset(struct pv_afl_edges *s)
{
	s->prev = 0;
	s->thread = -1;
	s->blocks = 0;
}

void pv_afl_edge(void *ctx, uint64_t address, int thread)
{
	struct pv_afl_edges *s = ctx;
	uint32_t size = __afl_map_size ? __afl_map_size : 65536;
	if (thread != s->thread && s->mode == PV_AFL_EDGES_THREADS) {
		s->prev ^= mix(0x5eedull + (uint64_t)(thread + 1)) >> 1;
		s->thread = thread;
	}
	uint32_t cur = mix(address);
	__afl_area_ptr[(cur ^ s->prev) % size]++;
	s->prev = cur >> 1;
	s->blocks++;
}
