#include "objects.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pv_objects_add(struct pv_objects *o, const char *path, const struct pv_image *image,
                   uint64_t bias, bool main, struct pv_error *err)
{
	if (o->n >= PV_OBJECTS_MAX)
		return pv_error_set(err, PV_ERANGE, "more than %d loaded objects", PV_OBJECTS_MAX);
	struct pv_object *v = realloc(o->v, (o->n + 1) * sizeof(*v));
	if (!v)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	o->v = v;
	struct pv_object *ob = &v[o->n];
	*ob = (struct pv_object){.bias = bias, .main = main, .borrowed = image != NULL};
	if (!(ob->path = strdup(path)))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!image) {
		struct pv_image *img = NULL;
		int rc = pv_image_open(path, &img, err);
		if (rc) {
			free(ob->path);
			return rc;
		}
		image = img;
	}
	ob->image = image;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < image->nsegments; i++) {
		const struct pv_segment *s = &image->segments[i];
		if (s->vaddr < lo)
			lo = s->vaddr;
		if (s->vaddr + s->memsz > hi)
			hi = s->vaddr + s->memsz;
	}
	ob->lo = lo == UINT64_MAX ? 0 : lo + bias;
	ob->hi = hi + bias;
	o->n++;
	return 0;
}

void pv_objects_free(struct pv_objects *o)
{
	for (size_t i = 0; o && i < o->n; i++) {
		free(o->v[i].path);
		if (!o->v[i].borrowed)
			pv_image_close((struct pv_image *)o->v[i].image);
	}
	if (o) {
		free(o->v);
		o->v = NULL;
		o->n = 0;
	}
}

const char *pv_object_name(const struct pv_object *ob)
{
	const char *s = strrchr(ob->path, '/');
	return s ? s + 1 : ob->path;
}

const char *pv_objects_bare_name(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

const struct pv_object *pv_objects_at(const struct pv_objects *o, uint64_t addr)
{
	for (size_t i = 0; i < o->n; i++)
		if (addr >= o->v[i].lo && addr < o->v[i].hi)
			return &o->v[i];
	return NULL;
}

static bool is_function(const struct pv_symbol *s)
{
	return s->type == STT_FUNC || s->type == STT_GNU_IFUNC;
}

/* An exported definition as another object binds it: defined, global or
 * weak, the default version; a global wins over a weak one of the same
 * object, as the first definition wins across objects. */
static const struct pv_symbol *exported(const struct pv_image *img, const char *name,
                                        bool functions)
{
	const struct pv_symbol *weak = NULL;
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		if (!s->dynamic || s->shndx == SHN_UNDEF || s->hidden_version ||
		    (s->bind != STB_GLOBAL && s->bind != STB_WEAK && s->bind != STB_GNU_UNIQUE) ||
		    (functions && !is_function(s)) || s->type == STT_TLS || strcmp(s->name, name))
			continue;
		if (s->bind != STB_WEAK)
			return s;
		if (!weak)
			weak = s;
	}
	return weak;
}

/* Whether ob is the object called want: its path's last component, or the
 * last component of the file a symbolic link names (libz.so.1 and
 * libz.so.1.2.13 are the same object). */
static bool named(const struct pv_object *ob, const char *want, size_t len)
{
	const char *base = pv_object_name(ob);
	if (strlen(base) == len && !strncmp(base, want, len))
		return true;
	char *real = realpath(ob->path, NULL);
	bool same = false;
	if (real) {
		const char *rb = strrchr(real, '/');
		rb = rb ? rb + 1 : real;
		same = strlen(rb) == len && !strncmp(rb, want, len);
		free(real);
	}
	return same;
}

static void found(const struct pv_objects *o, size_t i, const struct pv_symbol *s,
                  struct pv_found *out)
{
	out->obj = i;
	out->sym = s;
	out->addr = s->shndx == SHN_ABS ? s->value : s->value + o->v[i].bias;
}

