/* Host-backed memory of the emu backend: regions, the engine's writes (dirty
 * ranges, translated code dropped after each), and the reset between runs.
 *
 * Unicorn 2.0.1 keeps running translated code after a write to it, so every
 * store to a code region removes its translation cache range (FACTS.md).
 * Removing costs about 2 us a call, so changed ranges are collected per page
 * and removed together right before the next uc_emu_start: no guest
 * instruction runs between a store and that start, so nothing can run the
 * stale translation. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

int emu_block_new(struct pv_emu *e, size_t size, uint8_t **mem, struct pv_error *err)
{
	if (e->nblocks == sizeof(e->blocks) / sizeof(e->blocks[0]))
		return pv_error_set(err, PV_EINTERNAL, "emu: too many host memory blocks");
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return pv_error_set(err, PV_ENOMEM,
		                    "cannot reserve %zu bytes of host memory for the emulator", size);
	e->blocks[e->nblocks++] = (struct emu_block){.mem = m, .size = size};
	*mem = m;
	return 0;
}

int emu_map_region(struct pv_emu *e, uint64_t addr, uint64_t size, uint32_t prot,
                   enum emu_kind kind, uint8_t *host, const uint8_t *pristine,
                   struct pv_error *err)
{
	if (e->nregions == sizeof(e->regions) / sizeof(e->regions[0]))
		return pv_error_set(err, PV_EUNSUPPORTED,
		                    "%s has too many segments for the emu backend", e->target_path);
	uc_err ue = uc_mem_map_ptr(e->uc, addr, (size_t)size, prot, host);
	if (ue != UC_ERR_OK)
		return pv_error_set(err, PV_EUNSUPPORTED,
		                    "the emulator cannot map 0x%llx..0x%llx (%s); does %s load "
		                    "where the emu backend keeps its own regions?",
		                    (unsigned long long)addr, (unsigned long long)(addr + size),
		                    uc_strerror(ue), e->target_path);
	/* Keep the table sorted by address. */
	size_t i = e->nregions;
	while (i > 0 && e->regions[i - 1].addr > addr) {
		e->regions[i] = e->regions[i - 1];
		i--;
	}
	e->regions[i] = (struct emu_region){.addr = addr, .size = size, .host = host,
	                                    .pristine = pristine, .prot = prot, .kind = kind};
	e->nregions++;
	return 0;
}

