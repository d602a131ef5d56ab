/* Parser harness: a patch ELF and its `.patchvet.funcs` replacement table
 * (harness/load/patchfile.c): open, relocate against a real target, and the
 * analysis of the functions it replaces, as a run does. The target is
 * $PATCHVET_FUZZ_TARGET, default the emu build of counter in the data
 * directory. */
#include <limits.h>

#include "../harness/load/analysis.h"
#include "../harness/util/files.h"
#include "../harness/load/patchfile.h"
#include "parser.h"

struct fuzz_ctx {
	struct pv_image *target;
};

static int fuzz_setup(struct fuzz_ctx *c)
{
	char path[PATH_MAX + 32], data[PATH_MAX];
	struct pv_error err;
	pv_error_clear(&err);
	const char *t = getenv("PATCHVET_FUZZ_TARGET");
	if (!t) {
		if (pv_data_dir(data, sizeof(data), &err))
			return -1;
		snprintf(path, sizeof(path), "%s/emu/counter-plain", data);
		t = path;
	}
	if (pv_image_open(t, &c->target, &err)) {
		fprintf(stderr, "parse_patch: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void fuzz_teardown(struct fuzz_ctx *c)
{
	pv_image_close(c->target);
}

static void fuzz_one(struct fuzz_ctx *c, const struct pv_fuzz_file *f, const uint8_t *buf,
                     size_t len)
{
	pv_fuzz_file_put(f, buf, len);
	struct pv_patch *p = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	if (pv_patch_open(f->path, &p, &err))
		return;
	unsigned char *img = NULL;
	/* A span over 64 MiB is a sparse file's claim, not worth allocating. */
	if (p->span <= (64u << 20) &&
	    !pv_patch_relocate(p, c->target, 0, 0x7f0000000000ull, &img, &err))
		free(img);
	struct pv_analysis *a = NULL;
	if (!pv_analyze(c->target, p, NULL, 0, &a, &err))
		pv_analysis_free(a);
	pv_patch_close(p);
}

#define FUZZ_FILE_NAME "patch.so"
#include "parser_main.h"
