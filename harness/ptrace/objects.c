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

/* Calls visit(ctx, file, l_addr) for each shared object of the link map, in
 * its order (the executable and the vDSO, which are no such file, left
 * out); stops at visit's first non-zero return. */
static int walk_link_map(struct pt_proc *p, const struct pv_image *exe, uint64_t bias,
                         int (*visit)(void *ctx, const char *file, uint64_t l_addr),
                         void *ctx, struct pv_error *err)
{
	uint64_t rd = r_debug_addr(p, exe, bias), lm = 0;
	if (!rd)
		return 0;
	if (pt_read(p, rd + offsetof(struct r_debug, r_map), &lm, sizeof(lm)))
		return pv_error_set(err, PV_EIO, "cannot read the dynamic linker's list of objects "
		                                 "in process %d", (int)p->pid);
	int rc = 0;
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
			rc = visit(ctx, name, (uint64_t)m.l_addr);
		lm = (uint64_t)(uintptr_t)m.l_next;
	}
	return rc;
}

struct adding {
	struct pv_objects *out;
	struct pv_error *err;
};

static int add_one(void *ctx, const char *file, uint64_t l_addr)
{
	struct adding *a = ctx;
	return pv_objects_add(a->out, file, NULL, l_addr, false, a->err);
}

int pt_objects_read(struct pt_proc *p, const struct pv_image *exe, uint64_t bias,
                    struct pv_objects *out, struct pv_error *err)
{
	int rc = pv_objects_add(out, exe->path, exe, bias, true, err);
	struct adding a = {out, err};
	return rc ? rc : walk_link_map(p, exe, bias, add_one, &a, err);
}

struct comparing {
	const struct pv_objects *o;
	size_t next;                  /* the object the next entry must be */
};

static int compare_one(void *ctx, const char *file, uint64_t l_addr)
{
	struct comparing *c = ctx;
	if (c->next >= c->o->n || c->o->v[c->next].bias != l_addr ||
	    strcmp(c->o->v[c->next].path, file))
		return 1;
	c->next++;
	return 0;
}

bool pt_objects_same(struct pt_proc *p, const struct pv_objects *o)
{
	/* Names and addresses only: no file is opened again. */
	struct comparing c = {o, 1};
	struct pv_error scratch;
	return o->n && !walk_link_map(p, o->v[0].image, o->v[0].bias, compare_one, &c, &scratch) &&
	       c.next == o->n;
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
