/* Engines from shared objects (plugin.h). */
#include "plugin.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"

struct pv_plugin {
	void *handle;
	struct pv_engine engine;  /* normalised copy: the harness reads every member */
};

bool pv_plugin_is_path(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n && (strchr(name, '/') || (n > 3 && !strcmp(name + n - 3, ".so")));
}

static bool good_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* A bound on a plugin's sz: far beyond any struct pv_engine, so a wild
 * value is refused before its tail is read. */
#define PLUGIN_MAX_SZ 4096u

/* Checks what the plugin handed over and copies it into p->engine. */
static int adopt(struct pv_plugin *p, const char *path, const struct pv_engine *e,
                 struct pv_error *err)
{
	/* abi_version is the second member: readable once sz says so. */
	size_t need_version = offsetof(struct pv_engine, abi_version) + sizeof(e->abi_version);
	if (e->sz < need_version)
		return pv_error_set(err, PV_EABI, "%s: the engine's struct is %zu bytes, too small "
		                                  "to hold an ABI version; rebuild it against "
		                                  "patchvet's include/patchvet (ABI %d)", path, e->sz,
		                    PV_ABI_VERSION);
	if (e->abi_version != PV_ABI_VERSION)
		return pv_error_set(err, PV_EABI, "%s: the engine was built for patchvet ABI %u, but "
		                                  "this patchvet has ABI %d; rebuild it against this "
		                                  "patchvet's include/patchvet", path,
		                    e->abi_version, PV_ABI_VERSION);
	/* ABI 1's first release ends with release: nothing older exists. */
	size_t first = offsetof(struct pv_engine, release) + sizeof(e->release);
	if (e->sz < first)
		return pv_error_set(err, PV_EABI, "%s: the engine's struct is %zu bytes, smaller than "
		                                  "ABI %d's %zu", path, e->sz, PV_ABI_VERSION, first);
	/* A struct from a newer header may be read only if what this patchvet
	 * does not know of it is zero: a non-zero member asks for behaviour it
	 * would silently ignore (libbpf refuses the same way). */
	if (e->sz > PLUGIN_MAX_SZ)
		return pv_error_set(err, PV_EABI, "%s: the engine's struct claims %zu bytes, more "
		                                  "than any patchvet ABI %d defines; its sz is "
		                                  "corrupt", path, e->sz, PV_ABI_VERSION);
	for (size_t i = sizeof(p->engine); i < e->sz; i++)
		if (((const unsigned char *)e)[i])
			return pv_error_set(err, PV_EABI, "%s: the engine sets members this patchvet "
			                                  "does not know (byte %zu of its %zu-byte "
			                                  "struct; this patchvet knows %zu): upgrade "
			                                  "patchvet, or leave them zero",
			                    path, i, e->sz, sizeof(p->engine));
	memcpy(&p->engine, e, e->sz < sizeof(p->engine) ? e->sz : sizeof(p->engine));
	p->engine.sz = sizeof(p->engine);
	const struct pv_engine *c = &p->engine;
	if (!good_name(c->name))
		return pv_error_set(err, PV_EINVAL, "%s: the engine's name '%s' is not [a-z0-9-]+",
		                    path, c->name ? c->name : "(null)");
	if (pv_engine_find(c->name))
		return pv_error_set(err, PV_EINVAL, "%s: the engine calls itself '%s', the name of a "
		                                    "built-in engine; give it another", path, c->name);
	if (!c->plan || !c->apply || !c->revert)
		return pv_error_set(err, PV_EINVAL, "%s: engine '%s' lacks plan, apply or revert",
		                    path, c->name);
	if (!c->description)
		p->engine.description = "";
	return 0;
}

int pv_plugin_open(const char *path, struct pv_plugin **out, struct pv_error *err)
{
	*out = NULL;
	struct pv_plugin *p = calloc(1, sizeof(*p));
	if (!p)
		return pv_error_set(err, PV_ENOMEM, "out of memory loading %s", path);
	/* RTLD_LOCAL: two plugins may define the same symbols. */
	p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		const char *why = dlerror();
		free(p);
		return pv_error_set(err, PV_EIO, "cannot load engine %s: %s", path,
		                    why ? why : "dlopen failed");
	}
	pv_engine_entry_fn entry;
	/* POSIX's sanctioned way to turn dlsym's object pointer into a function. */
	*(void **)&entry = dlsym(p->handle, PV_ENGINE_ENTRY_SYMBOL);
	int rc;
	const struct pv_engine *e = entry ? entry() : NULL;
	if (!entry)
		rc = pv_error_set(err, PV_ENOENT, "%s exports no %s(); an engine plugin defines "
		                                  "`const struct pv_engine *%s(void)`", path,
		                  PV_ENGINE_ENTRY_SYMBOL, PV_ENGINE_ENTRY_SYMBOL);
	else if (!e)
		rc = pv_error_set(err, PV_ENOENT, "%s: %s() returned no engine", path,
		                  PV_ENGINE_ENTRY_SYMBOL);
	else
		rc = adopt(p, path, e, err);
	if (rc) {
		pv_plugin_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

const struct pv_engine *pv_plugin_engine(const struct pv_plugin *p)
{
	return &p->engine;
}

void pv_plugin_close(struct pv_plugin *p)
{
	if (!p)
		return;
	if (p->handle)
		dlclose(p->handle);
	free(p);
}
