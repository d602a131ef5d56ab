/* The emulator's part of `patchvet bench` (harness/bench/emu_counts.h). */
#include "emu_counts.h"

#include <stdlib.h>
#include <string.h>

#include <patchvet/space.h>

#include "../../emulator/emu.h"
#include "../checks/registry.h"

/* Slice bytes 0 ("nobody runs") for every decision point of the engine's
 * work, after a phase byte 0 (apply before any worker has run); the
 * defaults after them. */
#define QUIET_DECISIONS 65536

static int none_plan(const struct pv_patch_desc *p, void **state, struct pv_error *err)
{
	(void)p;
	(void)err;
	*state = NULL;
	return 0;
}

static int none_op(void *state, struct pv_space *s, struct pv_error *err)
{
	(void)state;
	(void)s;
	(void)err;
	return 0;
}

/* The unpatched run: an engine that does nothing. */
static const struct pv_engine none_engine = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "none",
	.description = "does nothing (the unpatched baseline of patchvet bench)",
	.consistency = PV_CONSISTENCY_NONE,
	.plan = none_plan,
	.apply = none_op,
	.revert = none_op,
};

/* ------------------------------------------------------------ booked space */

#define BOOK_MAX 4096

/* A space that forwards every operation to the backend's and books the
 * engine's mappings. */
struct booked {
	struct pv_space space;  /* first */
	struct pv_space *inner;
	uint64_t addr[BOOK_MAX], len[BOOK_MAX];
	size_t n;
};

static struct pv_space *in(struct pv_space *s)
{
	return ((struct booked *)s)->inner;
}

static int b_read(struct pv_space *s, uint64_t a, void *buf, size_t len)
{ return pv_space_read(in(s), a, buf, len); }
static int b_write(struct pv_space *s, uint64_t a, const void *buf, size_t len)
{ return pv_space_write(in(s), a, buf, len); }
static int b_store(struct pv_space *s, uint64_t a, uint64_t v, unsigned size)
{ return pv_space_store_atomic(in(s), a, v, size); }
static int b_protect(struct pv_space *s, uint64_t a, uint64_t len, unsigned prot)
{ return pv_space_protect(in(s), a, len, prot); }
static int b_stop_all(struct pv_space *s) { return pv_space_stop_all(in(s)); }
static int b_resume_all(struct pv_space *s) { return pv_space_resume_all(in(s)); }
static int b_threads(struct pv_space *s, struct pv_thread_info *out, size_t max, size_t *count)
{ return pv_space_threads(in(s), out, max, count); }
static int b_backtrace(struct pv_space *s, unsigned id, uint64_t *pcs, size_t max,
                       size_t *count)
{ return pv_space_backtrace(in(s), id, pcs, max, count); }
static int b_call(struct pv_space *s, unsigned id, uint64_t fn, const uint64_t *args,
                  unsigned nargs, uint64_t *ret)
{ return pv_space_call(in(s), id, fn, args, nargs, ret); }
static int b_sync_core(struct pv_space *s) { return pv_space_sync_core(in(s)); }
static int b_symbol(struct pv_space *s, const char *name, uint64_t *addr, uint64_t *size)
{ return pv_space_symbol(in(s), name, addr, size); }
static int b_advance(struct pv_space *s, unsigned hint) { return pv_space_advance(in(s), hint); }
static int b_trap_redirect(struct pv_space *s, uint64_t a, uint64_t to)
{ return pv_space_trap_redirect(in(s), a, to); }
static int b_thread_slot(struct pv_space *s, unsigned id, unsigned slot, uint64_t v,
                         uint64_t *addr)
{ return pv_space_thread_slot(in(s), id, slot, v, addr); }
static void b_note(struct pv_space *s, const char *text) { pv_space_note(in(s), text); }
static int b_call_flags(struct pv_space *s, unsigned id, uint64_t fn, const uint64_t *args,
                        unsigned nargs, unsigned flags, uint64_t *ret)
{ return pv_space_call_flags(in(s), id, fn, args, nargs, flags, ret); }

