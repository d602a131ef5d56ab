/* Implementation of harness/load/patchfile.h: the replacement table of a patch
 * and its relocation, done the way ld.so would for an x86-64 shared object
 * (only the dynamic relocations, .rela.dyn and .rela.plt, apply to a linked
 * file) except that undefined symbols resolve against the target, locals
 * included. The image has bounds-checked every section against the file, so
 * relocation and symbol entries are read straight from its bytes. */
#include "patchfile.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <patchvet/patch.h>

#define PAGE 4096u
/* A patch is a few functions; a larger load size means a corrupt header,
 * and refusing it keeps a bogus p_memsz from asking calloc for terabytes. */
#define MAX_SPAN (1ull << 30)

#ifndef SHT_RELR
#define SHT_RELR 19
#endif

static void free_replacements(struct pv_patch *p)
{
	for (size_t i = 0; i < p->nreplacements; i++) {
		free(p->replacements[i].old_name);
		free(p->replacements[i].new_name);
	}
	free(p->replacements);
	p->replacements = NULL;
	p->nreplacements = 0;
}

void pv_patch_close(struct pv_patch *patch)
{
	if (!patch)
		return;
	free_replacements(patch);
	pv_image_close(patch->image);
	free(patch);
}

/* Appends one record, checking that the new function exists in the patch. */
static int add_replacement(struct pv_patch *p, const char *old_name, const char *new_name,
                           size_t cap, struct pv_error *err)
{
	const char *path = p->image->path;
	const struct pv_symbol *sym;
	if (pv_image_find_function(p->image, new_name, &sym, NULL) != 0)
		return pv_error_set(err, PV_EFORMAT,
		                    "%s: the replacement for '%s' is '%s', which the patch does not "
		                    "define as a function", path, old_name, new_name);
	if (p->nreplacements >= cap)
		return pv_error_set(err, PV_EINTERNAL, "%s: replacement table overflow", path);
	struct pv_replacement *r = &p->replacements[p->nreplacements];
	r->old_name = strdup(old_name);
	r->new_name = strdup(new_name);
	r->new_sym = sym;
	p->nreplacements++; /* counted now so pv_patch_close frees a half-built record */
	if (!r->old_name || !r->new_name)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", path);
	return 0;
}

/* Parses `old\0new\0` records; zero bytes between records are padding. */
static int parse_table(struct pv_patch *p, struct pv_error *err)
{
	const struct pv_image *img = p->image;
	const struct pv_section *sec = pv_image_section(img, PV_PATCH_SECTION);
	if (!sec)
		return pv_error_set(err, PV_ENOENT,
		                    "%s: no %s section; is it a patchvet patch (see "
		                    "include/patchvet/patch.h)?", img->path, PV_PATCH_SECTION);
	if (sec->type == SHT_NOBITS || sec->type == SHT_NULL)
		return pv_error_set(err, PV_EFORMAT, "%s: the %s section holds no bytes", img->path,
		                    PV_PATCH_SECTION);
	const char *tab = (const char *)img->bytes + sec->offset;
	size_t size = (size_t)sec->size;
	/* Each record takes at least 4 bytes ("a\0b\0"). */
	size_t cap = size / 4 + 1;
	p->replacements = calloc(cap, sizeof(*p->replacements));
	if (!p->replacements)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", img->path);
	size_t pos = 0;
	while (pos < size) {
		if (tab[pos] == '\0') {
			pos++;
			continue;
		}
		const char *old_name = tab + pos;
		const char *end = memchr(old_name, '\0', size - pos);
		if (!end)
			return pv_error_set(err, PV_EFORMAT,
			                    "%s: %s ends inside an unterminated name", img->path,
			                    PV_PATCH_SECTION);
		pos = (size_t)(end - tab) + 1;
		if (pos >= size || tab[pos] == '\0')
			return pv_error_set(err, PV_EFORMAT,
			                    "%s: %s names '%s' without a replacement function (an odd "
			                    "number of names)", img->path, PV_PATCH_SECTION, old_name);
		const char *new_name = tab + pos;
		end = memchr(new_name, '\0', size - pos);
		if (!end)
			return pv_error_set(err, PV_EFORMAT,
			                    "%s: %s ends inside an unterminated name", img->path,
			                    PV_PATCH_SECTION);
		pos = (size_t)(end - tab) + 1;
		int rc = add_replacement(p, old_name, new_name, cap, err);
		if (rc)
			return rc;
	}
	if (p->nreplacements == 0)
		return pv_error_set(err, PV_EFORMAT, "%s: %s holds no replacement", img->path,
		                    PV_PATCH_SECTION);
	return 0;
}

