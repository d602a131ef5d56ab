/* Hot-window coverage: for every instruction boundary of a replaced
 * function's original code and every worker, whether some code write found
 * that worker there. It tells how much of the space of "a thread sits at
 * instruction X while the code changes" the explored schedules reached. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Boundaries per function at most: a long function's tail is far from the
 * bytes engines change, and the bitmaps stay small. */
#define COV_FUNC_MAX 256u

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int emu_coverage_open(struct pv_emu *e, struct pv_error *err)
{
	size_t cap = e->view.desc.nfuncs * COV_FUNC_MAX;
	e->ncov = 0;
	if (!cap)
		return 0;
	e->cov_addr = calloc(cap, sizeof(*e->cov_addr));
	if (!e->cov_addr)
		return pv_error_set(err, PV_ENOMEM, "out of memory for hot-window coverage");
	cs_insn *in = cs_malloc(e->cs);
	if (!in)
		return pv_error_set(err, PV_ENOMEM, "out of memory for hot-window coverage");
	for (size_t i = 0; i < e->view.desc.nfuncs; i++) {
		const struct pv_patch_func *f = &e->view.funcs[i];
		const uint8_t *code = f->old_addr ? emu_pristine(e, f->old_addr, f->old_size) : NULL;
		if (!code)
			continue;
		size_t left = (size_t)f->old_size;
		uint64_t a = f->old_addr;
		/* Decoding stops at the first byte sequence that is no
		 * instruction (data in the text, or the end). */
		for (unsigned k = 0; k < COV_FUNC_MAX && left; k++) {
			uint64_t at = a;
			if (!cs_disasm_iter(e->cs, &code, &left, &a, in))
				break;
			e->cov_addr[e->ncov++] = at;
		}
	}
	cs_free(in, 1);
	qsort(e->cov_addr, e->ncov, sizeof(*e->cov_addr), cmp_u64);
	size_t m = 0; /* functions may share bytes (aliases) */
	for (size_t i = 0; i < e->ncov; i++)
		if (!m || e->cov_addr[m - 1] != e->cov_addr[i])
			e->cov_addr[m++] = e->cov_addr[i];
	e->ncov = m;
	if (m && !(e->cov_hit = calloc(m, sizeof(*e->cov_hit))))
		return pv_error_set(err, PV_ENOMEM, "out of memory for hot-window coverage");
	return 0;
}

void emu_coverage_close(struct pv_emu *e)
{
	free(e->cov_addr);
	free(e->cov_hit);
	e->cov_addr = NULL;
	e->cov_hit = NULL;
	e->ncov = 0;
}

static size_t find(const struct pv_emu *e, uint64_t pc)
{
	size_t lo = 0, hi = e->ncov;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->cov_addr[mid] < pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->ncov && e->cov_addr[lo] == pc ? lo : SIZE_MAX;
}

void emu_coverage_observe(struct pv_emu *e)
{
	if (!e->ncov)
		return;
	unsigned w = e->cfg.workload.workers;
	for (unsigned t = 0; t < w && t < 64; t++) {
		const struct emu_thread *th = &e->threads[t];
		if (th->done || th->in_call)
			continue;
		size_t i = find(e, th->pc);
		if (i != SIZE_MAX)
			e->cov_hit[i] |= 1ull << t;
	}
}

void pv_emu_coverage(const struct pv_emu *e, uint64_t *pairs, uint64_t *reached,
                     struct pv_emu_pair *missed, size_t max_missed, size_t *nmissed)
{
	unsigned w = e->cfg.workload.workers < 64 ? e->cfg.workload.workers : 64;
	*pairs = (uint64_t)e->ncov * w;
	*reached = 0;
	*nmissed = 0;
	for (size_t i = 0; i < e->ncov; i++)
		for (unsigned t = 0; t < w; t++) {
			if (e->cov_hit[i] >> t & 1) {
				++*reached;
			} else if (*nmissed < max_missed) {
				missed[*nmissed].address = e->cov_addr[i];
				missed[(*nmissed)++].thread = t;
			}
		}
}

void pv_emu_coverage_reset(struct pv_emu *e)
{
	if (e->ncov)
		memset(e->cov_hit, 0, e->ncov * sizeof(*e->cov_hit));
}
