/* The memory layout of the emu backend, built once by pv_emu_open:
 *
 *   target PT_LOAD segments   at their link addresses (static ET_EXEC)
 *   patch image               next 1 MiB boundary after the target
 *   engine mappings           next 1 MiB boundary after the patch, 1 MiB,
 *                             PROT_NONE until map_near hands pages out
 *   runtime (EMU_RT_BASE)     hlt sentinel page, workload page, slot page,
 *                             heap, one 64 KiB stack per thread
 *
 * Everything is host memory mapped with uc_mem_map_ptr, with a pristine copy
 * of every loaded byte for resets. Also builds the patch description for
 * engine->plan, the function table, the hot windows and the judges. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "calls.h"
#include "internal.h"

#define MIB 0x100000ull
#define GIB2 0x80000000ull
/* Hot window margin around a replaced function's entry (DESIGN: +-16). */
#define HOT_MARGIN 16
#define HOT_MIN_SIZE 32

static uint64_t page_down(uint64_t a)
{
	return a & ~(EMU_PAGE - 1);
}

static uint64_t page_up(uint64_t a)
{
	return (a + EMU_PAGE - 1) & ~(EMU_PAGE - 1);
}

static uint32_t uc_prot_of(uint32_t pflags)
{
	return ((pflags & PF_R) ? UC_PROT_READ : 0) | ((pflags & PF_W) ? UC_PROT_WRITE : 0) |
	       ((pflags & PF_X) ? UC_PROT_EXEC : 0);
}

/* Maps the pages of [lo, hi) (host at host + (addr - lo)) grouped by equal
 * protection, which is the OR of every segment covering a page. Pages no
 * segment covers stay unmapped. */
static int map_segments(struct pv_emu *e, const struct pv_segment *seg, size_t nseg,
                        uint64_t bias, uint64_t lo, uint64_t hi, uint8_t *host,
                        const uint8_t *pristine, enum emu_kind kind, struct pv_error *err)
{
	uint64_t run_start = 0;
	uint32_t run_prot = 0;
	for (uint64_t p = lo; p <= hi; p += EMU_PAGE) {
		uint32_t prot = 0;
		bool covered = false;
		for (size_t i = 0; p < hi && i < nseg; i++) {
			uint64_t s = page_down(seg[i].vaddr + bias);
			uint64_t t = page_up(seg[i].vaddr + bias + seg[i].memsz);
			if (p >= s && p < t) {
				covered = true;
				prot |= uc_prot_of(seg[i].flags);
			}
		}
		/* A segment without any permission still occupies its pages. */
		if (covered && prot == 0)
			prot = UC_PROT_READ;
		if (run_prot && prot != run_prot) {
			int rc = emu_map_region(e, run_start, p - run_start, run_prot, kind,
			                        host + (run_start - lo), pristine + (run_start - lo),
			                        err);
			if (rc)
				return rc;
			run_prot = 0;
		}
		if (prot && !run_prot) {
			run_start = p;
			run_prot = prot;
		}
	}
	return 0;
}

