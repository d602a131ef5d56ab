/* A certificate (`patchvet certify`): the campaign of one engine on one
 * scenario, with the SHA-256 of everything it ran (target, patch, engine),
 * the settings that re-run it and every verdict, as JSON
 * (docs/report-schema.md, "patchvet-certificate/1"). Written from the
 * result model and the facts the command gathered; loaded back by
 * `certify --verify`. */
#ifndef PV_REPORTS_CERTIFICATE_H
#define PV_REPORTS_CERTIFICATE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "../harness/model/campaign.h"
#include "../harness/util/hash.h"

#define PV_CERT_SCHEMA "patchvet-certificate/1"

struct pv_cert_file {
	char path[PATH_MAX];
	char sha256[PV_SHA256_HEX_LEN + 1];
};

/* One verdict as a certificate states it: what --verify compares. */
struct pv_cert_verdict {
	char engine[64], scenario[128], backend[16];
	enum pv_verdict verdict;
	char checks[256];        /* violated check ids, sorted, space-separated */
};

/* The overhead a certificate states: what `patchvet bench`
 * measures, for the certified engine, scenario and flavour, and one
 * verdict on the claim "costs under threshold_pct" (pv_certificate_
 * overhead_judge). */
struct pv_cert_overhead {
	bool present;            /* measured or tried (false: an old certificate) */
	double threshold_pct;    /* the claim, 2 */
	double time_s;           /* native A/B seconds; 0: native not timed */
	unsigned cycles;         /* apply/revert cycles */
	bool judged;             /* verdict holds a claim; false: nothing measured */
	enum pv_claim verdict;
	char judged_by[24];      /* the figure that judged the CPU claim: "cpu"
	                            (native), "redirect" or "instructions" (emu),
	                            "" */
	char note[PV_ERROR_MSG_MAX]; /* why nothing or not all was measured, "" */
	struct pv_overhead_figure figures[PV_OVERHEAD_MAX];
	size_t nfigures;
};

/* The certificate's overhead verdict from its figures: REFUTED when a
 * memory figure is REFUTED or the CPU claim is, the CPU claim being judged
 * by the native "cpu" figure when it was measured (it measures the claim
 * itself) and by the exact emu "redirect" figure otherwise (the
 * instructions the engine adds per operation, in a model of CPU cost in
 * which every instruction costs the same; "instructions", the whole
 * patched path, when the split is missing); SUPPORTED when
 * the CPU claim and every measured memory figure are SUPPORTED;
 * INCONCLUSIVE otherwise. Sets judged, verdict and judged_by. */
void pv_certificate_overhead_judge(struct pv_cert_overhead *o);

struct pv_certificate {
	char patchvet_version[32];
	char created[32];        /* UTC, ISO 8601 */
	char engine_arg[PATH_MAX + 8]; /* as --engine takes it (a plugin by absolute path) */
	char engine_kind[16];    /* "built-in", "plugin", "exec" */
	struct pv_cert_file engine; /* the .so, the exec file, or patchvet itself */
	char scenario_arg[PATH_MAX]; /* as --scenario takes it */
	char backend[16], flavour[16];
	char explorer[16];
	uint64_t seed, schedules;
	struct pv_cert_file target, patch;
	char command[2 * PATH_MAX + 512];   /* re-creates the certificate */
	char verify_command[PATH_MAX + 64]; /* re-runs and compares */
	struct pv_cert_verdict *verdicts;   /* owned */
	size_t nverdicts;
	struct pv_cert_overhead overhead;   /* added later */
};

/* Fills cert->verdicts from c (replacing any). */
int pv_certificate_verdicts(struct pv_certificate *cert, const struct pv_campaign *c,
                            struct pv_error *err);

/* The certificate as JSON, with c's full results.json embedded as
 * "campaign". *text is malloc'd. */
int pv_certificate_json(const struct pv_certificate *cert, const struct pv_campaign *c,
                        char **text, size_t *len, struct pv_error *err);

/* Reads a certificate; PV_EFORMAT (naming the file and the field) when it
 * is not one this version reads. */
int pv_certificate_load(const char *path, struct pv_certificate *cert, struct pv_error *err);

void pv_certificate_free(struct pv_certificate *cert); /* what cert owns */

#endif
