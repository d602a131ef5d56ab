/* A patch file: an ELF shared object with a `.patchvet.funcs` replacement
 * table (include/patchvet/patch.h), and its relocation for a load address. */
#ifndef PV_HARNESS_PATCHFILE_H
#define PV_HARNESS_PATCHFILE_H

#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "image.h"
#include "objects.h"
#include "../util/must_check.h"

struct pv_replacement {
	char *old_name;                 /* target function to replace, owned */
	char *new_name;                 /* patch function replacing it, owned */
	const struct pv_symbol *new_sym;/* its definition in the patch (never NULL) */
};

struct pv_patch {
	struct pv_image *image;         /* owned */
	struct pv_replacement *replacements; /* owned, table order */
	size_t nreplacements;
	uint64_t min_vaddr;             /* lowest PT_LOAD vaddr, page-aligned down */
	uint64_t span;                  /* bytes from min_vaddr to the end of the last
	                                   PT_LOAD, page-aligned up: the load size */
};

/* Opens a patch. Errors name the file: PV_ENOENT when there is no
 * .patchvet.funcs section, PV_EFORMAT when the table is malformed (odd number
 * of names, unterminated string) or names a new function the patch does not
 * define, plus every error of pv_image_open. A patch must be ET_DYN. */
PV_MUST_CHECK int pv_patch_open(const char *path, struct pv_patch **out, struct pv_error *err);

void pv_patch_close(struct pv_patch *patch);

/* Produces the patch's memory image as if loaded at load_base (a page-aligned
 * address; the patch's link-time vaddr v lands at load_base + v - min_vaddr),
 * with every relocation applied: R_X86_64_RELATIVE, _64, _GLOB_DAT,
 * _JUMP_SLOT, _PC32, _PLT32 (and _NONE). Undefined symbols are resolved
 * against target (every symbol, locals included, see pv_image_find_symbol),
 * whose link-time addresses are moved by target_bias (0 for ET_EXEC; the load
 * address for a PIE). *out receives a buffer of patch->span bytes, owned by
 * the caller (free()). Errors: PV_ENOENT naming an unresolved symbol,
 * PV_ERANGE for a 32-bit relocation that does not fit, PV_EUNSUPPORTED
 * naming an unsupported relocation type, PV_EFORMAT for a malformed table. */
PV_MUST_CHECK int pv_patch_relocate(const struct pv_patch *patch, const struct pv_image *target,
                      uint64_t target_bias, uint64_t load_base, unsigned char **out,
                      struct pv_error *err);

/* Where the undefined symbols of a patch come from: the objects of the
 * target (pv_objects_find, the dynamic linker's order), and optionally how
 * an ifunc is resolved in the target (the implementation its resolver at
 * `resolver` chooses); without it an ifunc symbol is PV_EUNSUPPORTED. */
struct pv_resolver {
	const struct pv_objects *objects;
	int (*ifunc)(void *ctx, uint64_t resolver, uint64_t *out, struct pv_error *err);
	void *ctx;
};

/* pv_patch_relocate against every object of r, not one image. */
PV_MUST_CHECK int pv_patch_relocate_in(const struct pv_patch *patch, const struct pv_resolver *r,
                                       uint64_t load_base, unsigned char **out,
                                       struct pv_error *err);

#endif
