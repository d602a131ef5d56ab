/* Patchability analysis with capstone: instruction boundaries, padding,
 * endbr64/fentry, RIP-relative operands and branches into prologues. */
#include "analysis.h"

#include <capstone/capstone.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char ENDBR64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
static const unsigned char FENTRY_NOP[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};

#define X86_MAX_INSN 15 /* longest legal x86 instruction, bytes */

/* One disassembler for one pv_analyze call. */
struct disasm {
	csh cs;
	cs_insn *insn; /* scratch for cs_disasm_iter, with detail */
	bool open;
};

/* A half-open code range [addr, end) of one function symbol. */
struct range {
	uint64_t addr, end;
};

/* One direct jump or call: where it goes and where it comes from. */
struct branch {
	uint64_t target, source;
};

struct branches {
	struct branch *v;
	size_t n, cap;
};

static int disasm_open(struct disasm *d, struct pv_error *err)
{
	memset(d, 0, sizeof(*d));
	cs_err e = cs_open(CS_ARCH_X86, CS_MODE_64, &d->cs);
	if (e != CS_ERR_OK)
		return pv_error_set(err, PV_EINTERNAL,
		                    "capstone could not open an x86-64 disassembler (%s); "
		                    "check that libcapstone 4 is installed with x86 support",
		                    cs_strerror(e));
	d->open = true;
	e = cs_option(d->cs, CS_OPT_DETAIL, CS_OPT_ON);
	if (e != CS_ERR_OK) {
		cs_close(&d->cs);
		d->open = false;
		return pv_error_set(err, PV_EINTERNAL,
		                    "capstone refused instruction details (%s); "
		                    "check the libcapstone installation",
		                    cs_strerror(e));
	}
	d->insn = cs_malloc(d->cs);
	if (!d->insn) {
		cs_close(&d->cs);
		d->open = false;
		return pv_error_set(err, PV_ENOMEM, "out of memory starting the disassembler");
	}
	return 0;
}

static void disasm_close(struct disasm *d)
{
	if (!d->open)
		return;
	cs_free(d->insn, 1);
	cs_close(&d->cs);
	d->open = false;
}

static bool is_rip_relative(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	for (uint8_t i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_RIP)
			return true;
	return false;
}

static bool is_padding(const cs_insn *insn)
{
	return insn->id == X86_INS_NOP || insn->id == X86_INS_INT3;
}

/* The target of a direct jump or call, false for anything else (indirect
 * branches through registers or memory cannot be resolved statically). */
static bool direct_target(const struct disasm *d, const cs_insn *insn, uint64_t *target)
{
	if (!cs_insn_group(d->cs, insn, CS_GRP_JUMP) && !cs_insn_group(d->cs, insn, CS_GRP_CALL))
		return false;
	const cs_x86 *x = &insn->detail->x86;
	if (x->op_count < 1 || x->operands[0].type != X86_OP_IMM)
		return false;
	*target = (uint64_t)x->operands[0].imm;
	return true;
}

