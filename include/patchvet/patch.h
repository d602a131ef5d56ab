/* Writing a patch for patchvet.
 *
 * A patch is a shared object built from C with `-fPIC -shared` (and usually
 * `-nostdlib`). It holds new versions of target functions and names, with
 * PV_REPLACE, which target function each new function replaces:
 *
 *     #include <patchvet/patch.h>
 *     extern long total;              // a target global, even a static one
 *     void bump_v2(void) { total += 2; }
 *     PV_REPLACE(bump, bump_v2);
 *
 * Undefined symbols of the patch (here `total`) are resolved against every
 * symbol of the target, local ones included, as kpatch does, then against
 * the exported symbols of every library the target loaded, in the dynamic
 * linker's order: a patch may call libc, pthreads or the program's own
 * libraries (ifuncs such as strlen resolve to the implementation the target
 * uses). PV_REPLACE may name a function of a library too. Symbols the patch
 * defines itself are its own: a patch that defines `config` gets a new, separate
 * `config`, and the target's is untouched (which is why a patch that changes
 * the size of a target object carries the data-layout-change hazard).
 *
 * The table lives in the section `.patchvet.funcs` as plain strings, so it can
 * be read without relocating the patch: each record is the old symbol's name,
 * a NUL, the new function's name, a NUL. Zero bytes between records (alignment
 * padding) are allowed and skipped. */
#ifndef PATCHVET_PATCH_H
#define PATCHVET_PATCH_H

#define PV_PATCH_SECTION ".patchvet.funcs"

#define PV__CAT2(a, b) a##b
#define PV__CAT(a, b) PV__CAT2(a, b)

/* Records that new_function replaces old_symbol of the target. Both are plain
 * identifiers; new_function must be defined in this patch. */
#define PV_REPLACE(old_symbol, new_function)                                   \
	__attribute__((section(PV_PATCH_SECTION), used, aligned(1)))           \
	static const char PV__CAT(pv__replace_, __COUNTER__)[] =               \
		#old_symbol "\0" #new_function

/* Like PV_REPLACE, for a function of one named shared object: object is a
 * string literal, the object's file name ("libz.so.1"). Without it the old
 * function is looked up as the dynamic linker would bind it: in the
 * executable first, then in each loaded library in load order. */
#define PV_REPLACE_IN(object, old_symbol, new_function)                        \
	__attribute__((section(PV_PATCH_SECTION), used, aligned(1)))           \
	static const char PV__CAT(pv__replace_, __COUNTER__)[] =               \
		object ":" #old_symbol "\0" #new_function

#endif