int pv_objects_find(const struct pv_objects *o, const char *name, bool functions,
                    struct pv_found *out, struct pv_error *err)
{
	const char *colon = strrchr(name, ':');
	out->ambiguous = false;
	const char *what = functions ? "function" : "symbol";
	if (colon) {
		const char *bare = colon + 1;
		size_t len = (size_t)(colon - name);
		for (size_t i = 0; i < o->n; i++) {
			if (!named(&o->v[i], name, len))
				continue;
			bool ambiguous = false;
			const struct pv_symbol *s = NULL;
			if (functions) {
				if (pv_image_find_function(o->v[i].image, bare, &s, err))
					return PV_ENOENT;
			} else if (!(s = pv_image_find_symbol(o->v[i].image, bare, &ambiguous))) {
				return pv_error_set(err, PV_ENOENT, "%s: no single symbol '%s' is "
				                                    "defined", o->v[i].path, bare);
			}
			found(o, i, s, out);
			return 0;
		}
		return pv_error_set(err, PV_ENOENT, "no loaded object is called '%.*s' (for %s "
		                                    "'%s')", (int)len, name, what, bare);
	}
	for (size_t i = 0; i < o->n; i++) {
		const struct pv_image *img = o->v[i].image;
		const struct pv_symbol *s;
		if (o->v[i].main) {
			bool ambiguous = false;
			s = functions ? NULL : pv_image_find_symbol(img, name, &ambiguous);
			if (functions) {
				struct pv_error e2;
				pv_error_clear(&e2);
				if (pv_image_find_function(img, name, &s, &e2)) {
					s = NULL;
					/* Several local functions of that name: which one is
					 * meant cannot be told, not even by looking further. */
					ambiguous = !pv_image_find_symbol(img, name, &ambiguous) && ambiguous;
				}
			}
			out->ambiguous = !s && ambiguous;
			if (!s && ambiguous)
				return pv_error_set(err, PV_ENOENT, "%s: several local symbols are called "
				                                    "'%s'; patchvet cannot tell which one "
				                                    "is meant", o->v[i].path, name);
		} else {
			s = exported(img, name, functions);
		}
		if (s) {
			found(o, i, s, out);
			return 0;
		}
	}
	if (o->n == 1)
		return pv_error_set(err, PV_ENOENT, "no %s '%s' is defined in %s", what, name,
		                    o->v[0].path);
	return pv_error_set(err, PV_ENOENT, "no %s '%s' is defined in %s nor in the %zu "
	                                    "shared objects it loaded", what, name,
	                    o->v[0].path, o->n - 1);
}

/* ---------------------------------------------------------------- on disk */

/* Directories the dynamic linker searches after DT_RUNPATH on Debian
 * x86-64 (its ld.so.cache lists these). */
static const char *const system_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib", "/usr/local/lib",
};

/* The string at offset off of the image's dynamic string table. */
static const char *dynstr(const struct pv_image *img, const struct pv_section *dyn, uint64_t off)
{
	return pv_image_string(img, dyn->link, off);
}

static bool have(const struct pv_objects *o, const char *path)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].path, path))
			return true;
	return false;
}

/* Each "dir" of a colon-separated run path, $ORIGIN replaced by origin. */
static bool search_runpath(const char *runpath, const char *origin, const char *name,
                           char *out, size_t len)
{
	while (runpath && *runpath) {
		size_t n = strcspn(runpath, ":");
		char dir[4096];
		if (n < sizeof(dir)) {
			memcpy(dir, runpath, n);
			dir[n] = '\0';
			const char *rest = !strncmp(dir, "$ORIGIN", 7) ? dir + 7 : !strncmp(dir, "${ORIGIN}", 9) ? dir + 9 : NULL;
			int w = rest ? snprintf(out, len, "%s%s/%s", origin, rest, name)
			             : snprintf(out, len, "%s/%s", dir, name);
			if (w > 0 && (size_t)w < len && !access(out, R_OK))
				return true;
		}
		runpath += n + (runpath[n] == ':');
	}
	return false;
}

