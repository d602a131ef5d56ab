/* The emu backend's entry points (emu.h): open and close, and one run from
 * reset to verdicts. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "../harness/model/sequence.h"
#include "../harness/script/script.h"

static int bad_config(const struct pv_emu_config *cfg, struct pv_error *err)
{
	if (!cfg || !cfg->target_path || !cfg->patch_path)
		return pv_error_set(err, PV_EINVAL,
		                    "the emu backend needs a target and a patch (one was not given)");
	if (cfg->workload.workers < 1 || cfg->workload.workers > PV_MAX_WORKERS)
		return pv_error_set(err, PV_EINVAL, "%u workers: the emu backend runs 1 to %d",
		                    cfg->workload.workers, PV_MAX_WORKERS);
	if (cfg->mem_model != PV_MEM_BYTE && cfg->mem_model != PV_MEM_WORD8)
		return pv_error_set(err, PV_EINVAL, "unknown memory model %d (byte or word8)",
		                    (int)cfg->mem_model);
	return 0;
}

void pv_emu_close(struct pv_emu *e)
{
	if (!e)
		return;
	pv_exec_judge_close(e->exec);
	pv_global_judge_close(e->global);
	pv_xmc_judge_close(e->xmc);
	pv_version_judge_close(e->version);
	pv_global_judge_close(e->global_new);
	emu_coverage_close(e);
	if (e->fn)
		emu_frames_free(e);
	free(e->fn);
	free(e->hot);
	free(e->watch);
	pv_patch_view_free(&e->view);
	pv_patch_close(e->patch);
	for (size_t i = 0; i < e->nextra; i++) {
		free(e->extra[i].path);
		pv_patch_close(e->extra[i].patch);
		pv_patch_view_free(&e->extra[i].view);
	}
	pv_image_close(e->target);
	for (unsigned i = 0; i < PV_MAX_WORKERS + 1; i++)
		if (e->threads[i].ctx)
			uc_context_free(e->threads[i].ctx);
	if (e->blank)
		uc_context_free(e->blank);
	if (e->saved)
		uc_context_free(e->saved);
	if (e->uc)
		uc_close(e->uc);
	for (size_t i = 0; i < e->nblocks; i++)
		munmap(e->blocks[i].mem, e->blocks[i].size);
	if (e->cs_open)
		cs_close(&e->cs);
	free(e->target_path);
	free(e->patch_path);
	free(e);
}

static int open_engines(struct pv_emu *e, struct pv_error *err)
{
	uc_err ue = uc_open(UC_ARCH_X86, UC_MODE_64, &e->uc);
	if (ue != UC_ERR_OK)
		return pv_error_set(err, PV_EINTERNAL,
		                    "cannot start the Unicorn x86-64 emulator (%s); check that "
		                    "libunicorn 2 is installed",
		                    uc_strerror(ue));
	e->ctx_size = uc_context_size(e->uc);
	/* The registers of a fresh CPU are every thread's starting point. */
	if (uc_context_alloc(e->uc, &e->blank) != UC_ERR_OK ||
	    uc_context_alloc(e->uc, &e->saved) != UC_ERR_OK ||
	    uc_context_save(e->uc, e->blank) != UC_ERR_OK)
		return pv_error_set(err, PV_ENOMEM, "out of memory for emulator contexts");
	for (unsigned i = 0; i < e->nthreads; i++)
		if (uc_context_alloc(e->uc, &e->threads[i].ctx) != UC_ERR_OK)
			return pv_error_set(err, PV_ENOMEM, "out of memory for thread contexts");
	cs_err ce = cs_open(CS_ARCH_X86, CS_MODE_64, &e->cs);
	if (ce != CS_ERR_OK)
		return pv_error_set(err, PV_EINTERNAL,
		                    "capstone could not open an x86-64 disassembler (%s)",
		                    cs_strerror(ce));
	e->cs_open = true;
	cs_option(e->cs, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

static int slow_hooks_install(struct pv_emu *e, struct pv_error *err);

int pv_emu_open(const struct pv_emu_config *cfg, struct pv_emu **out, struct pv_error *err)
{
	*out = NULL;
	int rc = bad_config(cfg, err);
	if (rc)
		return rc;
	struct pv_emu *e = calloc(1, sizeof(*e));
	if (!e)
		return pv_error_set(err, PV_ENOMEM, "out of memory opening the emulator");
	e->cfg = *cfg;
	e->target_path = strdup(cfg->target_path);
	e->patch_path = strdup(cfg->patch_path);
	e->cfg.target_path = e->target_path;
	e->cfg.patch_path = e->patch_path;
	e->nthreads = cfg->workload.workers + 1;
	e->space.ops = &emu_space_ops;
	e->loaded = -1;
	if (!e->target_path || !e->patch_path)
		rc = pv_error_set(err, PV_ENOMEM, "out of memory opening the emulator");
	if (!rc)
		rc = open_engines(e, err);
	if (!rc)
		rc = emu_load(e, err);
	size_t nwatch = e->view.desc.nfuncs + 1;
	for (size_t i = 0; !rc && i < e->nextra; i++)
		nwatch += e->extra[i].view.desc.nfuncs;
	if (!rc && !(e->watch = calloc(nwatch, sizeof(*e->watch))))
		rc = pv_error_set(err, PV_ENOMEM, "out of memory opening the emulator");
	if (!rc)
		rc = pv_xmc_judge_open(e->nthreads, &e->xmc, err);
	if (!rc)
		rc = emu_coverage_open(e, err);
	if (!rc)
		rc = emu_hooks_install(e, err);
	if (!rc)
		rc = slow_hooks_install(e, err);
	if (rc) {
		pv_emu_close(e);
		return rc;
	}
	*out = e;
	return 0;
}

const struct pv_patch_desc *pv_emu_patch(const struct pv_emu *e)
{
	return &e->view.desc;
}

void pv_emu_set_trace(struct pv_emu *e, FILE *out)
{
	e->trace = out;
}

int pv_emu_set_block_hook(struct pv_emu *e, pv_emu_block_fn fn, void *ctx,
                          struct pv_error *err)
{
	/* run.res is set by the first run: blocks translated by then would
	 * never reach the hook. */
	if (!fn || e->block_fn || e->run.res)
		return pv_error_set(err, PV_EINVAL, "pv_emu_set_block_hook: %s",
		                    !fn            ? "no callback given"
		                    : e->block_fn ? "this emulator already has a block hook"
		                                  : "install it before the first run");
	e->block_fn = fn;
	e->block_ctx = ctx;
	int rc = emu_hooks_block(e, err);
	if (rc)
		e->block_fn = NULL;
	return rc;
}

const char *pv_emu_output(const struct pv_emu *e)
{
	return e->run.output;
}

/* ------------------------------------------------------------ one run */

static void reset(struct pv_emu *e, const struct pv_engine *engine,
                  const struct emu_stream *stream, struct pv_run_result *res)
{
	emu_reset_memory(e); /* uses what the last run recorded */
	memset(&e->run, 0, sizeof(e->run));
	struct emu_run *r = &e->run;
	r->res = res;
	r->stream = *stream;
	r->engine = engine;
	r->budget = e->cfg.step_budget ? e->cfg.step_budget : EMU_BUDGET_DEFAULT;
	r->slots_owner = -1;
	r->last_tid = e->cfg.workload.workers; /* so the default starts at thread 0 */
	emu_threads_reset(e);
	pv_exec_judge_reset(e->exec);
	pv_xmc_judge_reset(e->xmc);
	pv_version_judge_reset(e->version);
	if (engine->consistency == PV_CONSISTENCY_THREAD ||
	    engine->consistency == PV_CONSISTENCY_CALL)
		r->vmode = engine->consistency;
	memset(&e->slice, 0, sizeof(e->slice));
	e->loaded = -1;
}

static void slow_tick(struct pv_emu *e);

static void phase(struct pv_emu *e)
{
	unsigned n = emu_decide_phase(e);
	for (unsigned i = 0; i < n; i++) {
		/* Under a slowdown, time passes even when every worker is held. */
		if (!emu_decide_slice(e, false) && !e->run.slowing)
			break;
		slow_tick(e);
	}
}

typedef int (*engine_op_fn)(void *state, struct pv_space *space, struct pv_error *err);

/* apply or revert, with torn-exec judged over the operation and every
 * thread the engine left stopped resumed (a `liveness` violation). */
static int engine_op(struct pv_emu *e, const char *name, engine_op_fn fn, void *state,
                     int *rc_out, struct pv_error *err)
{
	struct emu_run *r = &e->run;
	int rc = pv_exec_judge_op_begin(e->exec, err);
	if (rc)
		return rc;
	r->nwatch = 0; /* revert begins: the old code may run again */
	r->in_op = true;
	r->op = name;
	r->op_ops = 0;
	r->op_over = false;
	emu_trace(e, "%s begins", name);
	struct pv_error eerr;
	pv_error_clear(&eerr);
	*rc_out = fn(state, &e->space, &eerr);
	r->in_op = false;
	emu_trace(e, "%s returns %d%s%s", name, *rc_out, eerr.msg[0] ? ": " : "", eerr.msg);
	if (*rc_out)
		snprintf(r->res->engine_error, sizeof(r->res->engine_error), "%s: %.180s", name,
		         eerr.msg[0] ? eerr.msg : pv_strerror(*rc_out));

	struct pv_exec_finding f[1];
	size_t nf = 0;
	rc = pv_exec_judge_op_end(e->exec, f, 1, &nf, err);
	if (rc)
		return rc;
	if (nf) {
		char where[160], detail[PV_CHECK_DETAIL_LEN];
		size_t before = r->res->nviolations;
		emu_symbolize(e, f[0].addr, where, sizeof(where));
		pv_torn_exec_word(&f[0], where, name, detail, sizeof(detail));
		emu_violation(e, PV_CHECK_TORN_EXEC, f[0].thread, f[0].addr, "%s", detail);
		/* The violation's step is when it ran, not when it was judged. */
		if (r->res->nviolations > before)
			r->res->violations[before].step = f[0].step;
	}
	unsigned stopped = 0, first = 0;
	for (unsigned i = 0; i < e->cfg.workload.workers; i++) {
		if (e->threads[i].stopped && !e->threads[i].done && !stopped++)
			first = i;
		e->threads[i].stopped = false;
	}
	if (stopped)
		emu_violation(e, PV_CHECK_LIVENESS, (int)first, e->threads[first].pc,
		              "%s returned with %u thread(s) still stopped (thread %u first); "
		              "they were resumed",
		              name, stopped, first);
	return 0;
}

/* ineffective: where each replaced function's old code goes on when a call
 * is not redirected (harness/checks/ineffective.h). In a sequence (st not
 * NULL), only the functions some applied patch replaces: one that a
 * cumulative replace gave back its original must run it. */
static void arm_ineffective_in(struct pv_emu *e, const struct pv_patch_desc *const *descs,
                               const struct pv_stack *st)
{
	struct emu_run *r = &e->run;
	r->nwatch = 0;
	for (size_t i = 0; i < e->view.desc.nfuncs; i++) {
		const struct pv_patch_func *f = &e->view.funcs[i];
		if (st && f->old_name && pv_stack_live(st, descs, f->old_name) < 0)
			continue;
		size_t len = f->old_size < PV_PROLOGUE_WINDOW ? (size_t)f->old_size
		                                              : PV_PROLOGUE_WINDOW;
		const uint8_t *now = emu_host(e, f->old_addr, len);
		const uint8_t *orig = emu_pristine(e, f->old_addr, len);
		if (!f->old_addr || !len || !now || !orig)
			continue;
		struct pv_ineffective_func in = {
			.entry = f->old_addr, .len = len, .now = now, .orig = orig,
			.boundaries = f->prologue.boundaries,
			.nboundaries = f->prologue.nboundaries};
		uint64_t w = pv_ineffective_watch(&in);
		if (!w)
			continue;
		uint64_t exempt = 0;
		for (unsigned t = 0; t < e->cfg.workload.workers && t < 64; t++)
			if (!e->threads[t].done && e->threads[t].pc == w)
				exempt |= 1ull << t;
		e->watch[r->nwatch++] = (struct emu_watch){.addr = w, .exempt = exempt};
	}
}

static void arm_ineffective(struct pv_emu *e)
{
	arm_ineffective_in(e, NULL, NULL);
}

/* ineffective over a stack of patches: once a newer patch is live, a new
 * call must not enter an older applied patch's replacement either. Its
 * entry is watched when its bytes are still the loaded ones; an engine
 * that chains versions by a jump written there is judged from the code
 * (pv_live_check). This is what catches a stub that picks the version at
 * run time (klp's), which the code alone does not tell. */
static void arm_stack(struct pv_emu *e, const struct pv_sequence *seq,
                      const struct pv_patch_desc *const *descs, const struct pv_stack *st)
{
	struct emu_run *r = &e->run;
	r->watch_lo = UINT64_MAX;
	r->watch_hi = 0;
	for (size_t j = 0; j < st->n; j++) {
		unsigned p = st->order[j];
		for (size_t k = 0; k < descs[p]->nfuncs; k++) {
			const struct pv_patch_func *f = &descs[p]->funcs[k];
			int live = pv_stack_live(st, descs, f->old_name);
			size_t len = f->new_size < 16 ? (size_t)f->new_size : 16;
			const uint8_t *now = emu_host(e, f->new_addr, len);
			const uint8_t *orig = emu_pristine(e, f->new_addr, len);
			if (live < 0 || (unsigned)live == p || !len || !now || !orig ||
			    memcmp(now, orig, len))
				continue;
			uint64_t exempt = 0;
			for (unsigned t = 0; t < e->cfg.workload.workers && t < 64; t++)
				if (!e->threads[t].done && e->threads[t].pc == f->new_addr)
					exempt |= 1ull << t;
			e->watch[r->nwatch++] = (struct emu_watch){
				.addr = f->new_addr, .exempt = exempt, .version = seq->patches[p]};
			if (f->new_addr < r->watch_lo)
				r->watch_lo = f->new_addr;
			if (f->new_addr + 1 > r->watch_hi)
				r->watch_hi = f->new_addr + 1;
		}
	}
	if (r->watch_lo > r->watch_hi)
		r->watch_lo = r->watch_hi = 0;
}

static bool any_crashed(const struct pv_emu *e)
{
	for (unsigned i = 0; i < e->nthreads; i++)
		if (e->threads[i].crashed)
			return true;
	return false;
}

/* rollback-bytes facts: the first code byte the engine wrote that is not
 * the loaded one again. */
static bool rollback_diff(void *ctx, struct pv_rollback_finding *f, char *where, size_t len)
{
	struct pv_emu *e = ctx;
	struct emu_run *r = &e->run;
	bool all = r->dirty_overflow;
	for (size_t i = 0; i < e->nregions; i++) {
		const struct emu_region *g = &e->regions[i];
		if (g->kind != EMU_R_TARGET || !(g->prot & UC_PROT_EXEC))
			continue;
		for (size_t k = 0; k < (all ? 1 : r->ndirty); k++) {
			uint64_t lo = all ? g->addr : r->dirty[k].addr;
			uint64_t hi = all ? g->addr + g->size : lo + r->dirty[k].len;
			if (lo < g->addr)
				lo = g->addr;
			if (hi > g->addr + g->size)
				hi = g->addr + g->size;
			if (lo >= hi)
				continue;
			if (!pv_judge_rollback(lo, g->host + (lo - g->addr),
			                       g->pristine + (lo - g->addr), (size_t)(hi - lo), f))
				continue;
			emu_symbolize(e, f->addr, where, len);
			return true;
		}
	}
	return false;
}

/* rollback-leak facts: the mappings the engine made with map_near and
 * still holds. */
static size_t leaked(void *ctx, uint64_t *addr, uint64_t *len)
{
	struct pv_emu *e = ctx;
	struct emu_run *r = &e->run;
	struct pv_release_range held[EMU_MAPS_MAX];
	for (size_t i = 0; i < r->nmaps; i++)
		held[i] = (struct pv_release_range){.addr = r->maps[i].addr, .len = r->maps[i].len};
	int i = pv_judge_leak(held, r->nmaps);
	if (i < 0)
		return 0;
	*addr = held[i].addr;
	*len = held[i].len;
	return r->nmaps;
}

/* pv_verify on a fresh thread once every worker has finished. */
static void verify(struct pv_emu *e)
{
	struct pv_run_result *res = e->run.res;
	unsigned v = e->cfg.workload.workers;
	if (emu_thread_start(e, v, e->verify_fn, EMU_WORKLOAD, 0))
		return;
	uint64_t start = res->instructions;
	for (;;) {
		uint64_t used = res->instructions - start;
		if (used >= EMU_VERIFY_BUDGET) {
			emu_violation(e, PV_CHECK_LIVENESS, -1, e->threads[v].pc,
			              "pv_verify did not return within %u instructions",
			              EMU_VERIFY_BUDGET);
			return;
		}
		enum emu_stop stop = emu_run_slice(e, v, EMU_VERIFY_BUDGET - used, false);
		if (stop == EMU_STOP_CRASH)
			return;
		if (stop == EMU_STOP_BLOCKED) {
			emu_violation(e, PV_CHECK_LIVENESS, -1, e->threads[v].pc,
			              "pv_verify blocked on a lock that no thread will release");
			return;
		}
		if (stop == EMU_STOP_DONE)
			break;
	}
	res->verify_status = (int)(int32_t)emu_thread_reg(e, v, UC_X86_REG_RAX);
	if (res->verify_status != 0) {
		char detail[PV_CHECK_DETAIL_LEN];
		pv_target_verify_word_verify(res->verify_status, e->run.noutput, e->run.output, detail,
		                             sizeof(detail));
		emu_violation(e, PV_CHECK_TARGET_VERIFY, -1, 0, "%s", detail);
	}
}

/* The injected fault. Crash: the first unfinished worker dies, as of a
 * fatal signal (no `crash` violation: patchvet did it). Stall: every
 * running worker is held (blocked on nothing) until unstall. Slowdown:
 * from now on, every worker that enters a patch's function is held there
 * for PV_FAULT_SLOW_SLICES slices (on_slow_entry, slow_tick), so the
 * workers' progress per slice drops without stopping. False when no worker
 * was left to fault. */
#define STALL_WORD UINT64_MAX
#define EDGE_BYTES 16 /* after a replaced function's entry: where engines write */

/* Is pc where engines rewrite code: a replaced function's padding, entry
 * or first bytes? A hang is the program's, not the middle of a jump an
 * engine wrote (one held there would keep a careful revert waiting). */
static bool at_patch_edge(const struct pv_emu *e, uint64_t pc)
{
	for (size_t i = 0; i < e->view.desc.nfuncs; i++) {
		const struct pv_patch_func *f = &e->view.funcs[i];
		if (f->old_addr && pc + f->prologue.padding_before >= f->old_addr &&
		    pc < f->old_addr + EDGE_BYTES)
			return true;
	}
	return false;
}

static bool inject_fault(struct pv_emu *e, enum pv_fault fault)
{
	bool hit = false;
	for (unsigned i = 0; i < e->cfg.workload.workers && i < 64; i++) {
		struct emu_thread *t = &e->threads[i];
		if (fault == PV_FAULT_CRASH && !t->done) {
			t->done = t->crashed = true;
			emu_trace(e, "fault: worker %u killed (injected)", i);
			return true;
		}
		/* First out of the engine's bytes, a few instructions at most. */
		for (unsigned k = 0; fault == PV_FAULT_STALL && k < 64 && emu_thread_runnable(t) &&
		                     at_patch_edge(e, t->pc);
		     k++)
			emu_run_slice(e, i, 1, false);
		if (fault == PV_FAULT_STALL && emu_thread_runnable(t)) {
			t->blocked = true;
			t->wait_word = STALL_WORD;
			e->run.stalled |= 1ull << i;
			emu_trace(e, "fault: worker %u stalled (injected)", i);
			hit = true;
		}
		if (fault == PV_FAULT_SLOWDOWN && !t->done)
			hit = true;
	}
	if (hit && fault == PV_FAULT_SLOWDOWN) {
		e->run.slowing = true;
		emu_trace(e, "fault: calls of the patch's functions slowed down (injected)");
	}
	return hit;
}

/* A worker entered a patch's function while a slowdown is on: held there
 * (the instruction has not run) until slow_tick lets it go on. Not during
 * an engine operation or a hijacked call: the engine's own work is not the
 * workload's. */
static void on_slow_entry(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
	(void)addr, (void)size;
	struct pv_emu *e = user;
	struct emu_run *r = &e->run;
	int tid = e->slice.tid;
	if (!r->slowing || r->in_op || tid < 0 || (unsigned)tid >= e->cfg.workload.workers ||
	    tid >= 64 || e->threads[tid].in_call)
		return;
	uint64_t bit = 1ull << tid;
	if (r->slow_paid & bit) { /* this call has paid its cost */
		r->slow_paid &= ~bit;
		return;
	}
	struct emu_thread *t = &e->threads[tid];
	t->blocked = true;
	t->wait_word = STALL_WORD;
	r->stalled |= bit;
	r->slow_left[tid] = PV_FAULT_SLOW_SLICES;
	e->slice.stop = EMU_STOP_BLOCKED;
	uc_emu_stop(uc);
}

/* One scheduling slice passed: slowed calls come nearer their end. */
static void slow_tick(struct pv_emu *e)
{
	struct emu_run *r = &e->run;
	for (unsigned i = 0; r->slowing && i < e->cfg.workload.workers && i < 64; i++)
		if (r->slow_left[i] && !--r->slow_left[i]) {
			e->threads[i].blocked = false;
			e->threads[i].wait_word = 0;
			r->stalled &= ~(1ull << i);
			r->slow_paid |= 1ull << i;
		}
}

/* A code hook on the entry of every function of every patch loaded
 * (installed before the first run: FACTS.md); it costs nothing until a
 * slowdown is injected. */
static int slow_hooks_install(struct pv_emu *e, struct pv_error *err)
{
	for (size_t p = 0; p <= e->nextra; p++) {
		const struct pv_patch_desc *d = p ? &e->extra[p - 1].view.desc : &e->view.desc;
		for (size_t i = 0; i < d->nfuncs; i++) {
			uint64_t a = d->funcs[i].new_addr;
			uc_hook h;
			if (!a)
				continue;
			uc_err ue = uc_hook_add(e->uc, &h, UC_HOOK_CODE, (void *)on_slow_entry, e, a, a);
			if (ue != UC_ERR_OK)
				return pv_error_set(err, PV_EINTERNAL, "cannot install the slowdown hook "
				                                       "at 0x%llx: %s",
				                    (unsigned long long)a, uc_strerror(ue));
		}
	}
	return 0;
}

/* The patch is gone: the stall or slowdown it caused ends. */
static void unstall(struct pv_emu *e)
{
	for (unsigned i = 0; i < e->cfg.workload.workers && i < 64; i++)
		if (e->run.stalled & (1ull << i)) {
			e->threads[i].blocked = false;
			e->threads[i].wait_word = 0;
		}
	e->run.stalled = 0;
	e->run.slowing = false;
	e->run.slow_paid = 0;
	memset(e->run.slow_left, 0, sizeof(e->run.slow_left));
}

/* Script primitives of the fault judgement (harness/script/script.h). */
static const char *inject(void *ctx, enum pv_fault fault, size_t patch)
{
	(void)patch;
	return inject_fault(ctx, fault)
	               ? NULL
	               : "fault not injected: every worker had finished when apply returned";
}

static bool workers_left(void *ctx)
{
	const struct pv_emu *e = ctx;
	bool left = false;
	for (unsigned i = 0; i < e->cfg.workload.workers; i++)
		left |= !e->threads[i].done;
	return left;
}

/* Between monitor calls: one scheduling slice. */
static void tick(void *ctx)
{
	struct pv_emu *e = ctx;
	arm_ineffective(e); /* still applied: the old code must stay unreachable */
	emu_decide_slice(e, false);
	slow_tick(e);
}

static void unstall_op(void *ctx)
{
	unstall(ctx);
}

static void violation(void *ctx, enum pv_check_id check, int thread, uint64_t addr,
                      const char *detail)
{
	emu_violation(ctx, check, thread, addr, "%s", detail);
}

static const struct pv_script_ops emu_script_ops;

static struct pv_script script_of(struct pv_emu *e)
{
	return (struct pv_script){
		.ops = &emu_script_ops, .ctx = e, .engine = e->run.engine, .res = e->run.res};
}

/* The end of every run: pv_verify once every worker finished (results of
 * crashed or unfinished workers are known to be incomplete: the crash or
 * liveness violation is the finding), and the run's figures. */
static void end_run(struct pv_emu *e)
{
	struct emu_run *r = &e->run;
	bool finished = true;
	for (unsigned i = 0; i < e->cfg.workload.workers; i++)
		finished &= e->threads[i].done;
	if (finished && !any_crashed(e))
		verify(e);
	r->res->code_writes = r->code_writes;
	r->res->sync_cores = r->sync_cores;
}

static int run(struct pv_emu *e, const struct pv_engine *engine, void *engine_state,
               const struct emu_stream *stream, struct pv_run_result *res,
               struct pv_error *err)
{
	if (!e || !engine || !engine->apply || !engine->revert || !res)
		return pv_error_set(err, PV_EINVAL,
		                    "pv_emu_run needs an emulator, an engine with apply and revert, "
		                    "and a result");
	memset(res, 0, sizeof(*res));
	res->revert_rc = 1;
	res->verify_status = -1;
	reset(e, engine, stream, res);
	for (unsigned i = 0; i < e->cfg.workload.workers; i++)
		if (emu_thread_start(e, i, e->worker_fn, i, EMU_WORKLOAD))
			return pv_error_set(err, PV_EINTERNAL, "cannot set up thread %u's stack", i);

	phase(e);
	int rc = engine_op(e, "apply", engine->apply, engine_state, &res->apply_rc, err);
	if (rc)
		return rc;
	if (res->apply_rc == 0)
		arm_ineffective(e);
	struct pv_script sc = script_of(e);
	int taken = 0;
	if (res->apply_rc == 0 && e->cfg.fault != PV_FAULT_NONE &&
	    (taken = pv_script_auto_rollback(&sc, engine_state, 0, e->cfg.fault, err)) < 0)
		return taken;
	if (taken)
		unstall(e);
	phase(e);
	if (res->apply_rc == 0 && !taken) {
		rc = engine_op(e, "revert", engine->revert, engine_state, &res->revert_rc, err);
		if (rc)
			return rc;
	}
	unstall(e);
	emu_run_to_end(e);
	struct emu_run *r = &e->run;
	if (r->over_budget)
		emu_violation(e, PV_CHECK_LIVENESS, -1, 0,
		              "the workers did not finish within the step budget of %llu "
		              "instructions (an endless loop, a livelock, or a budget too small "
		              "for the workload)",
		              (unsigned long long)r->budget);
	if ((res->apply_rc == 0 && res->revert_rc == 0) || res->apply_rc == PV_EBUSY)
		pv_script_rollback(&sc, res->revert_rc == 1 ? "apply gave up" : "revert");
	end_run(e);
	return 0;
}

int pv_emu_run(struct pv_emu *e, const struct pv_engine *engine, void *engine_state,
               const uint8_t *stream, size_t len, struct pv_run_result *res,
               struct pv_error *err)
{
	if (!stream && len)
		return pv_error_set(err, PV_EINVAL, "pv_emu_run: a stream of %zu bytes at NULL",
		                    len);
	struct emu_stream s = {.bytes = stream, .len = len};
	return run(e, engine, engine_state, &s, res, err);
}

int pv_emu_run_chosen(struct pv_emu *e, const struct pv_engine *engine, void *engine_state,
                      const struct pv_chooser *ch, uint8_t *record, size_t cap, size_t *len,
                      struct pv_run_result *res, struct pv_error *err)
{
	if (!ch || !ch->choose || !record || !len)
		return pv_error_set(err, PV_EINVAL,
		                    "pv_emu_run_chosen needs a chooser and a record buffer");
	struct emu_stream s = {.ch = ch, .record = record, .cap = cap};
	int rc = run(e, engine, engine_state, &s, res, err);
	*len = e->run.stream.rec_last;
	return rc;
}

/* ------------------------------------------------------------ sequences */

const struct pv_patch_desc *pv_emu_patch_at(const struct pv_emu *e, size_t i)
{
	return i == 0 ? &e->view.desc : i <= e->nextra ? &e->extra[i - 1].view.desc : NULL;
}

static int apply_on_top_op(void *state, struct pv_space *space, struct pv_error *err)
{
	struct pv_emu *e = (struct pv_emu *)((char *)space - offsetof(struct pv_emu, space));
	return e->run.engine->apply_on_top(state, e->run.below, space, err);
}

static int apply_replace_op(void *state, struct pv_space *space, struct pv_error *err)
{
	struct pv_emu *e = (struct pv_emu *)((char *)space - offsetof(struct pv_emu, space));
	return e->run.engine->apply_replace(state, e->run.replaced, e->run.nreplaced, space, err);
}

static int restarted_op(void *state, struct pv_space *space, struct pv_error *err)
{
	struct pv_emu *e = (struct pv_emu *)((char *)space - offsetof(struct pv_emu, space));
	return e->run.engine->restarted(state, space, err);
}

/* Script primitives (harness/script/script.h): the engine called through
 * the emulated space, every space operation a decision point. */
static int call(void *ctx, const struct pv_script_call *c, int *rc, struct pv_error *err)
{
	struct pv_emu *e = ctx;
	const struct pv_engine *engine = e->run.engine;
	engine_op_fn fn = engine->apply;
	e->run.below = NULL;
	switch (c->op) {
	case PV_SCRIPT_APPLY:
		break;
	case PV_SCRIPT_APPLY_ON_TOP:
		e->run.below = c->below;
		fn = apply_on_top_op;
		break;
	case PV_SCRIPT_REPLACE:
		e->run.replaced = c->replaced;
		e->run.nreplaced = c->nreplaced;
		fn = apply_replace_op;
		break;
	case PV_SCRIPT_REVERT:
		fn = engine->revert;
		break;
	case PV_SCRIPT_RESTARTED:
		fn = restarted_op;
		break;
	case PV_SCRIPT_MONITOR:
		fn = engine->monitor;
		break;
	}
	int r = engine_op(e, pv_script_op_name(c->op), fn, c->state, rc, err);
	e->run.replaced = NULL;
	e->run.nreplaced = 0;
	return r;
}

static void delay(void *ctx)
{
	phase(ctx);
}

static int live_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return emu_read(ctx, addr, buf, len) ? PV_EFAULT : 0;
}