static int load_target(struct pv_emu *e, struct pv_error *err)
{
	const struct pv_image *img = e->target;
	const char *path = e->target_path;
	if (img->elf_type != ET_EXEC || img->dynamic)
		return pv_error_set(err, PV_EUNSUPPORTED,
		                    "%s is a %s program; the emu backend runs static freestanding "
		                    "builds of targets, such as build/corpora/emu/counter-plain "
		                    "(built by `make corpora`)",
		                    path,
		                    img->dynamic ? "dynamically linked"
		                                 : "position-independent (ET_DYN)");
	if (img->nsegments == 0)
		return pv_error_set(err, PV_EFORMAT, "%s has no loadable segment", path);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct pv_segment *s = &img->segments[i];
		if (s->filesz > s->memsz || s->offset > img->nbytes ||
		    s->filesz > img->nbytes - s->offset || s->vaddr + s->memsz < s->vaddr)
			return pv_error_set(err, PV_EFORMAT,
			                    "%s: segment %zu lies outside the file or wraps around",
			                    path, i);
		if (page_down(s->vaddr) < lo)
			lo = page_down(s->vaddr);
		if (page_up(s->vaddr + s->memsz) > hi)
			hi = page_up(s->vaddr + s->memsz);
	}
	if (lo < 0x10000 || hi - lo > 0x40000000ull || hi + 4 * MIB > EMU_RT_BASE)
		return pv_error_set(err, PV_EUNSUPPORTED,
		                    "%s loads at 0x%llx..0x%llx; the emu backend needs a target "
		                    "of at most 1 GiB between 64 KiB and 0x%llx",
		                    path, (unsigned long long)lo, (unsigned long long)hi,
		                    (unsigned long long)(EMU_RT_BASE - 4 * MIB));
	uint8_t *host;
	int rc = emu_block_new(e, (size_t)(hi - lo), &host, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct pv_segment *s = &img->segments[i];
		memcpy(host + (s->vaddr - lo), img->bytes + s->offset, (size_t)s->filesz);
	}
	uint8_t *pristine;
	rc = emu_block_new(e, (size_t)(hi - lo), &pristine, err);
	if (rc)
		return rc;
	memcpy(pristine, host, (size_t)(hi - lo));
	e->target_lo = lo;
	e->target_hi = hi;
	e->text_lo = UINT64_MAX;
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct pv_segment *s = &img->segments[i];
		if (!(s->flags & PF_X))
			continue;
		if (s->vaddr < e->text_lo)
			e->text_lo = s->vaddr;
		if (s->vaddr + s->memsz > e->text_hi)
			e->text_hi = s->vaddr + s->memsz;
	}
	if (e->text_lo == UINT64_MAX)
		return pv_error_set(err, PV_EFORMAT, "%s has no executable segment", path);
	return map_segments(e, img->segments, img->nsegments, 0, lo, hi, host, pristine,
	                    EMU_R_TARGET, err);
}

static int load_patch(struct pv_emu *e, struct pv_error *err)
{
	const struct pv_patch *p = e->patch;
	uint64_t base = (e->target_hi + MIB - 1) & ~(MIB - 1);
	uint64_t span = p->span ? p->span : EMU_PAGE;
	if (base + span + MIB - e->text_lo >= GIB2)
		return pv_error_set(err, PV_ERANGE,
		                    "%s: the patch image (0x%llx bytes) does not fit within 2 GiB "
		                    "of the target's code, so a jmp rel32 could not reach it",
		                    e->patch_path, (unsigned long long)span);
	unsigned char *image = NULL;
	int rc = pv_patch_relocate(p, e->target, 0, base, &image, err);
	if (rc)
		return rc;
	uint8_t *host, *pristine;
	rc = emu_block_new(e, (size_t)span, &host, err);
	if (!rc)
		rc = emu_block_new(e, (size_t)span, &pristine, err);
	if (rc) {
		free(image);
		return rc;
	}
	memcpy(host, image, (size_t)p->span);
	memcpy(pristine, image, (size_t)p->span);
	free(image);
	e->patch_base = base;
	e->patch_size = span;
	return map_segments(e, p->image->segments, p->image->nsegments, base - p->min_vaddr, base,
	                    base + span, host, pristine, EMU_R_PATCH, err);
}