static void prologue(const struct disasm *d, const unsigned char *code, size_t len,
                     uint64_t address, uint64_t size, struct pv_function_report *r)
{
	r->nboundaries = 0;
	r->first_insn_len = 0;
	r->endbr64 = false;
	r->fentry = false;
	r->nrip_relative = 0;
	r->hazards &= ~(PV_HAZARD_TOO_SHORT | PV_HAZARD_RIP_RELATIVE_PROLOGUE);
	if (size < PV_JUMP_LEN)
		r->hazards |= PV_HAZARD_TOO_SHORT;

	/* Only the function's own bytes, and no more than the last instruction
	 * that can start inside the window needs. */
	size_t n = len;
	if (n > size)
		n = (size_t)size;
	if (n > PV_PROLOGUE_WINDOW + X86_MAX_INSN - 1)
		n = PV_PROLOGUE_WINDOW + X86_MAX_INSN - 1;

	r->endbr64 = n >= sizeof(ENDBR64) && !memcmp(code, ENDBR64, sizeof(ENDBR64));
	size_t at = r->endbr64 ? sizeof(ENDBR64) : 0;
	r->fentry = n >= at + sizeof(FENTRY_NOP) &&
	            !memcmp(code + at, FENTRY_NOP, sizeof(FENTRY_NOP));

	const uint8_t *p = code;
	size_t left = n;
	uint64_t a = address;
	while (left > 0 && a - address < PV_PROLOGUE_WINDOW) {
		unsigned off = (unsigned)(a - address);
		/* An undecodable byte ends the list: what follows cannot be
		 * trusted to be an instruction boundary. */
		if (!cs_disasm_iter(d->cs, &p, &left, &a, d->insn))
			break;
		r->boundaries[r->nboundaries++] = (uint8_t)off;
		if (off == 0)
			r->first_insn_len = d->insn->size;
		if (off < PV_RIP_WINDOW && is_rip_relative(d->insn)) {
			r->rip_relative[r->nrip_relative++] = (uint8_t)off;
			/* The hazard is only for instructions overlapping the
			 * 5 bytes a jmp rel32 overwrites: an engine that moves
			 * them elsewhere must fix their displacement. RIP-relative
			 * instructions further on stay where they are and are only
			 * reported. */
			if (off < PV_JUMP_LEN)
				r->hazards |= PV_HAZARD_RIP_RELATIVE_PROLOGUE;
		}
	}
}

int pv_analyze_prologue(const unsigned char *code, size_t len, uint64_t address,
                        uint64_t size, struct pv_function_report *r, struct pv_error *err)
{
	if (!r || (!code && len > 0))
		return pv_error_set(err, PV_EINVAL,
		                    "pv_analyze_prologue needs a report and, when len > 0, code bytes");
	struct disasm d;
	int rc = disasm_open(&d, err);
	if (rc)
		return rc;
	prologue(&d, code, len, address, size, r);
	disasm_close(&d);
	return 0;
}

const char *pv_hazard_id(unsigned bit)
{
	switch (bit) {
	case PV_HAZARD_TOO_SHORT: return "too-short";
	case PV_HAZARD_BRANCH_INTO_PROLOGUE: return "branch-into-prologue";
	case PV_HAZARD_RIP_RELATIVE_PROLOGUE: return "rip-relative-prologue";
	case PV_HAZARD_DATA_LAYOUT_CHANGE: return "data-layout-change";
	case PV_HAZARD_MISSING_FUNCTION: return "missing-function";
	default: return NULL;
	}
}

static void function_report_free(struct pv_function_report *f)
{
	free(f->name);
	free(f->object);
	free(f->branch_sources);
}

static void patch_report_free(struct pv_patch_report *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nreplacements; i++) {
		free(p->replacements[i].old_name);
		free(p->replacements[i].new_name);
	}
	free(p->replacements);
	for (size_t i = 0; i < p->nchanged_objects; i++)
		free(p->changed_objects[i]);
	free(p->changed_objects);
	for (size_t i = 0; i < p->nmissing_functions; i++)
		free(p->missing_functions[i]);
	free(p->missing_functions);
	free(p);
}

void pv_analysis_free(struct pv_analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nfunctions; i++)
		function_report_free(&a->functions[i]);
	free(a->functions);
	patch_report_free(a->patch);
	free(a->target_path);
	free(a);
}

static int oom(const struct pv_image *img, struct pv_error *err)
{
	return pv_error_set(err, PV_ENOMEM, "out of memory while analysing %s", img->path);
}

