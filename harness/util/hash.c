#include "hash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

static void to_hex(const unsigned char *md, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[PV_SHA256_HEX_LEN] = '\0';
}

int pv_sha256_buf(const void *data, size_t len, char hex[PV_SHA256_HEX_LEN + 1],
                  struct pv_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return pv_error_set(err, PV_EINTERNAL, "SHA-256 failed in libcrypto");
	to_hex(md, hex);
	return 0;
}

int pv_sha256_file(const char *path, char hex[PV_SHA256_HEX_LEN + 1], struct pv_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s: %s", path,
		                    strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = 0;
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		rc = pv_error_set(err, PV_ENOMEM, "%s: cannot start SHA-256 in libcrypto", path);
	unsigned char buf[1 << 16];
	size_t n;
	while (!rc && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (!EVP_DigestUpdate(ctx, buf, n))
			rc = pv_error_set(err, PV_EINTERNAL, "%s: SHA-256 failed in libcrypto", path);
	if (!rc && ferror(f))
		rc = pv_error_set(err, PV_EIO, "%s: read error", path);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!rc && (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32))
		rc = pv_error_set(err, PV_EINTERNAL, "%s: SHA-256 failed in libcrypto", path);
	if (!rc)
		to_hex(md, hex);
	EVP_MD_CTX_free(ctx);
	fclose(f);
	return rc;
}