/* A sequence's other patches, each at the next 1 MiB boundary. */
static int load_extras(struct pv_emu *e, struct pv_error *err)
{
	if (e->cfg.nextra > EMU_EXTRA_MAX)
		return pv_error_set(err, PV_EINVAL, "the emu backend holds at most %d patches in a "
		                                    "sequence", EMU_EXTRA_MAX + 1);
	uint64_t end = e->patch_base + e->patch_size;
	for (size_t i = 0; i < e->cfg.nextra; i++, e->nextra++) {
		struct emu_extra *x = &e->extra[i];
		if (!(x->path = strdup(e->cfg.extra_patches[i])))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		int rc = pv_patch_open(x->path, &x->patch, err);
		if (rc)
			return rc;
		const struct pv_patch *p = x->patch;
		uint64_t base = (end + MIB - 1) & ~(MIB - 1);
		uint64_t span = p->span ? p->span : EMU_PAGE;
		if (base + span + MIB - e->text_lo >= GIB2)
			return pv_error_set(err, PV_ERANGE, "%s does not fit within 2 GiB of the "
			                                    "target's code", x->path);
		unsigned char *image = NULL;
		if ((rc = pv_patch_relocate(p, e->target, 0, base, &image, err)))
			return rc;
		uint8_t *host, *pristine;
		rc = emu_block_new(e, (size_t)span, &host, err);
		if (!rc)
			rc = emu_block_new(e, (size_t)span, &pristine, err);
		if (!rc) {
			memcpy(host, image, (size_t)p->span);
			memcpy(pristine, image, (size_t)p->span);
		}
		free(image);
		if (!rc)
			rc = map_segments(e, p->image->segments, p->image->nsegments,
			                  base - p->min_vaddr, base, base + span, host, pristine,
			                  EMU_R_PATCH, err);
		if (rc)
			return rc;
		x->base = base;
		x->size = span;
		end = base + span;
	}
	return 0;
}

static int load_runtime(struct pv_emu *e, struct pv_error *err)
{
	uint8_t *near;
	uint64_t end = e->nextra ? e->extra[e->nextra - 1].base + e->extra[e->nextra - 1].size
	                         : e->patch_base + e->patch_size;
	e->near_base = (end + MIB - 1) & ~(MIB - 1);
	int rc = emu_block_new(e, EMU_NEAR_SIZE, &near, err);
	if (!rc)
		rc = emu_map_region(e, e->near_base, EMU_NEAR_SIZE, UC_PROT_NONE, EMU_R_NEAR, near,
		                    NULL, err);
	if (rc)
		return rc;

	/* Sentinel, workload and slot pages: one block, three mappings. */
	uint8_t *rt;
	rc = emu_block_new(e, 3 * EMU_PAGE, &rt, err);
	if (rc)
		return rc;
	uint8_t *pristine;
	rc = emu_block_new(e, 2 * EMU_PAGE, &pristine, err);
	if (rc)
		return rc;
	memset(rt, 0xf4, EMU_PAGE); /* hlt */
	memcpy(rt + EMU_PAGE, &e->cfg.workload, sizeof(e->cfg.workload));
	memcpy(pristine, rt, 2 * EMU_PAGE);
	rc = emu_map_region(e, EMU_SENTINEL, EMU_PAGE, UC_PROT_READ | UC_PROT_EXEC,
	                    EMU_R_SENTINEL, rt, pristine, err);
	if (!rc)
		rc = emu_map_region(e, EMU_WORKLOAD, EMU_PAGE, UC_PROT_READ, EMU_R_WORKLOAD,
		                    rt + EMU_PAGE, pristine + EMU_PAGE, err);
	if (!rc)
		rc = emu_map_region(e, EMU_SLOTS, EMU_PAGE, UC_PROT_READ | UC_PROT_WRITE,
		                    EMU_R_SLOTS, rt + 2 * EMU_PAGE, NULL, err);
	if (rc)
		return rc;

	uint8_t *heap;
	rc = emu_block_new(e, EMU_HEAP_SIZE, &heap, err);
	if (!rc)
		rc = emu_map_region(e, EMU_HEAP, EMU_HEAP_SIZE, UC_PROT_READ | UC_PROT_WRITE,
		                    EMU_R_HEAP, heap, NULL, err);
	if (rc)
		return rc;

	uint8_t *stacks;
	rc = emu_block_new(e, e->nthreads * EMU_STACK_SIZE, &stacks, err);
	for (unsigned i = 0; !rc && i < e->nthreads; i++) {
		uint64_t top = EMU_STACKS + (i + 1) * EMU_STACK_STRIDE;
		struct emu_thread *t = &e->threads[i];
		t->stack_lo = top - EMU_STACK_SIZE;
		t->stack_hi = top;
		t->stack_mapped = top - EMU_STACK_EAGER;
		t->stack_host = stacks + i * EMU_STACK_SIZE;
		rc = emu_map_region(e, t->stack_mapped, EMU_STACK_EAGER,
		                    UC_PROT_READ | UC_PROT_WRITE, EMU_R_STACK,
		                    t->stack_host + (EMU_STACK_SIZE - EMU_STACK_EAGER), NULL, err);
	}
	return rc;
}