static bool is_code_symbol(const struct pv_symbol *s)
{
	return (s->type == STT_FUNC || s->type == STT_GNU_IFUNC) && s->shndx != SHN_UNDEF &&
	       s->size > 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_branch(const void *a, const void *b)
{
	const struct branch *x = a, *y = b;
	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	return x->source < y->source ? -1 : x->source > y->source;
}

/* Every function symbol's code range, sorted, duplicates (.symtab and
 * .dynsym, aliases of one size) removed; and their ends, sorted. */
static int code_ranges(const struct pv_image *img, struct range **ranges, uint64_t **ends,
                       size_t *n, struct pv_error *err)
{
	size_t count = 0;
	for (size_t i = 0; i < img->nsymbols; i++)
		count += is_code_symbol(&img->symbols[i]);
	struct range *r = malloc((count ? count : 1) * sizeof(*r));
	uint64_t *e = malloc((count ? count : 1) * sizeof(*e));
	if (!r || !e) {
		free(r);
		free(e);
		return oom(img, err);
	}
	size_t k = 0;
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		if (is_code_symbol(s))
			r[k++] = (struct range){s->value, s->value + s->size};
	}
	qsort(r, k, sizeof(*r), cmp_range);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || r[i].addr != r[u - 1].addr || r[i].end != r[u - 1].end)
			r[u++] = r[i];
	for (size_t i = 0; i < u; i++)
		e[i] = r[i].end;
	qsort(e, u, sizeof(*e), cmp_u64);
	*ranges = r;
	*ends = e;
	*n = u;
	return 0;
}

static int branch_add(struct branches *b, uint64_t target, uint64_t source)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct branch *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return PV_ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (struct branch){target, source};
	return 0;
}

static bool is_legacy_prefix(uint8_t b)
{
	return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
	       b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3;
}

/* Bytes taken by a ModRM byte with its SIB and displacement, 0 when n is
 * too short. */
static size_t modrm_length(const uint8_t *p, size_t n)
{
	if (n < 1)
		return 0;
	uint8_t mod = p[0] >> 6, rm = p[0] & 7;
	size_t i = 1, disp = 0;
	if (mod != 3 && rm == 4) {
		if (n < 2)
			return 0;
		if (mod == 0 && (p[1] & 7) == 5)
			disp = 4;
		i++;
	}
	if (mod == 1)
		disp = 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		disp = 4;
	i += disp;
	return i <= n ? i : 0;
}

/* Length of an instruction capstone 4.0.2 cannot decode although it is
 * valid, or 0 when p holds something else. Two families reach glibc code:
 * VEX/EVEX encodings of AVX-512 (opmask k* instructions, AVX512BW compares;
 * capstone issue #1211, fixed only in 5.0) and the 0f 01 / 0f 18..1f ModRM
 * spaces of CET shadow-stack instructions (rdsspq is f3 48 0f 1e c8).
 * Skipping such an instruction whole keeps a linear scan in step; skipping
 * one byte would decode its tail as bogus instructions, branches included. */
static size_t fallback_length(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && i < X86_MAX_INSN && is_legacy_prefix(p[i]))
		i++;
	if (i >= n)
		return 0;
	size_t m;
	if (p[i] == 0xc5 || p[i] == 0xc4 || p[i] == 0x62) {
		unsigned map;
		size_t plen = p[i] == 0xc5 ? 2 : p[i] == 0xc4 ? 3 : 4;
		if (i + plen + 1 > n)
			return 0;
		map = p[i] == 0xc5 ? 1 : p[i] == 0xc4 ? p[i + 1] & 0x1fu : p[i + 1] & 0x07u;
		i += plen;
		uint8_t op = p[i++];
		if (map == 1 && op == 0x77) /* vzeroupper/vzeroall: no ModRM */
			return i;
		if (!(m = modrm_length(p + i, n - i)))
			return 0;
		i += m;
		if (map == 3 || (map == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xc2 ||
		                              (op >= 0xc4 && op <= 0xc6))))
			i += 1; /* imm8 */
	} else {
		if ((p[i] & 0xf0) == 0x40) /* REX */
			i++;
		if (i + 2 > n || p[i] != 0x0f ||
		    !(p[i + 1] == 0x01 || (p[i + 1] >= 0x18 && p[i + 1] <= 0x1f)))
			return 0;
		i += 2;
		if (!(m = modrm_length(p + i, n - i)))
			return 0;
		i += m;
	}
	return i <= n && i <= X86_MAX_INSN ? i : 0;
}

/* Steps over bytes capstone cannot decode: a whole instruction when
 * fallback_length knows it, else one byte. */
static void skip_undecodable(const uint8_t **p, size_t *left, uint64_t *a)
{
	size_t k = fallback_length(*p, *left);
	if (k == 0)
		k = 1;
	*p += k;
	*left -= k;
	*a += k;
}

