#include "engine_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engines/catalogue.h"
#include "../../engines/plugin.h"
#include "../exec/adapter.h"
#include "../load/scenario.h"

/* The file of a plugin or exec spec made absolute and hashed: a reproducer
 * copied elsewhere, or replayed from another directory, still finds it. */
static int record_file(const char *file, const char *prefix, struct pv_loaded_engine *l,
                       struct pv_error *err)
{
	char abs[PATH_MAX];
	if (!realpath(file, abs))
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "engine %s: %s",
		                    file, strerror(errno));
	snprintf(l->spec, sizeof(l->spec), "%s%s", prefix, abs);
	return pv_sha256_file(abs, l->sha256, err);
}

int pv_engine_load(const char *arg, struct pv_loaded_engine *l, struct pv_error *err)
{
	memset(l, 0, sizeof(*l));
	int rc;
	if (pv_exec_is_spec(arg)) {
		const char *file = arg + strlen(PV_EXEC_PREFIX);
		if ((rc = pv_exec_open(arg, &l->x, err)) ||
		    (rc = record_file(file, PV_EXEC_PREFIX, l, err))) {
			pv_engine_unload(l);
			return rc;
		}
		l->engine = pv_exec_engine(l->x);
		l->backends = PV_BACKEND_PTRACE;
		l->exec = true;
		return 0;
	}
	if (!pv_plugin_is_path(arg)) {
		const struct pv_engine_entry *b = pv_engine_find(arg);
		if (!b)
			return pv_error_set(err, PV_ENOENT, "unknown engine '%s'; `patchvet list "
			                                    "engines` shows the built-in ones, and a "
			                                    "plugin is given by its path", arg);
		l->engine = b->engine;
		l->backends = b->backends;
		return 0;
	}
	if ((rc = pv_plugin_open(arg, &l->plugin, err)) || (rc = record_file(arg, "", l, err))) {
		pv_engine_unload(l);
		return rc;
	}
	l->engine = pv_plugin_engine(l->plugin);
	l->backends = PV_BACKEND_ALL;
	return 0;
}

void pv_engine_unload(struct pv_loaded_engine *l)
{
	if (!l)
		return;
	pv_plugin_close(l->plugin);
	pv_exec_close(l->x);
	memset(l, 0, sizeof(*l));
}