static const struct pv_patch_desc *patch_at(void *ctx, size_t i)
{
	return pv_emu_patch_at(ctx, i);
}

/* The restart step: memory and workers from the loaded image again, the
 * judges reset (the engine's states are the script's). */
static int restart(void *ctx, struct pv_error *err)
{
	struct pv_emu *e = ctx;
	unstall(e); /* a fault's stall or slowdown dies with the process */
	emu_reset_memory(e);
	emu_threads_reset(e);
	pv_xmc_judge_reset(e->xmc);
	pv_version_judge_reset(e->version);
	memset(&e->slice, 0, sizeof(e->slice));
	e->loaded = -1;
	e->run.nwatch = 0;
	for (unsigned i = 0; i < e->cfg.workload.workers; i++)
		if (emu_thread_start(e, i, e->worker_fn, i, EMU_WORKLOAD))
			return pv_error_set(err, PV_EINTERNAL, "cannot set up thread %u's stack", i);
	return 0;
}

/* After a step: the original code must stay unreachable while a patch is
 * applied (the first patch's watch; a restart let it run again). */
static void stepped(void *ctx, const struct pv_sequence *seq,
                    const struct pv_patch_desc *const *descs, const struct pv_stack *st)
{
	struct pv_emu *e = ctx;
	e->run.nwatch = 0;
	if (st->n) {
		arm_ineffective_in(e, descs, st);
		arm_stack(e, seq, descs, st);
	}
}