static int compute_span(struct pv_patch *p, struct pv_error *err)
{
	const struct pv_image *img = p->image;
	if (img->nsegments == 0)
		return pv_error_set(err, PV_EFORMAT, "%s: no loadable segment", img->path);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct pv_segment *s = &img->segments[i];
		if (s->vaddr < lo)
			lo = s->vaddr;
		if (s->vaddr + s->memsz > hi) /* no overflow: checked by pv_image_open */
			hi = s->vaddr + s->memsz;
	}
	lo &= ~(uint64_t)(PAGE - 1);
	if (hi - lo > MAX_SPAN)
		return pv_error_set(err, PV_EFORMAT,
		                    "%s: loadable segments span 0x%llx bytes; a patch should be "
		                    "far smaller", img->path, (unsigned long long)(hi - lo));
	p->min_vaddr = lo;
	p->span = (hi - lo + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	return 0;
}

int pv_patch_open(const char *path, struct pv_patch **out, struct pv_error *err)
{
	*out = NULL;
	struct pv_patch *p = calloc(1, sizeof(*p));
	if (!p)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", path);
	int rc = pv_image_open(path, &p->image, err);
	if (!rc && p->image->elf_type != ET_DYN)
		rc = pv_error_set(err, PV_EUNSUPPORTED,
		                  "%s: not a shared object; build patches with -fPIC -shared", path);
	if (!rc)
		rc = parse_table(p, err);
	if (!rc)
		rc = compute_span(p, err);
	if (rc) {
		pv_patch_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* ---------------------------------------------------------------- relocation */

struct reloc_ctx {
	const struct pv_patch *patch;
	const struct pv_resolver *r;
	uint64_t load_base;
	unsigned char *buf;
	struct pv_error *err;
};

static const char *reloc_name(unsigned type)
{
	switch (type) {
	case R_X86_64_COPY: return "R_X86_64_COPY";
	case R_X86_64_32: return "R_X86_64_32";
	case R_X86_64_32S: return "R_X86_64_32S";
	case R_X86_64_16: return "R_X86_64_16";
	case R_X86_64_8: return "R_X86_64_8";
	case R_X86_64_DTPMOD64: return "R_X86_64_DTPMOD64";
	case R_X86_64_DTPOFF64: return "R_X86_64_DTPOFF64";
	case R_X86_64_TPOFF64: return "R_X86_64_TPOFF64";
	case R_X86_64_TPOFF32: return "R_X86_64_TPOFF32";
	case R_X86_64_PC64: return "R_X86_64_PC64";
	case R_X86_64_TLSDESC: return "R_X86_64_TLSDESC";
	case R_X86_64_IRELATIVE: return "R_X86_64_IRELATIVE";
	case R_X86_64_GOTPCREL: return "R_X86_64_GOTPCREL";
	default: return "an unknown type";
	}
}

/* The address of symbol index symidx of symbol table symtab, as loaded. */
static int resolve(const struct reloc_ctx *c, uint32_t symtab, uint32_t symidx, uint64_t *s_out,
                   const char **name_out)
{
	const struct pv_image *img = c->patch->image;
	const struct pv_section *st = &img->sections[symtab];
	*name_out = "";
	if (symidx == 0) {
		*s_out = 0;
		return 0;
	}
	if (st->type != SHT_DYNSYM && st->type != SHT_SYMTAB)
		return pv_error_set(c->err, PV_EFORMAT,
		                    "%s: relocations refer to section %s, which is not a symbol "
		                    "table", img->path, st->name);
	if (symidx >= st->size / sizeof(Elf64_Sym))
		return pv_error_set(c->err, PV_EFORMAT,
		                    "%s: a relocation refers to symbol %u of %s, which has only %llu",
		                    img->path, symidx, st->name,
		                    (unsigned long long)(st->size / sizeof(Elf64_Sym)));
	Elf64_Sym sym;
	memcpy(&sym, img->bytes + st->offset + (uint64_t)symidx * sizeof(sym), sizeof(sym));
	const char *name = pv_image_string(img, st->link, sym.st_name);
	if (!name)
		return pv_error_set(c->err, PV_EFORMAT,
		                    "%s: symbol %u of %s has a name outside its string table",
		                    img->path, symidx, st->name);
	*name_out = name;
	unsigned type = ELF64_ST_TYPE(sym.st_info);
	if (type == STT_TLS || type == STT_GNU_IFUNC)
		return pv_error_set(c->err, PV_EUNSUPPORTED,
		                    "%s: symbol '%s' is a %s symbol, which patchvet cannot relocate",
		                    img->path, name, type == STT_TLS ? "thread-local" : "ifunc");
	/* The patch's own definition wins over the target's, as kpatch does. */
	if (sym.st_shndx == SHN_ABS) {
		*s_out = sym.st_value;
		return 0;
	}
	if (sym.st_shndx != SHN_UNDEF) {
		*s_out = c->load_base + (sym.st_value - c->patch->min_vaddr);
		return 0;
	}
	struct pv_found f;
	struct pv_error ferr;
	pv_error_clear(&ferr);
	if (pv_objects_find(c->r->objects, name, false, &f, &ferr)) {
		if (ELF64_ST_BIND(sym.st_info) == STB_WEAK) {
			*s_out = 0;
			return 0;
		}
		const struct pv_objects *os = c->r->objects;
		if (f.ambiguous)
			return pv_error_set(c->err, PV_ENOENT, "%s: symbol '%s' is ambiguous in %s: "
			                                       "several local symbols have that name",
			                    img->path, name, os->v[0].path);
		if (strchr(name, ':') || os->n == 0)
			return pv_error_set(c->err, PV_ENOENT, "%s: %s", img->path, ferr.msg);
		if (os->n == 1)
			return pv_error_set(c->err, PV_ENOENT, "%s: symbol '%s' is not defined in the "
			                                       "patch nor in %s", img->path, name,
			                    os->v[0].path);
		return pv_error_set(c->err, PV_ENOENT, "%s: symbol '%s' is not defined in the patch "
		                                       "nor in %s nor in the %zu shared objects it "
		                                       "loaded", img->path, name, os->v[0].path,
		                    os->n - 1);
	}
	const struct pv_object *ob = &c->r->objects->v[f.obj];
	if (f.sym->type == STT_TLS)
		return pv_error_set(c->err, PV_EUNSUPPORTED,
		                    "%s: symbol '%s' is a thread-local symbol in %s, which patchvet "
		                    "cannot resolve", img->path, name, ob->path);
	if (f.sym->type == STT_GNU_IFUNC) {
		/* The address is the resolver's: the implementation is what it
		 * returns, in the target, for this machine. */
		if (!c->r->ifunc)
			return pv_error_set(c->err, PV_EUNSUPPORTED,
			                    "%s: symbol '%s' is an ifunc symbol in %s, which patchvet "
			                    "cannot resolve here", img->path, name, ob->path);
		return c->r->ifunc(c->r->ctx, f.addr, s_out, c->err);
	}
	*s_out = f.addr;
	return 0;
}

/* Offset into the buffer of a width-byte write at link-time address vaddr. */
static int place(const struct reloc_ctx *c, uint64_t vaddr, unsigned width, size_t *off)
{
	const struct pv_patch *p = c->patch;
	if (vaddr < p->min_vaddr || vaddr - p->min_vaddr > p->span ||
	    p->span - (vaddr - p->min_vaddr) < width)
		return pv_error_set(c->err, PV_EFORMAT,
		                    "%s: a relocation at 0x%llx lies outside the patch image",
		                    p->image->path, (unsigned long long)vaddr);
	*off = (size_t)(vaddr - p->min_vaddr);
	return 0;
}

static int apply_rela(const struct reloc_ctx *c, const struct pv_section *sec,
                      const Elf64_Rela *r)
{
	const char *path = c->patch->image->path;
	unsigned type = (unsigned)ELF64_R_TYPE(r->r_info);
	uint32_t symidx = (uint32_t)ELF64_R_SYM(r->r_info);
	uint64_t a = (uint64_t)r->r_addend; /* wrapping arithmetic, as the CPU does */
	uint64_t b = c->load_base - c->patch->min_vaddr;
	uint64_t s = 0;
	const char *name = "";
	size_t off;
	int rc;

	switch (type) {
	case R_X86_64_NONE:
		return 0;
	case R_X86_64_RELATIVE: {
		if ((rc = place(c, r->r_offset, 8, &off)))
			return rc;
		uint64_t v = b + a;
		memcpy(c->buf + off, &v, 8);
		return 0;
	}
	case R_X86_64_64:
	case R_X86_64_GLOB_DAT:
	case R_X86_64_JUMP_SLOT: {
		if ((rc = place(c, r->r_offset, 8, &off)) ||
		    (rc = resolve(c, sec->link, symidx, &s, &name)))
			return rc;
		uint64_t v = type == R_X86_64_64 ? s + a : s;
		memcpy(c->buf + off, &v, 8);
		return 0;
	}
	case R_X86_64_PC32:
	case R_X86_64_PLT32: {
		if ((rc = place(c, r->r_offset, 4, &off)) ||
		    (rc = resolve(c, sec->link, symidx, &s, &name)))
			return rc;
		uint64_t p = c->load_base + off;
		int64_t v = (int64_t)(s + a - p);
		if (v < INT32_MIN || v > INT32_MAX)
			return pv_error_set(c->err, PV_ERANGE,
			                    "%s: the 32-bit relative reference to '%s' at 0x%llx cannot "
			                    "reach it (distance 0x%llx); load the patch nearer to it",
			                    path, name, (unsigned long long)r->r_offset,
			                    (unsigned long long)v);
		int32_t v32 = (int32_t)v;
		memcpy(c->buf + off, &v32, 4);
		return 0;
	}
	default:
		return pv_error_set(c->err, PV_EUNSUPPORTED,
		                    "%s: relocation type %u (%s) at 0x%llx is not supported", path,
		                    type, reloc_name(type), (unsigned long long)r->r_offset);
	}
}

/* SHT_RELR (ld -z pack-relative-relocs): a packed list of RELATIVE
 * relocations with their addends stored in place. */
static int apply_relr(const struct reloc_ctx *c, const struct pv_section *sec)
{
	const unsigned char *data = c->patch->image->bytes + sec->offset;
	uint64_t b = c->load_base - c->patch->min_vaddr;
	uint64_t where = 0;
	bool have_base = false;
	for (uint64_t i = 0; i + 8 <= sec->size; i += 8) {
		uint64_t e;
		memcpy(&e, data + i, 8);
		size_t off;
		int rc;
		if ((e & 1) == 0) {
			if ((rc = place(c, e, 8, &off)))
				return rc;
			uint64_t v;
			memcpy(&v, c->buf + off, 8);
			v += b;
			memcpy(c->buf + off, &v, 8);
			where = e + 8;
			have_base = true;
			continue;
		}
		if (!have_base)
			return pv_error_set(c->err, PV_EFORMAT, "%s: %s starts with a bitmap",
			                    c->patch->image->path, sec->name);
		for (unsigned bit = 1; bit < 64; bit++) {
			if (!((e >> bit) & 1))
				continue;
			uint64_t at = where + (uint64_t)(bit - 1) * 8;
			if ((rc = place(c, at, 8, &off)))
				return rc;
			uint64_t v;
			memcpy(&v, c->buf + off, 8);
			v += b;
			memcpy(c->buf + off, &v, 8);
		}
		where += 63 * 8;
	}
	return 0;
}

static int apply_section(const struct reloc_ctx *c, const struct pv_section *sec)
{
	const struct pv_image *img = c->patch->image;
	if (sec->type == SHT_RELR)
		return apply_relr(c, sec);
	if (sec->type == SHT_REL)
		return pv_error_set(c->err, PV_EUNSUPPORTED,
		                    "%s: %s holds REL relocations without addends, which x86-64 "
		                    "does not use", img->path, sec->name);
	if (sec->entsize != sizeof(Elf64_Rela))
		return pv_error_set(c->err, PV_EFORMAT,
		                    "%s: %s has entries of %llu bytes, expected %zu", img->path,
		                    sec->name, (unsigned long long)sec->entsize, sizeof(Elf64_Rela));
	size_t n = (size_t)(sec->size / sizeof(Elf64_Rela));
	for (size_t i = 0; i < n; i++) {
		Elf64_Rela r;
		memcpy(&r, img->bytes + sec->offset + i * sizeof(r), sizeof(r));
		int rc = apply_rela(c, sec, &r);
		if (rc)
			return rc;
	}
	return 0;
}

int pv_patch_relocate(const struct pv_patch *patch, const struct pv_image *target,
                      uint64_t target_bias, uint64_t load_base, unsigned char **out,
                      struct pv_error *err)
{
	struct pv_object one = {.path = (char *)target->path, .image = target,
	                        .bias = target_bias, .main = true, .borrowed = true};
	struct pv_objects objs = {.v = &one, .n = 1};
	struct pv_resolver r = {.objects = &objs};
	return pv_patch_relocate_in(patch, &r, load_base, out, err);
}

int pv_patch_relocate_in(const struct pv_patch *patch, const struct pv_resolver *res,
                         uint64_t load_base, unsigned char **out, struct pv_error *err)
{
	const struct pv_image *img = patch->image;
	*out = NULL;
	if (load_base % PAGE != 0)
		return pv_error_set(err, PV_EINVAL,
		                    "%s: load address 0x%llx is not page-aligned", img->path,
		                    (unsigned long long)load_base);
	if (load_base + patch->span < load_base)
		return pv_error_set(err, PV_ERANGE,
		                    "%s: load address 0x%llx leaves no room for 0x%llx bytes",
		                    img->path, (unsigned long long)load_base,
		                    (unsigned long long)patch->span);
	unsigned char *buf = calloc(1, patch->span ? (size_t)patch->span : 1);
	if (!buf)
		return pv_error_set(err, PV_ENOMEM, "%s: cannot allocate its 0x%llx-byte image",
		                    img->path, (unsigned long long)patch->span);
	/* Segments lie within [min_vaddr, min_vaddr + span) by construction of
	 * span, and their file bytes within the file (pv_image_open). */
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct pv_segment *s = &img->segments[i];
		memcpy(buf + (s->vaddr - patch->min_vaddr), img->bytes + s->offset,
		       (size_t)s->filesz);
	}
	struct reloc_ctx c = {
		.patch = patch,
		.r = res,
		.load_base = load_base,
		.buf = buf,
		.err = err,
	};
	/* Only allocated relocation sections are dynamic ones; a non-allocated
	 * .rela.text (ld --emit-relocs) was already applied by the linker. */
	for (size_t i = 0; i < img->nsections; i++) {
		const struct pv_section *sec = &img->sections[i];
		if (!(sec->flags & SHF_ALLOC) ||
		    (sec->type != SHT_RELA && sec->type != SHT_REL && sec->type != SHT_RELR))
			continue;
		int rc = apply_section(&c, sec);
		if (rc) {
			free(buf);
			return rc;
		}
	}
	*out = buf;
	return 0;
}
