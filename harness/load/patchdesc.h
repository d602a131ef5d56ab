/* The patch as an engine sees it (struct pv_patch_desc), built the same way
 * by every backend from the patch file, the target and patchvet's analysis. */
#ifndef PV_HARNESS_PATCHDESC_H
#define PV_HARNESS_PATCHDESC_H

#include <stdint.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>

#include "analysis.h"
#include "image.h"
#include "patchfile.h"
#include "../util/must_check.h"

/* What a backend keeps for the description; every pointer is owned here
 * and freed by pv_patch_view_free. */
struct pv_patch_view {
	struct pv_analysis *analysis;                /* of the replaced functions */
	struct pv_patch_func *funcs;                 /* one per replacement */
	uint8_t (*boundaries)[PV_PROLOGUE_WINDOW];   /* one row per func */
	struct pv_got_slot *got_slots;               /* GOT slots of replaced functions */
	size_t ngot;
	struct pv_patch_desc desc;                   /* points into the above */
};

/* Analyses target against patch and describes each replacement: old
 * addresses are the target's link-time ones plus bias (0 for ET_EXEC; the
 * load address of a PIE), new ones lie in the patch image loaded at
 * patch_base. A replaced function missing from the target carries the
 * missing-function hazard, so the engine refuses it. GOT slots that lead
 * to a replaced function (pv_image_got_slots) are listed, biased too. On failure the view
 * holds what was built; pv_patch_view_free releases it either way. */
PV_MUST_CHECK int pv_patch_describe(const struct pv_image *target, uint64_t bias, const struct pv_patch *p,
                      const char *patch_path, uint64_t patch_base, struct pv_patch_view *v,
                      struct pv_error *err);

/* pv_patch_describe with each replaced function found in whichever of objs
 * defines it (pv_objects_find: the executable first, then the shared
 * objects in link-map order, or the object a "LIB:name" names), its old
 * address loaded there; GOT slots of every object that lead to it. */
PV_MUST_CHECK int pv_patch_describe_in(const struct pv_objects *objs, const struct pv_patch *p,
                                       const char *patch_path, uint64_t patch_base,
                                       struct pv_patch_view *v, struct pv_error *err);

void pv_patch_view_free(struct pv_patch_view *v);

#endif
