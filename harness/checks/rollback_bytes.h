/* Check `rollback-bytes`: after revert (or an apply that gave up and so
 * claims to have changed nothing), every code byte of the target equals the
 * original file's byte. The backend hands over each code range the engine
 * wrote, as it is now and as it was loaded. */
#ifndef PV_HARNESS_JUDGE_ROLLBACK_H
#define PV_HARNESS_JUDGE_ROLLBACK_H

#include <stddef.h>
#include <stdint.h>

struct pv_rollback_finding {
	uint64_t addr;       /* first byte that differs */
	uint8_t now, orig;   /* its value now and in the file */
	size_t ndiff;        /* bytes that differ in the range */
};

/* Returns 1 and fills *f when [addr, addr + len) differs, else 0. */
int pv_judge_rollback(uint64_t addr, const uint8_t *now, const uint8_t *orig, size_t len,
                      struct pv_rollback_finding *f);

/* The sentence of f, after (what: "revert", "apply gave up"), where being
 * f->addr as the caller shows it (symbolized when it can): every backend's
 * one wording. */
void pv_rollback_bytes_word(const struct pv_rollback_finding *f, const char *after,
                            const char *where, char *buf, size_t len);

#endif
