/* Engines from shared objects (`patchvet run --engine path/to/engine.so`):
 * dlopen, the entry point PV_ENGINE_ENTRY_SYMBOL, and the ABI checks. */
#ifndef PV_ENGINES_PLUGIN_H
#define PV_ENGINES_PLUGIN_H

#include <stdbool.h>

#include <patchvet/engine.h>

struct pv_plugin;

/* True when an --engine argument names a file rather than a built-in
 * engine: it contains a '/' or ends in ".so". */
bool pv_plugin_is_path(const char *name);

/* Loads the engine that the shared object at path exports. PV_EIO when it
 * cannot be loaded (dlerror's reason), PV_ENOENT when it exports no
 * PV_ENGINE_ENTRY_SYMBOL or the entry returns NULL, PV_EABI when its
 * abi_version differs from PV_ABI_VERSION (both named) or its struct is
 * older than ABI 1's first release, PV_EINVAL when it lacks a name, plan,
 * apply or revert, or its name is malformed or a built-in engine's. */
int pv_plugin_open(const char *path, struct pv_plugin **out, struct pv_error *err);

/* The engine, valid until pv_plugin_close (a copy in patchvet's own
 * struct pv_engine layout, members the plugin lacks left NULL). */
const struct pv_engine *pv_plugin_engine(const struct pv_plugin *p);

/* dlcloses the object; p may be NULL. */
void pv_plugin_close(struct pv_plugin *p);

#endif
