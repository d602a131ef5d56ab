/* The engines patchvet knows by name: reference engines and mutants. */
#ifndef PV_ENGINES_CATALOGUE_H
#define PV_ENGINES_CATALOGUE_H

#include <stddef.h>

#include <patchvet/engine.h>

/* The backends a built-in engine or a scenario is meaningful on, as bits.
 * Kept here, the lowest room that needs them, so that the catalogue sees
 * nothing of the harness. */
enum pv_backend {
	PV_BACKEND_EMU = 1u << 0,
	PV_BACKEND_PTRACE = 1u << 1,
};
#define PV_BACKEND_ALL 0x3u
#define PV_BACKEND_COUNT 2

/* Bit 1u << i of enum pv_backend is called pv_backend_names[i]: the one
 * list of backend names (scenarios, expected lines, results, the CLI). */
extern const char *const pv_backend_names[PV_BACKEND_COUNT];

/* "emu", "ptrace" for one bit; NULL otherwise. */
const char *pv_backend_name(unsigned backend);

struct pv_engine_entry {
	const struct pv_engine *engine;
	int mutant;             /* non-zero for a mutant (carries a known defect) */
	const char *defect;     /* for a mutant: the defect and the check that must
	                           catch it; NULL otherwise */
	unsigned backends;      /* enum pv_backend bits: where
	                           the engine is meaningful; a campaign on a backend
	                           without --engine leaves the others out */
};

/* Every built-in engine, reference engines first; *count receives the size. */
const struct pv_engine_entry *pv_engine_catalogue(size_t *count);

/* The built-in engine called name, or NULL. */
const struct pv_engine_entry *pv_engine_find(const char *name);

#endif