int pv_objects_from_files(struct pv_objects *o, const struct pv_image *exe, struct pv_error *err)
{
	int rc = pv_objects_add(o, exe->path, exe, 0, true, err);
	/* Breadth first, as the dynamic linker orders its global scope. */
	for (size_t k = 0; !rc && k < o->n; k++) {
		const struct pv_image *img = o->v[k].image;
		const struct pv_section *dyn = pv_image_section(img, ".dynamic");
		if (!dyn || dyn->type != SHT_DYNAMIC || dyn->link >= img->nsections)
			continue;
		size_t n = (size_t)(dyn->size / sizeof(Elf64_Dyn));
		const char *runpath = NULL;
		char origin[4096];
		snprintf(origin, sizeof(origin), "%s", o->v[k].path);
		char *slash = strrchr(origin, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(origin, sizeof(origin), ".");
		for (size_t i = 0; i < n; i++) {
			Elf64_Dyn d;
			memcpy(&d, img->bytes + dyn->offset + i * sizeof(d), sizeof(d));
			if (d.d_tag == DT_RUNPATH || (d.d_tag == DT_RPATH && !runpath))
				runpath = dynstr(img, dyn, d.d_un.d_val);
		}
		for (size_t i = 0; !rc && i < n; i++) {
			Elf64_Dyn d;
			memcpy(&d, img->bytes + dyn->offset + i * sizeof(d), sizeof(d));
			if (d.d_tag == DT_NULL)
				break;
			const char *name = d.d_tag == DT_NEEDED ? dynstr(img, dyn, d.d_un.d_val) : NULL;
			if (!name || !*name)
				continue;
			char path[4096];
			bool ok = false;
			if (strchr(name, '/'))
				ok = snprintf(path, sizeof(path), "%s", name) < (int)sizeof(path) &&
				     !access(path, R_OK);
			if (!ok)
				ok = search_runpath(runpath, origin, name, path, sizeof(path));
			for (size_t j = 0; !ok && j < sizeof(system_dirs) / sizeof(system_dirs[0]); j++)
				ok = snprintf(path, sizeof(path), "%s/%s", system_dirs[j], name) <
				             (int)sizeof(path) && !access(path, R_OK);
			if (!ok)
				return pv_error_set(err, PV_ENOENT, "%s needs %s, which is in none of the "
				                                    "directories the dynamic linker searches",
				                    o->v[k].path, name);
			if (!have(o, path))
				rc = pv_objects_add(o, path, NULL, 0, false, err);
		}
	}
	return rc;
}

/* ---------------------------------------------------------------- running */

int pv_objects_from_maps(struct pv_objects *o, const struct pv_image *exe, long pid,
                         struct pv_error *err)
{
	char path[64], line[4608];
	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return pv_error_set(err, PV_ENOENT, "cannot read %s: is process %ld running, and "
		                                    "yours to look at?", path, pid);
	int rc = 0;
	bool first = true;
	while (!rc && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		int at = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &lo, &hi, &off, &at) < 3 || !at ||
		    line[at] != '/' || off != 0)
			continue;
		char *file = line + at;
		file[strcspn(file, "\n")] = '\0';
		if (have(o, file))
			continue;
		/* The executable is the first file mapped at offset 0; the
		 * others count when they are ELF objects (not data files). */
		const struct pv_image *img = first ? exe : NULL;
		struct pv_image *opened = NULL;
		struct pv_error scratch;
		if (!img && pv_image_open(file, &opened, &scratch))
			continue;
		img = img ? img : opened;
		uint64_t min = UINT64_MAX;
		for (size_t i = 0; i < img->nsegments; i++)
			if (img->segments[i].vaddr < min)
				min = img->segments[i].vaddr;
		uint64_t bias = min == UINT64_MAX ? 0 : lo - (min & ~0xfffull);
		if (img->elf_type != ET_DYN)
			bias = 0;
		rc = pv_objects_add(o, file, img, bias, first, err);
		if (!rc && opened)
			o->v[o->n - 1].borrowed = false; /* the list owns what it opened */
		else if (rc)
			pv_image_close(opened);
		first = false;
	}
	fclose(f);
	if (!rc && !o->n)
		rc = pv_error_set(err, PV_ENOENT, "%s names no file mapped at offset 0", path);
	return rc;
}
