/* What a parser harness shares. The harness includes this first, defines
 * the following, then includes parser_main.h (its main()):
 *
 *     struct fuzz_ctx { ... };               its state, set up once
 *     #define FUZZ_FILE_NAME "name"           the input file's name, when the
 *                                            parser takes a path (optional)
 *     static int fuzz_setup(struct fuzz_ctx *c);
 *     static void fuzz_teardown(struct fuzz_ctx *c);
 *     static void fuzz_one(struct fuzz_ctx *c, const struct pv_fuzz_file *f,
 *                          const uint8_t *buf, size_t len);
 *
 * Under afl-clang-fast: AFL++ persistent mode over shared-memory inputs.
 * Built with plain gcc (the smoke test of `make test`): every file named on
 * the command line, or every file of a directory named, is one input, run
 * once; a crash or sanitizer report is the failure.
 *
 * Parsers that take a path get the input through one file rewritten per
 * input (pv_fuzz_file_put), in /dev/shm when there is one: a directory per
 * process, made after the fork server starts (a child that exits removes
 * its own). */
#ifndef PV_FUZZ_PARSER_H
#define PV_FUZZ_PARSER_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pv_fuzz_file {
	char dir[64];        /* private directory, removed at exit */
	char path[128];      /* dir/name */
};

/* Creates the private directory and names the input file `name` in it. */
static inline int pv_fuzz_file_open(struct pv_fuzz_file *f, const char *name)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/pvfuzz-XXXXXX", base);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return 0;
}

static inline void pv_fuzz_file_close(struct pv_fuzz_file *f)
{
	if (f->dir[0]) {
		unlink(f->path);
		rmdir(f->dir);
	}
}

/* Makes the file hold exactly buf. Aborts when it cannot: a harness that
 * silently parses stale bytes would fuzz nothing. */
static inline void pv_fuzz_file_put(const struct pv_fuzz_file *f, const uint8_t *buf, size_t len)
{
	int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	close(fd);
}

struct fuzz_ctx;
static int fuzz_setup(struct fuzz_ctx *c);
static void fuzz_teardown(struct fuzz_ctx *c);
static void fuzz_one(struct fuzz_ctx *c, const struct pv_fuzz_file *f, const uint8_t *buf,
                     size_t len);

#endif