static int cmp_func(const void *a, const void *b)
{
	const struct emu_func *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Prefer the larger symbol at one address, then the target's. */
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return (int)y->target - (int)x->target;
}

/* Every sized function symbol of target and patch, sorted, one per address. */
static int build_functions(struct pv_emu *e, struct pv_error *err)
{
	const struct pv_image *t = e->target, *p = e->patch->image;
	e->fn = calloc(t->nsymbols + p->nsymbols + 1, sizeof(*e->fn));
	if (!e->fn)
		return pv_error_set(err, PV_ENOMEM, "out of memory listing functions");
	for (int which = 0; which < 2; which++) {
		const struct pv_image *img = which ? p : t;
		for (size_t i = 0; i < img->nsymbols; i++) {
			const struct pv_symbol *s = &img->symbols[i];
			if ((s->type != STT_FUNC && s->type != STT_GNU_IFUNC) ||
			    s->shndx == SHN_UNDEF || s->size == 0)
				continue;
			uint64_t a = which ? e->patch_base + s->value - e->patch->min_vaddr : s->value;
			e->fn[e->nfn++] = (struct emu_func){
				.name = s->name, .addr = a, .size = s->size, .target = !which};
		}
	}
	qsort(e->fn, e->nfn, sizeof(*e->fn), cmp_func);
	size_t n = 0;
	for (size_t i = 0; i < e->nfn; i++)
		if (n == 0 || e->fn[i].addr != e->fn[n - 1].addr)
			e->fn[n++] = e->fn[i];
	e->nfn = n;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_hot(const void *a, const void *b)
{
	const struct emu_hot *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The judge reads code from the host blocks directly, so a window may reach
 * into unmapped gaps (which read as zeros) without failing. */
static int judge_read(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	struct pv_emu *e = ctx;
	if (emu_read(e, addr, buf, len) == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		const uint8_t *h = emu_host(e, addr + i, 1);
		buf[i] = h ? *h : 0;
	}
	return 0;
}

/* consistency for thread and call engines: the versions of every replaced
 * function, and the return sites of the replacements. */
static int version_judges(struct pv_emu *e, struct pv_error *err)
{
	size_t n = e->view.desc.nfuncs, nv = 0, ng = 0;
	struct pv_version_func_spec *v = calloc(n ? n : 1, sizeof(*v));
	struct pv_global_func_spec *g = calloc(n ? n : 1, sizeof(*g));
	int rc = 0;
	if (!v || !g)
		rc = pv_error_set(err, PV_ENOMEM, "out of memory preparing the consistency check");
	for (size_t i = 0; !rc && i < n; i++) {
		const struct pv_patch_func *f = &e->view.funcs[i];
		const uint8_t *code = f->old_addr ? emu_pristine(e, f->old_addr, f->old_size) : NULL;
		uint64_t nsize = f->new_size ? f->new_size : 1;
		if (!code || !f->old_size)
			continue;
		v[nv++] = (struct pv_version_func_spec){
			.name = f->old_name, .old_lo = f->old_addr, .old_hi = f->old_addr + f->old_size,
			.old_code = code, .new_lo = f->new_addr, .new_hi = f->new_addr + nsize};
		const uint8_t *ncode = f->new_size ? emu_pristine(e, f->new_addr, f->new_size) : NULL;
		if (ncode)
			g[ng++] = (struct pv_global_func_spec){
				.name = f->new_name, .lo = f->new_addr, .hi = f->new_addr + f->new_size,
				.entry = f->new_addr, .size = f->new_size, .code = ncode};
	}
	if (!rc)
		rc = pv_version_judge_open(v, nv, e->nthreads, &e->version, err);
	if (!rc)
		rc = pv_global_judge_open(g, ng, &e->global_new, err);
	free(v);
	free(g);
	return rc;
}

/* Hot windows: each replaced function's entry -16 .. entry + max(size, 32)
 * + 16 (merged where they meet), the patch's code and the engine mapping
 * area. The first two are judged by torn-exec; engine mappings only get
 * preemption decisions (their contents have no known instruction layout). */
static int build_windows(struct pv_emu *e, struct pv_error *err)
{
	size_t n = e->view.desc.nfuncs;
	e->hot = calloc(n + 2, sizeof(*e->hot));
	uint64_t *anchors = calloc(2 * e->nfn + 1, sizeof(*anchors));
	struct pv_exec_window_spec *spec = calloc(n + 2, sizeof(*spec));
	struct pv_global_func_spec *gspec = calloc(n ? n : 1, sizeof(*gspec));
	int rc = 0;
	if (!e->hot || !anchors || !spec || !gspec) {
		rc = pv_error_set(err, PV_ENOMEM, "out of memory preparing hot windows");
		goto out;
	}
	size_t na = 0;
	for (size_t i = 0; i < e->nfn; i++) {
		anchors[na++] = e->fn[i].addr;
		anchors[na++] = e->fn[i].addr + e->fn[i].size;
	}
	qsort(anchors, na, sizeof(*anchors), cmp_u64);

	size_t nh = 0, ng = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pv_patch_func *f = &e->view.funcs[i];
		if (!f->old_addr)
			continue;
		uint64_t size = f->old_size > HOT_MIN_SIZE ? f->old_size : HOT_MIN_SIZE;
		uint64_t lo = f->old_addr - HOT_MARGIN, hi = f->old_addr + size + HOT_MARGIN;
		if (lo < e->target_lo)
			lo = e->target_lo;
		if (hi > e->target_hi)
			hi = e->target_hi;
		e->hot[nh++] = (struct emu_hot){.lo = lo, .hi = hi, .judge = 0};
		gspec[ng++] = (struct pv_global_func_spec){
			.name = f->old_name,
			.lo = f->old_addr - f->prologue.padding_before,
			.hi = f->old_addr + f->old_size,
			.entry = f->old_addr,
			.size = f->old_size,
			.code = emu_pristine(e, f->old_addr, f->old_size),
		};
		if (!gspec[ng - 1].code) {
			rc = pv_error_set(err, PV_EFORMAT,
			                  "%s: function %s (0x%llx, %llu bytes) is not inside one "
			                  "loaded segment",
			                  e->target_path, f->old_name, (unsigned long long)f->old_addr,
			                  (unsigned long long)f->old_size);
			goto out;
		}
	}
	qsort(e->hot, nh, sizeof(*e->hot), cmp_hot);
	size_t m = 0;
	for (size_t i = 0; i < nh; i++) {
		if (m && e->hot[i].lo <= e->hot[m - 1].hi) {
			if (e->hot[i].hi > e->hot[m - 1].hi)
				e->hot[m - 1].hi = e->hot[i].hi;
		} else {
			e->hot[m++] = e->hot[i];
		}
	}
	/* The patch's code: from its first function to the end of its last. */
	uint64_t plo = UINT64_MAX, phi = 0;
	for (size_t i = 0; i < e->nfn; i++) {
		if (e->fn[i].target)
			continue;
		if (e->fn[i].addr < plo)
			plo = e->fn[i].addr;
		if (e->fn[i].addr + e->fn[i].size > phi)
			phi = e->fn[i].addr + e->fn[i].size;
	}
	if (plo < phi)
		e->hot[m++] = (struct emu_hot){.lo = plo, .hi = phi, .judge = 0};
	for (size_t i = 0; i < m; i++) {
		spec[i] = (struct pv_exec_window_spec){
			.lo = e->hot[i].lo, .hi = e->hot[i].hi, .anchors = anchors, .nanchors = na};
		e->hot[i].judge = (int)i;
		/* A window needs an anchor at or below its start. */
		if (na == 0 || anchors[0] > e->hot[i].lo) {
			e->hot[i].lo = na ? anchors[0] : e->hot[i].hi;
			spec[i].lo = e->hot[i].lo;
		}
	}
	size_t njudged = m;
	e->hot[m++] = (struct emu_hot){.lo = e->near_base, .hi = e->near_base + EMU_NEAR_SIZE,
	                               .judge = -1};
	e->nhot = m;
	for (size_t i = 0; i < m; i++)
		e->hot[i].host = emu_host(e, e->hot[i].lo, e->hot[i].hi - e->hot[i].lo + 15);
	e->hot_lo = UINT64_MAX;
	for (size_t i = 0; i < m; i++) {
		if (e->hot[i].lo < e->hot_lo)
			e->hot_lo = e->hot[i].lo;
		if (e->hot[i].hi > e->hot_hi)
			e->hot_hi = e->hot[i].hi;
	}
	rc = pv_exec_judge_open(spec, njudged, judge_read, e, &e->exec, err);
	if (!rc)
		rc = pv_global_judge_open(gspec, ng, &e->global, err);
	if (!rc)
		rc = version_judges(e, err);
out:
	free(anchors);
	free(spec);
	free(gspec);
	return rc;
}

static int find_entry(struct pv_emu *e, const char *name, uint64_t *addr, uint64_t *size,
                      struct pv_error *err)
{
	const struct pv_symbol *s = pv_image_find_symbol(e->target, name, NULL);
	if (!s || s->shndx == SHN_UNDEF)
		return pv_error_set(err, PV_EUNSUPPORTED,
		                    "%s is not an emulator build of a patchvet target: it has no "
		                    "%s; use build/corpora/emu/NAME-FLAVOUR (built by `make "
		                    "corpora`), or link the target with corpora/runtime/emu.c",
		                    e->target_path, name);
	*addr = s->value;
	if (size)
		*size = s->size;
	return 0;
}

int emu_load(struct pv_emu *e, struct pv_error *err)
{
	int rc = pv_image_open(e->target_path, &e->target, err);
	if (!rc)
		rc = load_target(e, err);
	uint64_t size = 0;
	if (!rc)
		rc = find_entry(e, PV_EMU_CALL_SYMBOL, &e->emu_call, &size, err);
	if (!rc)
		rc = find_entry(e, "pv_worker", &e->worker_fn, NULL, err);
	if (!rc)
		rc = find_entry(e, "pv_verify", &e->verify_fn, NULL, err);
	if (rc)
		return rc;
	e->emu_call_end = e->emu_call + (size ? size : 16);
	rc = pv_patch_open(e->patch_path, &e->patch, err);
	if (!rc)
		rc = load_patch(e, err);
	if (!rc)
		rc = load_extras(e, err);
	if (!rc)
		rc = load_runtime(e, err);
	if (!rc)
		rc = build_functions(e, err);
	if (!rc)
		rc = pv_patch_describe(e->target, 0, e->patch, e->patch_path, e->patch_base, &e->view, err);
	for (size_t i = 0; !rc && i < e->nextra; i++)
		rc = pv_patch_describe(e->target, 0, e->extra[i].patch, e->extra[i].path,
		                       e->extra[i].base, &e->extra[i].view, err);
	if (!rc)
		rc = build_windows(e, err);
	return rc;
}