/* Decodes [from, to) linearly, stepping over what does not decode, and
 * records every direct jump or call. */
static int scan_range(const struct disasm *d, const struct pv_image *img, uint64_t from,
                      uint64_t to, struct branches *b)
{
	size_t avail = 0;
	const uint8_t *p = from < to ? pv_image_at(img, from, &avail) : NULL;
	if (!p)
		return 0;
	size_t left = avail < to - from ? avail : (size_t)(to - from);
	uint64_t a = from;
	while (left > 0) {
		if (!cs_disasm_iter(d->cs, &p, &left, &a, d->insn)) {
			skip_undecodable(&p, &left, &a);
			continue;
		}
		uint64_t t;
		if (direct_target(d, d->insn, &t) && branch_add(b, t, d->insn->address))
			return PV_ENOMEM;
	}
	return 0;
}

/* Every direct branch of every executable section, sorted by target.
 * Function ranges are decoded exactly from their entries (so boundaries
 * agree with the symbol table), the gaps between them linearly. */
static int scan_branches(const struct disasm *d, const struct pv_image *img,
                         const struct range *ranges, size_t nranges, struct branches *b,
                         struct pv_error *err)
{
	for (size_t si = 0; si < img->nsections; si++) {
		const struct pv_section *sec = &img->sections[si];
		if (sec->type == SHT_NOBITS || !(sec->flags & SHF_ALLOC) ||
		    !(sec->flags & SHF_EXECINSTR) || sec->size == 0)
			continue;
		uint64_t lo = sec->addr, hi = sec->addr + sec->size, cursor = lo;
		for (size_t i = 0; i < nranges; i++) {
			if (ranges[i].addr < lo || ranges[i].addr >= hi)
				continue;
			uint64_t end = ranges[i].end < hi ? ranges[i].end : hi;
			if (ranges[i].addr > cursor && scan_range(d, img, cursor, ranges[i].addr, b))
				return oom(img, err);
			if (scan_range(d, img, ranges[i].addr, end, b))
				return oom(img, err);
			if (end > cursor)
				cursor = end;
		}
		if (scan_range(d, img, cursor, hi, b))
			return oom(img, err);
	}
	if (b->n == 0)
		return 0; /* b->v is NULL, which qsort must not see */
	qsort(b->v, b->n, sizeof(*b->v), cmp_branch);
	size_t u = 0;
	for (size_t i = 0; i < b->n; i++)
		if (u == 0 || cmp_branch(&b->v[i], &b->v[u - 1]))
			b->v[u++] = b->v[i];
	b->n = u;
	return 0;
}

/* Records the sources of branches landing strictly inside the first 5 bytes:
 * a branch to the entry itself is harmless (it lands on the new jmp), one to
 * bytes 1..4 lands in the middle of it. */
static int branches_into(const struct branches *b, struct pv_function_report *f)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->v[mid].target <= f->address)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < b->n && b->v[end].target < f->address + PV_JUMP_LEN)
		end++;
	if (end == lo)
		return 0;
	f->branch_sources = malloc((end - lo) * sizeof(*f->branch_sources));
	if (!f->branch_sources)
		return PV_ENOMEM;
	for (size_t i = lo; i < end; i++)
		f->branch_sources[f->nbranch_sources++] = b->v[i].source;
	qsort(f->branch_sources, f->nbranch_sources, sizeof(uint64_t), cmp_u64);
	f->hazards |= PV_HAZARD_BRANCH_INTO_PROLOGUE;
	return 0;
}

/* NOP and int3 bytes that end exactly at entry. Decoding starts at a known
 * instruction boundary, the end of the preceding function (or the start of
 * the section), rather than at a fixed distance back, which could land in
 * the middle of an instruction and mistake its tail for padding; the gaps
 * of successive functions do not overlap, so this stays linear overall. */
