/* SHA-256 (OpenSSL libcrypto, EVP) of files, as lowercase hex: how reports
 * and reproducers name the exact binaries they were made with. */
#ifndef PV_HARNESS_HASH_H
#define PV_HARNESS_HASH_H

#include <stddef.h>

#include <patchvet/error.h>

#define PV_SHA256_HEX_LEN 64

/* hex receives 64 hex digits and a NUL. */
int pv_sha256_buf(const void *data, size_t len, char hex[PV_SHA256_HEX_LEN + 1],
                  struct pv_error *err);

/* PV_ENOENT for a missing file, PV_EIO when it cannot be read. */
int pv_sha256_file(const char *path, char hex[PV_SHA256_HEX_LEN + 1], struct pv_error *err);

#endif
