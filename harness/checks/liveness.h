/* Check `liveness`: apply and revert finish (or refuse) within their bound
 * and the target keeps making progress. Each backend judges it with its own
 * bounds (instructions in emu, milliseconds on a real process); the
 * sentences more than one backend writes are worded here. */
#ifndef PV_HARNESS_CHECK_LIVENESS_H
#define PV_HARNESS_CHECK_LIVENESS_H

#include <stdbool.h>
#include <stddef.h>

/* An engine that declares automatic rollback within bound monitor calls
 * still had the patch applied that many calls after the injected fault. */
void pv_liveness_word_auto_rollback(const char *engine, unsigned bound, const char *fault,
                                    char *buf, size_t len);

/* The workers did not all start within ms (after a restart step: restart). */
void pv_liveness_word_start(bool restart, unsigned workers, int ms, char *buf, size_t len);

/* The target did not finish within ms after who ("the engine", "the tool")
 * was done. */
void pv_liveness_word_finish(const char *who, int ms, char *buf, size_t len);

#endif