static int b_map_near(struct pv_space *s, uint64_t near, uint64_t len, unsigned prot,
                      uint64_t *addr)
{
	struct booked *b = (struct booked *)s;
	int rc = pv_space_map_near(b->inner, near, len, prot, addr);
	if (!rc && b->n < BOOK_MAX) {
		b->addr[b->n] = *addr;
		b->len[b->n++] = (len + 0xfff) & ~0xfffull;
	}
	return rc;
}

static int b_unmap(struct pv_space *s, uint64_t addr, uint64_t len)
{
	struct booked *b = (struct booked *)s;
	int rc = pv_space_unmap(b->inner, addr, len);
	for (size_t i = 0; !rc && i < b->n; i++)
		if (b->addr[i] == addr) {
			uint64_t cut = (len + 0xfff) & ~0xfffull;
			b->len[i] = cut >= b->len[i] ? 0 : b->len[i] - cut;
			b->addr[i] += cut;
			break;
		}
	return rc;
}

static const struct pv_space_ops booked_ops = {
	.sz = sizeof(struct pv_space_ops),
	.read = b_read,
	.write = b_write,
	.store_atomic = b_store,
	.map_near = b_map_near,
	.unmap = b_unmap,
	.protect = b_protect,
	.stop_all = b_stop_all,
	.resume_all = b_resume_all,
	.threads = b_threads,
	.backtrace = b_backtrace,
	.call = b_call,
	.sync_core = b_sync_core,
	.symbol = b_symbol,
	.advance = b_advance,
	.trap_redirect = b_trap_redirect,
	.thread_slot = b_thread_slot,
	.note = b_note,
	.call_flags = b_call_flags,
};

static double booked_bytes(const struct booked *b)
{
	double n = 0;
	for (size_t i = 0; i < b->n; i++)
		n += (double)b->len[i];
	return n;
}

/* ------------------------------------------------------------ drivers */

/* What the wrapping engine does inside the run. */
struct drive {
	const struct pv_engine *engine;
	void *state;
	unsigned cycles;           /* 0: apply once and keep it */
	double *left, *mapped;
	unsigned done;
	int rc;
	char why[PV_ERROR_MSG_MAX];
};

static int drive_apply(void *state, struct pv_space *s, struct pv_error *err)
{
	struct drive *d = state;
	if (!d->cycles)
		return d->engine->apply(d->state, s, err);
	struct booked *b = calloc(1, sizeof(*b));
	if (!b)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	b->space.ops = &booked_ops;
	b->inner = s;
	struct pv_error e;
	for (unsigned i = 0; i < d->cycles; i++) {
		pv_error_clear(&e);
		int rc = d->engine->apply(d->state, &b->space, &e);
		if (!rc) {
			d->mapped[i] = booked_bytes(b);
			pv_error_clear(&e);
			rc = d->engine->revert(d->state, &b->space, &e);
		}
		if (rc) {
			d->rc = rc;
			snprintf(d->why, sizeof(d->why), "%s: cycle %u: %.400s", d->engine->name, i + 1,
			         e.msg[0] ? e.msg : pv_strerror(rc));
			break;
		}
		d->left[i] = booked_bytes(b);
		d->done = i + 1;
	}
	free(b);
	return 0;
}

static const struct pv_engine drive_engine = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "bench-drive",
	.description = "applies another engine's patch and keeps it, or cycles it",
	.consistency = PV_CONSISTENCY_NONE,
	.plan = none_plan,
	.apply = drive_apply,
	.revert = none_op,
};