static unsigned padding_before(const struct disasm *d, const struct pv_image *img,
                               uint64_t entry, const uint64_t *ends, size_t nends)
{
	size_t lo = 0, hi = nends;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ends[mid] <= entry)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct pv_section *sec = pv_image_section_at(img, entry);
	bool known = lo > 0 || sec;
	uint64_t from = lo > 0 ? ends[lo - 1] : 0;
	if (sec && sec->addr > from)
		from = sec->addr;
	if (!known || from >= entry)
		return 0;
	size_t avail = 0;
	const uint8_t *p = pv_image_at(img, from, &avail);
	if (!p || avail < entry - from)
		return 0;
	size_t left = (size_t)(entry - from);
	uint64_t a = from;
	uint64_t run = 0;
	while (left > 0) {
		if (!cs_disasm_iter(d->cs, &p, &left, &a, d->insn)) {
			skip_undecodable(&p, &left, &a);
			run = 0;
			continue;
		}
		run = is_padding(d->insn) ? run + d->insn->size : 0;
	}
	return (unsigned)run;
}

/* The function symbol of target called name, or NULL (absent, not a
 * function, or ambiguous between several local definitions). */
static const struct pv_symbol *target_function(const struct pv_image *target, const char *name)
{
	const struct pv_symbol *s = NULL;
	struct pv_error scratch; /* absence is an answer here, not an error */
	if (pv_image_find_function(target, name, &s, &scratch))
		return NULL;
	return s;
}

static int cmp_function_ptr(const void *a, const void *b)
{
	const struct pv_symbol *x = *(const struct pv_symbol *const *)a;
	const struct pv_symbol *y = *(const struct pv_symbol *const *)b;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The symbols to report, sorted by address and deduplicated by address and
 * name (a function usually appears in both .symtab and .dynsym). */
static int select_functions(const struct pv_image *target, const struct pv_patch *patch,
                            const char *const *names, size_t nnames,
                            const struct pv_symbol ***out, size_t *nout, struct pv_error *err)
{
	size_t cap = nnames > 0 ? nnames : patch ? patch->nreplacements : target->nsymbols;
	const struct pv_symbol **v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v)
		return oom(target, err);
	size_t n = 0;
	if (nnames > 0) {
		for (size_t i = 0; i < nnames; i++) {
			int rc = pv_image_find_function(target, names[i], &v[n], err);
			if (rc) {
				free(v);
				return rc;
			}
			n++;
		}
	} else if (patch) {
		for (size_t i = 0; i < patch->nreplacements; i++) {
			const struct pv_symbol *s =
				target_function(target, patch->replacements[i].old_name);
			if (s)
				v[n++] = s;
		}
	} else {
		for (size_t i = 0; i < target->nsymbols; i++) {
			const struct pv_symbol *s = &target->symbols[i];
			if (s->type == STT_FUNC && s->shndx != SHN_UNDEF && s->size > 0)
				v[n++] = s;
		}
	}
	qsort(v, n, sizeof(*v), cmp_function_ptr);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || cmp_function_ptr(&v[i], &v[u - 1]))
			v[u++] = v[i];
	*out = v;
	*nout = u;
	return 0;
}

static int push_name(char ***v, size_t *n, const char *name)
{
	char *copy = strdup(name);
	char **nv = copy ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;
	if (!nv) {
		free(copy);
		return PV_ENOMEM;
	}
	nv[(*n)++] = copy;
	*v = nv;
	return 0;
}

