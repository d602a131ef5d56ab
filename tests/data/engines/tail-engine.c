/* A plugin built against a "newer" header: its struct pv_engine carries one
 * member more than this patchvet knows. TAIL_VALUE 0 must load (the member
 * is unused); any other value must be refused. */
#include <stdint.h>

#include <patchvet/engine.h>

#ifndef TAIL_VALUE
#define TAIL_VALUE 0
#endif

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

static const struct newer_engine {
	struct pv_engine base;
	uint64_t newer_member;
} engine = {
	.base =
		{
			.sz = sizeof(struct newer_engine),
			.abi_version = PV_ABI_VERSION,
			.name = "test-tail",
			.description = "An engine from a newer header (a test plugin).",
			.consistency = PV_CONSISTENCY_GLOBAL,
			.plan = plan,
			.apply = nothing,
			.revert = nothing,
		},
	.newer_member = TAIL_VALUE,
};

const struct pv_engine *patchvet_engine(void)
{
	return &engine.base;
}