struct emu_region *emu_region_at(struct pv_emu *e, uint64_t addr)
{
	size_t lo = 0, hi = e->nregions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct emu_region *r = &e->regions[mid];
		if (addr < r->addr)
			hi = mid;
		else if (addr - r->addr >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool emu_stack_grow(struct pv_emu *e, uint64_t addr)
{
	for (unsigned i = 0; i < e->nthreads; i++) {
		struct emu_thread *t = &e->threads[i];
		if (addr < t->stack_lo || addr >= t->stack_mapped)
			continue;
		if (emu_map_region(e, t->stack_lo, t->stack_mapped - t->stack_lo,
		                   UC_PROT_READ | UC_PROT_WRITE, EMU_R_STACK, t->stack_host, NULL,
		                   NULL))
			return false;
		t->stack_mapped = t->stack_lo;
		return true;
	}
	return false;
}

/* The region holding addr and how many contiguous bytes (host and guest)
 * follow it, across adjacent regions of one block. A stack is all there for
 * the harness too, mapped or not yet. */
static struct emu_region *span_at(struct pv_emu *e, uint64_t addr, uint64_t *avail)
{
	struct emu_region *r = emu_region_at(e, addr);
	if (!r && emu_stack_grow(e, addr))
		r = emu_region_at(e, addr);
	if (!r)
		return NULL;
	uint64_t n = r->addr + r->size - addr;
	for (const struct emu_region *q = r; q + 1 < e->regions + e->nregions; q++) {
		const struct emu_region *next = q + 1;
		if (next->addr != q->addr + q->size || next->host != q->host + q->size ||
		    (next->pristine == NULL) != (q->pristine == NULL) ||
		    (q->pristine && next->pristine != q->pristine + q->size))
			break;
		n += next->size;
	}
	*avail = n;
	return r;
}

uint8_t *emu_host(struct pv_emu *e, uint64_t addr, uint64_t len)
{
	uint64_t avail;
	struct emu_region *r = span_at(e, addr, &avail);
	if (!r || len > avail)
		return NULL;
	return r->host + (addr - r->addr);
}

const uint8_t *emu_pristine(struct pv_emu *e, uint64_t addr, uint64_t len)
{
	uint64_t avail;
	struct emu_region *r = span_at(e, addr, &avail);
	if (!r || !r->pristine || len > avail)
		return NULL;
	return r->pristine + (addr - r->addr);
}

bool emu_is_exec(struct pv_emu *e, uint64_t addr)
{
	const struct emu_region *r = emu_region_at(e, addr);
	return r && (r->kind == EMU_R_TARGET || r->kind == EMU_R_PATCH || r->kind == EMU_R_NEAR ||
	             r->kind == EMU_R_SENTINEL);
}

/* Translations can exist only where a fetch succeeds: pages loaded
 * executable, the engine's mappings, or any image page once the engine made
 * some page executable (Unicorn refuses to fetch from a page without exec). */
static bool may_hold_code(const struct pv_emu *e, const struct emu_region *r)
{
	if (r->kind == EMU_R_NEAR)
		return true;
	bool image = r->kind == EMU_R_TARGET || r->kind == EMU_R_PATCH ||
	             r->kind == EMU_R_SENTINEL;
	return image && ((r->prot & UC_PROT_EXEC) || e->exec_granted);
}

void emu_flush_stale(struct pv_emu *e)
{
	for (size_t i = 0; i < e->nstale; i++)
		uc_ctl_remove_cache(e->uc, e->stale[i].lo, e->stale[i].hi);
	e->nstale = 0;
}

void emu_code_changed(struct pv_emu *e, uint64_t addr, uint64_t len)
{
	while (len) {
		uint64_t page = addr & ~(EMU_PAGE - 1);
		uint64_t n = page + EMU_PAGE - addr;
		if (n > len)
			n = len;
		const struct emu_region *r = emu_region_at(e, addr);
		if (r && may_hold_code(e, r)) {
			size_t i = 0;
			while (i < e->nstale && (e->stale[i].lo & ~(EMU_PAGE - 1)) != page)
				i++;
			if (i < e->nstale) {
				if (addr < e->stale[i].lo)
					e->stale[i].lo = addr;
				if (addr + n > e->stale[i].hi)
					e->stale[i].hi = addr + n;
			} else {
				if (e->nstale == EMU_STALE_MAX)
					emu_flush_stale(e);
				e->stale[e->nstale++] = (struct emu_stale){.lo = addr, .hi = addr + n};
			}
		}
		addr += n;
		len -= n;
	}
}

int emu_read(struct pv_emu *e, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len) {
		uint64_t avail;
		struct emu_region *r = span_at(e, addr, &avail);
		if (!r)
			return PV_EFAULT;
		size_t n = len < avail ? len : (size_t)avail;
		memcpy(out, r->host + (addr - r->addr), n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

static void dirty_add(struct pv_emu *e, uint64_t addr, uint64_t len)
{
	struct emu_run *r = &e->run;
	if (r->ndirty && r->dirty[r->ndirty - 1].addr + r->dirty[r->ndirty - 1].len == addr) {
		r->dirty[r->ndirty - 1].len += len;
		return;
	}
	if (r->ndirty == EMU_DIRTY_MAX) {
		r->dirty_overflow = true;
		return;
	}
	r->dirty[r->ndirty++] = (struct emu_range){.addr = addr, .len = len};
}

int emu_store(struct pv_emu *e, uint64_t addr, const void *buf, size_t len)
{
	/* All or nothing: check the whole range first. */
	for (uint64_t a = addr, left = len; left;) {
		uint64_t avail;
		if (!span_at(e, a, &avail))
			return PV_EFAULT;
		uint64_t n = left < avail ? left : avail;
		a += n;
		left -= n;
	}
	const uint8_t *in = buf;
	while (len) {
		uint64_t avail;
		struct emu_region *r = span_at(e, addr, &avail);
		size_t n = len < avail ? len : (size_t)avail;
		memcpy(r->host + (addr - r->addr), in, n);
		dirty_add(e, addr, n);
		emu_code_changed(e, addr, n);
		in += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/* Puts [addr, addr + len) of r back to its pristine bytes (or zeros) when
 * they differ, dropping translations of code. Equal bytes need no flush:
 * every change since the cached translation was made is already pending. */
static void restore(struct pv_emu *e, struct emu_region *r, uint64_t addr, uint64_t len)
{
	uint8_t *h = r->host + (addr - r->addr);
	if (r->pristine) {
		const uint8_t *p = r->pristine + (addr - r->addr);
		if (!memcmp(h, p, len))
			return;
		memcpy(h, p, len);
	} else {
		memset(h, 0, len);
	}
	emu_code_changed(e, addr, len);
}

static void restore_range(struct pv_emu *e, uint64_t addr, uint64_t len)
{
	while (len) {
		struct emu_region *r = emu_region_at(e, addr);
		if (!r)
			return;
		uint64_t n = r->addr + r->size - addr;
		if (n > len)
			n = len;
		restore(e, r, addr, n);
		addr += n;
		len -= n;
	}
}

void emu_reset_memory(struct pv_emu *e)
{
	struct emu_run *run = &e->run;
	for (size_t i = 0; i < e->nregions; i++) {
		struct emu_region *r = &e->regions[i];
		bool code = r->kind == EMU_R_TARGET || r->kind == EMU_R_PATCH ||
		            r->kind == EMU_R_SENTINEL || r->kind == EMU_R_WORKLOAD;
		/* The images' data, which the target itself writes. */
		if (code && ((r->prot & UC_PROT_WRITE) || run->dirty_overflow))
			restore(e, r, r->addr, r->size);
		else if (r->kind == EMU_R_STACK || r->kind == EMU_R_SLOTS)
			memset(r->host, 0, (size_t)r->size);
		else if (r->kind == EMU_R_HEAP)
			memset(r->host, 0, (size_t)run->heap_used);
	}
	if (!run->dirty_overflow)
		for (size_t i = 0; i < run->ndirty; i++)
			restore_range(e, run->dirty[i].addr, run->dirty[i].len);
	for (size_t i = 0; i < run->nmaps; i++) {
		uint8_t *h = emu_host(e, run->maps[i].addr, run->maps[i].len);
		if (h)
			memset(h, 0, (size_t)run->maps[i].len);
		emu_code_changed(e, run->maps[i].addr, run->maps[i].len);
		emu_flush_stale(e);
		uc_mem_protect(e->uc, run->maps[i].addr, (size_t)run->maps[i].len, UC_PROT_NONE);
	}
	/* Protections the engine changed go back to the loaded ones. */
	for (size_t i = 0; i < e->nregions && (run->nprots || run->prots_overflow); i++) {
		struct emu_region *r = &e->regions[i];
		if (r->kind == EMU_R_NEAR)
			continue;
		bool touched = run->prots_overflow;
		for (size_t k = 0; k < run->nprots && !touched; k++)
			touched = run->prots[k].addr < r->addr + r->size &&
			          r->addr < run->prots[k].addr + run->prots[k].len;
		if (touched) {
			emu_flush_stale(e);
			uc_mem_protect(e->uc, r->addr, (size_t)r->size, r->prot);
		}
	}
	run->ndirty = 0;
	run->dirty_overflow = false;
	run->nmaps = 0;
	run->nprots = 0;
	run->prots_overflow = false;
	run->heap_used = 0;
}
