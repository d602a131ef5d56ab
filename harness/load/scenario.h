/* Scenarios: target + patch + workload, described in a small INI file that a
 * person writes by hand (parsed with inih). See README.md, "Scenario files".
 *
 *     [scenario]
 *     description = Two workers call bump() under a lock.
 *     target = counter          ; built-in target name, or a path to an ELF file
 *     patch = counter-fix       ; built-in patch name, or a path to a .so
 *     flavours = plain pad fentry cet
 *     backends = emu ptrace
 *
 *     [workload]
 *     workers = 2
 *     iterations = 1000
 *     param = 0
 *
 *     [program]               ; a real program, not built for patchvet
 *     command = {target} -p 4 {dir}/input.bin
 *     ready = port {port}     ; also: env cwd stdin stdout timeout load
 *     verify = exit           ;       stop window (docs/patchvet.1)
 *
 * Paths (anything containing a '/') are relative to the scenario file. */
#ifndef PV_HARNESS_SCENARIO_H
#define PV_HARNESS_SCENARIO_H

#include <stddef.h>

#include <patchvet/error.h>

#include "../../engines/catalogue.h"
#include "../model/program.h"
#include "../util/must_check.h"

enum pv_flavour {
	PV_FLAVOUR_PLAIN = 1u << 0,  /* -O2 */
	PV_FLAVOUR_PAD = 1u << 1,    /* -fpatchable-function-entry=16,14 */
	PV_FLAVOUR_FENTRY = 1u << 2, /* -pg -mfentry -mnop-mcount */
	PV_FLAVOUR_CET = 1u << 3,    /* -fcf-protection=full */
};
#define PV_FLAVOUR_ALL 0xfu

struct pv_scenario {
	char *name;          /* directory name, or file name without .ini; owned */
	char *file;          /* the description file, owned */
	char *dir;           /* directory holding it, owned */
	char *description;   /* owned, "" when absent */
	char *target;        /* as written: built-in name or path, owned */
	char *patch;         /* as written, owned; NULL when the scenario has none */
	unsigned flavours;   /* enum pv_flavour bits; all when absent */
	unsigned backends;   /* enum pv_backend bits; all when absent */
	unsigned workers;    /* 1..64, default 2 */
	unsigned long iterations; /* default 1000 */
	long param;          /* default 0 */
	/* A lifecycle (harness/model/sequence.h). */
	char *patches;       /* `patches = a b`: the patches a sequence may name,
	                        as written; NULL when absent (any) */
	char *sequence;      /* `sequence = apply:a,apply:b,revert-all`, checked
	                        when loaded; NULL when absent */
	/* A real program (its `[program]` section; [workload] then means
	 * nothing), NULL when absent: the target runs as
	 * `TARGET WORKERS ITERATIONS PARAM`. */
	struct pv_program *program;
};

/* Loads a scenario by built-in name (data_dir/scenarios/NAME/scenario.ini) or
 * by path (a .ini file, or a directory holding scenario.ini). Malformed files
 * give PV_EFORMAT with the file, line and key; unknown names PV_ENOENT listing
 * where it looked. */
PV_MUST_CHECK int pv_scenario_load(const char *name_or_path, const char *data_dir,
                     struct pv_scenario **out, struct pv_error *err);

void pv_scenario_free(struct pv_scenario *sc);

/* Path of the scenario's target for one flavour (a single bit): built-in
 * names become data_dir/targets/NAME-FLAVOUR; paths are resolved against the
 * scenario's directory (flavour ignored). PV_ERANGE when buf is too small. */
PV_MUST_CHECK int pv_scenario_target_path(const struct pv_scenario *sc, const char *data_dir,
                            unsigned flavour, char *buf, size_t len, struct pv_error *err);

/* Path of the scenario's target as the emu backend runs it (its
 * freestanding emulator build): built-in names become
 * data_dir/emu/NAME-FLAVOUR; a path is used as written (resolved against
 * the scenario's directory), so a scenario that names its target by path
 * must name an emulator build to run on emu. */
PV_MUST_CHECK int pv_scenario_emu_target_path(const struct pv_scenario *sc, const char *data_dir,
                                unsigned flavour, char *buf, size_t len,
                                struct pv_error *err);

/* Path of the scenario's patch: data_dir/patches/NAME.so or a resolved path. */
PV_MUST_CHECK int pv_scenario_patch_path(const struct pv_scenario *sc, const char *data_dir, char *buf,
                           size_t len, struct pv_error *err);

/* Path of patch `name` of a sequence: like the patch key (a built-in name,
 * or a path against the scenario's directory); PV_EINVAL when the scenario
 * lists its `patches` and name is not among them. */
PV_MUST_CHECK int pv_scenario_named_patch_path(const struct pv_scenario *sc, const char *data_dir,
                                 const char *name, char *buf, size_t len, struct pv_error *err);

/* Names of the built-in scenarios (sorted); *names is owned by the caller:
 * free each string, then the array. */
PV_MUST_CHECK int pv_scenario_list(const char *data_dir, char ***names, size_t *count,
                     struct pv_error *err);

/* "plain", "pad", "fentry", "cet" for one bit; NULL otherwise. */
const char *pv_flavour_name(unsigned flavour);
/* The flavour bit named name ("plain", "pad", "fentry", "cet"); 0 for any other. */
unsigned pv_flavour_from_name(const char *name);

#endif
