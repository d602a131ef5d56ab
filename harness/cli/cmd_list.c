/* patchvet list engines|scenarios|checks */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engines/catalogue.h"
#include "../checks/registry.h"
#include "cli.h"
#include "../util/files.h"
#include "../load/scenario.h"

static int list_scenarios(void)
{
	struct pv_error err;
	char data[4096];
	char **names = NULL;
	size_t n = 0;
	pv_error_clear(&err);
	if (pv_data_dir(data, sizeof(data), &err) || pv_scenario_list(data, &names, &n, &err))
		return pv_cli_fail(&err);
	int rc = PV_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		struct pv_scenario *sc = NULL;
		if (pv_scenario_load(names[i], data, &sc, &err)) {
			rc = pv_cli_fail(&err);
		} else {
			printf("%-22s %s\n", sc->name, sc->description);
			pv_scenario_free(sc);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static const char *consistency_name(int c)
{
	switch (c) {
	case PV_CONSISTENCY_GLOBAL: return "global";
	case PV_CONSISTENCY_THREAD: return "thread";
	case PV_CONSISTENCY_CALL: return "call";
	default: return "none";
	}
}

/* "emu,ptrace" for a mask of enum pv_backend bits. */
static const char *backends_name(unsigned mask)
{
	switch (mask & PV_BACKEND_ALL) {
	case PV_BACKEND_EMU: return "emu";
	case PV_BACKEND_PTRACE: return "ptrace";
	case PV_BACKEND_ALL: return "emu,ptrace";
	default: return "-";
	}
}

/* One line per engine: name, kind, consistency claimed, backends,
 * description; a mutant's defect on an indented second line. */
static int list_engines(void)
{
	size_t n;
	const struct pv_engine_entry *cat = pv_engine_catalogue(&n);
	printf("%-18s %-9s %-11s %-10s %s\n", "ENGINE", "KIND", "CONSISTENCY", "BACKENDS",
	       "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		const struct pv_engine *e = cat[i].engine;
		printf("%-18s %-9s %-11s %-10s %s\n", e->name, cat[i].mutant ? "mutant" : "reference",
		       consistency_name(e->consistency), backends_name(cat[i].backends),
		       e->description);
		if (cat[i].defect)
			printf("%-18s defect: %s\n", "", cat[i].defect);
		/* Lifecycle capabilities when the engine declares any. */
		unsigned fl = PV_ENGINE_HAS(e, flags) ? e->flags : 0;
		if (fl & (PV_ENGINE_STACKS | PV_ENGINE_AUTO_ROLLBACK | PV_ENGINE_PERSISTS))
			printf("%-18s lifecycle:%s%s%s\n", "", fl & PV_ENGINE_STACKS ? " stacks" : "",
			       fl & PV_ENGINE_AUTO_ROLLBACK ? " auto-rollback" : "",
			       fl & PV_ENGINE_PERSISTS ? " persists" : "");
	}
	return PV_EXIT_OK;
}

void pv_cli_list_checks(FILE *f, const struct pv_check_registry *reg)
{
	const struct pv_check *c;
	for (size_t i = 0; (c = pv_check_at(reg, i)); i++)
		fprintf(f, "%-18s %s\n", c->id, c->property);
}

int pv_cmd_list(int argc, char **argv)
{
	if (argc != 2)
		return pv_cli_usage("list", "say what to list: engines, scenarios or checks");
	const char *what = argv[1];
	if (!strcmp(what, "checks")) {
		pv_cli_list_checks(stdout, NULL);
		return PV_EXIT_OK;
	}
	if (!strcmp(what, "scenarios"))
		return list_scenarios();
	if (!strcmp(what, "engines"))
		return list_engines();
	return pv_cli_usage("list", "cannot list '%s'; say engines, scenarios or checks", what);
}
