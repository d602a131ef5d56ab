#include "patchdesc.h"

#include <stdlib.h>
#include <string.h>

static const struct pv_function_report *report_of(const struct pv_analysis *a,
                                                  const char *object, uint64_t address,
                                                  const char *name)
{
	for (size_t i = 0; i < a->nfunctions; i++) {
		const struct pv_function_report *r = &a->functions[i];
		if (r->address == address && !strcmp(r->name, name) &&
		    (object ? r->object && !strcmp(r->object, object) : !r->object))
			return r;
	}
	return NULL;
}

/* Most functions have one slot (PLT GOT or GOT) in each object that calls
 * it; a few more is generous. */
#define GOT_SLOTS_PER_FUNC 4

/* The GOT slots of every object that lead to replaced function i: imports
 * of its name anywhere, and the defining object's own slots for it. */
static int describe_got(const struct pv_objects *objs, const size_t *where, size_t nfuncs,
                        struct pv_patch_view *v, struct pv_error *err)
{
	size_t n = 0;
	for (size_t i = 0; i < nfuncs; i++) {
		const struct pv_patch_func *f = &v->funcs[i];
		if (!f->old_addr || (f->prologue.hazards & PV_HAZARD_MISSING_FUNCTION))
			continue;
		const char *name = pv_objects_bare_name(f->old_name);
		for (size_t k = 0; k < objs->n; k++) {
			const struct pv_object *ob = &objs->v[k];
			uint64_t slots[GOT_SLOTS_PER_FUNC];
			size_t ns = 0;
			/* Another object's slots lead to it by name only: no address
			 * of that object is the function's. */
			uint64_t link = k == where[i] ? f->old_addr - ob->bias : UINT64_MAX;
			int rc = pv_image_got_slots(ob->image, name, link, slots, GOT_SLOTS_PER_FUNC,
			                            &ns, err);
			if (rc)
				return rc;
			if (ns > GOT_SLOTS_PER_FUNC)
				ns = GOT_SLOTS_PER_FUNC;
			if (!ns)
				continue;
			struct pv_got_slot *g = realloc(v->got_slots, (n + ns) * sizeof(*g));
			if (!g)
				return pv_error_set(err, PV_ENOMEM, "out of memory describing GOT slots");
			v->got_slots = g;
			for (size_t j = 0; j < ns; j++)
				g[n++] = (struct pv_got_slot){.func = i, .addr = slots[j] + ob->bias};
		}
	}
	v->ngot = n;
	return 0;
}

int pv_patch_describe(const struct pv_image *target, uint64_t bias, const struct pv_patch *p,
                      const char *patch_path, uint64_t patch_base, struct pv_patch_view *v,
                      struct pv_error *err)
{
	struct pv_object one = {.path = (char *)target->path, .image = target, .bias = bias,
	                        .main = true, .borrowed = true};
	struct pv_objects objs = {.v = &one, .n = 1};
	return pv_patch_describe_in(&objs, p, patch_path, patch_base, v, err);
}

int pv_patch_describe_in(const struct pv_objects *objs, const struct pv_patch *p,
                         const char *patch_path, uint64_t patch_base, struct pv_patch_view *v,
                         struct pv_error *err)
{
	int rc = pv_analyze_in(objs, p, &v->analysis, err);
	if (rc)
		return rc;
	size_t n = p->nreplacements;
	v->funcs = calloc(n ? n : 1, sizeof(*v->funcs));
	v->boundaries = calloc(n ? n : 1, sizeof(*v->boundaries));
	size_t *where = calloc(n ? n : 1, sizeof(*where));
	if (!v->funcs || !v->boundaries || !where) {
		free(where);
		return pv_error_set(err, PV_ENOMEM, "out of memory describing the patch");
	}
	for (size_t i = 0; i < n; i++) {
		const struct pv_replacement *r = &p->replacements[i];
		struct pv_patch_func *f = &v->funcs[i];
		f->old_name = r->old_name;
		f->new_name = r->new_name;
		f->new_addr = patch_base + r->new_sym->value - p->min_vaddr;
		f->new_size = r->new_sym->size;
		struct pv_found fd;
		struct pv_error scratch;
		const struct pv_function_report *fr = NULL;
		if (!pv_objects_find(objs, r->old_name, true, &fd, &scratch)) {
			const struct pv_object *ob = &objs->v[fd.obj];
			where[i] = fd.obj;
			f->old_addr = fd.addr;
			f->old_size = fd.sym->size;
			fr = report_of(v->analysis, ob->main ? NULL : pv_object_name(ob),
			               fd.sym->value, fd.sym->name);
		}
		if (!fr) {
			/* The engine sees the hazard and refuses; nothing to watch. */
			f->prologue.hazards = PV_HAZARD_MISSING_FUNCTION;
			continue;
		}
		memcpy(v->boundaries[i], fr->boundaries, sizeof(v->boundaries[i]));
		f->prologue = (struct pv_prologue){
			.first_insn_len = fr->first_insn_len,
			.padding_before = fr->padding_before,
			.endbr64 = fr->endbr64,
			.fentry = fr->fentry,
			.fentry_addr = fr->fentry ? f->old_addr + (fr->endbr64 ? 4 : 0) : 0,
			.boundaries = v->boundaries[i],
			.nboundaries = fr->nboundaries,
			.hazards = fr->hazards,
		};
	}
	rc = describe_got(objs, where, n, v, err);
	free(where);
	if (rc)
		return rc;
	v->desc = (struct pv_patch_desc){
		.sz = sizeof(struct pv_patch_desc),
		.path = patch_path,
		.funcs = v->funcs,
		.nfuncs = n,
		.image_addr = patch_base,
		.image_size = p->span,
		.hazards = v->analysis->patch ? v->analysis->patch->hazards : 0,
		.got_slots = v->ngot ? v->got_slots : NULL,
		.ngot_slots = v->ngot,
	};
	return 0;
}

void pv_patch_view_free(struct pv_patch_view *v)
{
	pv_analysis_free(v->analysis);
	free(v->funcs);
	free(v->boundaries);
	free(v->got_slots);
	memset(v, 0, sizeof(*v));
}