/* One run of the drive (or, d NULL, of the do-nothing engine). */
static int one_run(const char *target, const char *patch, unsigned workers,
                   unsigned long iterations, long param, struct drive *d,
                   struct pv_run_result *res, struct pv_error *err)
{
	struct pv_emu_config cfg = {
		.target_path = target,
		.patch_path = patch,
		.workload = {.workers = workers, .iterations = iterations, .param = param},
		.step_budget = 200000000,
	};
	struct pv_emu *emu = NULL;
	int rc = pv_emu_open(&cfg, &emu, err);
	if (rc)
		return rc;
	struct pv_error perr;
	pv_error_clear(&perr);
	if (d && (rc = d->engine->plan(pv_emu_patch(emu), &d->state, &perr))) {
		pv_emu_close(emu);
		return pv_error_set(err, rc, "%s: plan failed in emu: %s", d->engine->name,
		                    perr.msg[0] ? perr.msg : pv_strerror(rc));
	}
	uint8_t *stream = calloc(QUIET_DECISIONS, 1);
	if (!stream)
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!rc)
		rc = pv_emu_run(emu, d ? &drive_engine : &none_engine, d, stream, QUIET_DECISIONS,
		                res, err);
	free(stream);
	if (d && d->state && d->engine->release)
		d->engine->release(d->state);
	if (d)
		d->state = NULL;
	pv_emu_close(emu);
	return rc;
}

int pv_bench_emu_count(const char *target, const char *patch, unsigned workers,
                       unsigned long iterations, long param, const struct pv_engine *engine,
                       bool patched, struct pv_bench_emu_count *out, struct pv_error *err)
{
	struct drive d = {.engine = engine};
	struct pv_run_result *res = calloc(1, sizeof(*res));
	if (!res)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = one_run(target, patch, workers, iterations, param, patched ? &d : NULL, res, err);
	if (!rc && patched && res->apply_rc)
		rc = pv_error_set(err, res->apply_rc, "%s: apply failed in emu: %s", engine->name,
		                  res->engine_error[0] ? res->engine_error : pv_strerror(res->apply_rc));
	for (size_t i = 0; !rc && i < res->nviolations && i < PV_RUN_MAX_VIOLATIONS; i++)
		/* The kept patch fails rollback-* by design, the baseline
		 * `ineffective`; anything else means the run did not do the
		 * work. */
		if (strcmp(res->violations[i].check, pv_check_name(PV_CHECK_ROLLBACK_BYTES)) &&
		    strcmp(res->violations[i].check, pv_check_name(PV_CHECK_ROLLBACK_LEAK)) &&
		    (patched ||
		     strcmp(res->violations[i].check, pv_check_name(PV_CHECK_INEFFECTIVE))))
			rc = pv_error_set(err, PV_EINTERNAL, "the emu run %s had a violation (%s: %s), "
			                                     "so its instruction count is not a cost",
			                  patched ? "patched" : "unpatched", res->violations[i].check,
			                  res->violations[i].detail);
	if (!rc)
		*out = (struct pv_bench_emu_count){.total = res->instructions,
		                                   .replaced = res->insns_replaced,
		                                   .patch = res->insns_patch};
	free(res);
	return rc;
}

int pv_bench_emu_insns(const char *target, const char *patch, unsigned workers,
                       unsigned long iterations, long param, const struct pv_engine *engine,
                       bool patched, uint64_t *insns, struct pv_error *err)
{
	struct pv_bench_emu_count c;
	int rc = pv_bench_emu_count(target, patch, workers, iterations, param, engine, patched, &c,
	                            err);
	if (!rc)
		*insns = c.total;
	return rc;
}

int pv_bench_emu_cycles(const char *target, const char *patch, unsigned workers,
                        unsigned long iterations, long param, const struct pv_engine *engine,
                        unsigned cycles, double *left, double *mapped, unsigned *done,
                        struct pv_error *err)
{
	struct drive d = {.engine = engine, .cycles = cycles, .left = left, .mapped = mapped};
	struct pv_run_result *res = calloc(1, sizeof(*res));
	if (!res)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = one_run(target, patch, workers, iterations, param, &d, res, err);
	free(res);
	*done = d.done;
	if (!rc && d.rc)
		rc = pv_error_set(err, d.rc, "%s", d.why);
	return rc;
}
