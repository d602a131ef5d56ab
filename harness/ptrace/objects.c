/* The objects a traced process loaded, read from its dynamic linker's own
 * list (the link map that r_debug heads, found through the executable's
 * DT_DEBUG entry), so a patch is resolved against what is really mapped, in
 * the order the dynamic linker searches; and ifunc symbols resolved by
 * running their resolver in the process, as the dynamic linker does. */
#include "ptrace.h"

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define LINK_MAP_MAX PV_OBJECTS_MAX

/* The address of r_debug, 0 when the executable has none (static) or the
 * dynamic linker has not filled it in yet. */
static uint64_t r_debug_addr(struct pt_proc *p, const struct pv_image *exe, uint64_t bias)
{
	const struct pv_section *dyn = pv_image_section(exe, ".dynamic");
	if (!dyn || !dyn->addr)
		return 0;
	size_t n = (size_t)(dyn->size / sizeof(Elf64_Dyn));
	for (size_t i = 0; i < n && i < 512; i++) {
		Elf64_Dyn d;
		if (pt_read(p, dyn->addr + bias + i * sizeof(d), &d, sizeof(d)) || d.d_tag == DT_NULL)
			return 0;
		if (d.d_tag == DT_DEBUG)
			return d.d_un.d_ptr;
	}
	return 0;
}

int pt_objects_read(struct pt_proc *p, const struct pv_image *exe, uint64_t bias,
                    struct pv_objects *out, struct pv_error *err)
{
	int rc = pv_objects_add(out, exe->path, exe, bias, true, err);
	uint64_t rd = rc ? 0 : r_debug_addr(p, exe, bias);
	if (rc || !rd)
		return rc;
	uint64_t lm = 0;
	if (pt_read(p, rd + offsetof(struct r_debug, r_map), &lm, sizeof(lm)))
		return pv_error_set(err, PV_EIO, "cannot read the dynamic linker's list of objects "
		                                 "in process %d", (int)p->pid);
	for (unsigned k = 0; lm && !rc && k < LINK_MAP_MAX; k++) {
		struct link_map m;
		char name[4096];
		if (pt_read(p, lm, &m, sizeof(m)))
			return pv_error_set(err, PV_EIO, "cannot read a link map entry of process %d",
			                    (int)p->pid);
		name[0] = '\0';
		if (m.l_name) {
			size_t got = 0;
			/* Page by page: a name may end right before an unmapped page. */
			while (got < sizeof(name) - 1) {
				uint64_t at = (uint64_t)(uintptr_t)m.l_name + got;
				size_t chunk = 64 - (at & 63);
				if (chunk > sizeof(name) - 1 - got)
					chunk = sizeof(name) - 1 - got;
				if (pt_read(p, at, name + got, chunk))
					break;
				got += chunk;
				if (memchr(name + got - chunk, '\0', chunk))
					break;
			}
			name[got] = '\0';
		}
		/* The executable comes first with no name; the vDSO has a name
		 * that is no file. */
		if (k > 0 && name[0] == '/')
			rc = pv_objects_add(out, name, NULL, (uint64_t)m.l_addr, false, err);
		lm = (uint64_t)(uintptr_t)m.l_next;
	}
	return rc;
}

bool pt_objects_same(struct pt_proc *p, const struct pv_objects *o)
{
	struct pv_objects now = {0};
	struct pv_error scratch;
	bool same = o->n && !pt_objects_read(p, o->v[0].image, o->v[0].bias, &now, &scratch) &&
	            now.n == o->n;
	for (size_t i = 1; same && i < o->n; i++)
		same = now.v[i].bias == o->v[i].bias && !strcmp(now.v[i].path, o->v[i].path);
	pv_objects_free(&now);
	return same;
}

int pt_ifunc(void *ctx, uint64_t resolver, uint64_t *out, struct pv_error *err)
{
	struct pt_proc *p = ctx;
	struct pt_thread *t = &p->threads[0];
	uint64_t ret = 0;
	int rc = pt_call(p, t, resolver, NULL, 0, 0, &ret);
	if (rc || !ret)
		return pv_error_set(err, rc ? rc : PV_EIO, "the ifunc resolver at 0x%llx did not run "
		                                           "in process %d%s%s",
		                    (unsigned long long)resolver, (int)p->pid, rc ? ": " : "",
		                    rc ? p->err->msg : "");
	*out = ret;
	return 0;
}
