/* A broken plugin engine for tests/test_libs.c: with the world stopped it
 * writes a jmp over each replaced function's entry and marks the byte just
 * before the entry (padding); revert puts the entry back but forgets that
 * byte, which rollback-bytes must find, in whichever object the function
 * lives. Built with cc -shared -fPIC -Iinclude. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <patchvet/engine.h>
#include <patchvet/space.h>

struct site {
	uint64_t at, to;
	uint8_t orig[5];
};

struct state {
	size_t n;
	struct site sites[];
};

static int plan(const struct pv_patch_desc *patch, void **out, struct pv_error *err)
{
	struct state *st = calloc(1, sizeof(*st) + patch->nfuncs * sizeof(st->sites[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	for (size_t i = 0; i < patch->nfuncs; i++) {
		if (!patch->funcs[i].old_addr) {
			free(st);
			return pv_error_set(err, PV_EREFUSED, "padleak: a function is missing");
		}
		st->sites[st->n++] = (struct site){.at = patch->funcs[i].old_addr, .to = patch->funcs[i].new_addr};
	}
	*out = st;
	return 0;
}

static int apply(void *state, struct pv_space *s, struct pv_error *err)
{
	struct state *st = state;
	int rc = s->ops->stop_all(s);
	for (size_t i = 0; !rc && i < st->n; i++) {
		struct site *x = &st->sites[i];
		uint8_t jmp[5] = {0xe9};
		int32_t rel = (int32_t)(x->to - (x->at + 5));
		memcpy(jmp + 1, &rel, 4);
		uint8_t mark = 0xcc;
		rc = s->ops->read(s, x->at, x->orig, 5);
		if (!rc)
			rc = s->ops->write(s, x->at - 1, &mark, 1);
		if (!rc)
			rc = s->ops->write(s, x->at, jmp, 5);
	}
	if (!rc)
		rc = s->ops->sync_core(s);
	int r2 = s->ops->resume_all(s);
	if (rc || r2)
		return pv_error_set(err, rc ? rc : r2, "padleak: apply failed");
	return 0;
}

static int revert(void *state, struct pv_space *s, struct pv_error *err)
{
	struct state *st = state;
	int rc = s->ops->stop_all(s);
	for (size_t i = 0; !rc && i < st->n; i++)
		rc = s->ops->write(s, st->sites[i].at, st->sites[i].orig, 5);
	if (!rc)
		rc = s->ops->sync_core(s);
	int r2 = s->ops->resume_all(s);
	if (rc || r2)
		return pv_error_set(err, rc ? rc : r2, "padleak: revert failed");
	return 0;
}

static void release(void *state)
{
	free(state);
}

static const struct pv_engine engine = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "test-padleak",
	.description = "Leaves one byte of padding changed after revert (a test's broken plugin).",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = plan,
	.apply = apply,
	.revert = revert,
	.release = release,
};

const struct pv_engine *patchvet_engine(void)
{
	return &engine;
}
