/* Parser harness: an exec-adapter file (harness/exec/execfile.c) as
 * `--engine exec:FILE` reads it, and every command's argv built. */
#include "../harness/exec/execfile.h"
#include "parser.h"

struct fuzz_ctx {
	struct pv_exec_vars vars;
};

static int fuzz_setup(struct fuzz_ctx *c)
{
	c->vars = (struct pv_exec_vars){.pid = "4242", .patch = "/p/patch.so",
	                                .target = "/t/target", .workdir = "/w/work", .dir = "/d"};
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
	struct pv_execfile *x = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	if (pv_execfile_load(f->path, &x, &err))
		return;
	for (int k = 0; k < PV_EXEC_NCMDS; k++) {
		char **argv = NULL;
		if (!pv_exec_argv(x, (enum pv_exec_cmd)k, &c->vars, &argv, &err))
			pv_exec_argv_free(argv);
	}
	pv_execfile_free(x);
}

#define FUZZ_FILE_NAME "engine.exec"
#include "parser_main.h"
