/* Check `xmc-unsynced` (judge_xmc.h). */
#include "xmc_unsynced.h"

#include <stdlib.h>
#include <string.h>

#define XMC_RANGES 8
#define INT3 0xcc

struct xmc_range {
	uint64_t lo, hi;
	bool int3;              /* only an int3 step on one byte: not stale */
};

struct xmc_thread {
	struct xmc_range r[XMC_RANGES];
	size_t n;
};

struct pv_xmc_judge {
	unsigned nthreads;
	struct xmc_thread t[];
};

int pv_xmc_judge_open(unsigned nthreads, struct pv_xmc_judge **out, struct pv_error *err)
{
	struct pv_xmc_judge *j = calloc(1, sizeof(*j) + nthreads * sizeof(j->t[0]));
	if (!j)
		return pv_error_set(err, PV_ENOMEM, "out of memory for the xmc-unsynced judge");
	j->nthreads = nthreads;
	*out = j;
	return 0;
}

void pv_xmc_judge_close(struct pv_xmc_judge *j)
{
	free(j);
}

void pv_xmc_judge_reset(struct pv_xmc_judge *j)
{
	for (unsigned i = 0; i < j->nthreads; i++)
		j->t[i].n = 0;
}

/* Adds [lo, hi) to one thread, merged with the ranges it overlaps (not the
 * ones it only touches: an int3 and the tail bytes after it stay apart). */
static void add(struct xmc_thread *t, uint64_t lo, uint64_t hi, bool int3)
{
	for (size_t i = 0; i < t->n;) {
		struct xmc_range *r = &t->r[i];
		if (r->hi <= lo || hi <= r->lo) {
			i++;
			continue;
		}
		/* Two int3 steps on one byte (int3 in, then out) stay allowed. */
		int3 = int3 && r->int3 && r->lo == lo && r->hi == hi;
		lo = r->lo < lo ? r->lo : lo;
		hi = r->hi > hi ? r->hi : hi;
		*r = t->r[--t->n];
		i = 0; /* the union may now overlap one seen before */
	}
	if (t->n == XMC_RANGES) {
		/* Full: fold everything into one range, stale for sure. */
		for (size_t i = 0; i < t->n; i++) {
			lo = t->r[i].lo < lo ? t->r[i].lo : lo;
			hi = t->r[i].hi > hi ? t->r[i].hi : hi;
		}
		t->n = 0;
		int3 = false;
	}
	t->r[t->n++] = (struct xmc_range){.lo = lo, .hi = hi, .int3 = int3};
}

void pv_xmc_judge_write(struct pv_xmc_judge *j, uint64_t addr, const uint8_t *old,
                        const uint8_t *new_bytes, size_t n, const bool *running)
{
	if (!n)
		return;
	bool int3 = n == 1 && (old[0] == INT3 || new_bytes[0] == INT3);
	for (unsigned i = 0; i < j->nthreads; i++)
		if (running[i])
			add(&j->t[i], addr, addr + n, int3);
}

void pv_xmc_judge_serialize(struct pv_xmc_judge *j, unsigned t)
{
	if (t < j->nthreads)
		j->t[t].n = 0;
}

void pv_xmc_judge_sync_all(struct pv_xmc_judge *j)
{
	pv_xmc_judge_reset(j);
}

int pv_xmc_judge_insn(const struct pv_xmc_judge *j, unsigned t, uint64_t addr, unsigned len,
                      struct pv_xmc_finding *f)
{
	if (t >= j->nthreads)
		return 0;
	const struct xmc_thread *th = &j->t[t];
	for (size_t i = 0; i < th->n; i++) {
		const struct xmc_range *r = &th->r[i];
		if (r->int3 || r->hi <= addr || addr + len <= r->lo)
			continue;
		*f = (struct pv_xmc_finding){
			.thread = (int)t, .addr = addr, .stale_lo = r->lo, .stale_hi = r->hi};
		return 1;
	}
	return 0;
}
