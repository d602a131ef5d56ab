/* Parser harness: a scenario file (harness/load/scenario.c), loaded by path as
 * `--scenario FILE` does, and every path it leads to resolved. */
#include <limits.h>

#include "../harness/load/scenario.h"
#include "parser.h"

struct fuzz_ctx {
	char data[64]; /* a data directory that need not exist: paths only */
};

static int fuzz_setup(struct fuzz_ctx *c)
{
	snprintf(c->data, sizeof(c->data), "/nonexistent/patchvet-data");
	return 0;
}

static void fuzz_teardown(struct fuzz_ctx *c)
{
	(void)c;
}

static void fuzz_one(struct fuzz_ctx *c, const struct pv_fuzz_file *f, const uint8_t *buf,
                     size_t len)
{
	pv_fuzz_file_put(f, buf, len);
	struct pv_scenario *sc = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	if (pv_scenario_load(f->path, c->data, &sc, &err))
		return;
	char path[PATH_MAX];
	/* Every path is resolved for what it reaches; a failure is an answer too. */
	int rc = 0;
	for (unsigned b = 1; b <= PV_FLAVOUR_ALL; b <<= 1) {
		rc |= pv_scenario_target_path(sc, c->data, b, path, sizeof(path), &err);
		rc |= pv_scenario_emu_target_path(sc, c->data, b, path, sizeof(path), &err);
	}
	if (sc->patch)
		rc |= pv_scenario_patch_path(sc, c->data, path, sizeof(path), &err);
	(void)rc;
	pv_scenario_free(sc);
}

#define FUZZ_FILE_NAME "scenario.ini"
#include "parser_main.h"
