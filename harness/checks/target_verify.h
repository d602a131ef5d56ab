/* Check `target-verify`: the target's own self-check of its results
 * passes. In emu the harness calls the target's pv_verify; a real process
 * verifies in main and says so by its exit status. */
#ifndef PV_HARNESS_CHECK_TARGET_VERIFY_H
#define PV_HARNESS_CHECK_TARGET_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

/* pv_verify returned status; wrote: the target wrote output. */
void pv_target_verify_word_verify(int status, bool wrote, const char *output, char *buf,
                                  size_t len);

/* The process exited with status code; first is the first line it wrote
 * ("": nothing). */
void pv_target_verify_word_exit(int code, const char *first, char *buf, size_t len);

#endif