static bool listed(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

/* True when target defines objects called name and none has size `size`:
 * the patch's view of that object's layout differs from the target's. With
 * several local objects of that name, any one of the same size may be the
 * one meant, so only a mismatch with all of them counts. */
static bool object_size_differs(const struct pv_image *target, const char *name, uint64_t size)
{
	bool seen = false;
	for (size_t i = 0; i < target->nsymbols; i++) {
		const struct pv_symbol *s = &target->symbols[i];
		if (s->type != STT_OBJECT || s->shndx == SHN_UNDEF || strcmp(s->name, name))
			continue;
		if (s->size == size)
			return false;
		seen = true;
	}
	return seen;
}

static int patch_report(const struct pv_image *target, const struct pv_objects *objs,
                        const struct pv_patch *patch, struct pv_patch_report **out,
                        struct pv_error *err)
{
	struct pv_patch_report *p = calloc(1, sizeof(*p));
	if (!p)
		return oom(target, err);
	if (patch->nreplacements > 0) {
		p->replacements = calloc(patch->nreplacements, sizeof(*p->replacements));
		if (!p->replacements)
			goto nomem;
	}
	for (size_t i = 0; i < patch->nreplacements; i++) {
		const struct pv_replacement *rep = &patch->replacements[i];
		struct pv_replacement_report *rr = &p->replacements[i];
		rr->old_name = strdup(rep->old_name);
		rr->new_name = strdup(rep->new_name);
		p->nreplacements++;
		if (!rr->old_name || !rr->new_name)
			goto nomem;
		/* An ambiguous local name counts as missing too: no engine
		 * can tell which of the definitions the patch means. */
		if (objs) {
			struct pv_found fd;
			struct pv_error scratch;
			rr->found = !pv_objects_find(objs, rep->old_name, true, &fd, &scratch);
		} else {
			rr->found = target_function(target, rep->old_name) != NULL;
		}
		if (!rr->found && !listed(p->missing_functions, p->nmissing_functions, rep->old_name)) {
			if (push_name(&p->missing_functions, &p->nmissing_functions, rep->old_name))
				goto nomem;
			p->hazards |= PV_HAZARD_MISSING_FUNCTION;
		}
	}
	const struct pv_image *pimg = patch->image;
	for (size_t i = 0; i < pimg->nsymbols; i++) {
		const struct pv_symbol *s = &pimg->symbols[i];
		if (s->type != STT_OBJECT || s->shndx == SHN_UNDEF)
			continue;
		if (!object_size_differs(target, s->name, s->size) ||
		    listed(p->changed_objects, p->nchanged_objects, s->name))
			continue;
		if (push_name(&p->changed_objects, &p->nchanged_objects, s->name))
			goto nomem;
		p->hazards |= PV_HAZARD_DATA_LAYOUT_CHANGE;
	}
	*out = p;
	return 0;
nomem:
	patch_report_free(p);
	return oom(target, err);
}

static int analyze_functions(const struct disasm *d, const struct pv_image *target,
                             const char *object, const struct pv_symbol *const *syms,
                             size_t nsyms, struct pv_analysis *a, struct pv_error *err)
{
	struct range *ranges = NULL;
	uint64_t *ends = NULL;
	size_t nranges = 0;
	struct branches b = {0};
	int rc = code_ranges(target, &ranges, &ends, &nranges, err);
	if (rc)
		return rc;
	if (nsyms > 0 && (rc = scan_branches(d, target, ranges, nranges, &b, err)))
		goto out;
	struct pv_function_report *grown =
	        realloc(a->functions, (a->nfunctions + nsyms + 1) * sizeof(*a->functions));
	if (!grown) {
		rc = oom(target, err);
		goto out;
	}
	a->functions = grown;
	memset(a->functions + a->nfunctions, 0, (nsyms + 1) * sizeof(*a->functions));
	for (size_t i = 0; i < nsyms; i++) {
		const struct pv_symbol *s = syms[i];
		struct pv_function_report *f = &a->functions[a->nfunctions++];
		f->name = strdup(s->name);
		if (object && !(f->object = strdup(object))) {
			rc = oom(target, err);
			goto out;
		}
		if (!f->name) {
			rc = oom(target, err);
			goto out;
		}
		f->address = s->value;
		f->size = s->size;
		/* Code that is not file-backed has no bytes to decode: the
		 * report keeps only what the symbol table says. */
		size_t avail = 0;
		const unsigned char *code = pv_image_at(target, s->value, &avail);
		prologue(d, code, code ? avail : 0, s->value, s->size, f);
		f->padding_before = padding_before(d, target, s->value, ends, nranges);
		if (branches_into(&b, f)) {
			rc = oom(target, err);
			goto out;
		}
	}
out:
	free(b.v);
	free(ranges);
	free(ends);
	return rc;
}

int pv_analyze(const struct pv_image *target, const struct pv_patch *patch,
               const char *const *names, size_t nnames, struct pv_analysis **out,
               struct pv_error *err)
{
	if (!target || !out || (nnames > 0 && !names))
		return pv_error_set(err, PV_EINVAL,
		                    "pv_analyze needs a target, an output pointer and, "
		                    "when nnames > 0, the names");
	*out = NULL;
	struct pv_analysis *a = calloc(1, sizeof(*a));
	if (!a)
		return oom(target, err);
	const struct pv_symbol **syms = NULL;
	size_t nsyms = 0;
	struct disasm d = {0};
	int rc = PV_OK;
	a->target_path = strdup(target->path ? target->path : "");
	if (!a->target_path) {
		rc = oom(target, err);
		goto fail;
	}
	pv_image_build_id_hex(target, a->build_id, sizeof(a->build_id));
	if ((rc = select_functions(target, patch, names, nnames, &syms, &nsyms, err)))
		goto fail;
	if ((rc = disasm_open(&d, err)))
		goto fail;
	if ((rc = analyze_functions(&d, target, NULL, syms, nsyms, a, err)))
		goto fail;
	if (patch && (rc = patch_report(target, NULL, patch, &a->patch, err)))
		goto fail;
	disasm_close(&d);
	free(syms);
	*out = a;
	return 0;
fail:
	disasm_close(&d);
	free(syms);
	pv_analysis_free(a);
	return rc;
}

/* The executable's functions first, then by object, address and name, as
 * pv_analyze sorts one image's. */
static int cmp_report(const void *a, const void *b)
{
	const struct pv_function_report *x = a, *y = b;
	if (!x->object != !y->object)
		return x->object ? 1 : -1;
	int c = x->object ? strcmp(x->object, y->object) : 0;
	if (c)
		return c;
	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return strcmp(x->name, y->name);
}

int pv_analyze_in(const struct pv_objects *objs, const struct pv_patch *patch,
                  struct pv_analysis **out, struct pv_error *err)
{
	*out = NULL;
	if (!objs || !objs->n || !patch)
		return pv_error_set(err, PV_EINVAL, "pv_analyze_in needs objects and a patch");
	const struct pv_image *main_img = objs->v[0].image;
	struct pv_analysis *a = calloc(1, sizeof(*a));
	size_t nrep = patch->nreplacements;
	const struct pv_symbol **syms = calloc(nrep + 1, sizeof(*syms));
	struct pv_found *where = calloc(nrep + 1, sizeof(*where));
	bool *found = calloc(nrep + 1, sizeof(*found));
	struct disasm d = {0};
	int rc = 0;
	if (!a || !syms || !where || !found ||
	    !(a->target_path = strdup(main_img->path ? main_img->path : ""))) {
		rc = oom(main_img, err);
		goto out;
	}
	pv_image_build_id_hex(main_img, a->build_id, sizeof(a->build_id));
	if ((rc = disasm_open(&d, err)))
		goto out;
	for (size_t i = 0; i < nrep; i++) {
		struct pv_error scratch;
		found[i] = !pv_objects_find(objs, patch->replacements[i].old_name, true, &where[i],
		                            &scratch);
	}
	/* Object by object, the replaced functions that live there. */
	for (size_t k = 0; !rc && k < objs->n; k++) {
		size_t n = 0;
		for (size_t i = 0; i < nrep; i++) {
			if (!found[i] || where[i].obj != k)
				continue;
			bool dup = false;
			for (size_t j = 0; j < n && !dup; j++)
				dup = syms[j] == where[i].sym;
			if (!dup)
				syms[n++] = where[i].sym;
		}
		if (n)
			rc = analyze_functions(&d, objs->v[k].image,
			                       objs->v[k].main ? NULL : pv_object_name(&objs->v[k]),
			                       syms, n, a, err);
	}
	if (!rc)
		rc = patch_report(main_img, objs, patch, &a->patch, err);
	if (!rc && a->nfunctions > 1)
		qsort(a->functions, a->nfunctions, sizeof(*a->functions), cmp_report);
out:
	disasm_close(&d);
	free(syms);
	free(where);
	free(found);
	if (rc) {
		pv_analysis_free(a);
		return rc;
	}
	*out = a;
	return 0;
}
