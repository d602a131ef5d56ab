/* Small file-system helpers shared by the CLI and report writers. */
#ifndef PV_HARNESS_FILES_H
#define PV_HARNESS_FILES_H

#include <stddef.h>

#include <patchvet/error.h>
#include "must_check.h"

/* Writes len bytes to path atomically: a temporary file in the same
 * directory, fsync, then rename, so a reader never sees a partial report. */
PV_MUST_CHECK int pv_file_write_atomic(const char *path, const void *data, size_t len,
                         struct pv_error *err);

/* Reads all of path (at most max bytes, else PV_ERANGE) into a malloc'd,
 * NUL-terminated buffer the caller frees. */
PV_MUST_CHECK int pv_file_read(const char *path, size_t max, char **data, size_t *len, struct pv_error *err);

/* Removes path and everything under it (no symlink is followed); quiet
 * about what is already gone. */
void pv_remove_tree(const char *path);

/* Creates dir and its parents (mode 0755); existing directories are fine. */
PV_MUST_CHECK int pv_mkdir_p(const char *dir, struct pv_error *err);

/* Finds the directory holding the corpora (targets/, patches/, scenarios/,
 * expected): $PATCHVET_DATA when set, else EXE_DIR/corpora (a build tree),
 * else EXE_DIR/../share/patchvet/corpora (an installation). */
PV_MUST_CHECK int pv_data_dir(char *buf, size_t len, struct pv_error *err);

#endif
