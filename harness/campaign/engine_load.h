/* One way to turn an --engine argument into an engine, shared by run,
 * replay and minimize: a built-in engine by name, a plugin by its path
 * (engines/plugin.h), an external tool by exec:FILE (exec_adapter.h).
 * For the last two it also gives the spec a reproducer records (the
 * file's absolute path, exec: kept) and the file's SHA-256, so a replay
 * loads the same engine or says that the file changed. */
#ifndef PV_HARNESS_ENGINE_LOAD_H
#define PV_HARNESS_ENGINE_LOAD_H

#include <limits.h>
#include <stdbool.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>

#include "../util/hash.h"

struct pv_plugin;
struct pv_exec;

struct pv_loaded_engine {
	const struct pv_engine *engine;
	unsigned backends;          /* enum pv_backend bits it may run on */
	bool exec;                  /* an exec: engine (runs on pv_backend_exec_ops) */
	struct pv_plugin *plugin;   /* owned, or NULL */
	struct pv_exec *x;          /* owned, or NULL */
	/* "" for a built-in engine; else "/abs/engine.so" or "exec:/abs/FILE". */
	char spec[PATH_MAX + 8];
	char sha256[PV_SHA256_HEX_LEN + 1]; /* of the file the spec names */
};

/* Loads arg into *l (zeroed first). PV_ENOENT for an unknown built-in name
 * or a missing file, and the loaders' own errors (one sentence each). */
int pv_engine_load(const char *arg, struct pv_loaded_engine *l, struct pv_error *err);

/* Closes what pv_engine_load opened; l may be NULL or zeroed. */
void pv_engine_unload(struct pv_loaded_engine *l);

#endif
