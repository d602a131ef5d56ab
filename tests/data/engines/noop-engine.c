/* A broken plugin engine for tests/test_replay.c: apply reports success
 * without writing a byte (caught by `ineffective`), so a run of it leaves a
 * reproducer whose replay must load this file again. Built with
 * cc -shared -fPIC -Iinclude; NOOP_TAG changes the bytes of the object (a
 * "changed plugin") without changing what it does. */
#include <stddef.h>

#include <patchvet/engine.h>

#ifndef NOOP_TAG
#define NOOP_TAG "1"
#endif

const char noop_tag[] = NOOP_TAG;

static int plan(const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	(void)patch;
	(void)err;
	*state = NULL;
	return 0;
}

static int nothing(void *state, struct pv_space *space, struct pv_error *err)
{
	(void)state;
	(void)space;
	(void)err;
	return 0;
}

static const struct pv_engine engine = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "test-noop",
	.description = "Reports success without patching (a test's broken plugin).",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = plan,
	.apply = nothing,
	.revert = nothing,
};

const struct pv_engine *patchvet_engine(void)
{
	return &engine;
}
