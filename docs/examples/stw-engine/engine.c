/* An engine built outside patchvet, against its public headers only: the
 * smallest safe strategy. Stop every thread; if none is inside (or returns
 * into) a function the patch replaces, write `jmp rel32` to the replacement
 * over its first 5 bytes; resume; otherwise resume, let the threads run a
 * little and try again, up to 20 times. Revert does the same with the
 * original bytes, waiting for threads to leave the replacements.
 *
 * Build it with the Makefile next to this file, then:
 *     patchvet run --engine ./example-stw.so --scenario counter
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <patchvet/engine.h>

/* patchvet's tests build this file for another ABI to see it refused. */
#ifndef EXAMPLE_ABI_VERSION
#define EXAMPLE_ABI_VERSION PV_ABI_VERSION
#endif

#define JMP 5
#define TRIES 20
#define FRAMES 64
#define THREADS 64

struct site {
	uint64_t at, old_end, new_at, new_end;
	uint8_t jmp[JMP], saved[JMP];
};

struct state {
	bool applied;
	size_t n;
	struct site s[];
};

static int plan(const struct pv_patch_desc *p, void **out, struct pv_error *err)
{
	*out = NULL;
	unsigned bad = PV_HAZARD_TOO_SHORT | PV_HAZARD_BRANCH_INTO_PROLOGUE |
	               PV_HAZARD_DATA_LAYOUT_CHANGE | PV_HAZARD_MISSING_FUNCTION;
	if (p->hazards & bad)
		return pv_error_set(err, PV_EREFUSED, "example-stw: the patch has a hazard");
	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct pv_patch_func *f = &p->funcs[i];
		int64_t d = (int64_t)(f->new_addr - (f->old_addr + JMP));
		if ((f->prologue.hazards & bad) || f->prologue.endbr64 || f->old_size < JMP ||
		    d < INT32_MIN || d > INT32_MAX)
			return pv_error_set(err, PV_EREFUSED, "example-stw: cannot put a jmp at %s",
			                    f->old_name);
	}
	struct state *st = calloc(1, sizeof(*st) + p->nfuncs * sizeof(st->s[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "example-stw: out of memory");
	st->n = p->nfuncs;
	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct pv_patch_func *f = &p->funcs[i];
		struct site *s = &st->s[i];
		s->at = f->old_addr;
		s->old_end = f->old_addr + f->old_size;
		s->new_at = f->new_addr;
		s->new_end = f->new_addr + (f->new_size ? f->new_size : 1);
		uint32_t rel = (uint32_t)(f->new_addr - (f->old_addr + JMP));
		s->jmp[0] = 0xe9;
		memcpy(s->jmp + 1, &rel, 4);
	}
	*out = st;
	return 0;
}

/* Is any thread inside, or returning into, what must not run now? */
static bool busy(const struct state *st, struct pv_space *sp, bool reverting)
{
	struct pv_thread_info th[THREADS];
	size_t n = 0;
	if (pv_space_threads(sp, th, THREADS, &n) || n > THREADS)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (th[i].state == PV_THREAD_DONE)
			continue;
		uint64_t pcs[FRAMES];
		size_t k = 0;
		if (pv_space_backtrace(sp, th[i].id, pcs, FRAMES, &k) || k == FRAMES)
			return true; /* an unreliable stack is an unsafe one */
		for (size_t f = 0; f < k; f++)
			for (size_t j = 0; j < st->n; j++) {
				const struct site *s = &st->s[j];
				if (!reverting && pcs[f] >= s->at && pcs[f] < s->old_end)
					return true;
				if (reverting && ((pcs[f] >= s->new_at && pcs[f] < s->new_end) ||
				                  (pcs[f] >= s->at && pcs[f] < s->at + JMP)))
					return true;
			}
	}
	return false;
}

static int flip(struct state *st, struct pv_space *sp, bool reverting, struct pv_error *err)
{
	for (unsigned t = 0; t < TRIES; t++) {
		if (t)
			pv_space_advance(sp, t);
		int rc = pv_space_stop_all(sp);
		if (rc)
			return pv_error_set(err, rc, "example-stw: cannot stop the threads");
		bool wait = busy(st, sp, reverting);
		for (size_t i = 0; !rc && !wait && i < st->n; i++) {
			struct site *s = &st->s[i];
			if (!reverting)
				rc = pv_space_read(sp, s->at, s->saved, JMP);
			if (!rc)
				rc = pv_space_write(sp, s->at, reverting ? s->saved : s->jmp, JMP);
		}
		if (!rc && !wait && pv_space_sync_core(sp) == PV_EUNSUPPORTED)
			rc = 0;
		int rrc = pv_space_resume_all(sp);
		if (rc || rrc)
			return pv_error_set(err, rc ? rc : rrc, "example-stw: the space failed");
		if (!wait) {
			st->applied = !reverting;
			return 0;
		}
	}
	return pv_error_set(err, PV_EBUSY, "example-stw: a thread stays in a replaced function");
}

static int apply(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct state *st = state;
	st->applied = false;
	return flip(st, sp, false, err);
}

static int revert(void *state, struct pv_space *sp, struct pv_error *err)
{
	struct state *st = state;
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "example-stw: revert before apply");
	return flip(st, sp, true, err);
}

static void release(void *state)
{
	free(state);
}

static const struct pv_engine engine = {
	.sz = sizeof(struct pv_engine),
	.abi_version = EXAMPLE_ABI_VERSION,
	.name = "example-stw",
	.description = "An out-of-tree example: stop the world, check every stack, write a "
	               "jmp rel32 over each entry (docs/examples/stw-engine).",
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
