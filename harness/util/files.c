#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pv_file_write_atomic(const char *path, const void *data, size_t len,
                         struct pv_error *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return pv_error_set(err, PV_EIO, "%s: cannot create a temporary file: %s", path,
		                    strerror(errno));
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return pv_error_set(err, PV_EIO, "%s: write failed: %s", path, strerror(e));
		}
		p += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, 0644) || fsync(fd) || close(fd)) {
		int e = errno;
		unlink(tmp);
		return pv_error_set(err, PV_EIO, "%s: cannot finish writing: %s", path, strerror(e));
	}
	if (rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return pv_error_set(err, PV_EIO, "%s: cannot rename into place: %s", path,
		                    strerror(e));
	}
	return 0;
}

int pv_mkdir_p(const char *dir, struct pv_error *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", dir);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) && errno != EEXIST)
				return pv_error_set(err, PV_EIO, "%s: cannot create directory: %s", buf,
				                    strerror(errno));
			*p = c;
			if (c == '\0')
				break;
		}
	}
	struct stat st;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return pv_error_set(err, PV_EIO, "%s: not a directory", dir);
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int pv_data_dir(char *buf, size_t len, struct pv_error *err)
{
	const char *env = getenv("PATCHVET_DATA");
	if (env && *env) {
		if (!is_dir(env))
			return pv_error_set(err, PV_ENOENT,
			                    "PATCHVET_DATA=%s is not a directory; unset it or point "
			                    "it at the corpora (build/corpora)", env);
		if (snprintf(buf, len, "%s", env) >= (int)len)
			return pv_error_set(err, PV_ERANGE, "PATCHVET_DATA: path too long");
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return pv_error_set(err, PV_EIO, "cannot find the patchvet executable: %s",
		                    strerror(errno));
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	static const char *const candidates[] = {"%s/corpora", "%s/../share/patchvet/corpora"};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		char path[PATH_MAX];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		int plen = snprintf(path, sizeof(path), candidates[i], exe);
#pragma GCC diagnostic pop
		if (plen > 0 && plen < (int)sizeof(path) && is_dir(path)) {
			if (snprintf(buf, len, "%s", path) >= (int)len)
				return pv_error_set(err, PV_ERANGE, "%s: path too long", path);
			return 0;
		}
	}
	return pv_error_set(err, PV_ENOENT,
	                    "no corpora next to %s (looked in %s/corpora and "
	                    "%s/../share/patchvet/corpora); run `make` or set PATCHVET_DATA",
	                    exe, exe, exe);
}

int pv_file_read(const char *path, size_t max, char **data, size_t *len, struct pv_error *err)
{
	*data = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s: %s", path,
		                    strerror(errno));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int rc = buf ? 0 : pv_error_set(err, PV_ENOMEM, "out of memory");
	while (!rc) {
		if (n == cap) {
			if (cap > max) {
				rc = pv_error_set(err, PV_ERANGE, "%s: larger than %zu bytes", path, max);
				break;
			}
			char *b = realloc(buf, 2 * cap + 1);
			if (!b) {
				rc = pv_error_set(err, PV_ENOMEM, "out of memory");
				break;
			}
			buf = b;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (!rc && ferror(f))
		rc = pv_error_set(err, PV_EIO, "%s: read error", path);
	if (!rc && n > max)
		rc = pv_error_set(err, PV_ERANGE, "%s: larger than %zu bytes", path, max);
	fclose(f);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path); /* one entry that will not go does not stop the rest */
	return 0;
}

void pv_remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
