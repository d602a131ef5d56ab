/* The objects of a process: its executable and the shared libraries the
 * dynamic linker loaded, each with its load bias, in the order of the link
 * map (the global lookup scope). A patch's replaced functions and its own
 * undefined symbols are looked up here, as the dynamic linker would. */
#ifndef PV_HARNESS_OBJECTS_H
#define PV_HARNESS_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "image.h"
#include "../util/must_check.h"

#define PV_OBJECTS_MAX 256

struct pv_object {
	char *path;                   /* owned: the file, as the link map names it */
	const struct pv_image *image; /* owned unless borrowed */
	bool borrowed;                /* image belongs to somebody else */
	bool main;                    /* the executable */
	uint64_t bias;                /* load address minus link-time address */
	uint64_t lo, hi;              /* its PT_LOAD segments, loaded: [lo, hi) */
};

struct pv_objects {
	struct pv_object *v;          /* owned */
	size_t n;
};

/* Appends the object at path (opened here) or, when image is given, that
 * image, borrowed. The first object added should be the executable (main). */
PV_MUST_CHECK int pv_objects_add(struct pv_objects *o, const char *path,
                                 const struct pv_image *image, uint64_t bias, bool main,
                                 struct pv_error *err);
void pv_objects_free(struct pv_objects *o);

/* The executable exe (borrowed) and, breadth first, every shared object it
 * needs as found on disk (DT_RUNPATH or DT_RPATH with $ORIGIN, then the
 * system's library directories), each at its link-time addresses (bias 0):
 * what analysis sees without running the program. */
PV_MUST_CHECK int pv_objects_from_files(struct pv_objects *o, const struct pv_image *exe,
                                        struct pv_error *err);

/* The objects running process pid has mapped (/proc/PID/maps): exe, its
 * executable (borrowed), first, then every other ELF file it mapped, in
 * address order, each at the address it is loaded at. Nothing of the
 * process is stopped or changed. */
PV_MUST_CHECK int pv_objects_from_maps(struct pv_objects *o, const struct pv_image *exe,
                                       long pid, struct pv_error *err);

/* Where a symbol lives, loaded. */
struct pv_found {
	size_t obj;                   /* index into o->v */
	const struct pv_symbol *sym;
	uint64_t addr;                /* sym's value plus the object's bias (absolute
	                                 symbols as they are) */
	bool ambiguous;               /* on failure: several local definitions in
	                                 the executable */
};

/* Finds name as the dynamic linker would bind it: in the executable first
 * (every symbol, local ones included, as pv_image_find_symbol), then in each
 * other object, in order, among its exported definitions (global or weak,
 * default version). "OBJECT:NAME" looks only in the object whose file name
 * (or its link-map name's last component) is OBJECT, among every symbol.
 * functions: only STT_FUNC or STT_GNU_IFUNC. PV_ENOENT with a sentence
 * naming what was searched when none is found. */
PV_MUST_CHECK int pv_objects_find(const struct pv_objects *o, const char *name, bool functions,
                                  struct pv_found *out, struct pv_error *err);

/* The object whose loaded range holds addr, or NULL. */
const struct pv_object *pv_objects_at(const struct pv_objects *o, uint64_t addr);

/* The last component of an object's path ("libz.so.1"). */
const char *pv_object_name(const struct pv_object *ob);

/* The name a replacement's old symbol is looked up by: "crc32" for both
 * "crc32" and "libz.so.1:crc32". */
const char *pv_objects_bare_name(const char *name);

#endif