static const struct pv_script_ops emu_script_ops = {
	.call = call,
	.delay = delay,
	.read = live_read,
	.patch_at = patch_at,
	.restart = restart,
	.inject = inject,
	.workers_left = workers_left,
	.tick = tick,
	.unstall = unstall_op,
	.stepped = stepped,
	.rollback_diff = rollback_diff,
	.leaked = leaked,
	.violation = violation,
	.rollback_every_time = false,
};

/* A sequence run whose choices come from es (a stream or a chooser). */
static int run_sequence(struct pv_emu *e, const struct pv_engine *engine, void *const *states,
                        const struct pv_sequence *seq, const struct emu_stream *es,
                        struct pv_run_result *res, struct pv_error *err)
{
	if (seq->npatches != e->nextra + 1 || seq->nsteps > PV_RUN_MAX_STEPS)
		return pv_error_set(err, PV_EINVAL, "the sequence has %zu patches, the emulator "
		                                    "loaded %zu", seq->npatches, e->nextra + 1);
	memset(res, 0, sizeof(*res));
	res->revert_rc = 1;
	res->verify_status = -1;
	reset(e, engine, es, res);
	for (unsigned i = 0; i < e->cfg.workload.workers; i++)
		if (emu_thread_start(e, i, e->worker_fn, i, EMU_WORKLOAD))
			return pv_error_set(err, PV_EINTERNAL, "cannot set up thread %u's stack", i);
	struct pv_script sc = script_of(e);
	int rc = pv_script_sequence(&sc, states, seq, err);
	if (rc)
		return rc;
	unstall(e);
	emu_run_to_end(e);
	struct emu_run *r = &e->run;
	if (r->over_budget)
		emu_violation(e, PV_CHECK_LIVENESS, -1, 0,
		              "the workers did not finish within the step budget of %llu "
		              "instructions", (unsigned long long)r->budget);
	end_run(e);
	return 0;
}

int pv_emu_run_sequence(struct pv_emu *e, const struct pv_engine *engine, void *const *states,
                        const struct pv_sequence *seq, const uint8_t *stream, size_t len,
                        struct pv_run_result *res, struct pv_error *err)
{
	if (!e || !engine || !states || !seq || !res || (!stream && len))
		return pv_error_set(err, PV_EINVAL, "pv_emu_run_sequence: missing argument");
	struct emu_stream es = {.bytes = stream, .len = len};
	return run_sequence(e, engine, states, seq, &es, res, err);
}

int pv_emu_run_sequence_chosen(struct pv_emu *e, const struct pv_engine *engine,
                               void *const *states, const struct pv_sequence *seq,
                               const struct pv_chooser *ch, uint8_t *record, size_t cap,
                               size_t *len, struct pv_run_result *res, struct pv_error *err)
{
	if (!e || !engine || !states || !seq || !res || !ch || !ch->choose || !record || !len)
		return pv_error_set(err, PV_EINVAL, "pv_emu_run_sequence_chosen: missing argument");
	struct emu_stream es = {.ch = ch, .record = record, .cap = cap};
	int rc = run_sequence(e, engine, states, seq, &es, res, err);
	*len = e->run.stream.rec_last;
	return rc;
}
