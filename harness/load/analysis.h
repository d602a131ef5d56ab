/* Patchability analysis of target functions (capstone): what an engine needs
 * to know about the first bytes of a function before it writes there. */
#ifndef PV_HARNESS_ANALYSIS_H
#define PV_HARNESS_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/engine.h> /* PV_HAZARD_* bits */
#include <patchvet/error.h>

#include "image.h"
#include "objects.h"
#include "patchfile.h"
#include "../util/must_check.h"

#define PV_PROLOGUE_WINDOW 32   /* bytes whose instruction boundaries are reported */
#define PV_RIP_WINDOW 16        /* bytes searched for RIP-relative operands */
#define PV_JUMP_LEN 5           /* a jmp rel32: the bytes a redirect overwrites */

struct pv_function_report {
	char *name;                       /* owned */
	char *object;                     /* owned: the shared object it lives in,
	                                     NULL for the executable */
	uint64_t address;                 /* link-time address of the entry */
	uint64_t size;                    /* st_size */
	uint8_t boundaries[PV_PROLOGUE_WINDOW]; /* instruction starts in [0, min(size, 32)) */
	size_t nboundaries;
	unsigned first_insn_len;          /* 0 when the first bytes do not decode */
	unsigned padding_before;          /* NOP/int3 bytes directly before the entry */
	bool endbr64;                     /* entry is endbr64 (f3 0f 1e fa) */
	bool fentry;                      /* 5-byte NOP (0f 1f 44 00 00) at the entry,
	                                     after endbr64 if any */
	uint8_t rip_relative[PV_RIP_WINDOW]; /* offsets of instructions starting in the
	                                     first 16 bytes with a RIP-relative operand */
	size_t nrip_relative;
	unsigned hazards;                 /* PV_HAZARD_* bits */
	uint64_t *branch_sources;         /* owned: addresses of direct jumps/calls landing
	                                     strictly inside the first 5 bytes */
	size_t nbranch_sources;
};

struct pv_patch_report {
	struct pv_replacement_report {
		char *old_name, *new_name;    /* owned */
		bool found;                   /* old function exists in the target */
	} *replacements;
	size_t nreplacements;
	unsigned hazards;                 /* PV_HAZARD_DATA_LAYOUT_CHANGE / _MISSING_FUNCTION */
	char **changed_objects;           /* owned: objects whose size differs */
	size_t nchanged_objects;
	char **missing_functions;         /* owned: replaced functions absent from target */
	size_t nmissing_functions;
};

struct pv_analysis {
	char *target_path;                /* owned */
	char build_id[129];               /* hex, "" when none */
	struct pv_function_report *functions; /* owned */
	size_t nfunctions;
	struct pv_patch_report *patch;    /* owned, NULL when no patch was given */
};

/* Analyses target. Which functions: `names` when nnames > 0 (PV_ENOENT naming
 * the first missing one); else every function the patch replaces that exists
 * in the target, when patch is given; else every defined STT_FUNC symbol with
 * a non-zero size. patch may be NULL. */
PV_MUST_CHECK int pv_analyze(const struct pv_image *target, const struct pv_patch *patch,
               const char *const *names, size_t nnames, struct pv_analysis **out,
               struct pv_error *err);

/* The functions patch replaces, each analysed in whichever of objs defines
 * it (pv_objects_find), and the patch report against them; addresses are
 * link-time addresses of the object named in each report. */
PV_MUST_CHECK int pv_analyze_in(const struct pv_objects *objs, const struct pv_patch *patch,
                                struct pv_analysis **out, struct pv_error *err);

void pv_analysis_free(struct pv_analysis *a);

/* Stable id of one hazard bit ("too-short"), NULL for an unknown bit. */
const char *pv_hazard_id(unsigned bit);

/* Analyses code bytes of one function at link-time address `address`: fills
 * boundaries, first_insn_len, endbr64, fentry, rip_relative and the
 * too-short / rip-relative-prologue hazards of r (not padding or branches,
 * which need the whole image). Exposed for unit tests on hand-made bytes.
 * len is how many bytes code holds, size the function's size; decoding stops
 * at the function's end and at the first byte that does not decode.
 * rip-relative-prologue is set only when an instruction starting in the first
 * PV_JUMP_LEN bytes (the ones a jmp rel32 overwrites, which an engine must
 * relocate) is RIP-relative; rip_relative lists those of the first 16 bytes. */
int pv_analyze_prologue(const unsigned char *code, size_t len, uint64_t address,
                        uint64_t size, struct pv_function_report *r, struct pv_error *err);

#endif
