/* The emu backend's space (include/patchvet/space.h): what an engine may do
 * to the emulated target. Every operation except note is first a decision
 * point where threads that are not stopped may run (one slice decision);
 * a write is cut into atomic units by the memory model, with a slice
 * decision between units. The space works only while apply or revert runs,
 * and refuses (PV_ETIMEDOUT, a `liveness` violation) once one of them has
 * made EMU_OP_BOUND operations. */
#include <stdarg.h>
#include <string.h>

#include "internal.h"

#define ADVANCE_MAX 1000u
#define GIB2 0x80000000ull

static struct pv_emu *emu_of(struct pv_space *s)
{
	return (struct pv_emu *)s; /* the space is the first member */
}

__attribute__((format(printf, 3, 4))) static int fail(struct pv_emu *e, int code,
                                                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->run.res->space_error, sizeof(e->run.res->space_error), fmt, ap);
	va_end(ap);
	emu_trace(e, "  space: %s", e->run.res->space_error);
	return code;
}

int emu_space_point(struct pv_emu *e)
{
	struct emu_run *r = &e->run;
	if (!r->in_op)
		return fail(e, PV_ESTATE, "the space is usable only while apply or revert runs");
	if (++r->op_ops > EMU_OP_BOUND) {
		if (!r->op_over)
			emu_violation(e, PV_CHECK_LIVENESS, -1, 0,
			              "%s did not return within %u space operations", r->op,
			              EMU_OP_BOUND);
		r->op_over = true;
		return fail(e, PV_ETIMEDOUT, "%s made more than %u space operations", r->op,
		            EMU_OP_BOUND);
	}
	emu_decide_slice(e, true);
	return 0;
}

static bool mapped(struct pv_emu *e, uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr; a - addr < len;) {
		const struct emu_region *r = emu_region_at(e, a);
		if (!r)
			return false;
		a = r->addr + r->size;
	}
	return addr + len >= addr;
}

/* ------------------------------------------------------------ memory */

static int sp_read(struct pv_space *s, uint64_t addr, void *buf, size_t len)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	if (emu_read(e, addr, buf, len))
		return fail(e, PV_EFAULT, "read of %zu bytes at 0x%llx: not mapped", len,
		            (unsigned long long)addr);
	return 0;
}

/* `consistency` for global engines: asked before a unit changes code of a
 * replaced function. */
static void judge_global(struct pv_emu *e, uint64_t addr, uint64_t len)
{
	bool hit = false;
	for (uint64_t i = 0; i < len && !hit; i++)
		hit = pv_global_judge_func(e->global, addr + i) >= 0;
	if (!hit || emu_has_violation(e, PV_CHECK_CONSISTENCY))
		return;
	struct pv_global_thread th[PV_MAX_WORKERS];
	unsigned n = e->cfg.workload.workers;
	for (unsigned i = 0; i < n; i++) {
		const struct emu_thread *t = &e->threads[i];
		uint64_t sp = emu_thread_reg(e, i, UC_X86_REG_RSP);
		const uint8_t *h = NULL;
		if (sp >= t->stack_lo && sp < t->stack_hi)
			h = emu_host(e, sp, t->stack_hi - sp);
		th[i] = (struct pv_global_thread){
			.id = (int)i, .stopped = t->stopped, .done = t->done, .pc = t->pc, .sp = sp,
			.stack = (const uint64_t *)h, .nwords = h ? (size_t)(t->stack_hi - sp) / 8 : 0};
	}
	struct pv_global_finding f;
	if (pv_global_judge_threads(e->global, th, n, &f) != 1)
		return;
	char where[160];
	emu_symbolize(e, addr, where, sizeof(where));
	emu_violation(e, PV_CHECK_CONSISTENCY, f.thread, f.addr,
	              "thread %d %s when %s changed the code at %s (the engine declares global "
	              "consistency)",
	              f.thread, f.what, e->run.op, where);
}

/* One atomic unit of a write: nothing runs between its bytes. */
static void unit(struct pv_emu *e, uint64_t addr, const uint8_t *bytes, size_t n)
{
	const uint8_t *now = emu_host(e, addr, n);
	bool change = !now || memcmp(now, bytes, n) != 0;
	if (change && e->global && e->run.engine->consistency == PV_CONSISTENCY_GLOBAL)
		judge_global(e, addr, n);
	bool code = change && emu_is_exec(e, addr);
	uint8_t old[8];
	if (code && now && n <= sizeof(old))
		memcpy(old, now, n);
	emu_store(e, addr, bytes, n);
	if (code) {
		e->run.code_writes++;
		emu_coverage_observe(e);
	}
	/* xmc-unsynced: threads not stopped may hold the old bytes. */
	if (code && now && n <= sizeof(old)) {
		bool running[PV_MAX_WORKERS + 1] = {false};
		for (unsigned i = 0; i < e->cfg.workload.workers; i++)
			running[i] = !e->threads[i].stopped && !e->threads[i].done;
		pv_xmc_judge_write(e->xmc, addr, old, bytes, n, running);
	}
	if (e->trace || e->story) {
		char hex[3 * 8 + 1] = "";
		for (size_t i = 0; i < n && i < 8; i++)
			snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%s%02x", i ? " " : "", bytes[i]);
		emu_trace(e, "  unit: %zu byte(s) at 0x%llx: %s", n, (unsigned long long)addr, hex);
		emu_story(e, PV_STORY_WRITE, -1, addr, "write %s", hex);
	}
}

static int sp_write(struct pv_space *s, uint64_t addr, const void *buf, size_t len)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	if (!mapped(e, addr, len))
		return fail(e, PV_EFAULT, "write of %zu bytes at 0x%llx: not mapped", len,
		            (unsigned long long)addr);
	const uint8_t *p = buf;
	for (size_t done = 0; done < len;) {
		uint64_t a = addr + done;
		size_t n = 1;
		if (e->cfg.mem_model == PV_MEM_WORD8) {
			n = (size_t)(8 - (a & 7));
			if (n > len - done)
				n = len - done;
		}
		/* Between units other threads may run and see a partial write. */
		if (done)
			emu_decide_slice(e, true);
		unit(e, a, p + done, n);
		done += n;
	}
	return 0;
}

static int sp_store_atomic(struct pv_space *s, uint64_t addr, uint64_t value, unsigned size)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	if ((size != 1 && size != 2 && size != 4 && size != 8) || addr % size)
		return fail(e, PV_EINVAL,
		            "store_atomic of %u bytes at 0x%llx: the size must be 1, 2, 4 or 8 "
		            "and the address a multiple of it",
		            size, (unsigned long long)addr);
	if (!mapped(e, addr, size))
		return fail(e, PV_EFAULT, "store_atomic at 0x%llx: not mapped",
		            (unsigned long long)addr);
	uint8_t bytes[8];
	for (unsigned i = 0; i < 8; i++)
		bytes[i] = (uint8_t)(value >> (8 * i));
	unit(e, addr, bytes, size);
	return 0;
}

static uint32_t prot_of(unsigned prot)
{
	return ((prot & PV_PROT_READ) ? UC_PROT_READ : 0) |
	       ((prot & PV_PROT_WRITE) ? UC_PROT_WRITE : 0) |
	       ((prot & PV_PROT_EXEC) ? UC_PROT_EXEC : 0);
}

static bool map_overlaps(const struct emu_run *r, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < r->nmaps; i++)
		if (addr < r->maps[i].addr + r->maps[i].len && r->maps[i].addr < addr + len)
			return true;
	return false;
}

static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static int sp_map_near(struct pv_space *s, uint64_t near, uint64_t len, unsigned prot,
                       uint64_t *addr)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	struct emu_run *r = &e->run;
	len = (len + EMU_PAGE - 1) & ~(EMU_PAGE - 1);
	if (len == 0 || len > EMU_NEAR_SIZE || (prot & ~7u))
		return fail(e, PV_EINVAL,
		            "map_near of 0x%llx bytes with protection %u: the length must be 1 to "
		            "%llu bytes and the protection PV_PROT_* bits",
		            (unsigned long long)len, prot, (unsigned long long)EMU_NEAR_SIZE);
	if (r->nmaps == EMU_MAPS_MAX)
		return fail(e, PV_ERANGE, "map_near: the engine already holds %d mappings",
		            EMU_MAPS_MAX);
	for (uint64_t a = e->near_base; a + len <= e->near_base + EMU_NEAR_SIZE; a += EMU_PAGE) {
		if (map_overlaps(r, a, len))
			continue;
		if (distance(a, near) >= GIB2 || distance(a + len, near) > GIB2)
			break;
		emu_flush_stale(e); /* protections never change under pending flushes */
		uc_mem_protect(e->uc, a, (size_t)len, prot_of(prot));
		for (size_t i = 0; i < r->nreleased;) {
			const struct pv_release_range *g = &r->released[i];
			if (a < g->addr + g->len && g->addr < a + len)
				r->released[i] = r->released[--r->nreleased];
			else
				i++;
		}
		r->maps[r->nmaps++] = (struct emu_map){.addr = a, .len = len};
		*addr = a;
		emu_trace(e, "  map_near: 0x%llx bytes at 0x%llx", (unsigned long long)len,
		          (unsigned long long)a);
		emu_story(e, PV_STORY_ENGINE, -1, a, "map_near 0x%llx bytes",
		          (unsigned long long)len);
		return 0;
	}
	return fail(e, PV_ERANGE,
	            "map_near: no free 0x%llx bytes within 2 GiB of 0x%llx (the emu backend "
	            "keeps engine mappings at 0x%llx..0x%llx)",
	            (unsigned long long)len, (unsigned long long)near,
	            (unsigned long long)e->near_base,
	            (unsigned long long)(e->near_base + EMU_NEAR_SIZE));
}

static int sp_unmap(struct pv_space *s, uint64_t addr, uint64_t len)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	struct emu_run *r = &e->run;
	len = (len + EMU_PAGE - 1) & ~(EMU_PAGE - 1);
	for (size_t i = 0; i < r->nmaps; i++) {
		if (r->maps[i].addr != addr || r->maps[i].len != len)
			continue;
		memset(emu_host(e, addr, len), 0, (size_t)len);
		emu_code_changed(e, addr, len);
		emu_flush_stale(e);
		uc_mem_protect(e->uc, addr, (size_t)len, UC_PROT_NONE);
		r->maps[i] = r->maps[--r->nmaps];
		if (r->nreleased < EMU_MAPS_MAX)
			r->released[r->nreleased++] = (struct pv_release_range){.addr = addr, .len = len};
		return 0;
	}
	return fail(e, PV_EINVAL,
	            "unmap of 0x%llx bytes at 0x%llx: not a mapping made by map_near (unmap "
	            "takes exactly the address and length map_near gave)",
	            (unsigned long long)len, (unsigned long long)addr);
}

static int sp_protect(struct pv_space *s, uint64_t addr, uint64_t len, unsigned prot)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	struct emu_run *r = &e->run;
	len = (len + EMU_PAGE - 1) & ~(EMU_PAGE - 1);
	if (addr % EMU_PAGE || (prot & ~7u))
		return fail(e, PV_EINVAL,
		            "protect at 0x%llx: the address must be page aligned and the "
		            "protection PV_PROT_* bits",
		            (unsigned long long)addr);
	bool ok = mapped(e, addr, len);
	for (uint64_t a = addr; ok && a < addr + len; a += EMU_PAGE)
		if (emu_region_at(e, a)->kind == EMU_R_NEAR)
			ok = map_overlaps(r, a, EMU_PAGE);
	if (!ok)
		return fail(e, PV_EFAULT, "protect of 0x%llx bytes at 0x%llx: not mapped",
		            (unsigned long long)len, (unsigned long long)addr);
	if (prot & PV_PROT_EXEC)
		e->exec_granted = true;
	emu_flush_stale(e);
	uc_mem_protect(e->uc, addr, (size_t)len, prot_of(prot));
	if (r->nprots < EMU_PROTS_MAX)
		r->prots[r->nprots++] = (struct emu_range){.addr = addr, .len = len};
	else
		r->prots_overflow = true;
	return 0;
}

/* ------------------------------------------------------------ threads */

static int sp_stop_all(struct pv_space *s)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	/* A stop is serializing (the IPI, or a trip through the kernel). */
	for (unsigned i = 0; i < e->cfg.workload.workers; i++) {
		if (!e->threads[i].done)
			e->threads[i].stopped = true;
		pv_xmc_judge_serialize(e->xmc, i);
	}
	emu_trace(e, "  stop_all");
	emu_story(e, PV_STORY_ENGINE, -1, 0, "stop_all");
	return 0;
}

static int sp_resume_all(struct pv_space *s)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	bool any = false;
	for (unsigned i = 0; i < e->cfg.workload.workers; i++) {
		any |= e->threads[i].stopped;
		e->threads[i].stopped = false;
	}
	/* The code the stopped threads come back to is a version they see. */
	struct pv_error jerr;
	if (any && (rc = pv_exec_judge_resumed(e->exec, &jerr)))
		return fail(e, rc, "%s", jerr.msg);
	emu_trace(e, "  resume_all");
	emu_story(e, PV_STORY_ENGINE, -1, 0, "resume_all");
	return 0;
}

static int sp_threads(struct pv_space *s, struct pv_thread_info *out, size_t max,
                      size_t *count)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	unsigned n = e->cfg.workload.workers;
	for (unsigned i = 0; i < n && i < max; i++) {
		const struct emu_thread *t = &e->threads[i];
		out[i] = (struct pv_thread_info){
			.id = i,
			.os_tid = -1,
			.state = t->done      ? PV_THREAD_DONE
			         : t->stopped ? PV_THREAD_STOPPED
			         : t->blocked ? PV_THREAD_BLOCKED
			                      : PV_THREAD_RUNNABLE,
			.pc = t->pc,
			.sp = emu_thread_reg(e, i, UC_X86_REG_RSP),
			.in_syscall = t->blocked,
		};
	}
	*count = n;
	return 0;
}

static int check_thread(struct pv_emu *e, unsigned id, const char *op)
{
	if (id >= e->cfg.workload.workers)
		return fail(e, PV_EINVAL, "%s: no thread %u (the target has %u)", op, id,
		            e->cfg.workload.workers);
	const struct emu_thread *t = &e->threads[id];
	if (!t->stopped && !t->done)
		return fail(e, PV_ESTATE, "%s: thread %u is not stopped (call stop_all first)", op,
		            id);
	return 0;
}

static int sp_backtrace(struct pv_space *s, unsigned id, uint64_t *pcs, size_t max,
                        size_t *count)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (!rc)
		rc = check_thread(e, id, "backtrace");
	if (rc)
		return rc;
	rc = emu_backtrace(e, id, pcs, max, count);
	if (rc == PV_EBUSY)
		return fail(e, rc,
		            "backtrace of thread %u is unreliable at 0x%llx (no frame layout known "
		            "there)",
		            id, (unsigned long long)(*count ? pcs[*count - 1] : e->threads[id].pc));
	if (rc == PV_ERANGE)
		return fail(e, rc, "backtrace of thread %u has more than %zu frames", id, max);
	if (rc)
		return fail(e, rc, "backtrace of thread %u: out of memory", id);
	return 0;
}

static int sp_call_flags(struct pv_space *s, unsigned id, uint64_t fn, const uint64_t *args,
                         unsigned nargs, unsigned flags, uint64_t *ret)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (!rc)
		rc = check_thread(e, id, "call");
	if (rc)
		return rc;
	if (e->threads[id].done)
		return fail(e, PV_ESTATE, "call: thread %u has finished", id);
	if (nargs > 6)
		return fail(e, PV_EINVAL, "call: %u arguments; at most 6 go in registers", nargs);
	if (flags & ~(PV_CALL_NO_EXT | PV_CALL_NO_FLAGS | PV_CALL_NO_RESTART))
		return fail(e, PV_EINVAL, "call_flags: unknown flags 0x%x", flags);
	struct pv_error err;
	rc = emu_hijack_call(e, id, fn, args, nargs, flags, ret, &err);
	if (rc)
		return fail(e, rc, "%s", err.msg);
	return 0;
}

static int sp_call(struct pv_space *s, unsigned id, uint64_t fn, const uint64_t *args,
                   unsigned nargs, uint64_t *ret)
{
	return sp_call_flags(s, id, fn, args, nargs, 0, ret);
}

static int sp_sync_core(struct pv_space *s)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	e->run.sync_cores++;
	pv_xmc_judge_sync_all(e->xmc);
	emu_trace(e, "  sync_core");
	emu_story(e, PV_STORY_ENGINE, -1, 0, "sync_core");
	return 0;
}

static int sp_symbol(struct pv_space *s, const char *name, uint64_t *addr, uint64_t *size)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	const struct pv_symbol *sym = name ? pv_image_find_symbol(e->target, name, NULL) : NULL;
	uint64_t base = 0;
	if (!sym && name) {
		/* Patch symbols, where the patch is loaded. */
		sym = pv_image_find_symbol(e->patch->image, name, NULL);
		base = e->patch_base - e->patch->min_vaddr;
	}
	if (!sym)
		return fail(e, PV_ENOENT, "symbol %s: neither the target nor the patch defines it",
		            name ? name : "(null)");
	*addr = sym->value + base;
	if (size)
		*size = sym->size;
	return 0;
}

static int sp_advance(struct pv_space *s, unsigned hint)
{
	struct pv_emu *e = emu_of(s);
	e->run.yielding = true; /* the engine asks the workers to run */
	int rc = emu_space_point(e);
	unsigned n = hint == 0 ? 1 : hint > ADVANCE_MAX ? ADVANCE_MAX : hint;
	for (unsigned i = 1; !rc && i < n; i++)
		if (!emu_decide_slice(e, true))
			break;
	e->run.yielding = false;
	return rc;
}

static int sp_trap_redirect(struct pv_space *s, uint64_t addr, uint64_t to)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	struct emu_run *r = &e->run;
	for (size_t i = 0; i < r->ntraps; i++) {
		if (r->traps[i].addr != addr)
			continue;
		if (to)
			r->traps[i].to = to;
		else
			r->traps[i] = r->traps[--r->ntraps];
		return 0;
	}
	if (!to)
		return 0;
	if (r->ntraps == EMU_TRAPS_MAX)
		return fail(e, PV_ERANGE, "trap_redirect: the engine already holds %d redirects",
		            EMU_TRAPS_MAX);
	r->traps[r->ntraps++] = (struct emu_trap){.addr = addr, .to = to};
	return 0;
}

static int sp_thread_slot(struct pv_space *s, unsigned id, unsigned slot, uint64_t value,
                          uint64_t *addr)
{
	struct pv_emu *e = emu_of(s);
	int rc = emu_space_point(e);
	if (rc)
		return rc;
	if (id >= e->cfg.workload.workers || slot >= EMU_SLOT_COUNT)
		return fail(e, PV_EINVAL, "thread_slot: thread %u slot %u (the target has %u "
		            "threads, %d slots each)",
		            id, slot, e->cfg.workload.workers, EMU_SLOT_COUNT);
	struct emu_run *r = &e->run;
	e->threads[id].slots[slot] = value;
	if (!r->slots_used) {
		r->slots_used = true;
		r->slots_owner = -1;
	}
	/* The page holds the owner's slots; keep it in step. */
	if (r->slots_owner == (int)id)
		memcpy(emu_host(e, EMU_SLOTS + 8 * slot, 8), &value, 8);
	*addr = EMU_SLOTS + 8 * slot;
	return 0;
}

static void sp_note(struct pv_space *s, const char *text)
{
	struct pv_emu *e = emu_of(s);
	emu_trace(e, "  note: %s", text ? text : "");
	emu_story(e, PV_STORY_ENGINE, -1, 0, "note: %s", text ? text : "");
}

/* Not a decision point: a monitor looks, nothing runs meanwhile. */
static int sp_health(struct pv_space *s, struct pv_health *h)
{
	struct pv_emu *e = emu_of(s);
	if (!h || h->sz < offsetof(struct pv_health, crashed) + sizeof(h->crashed))
		return fail(e, PV_EINVAL, "health: no result, or one from an unknown header");
	unsigned crashed = 0;
	for (unsigned i = 0; i < e->cfg.workload.workers; i++)
		crashed += e->threads[i].crashed;
	h->threads = e->cfg.workload.workers;
	h->crashed = crashed;
	if (h->sz >= offsetof(struct pv_health, progress) + sizeof(h->progress))
		h->progress = e->run.res->instructions;
	if (h->sz >= offsetof(struct pv_health, finished) + sizeof(h->finished)) {
		h->finished = 0;
		for (unsigned i = 0; i < e->cfg.workload.workers; i++)
			h->finished += e->threads[i].done && !e->threads[i].crashed;
	}
	return 0;
}

const struct pv_space_ops emu_space_ops = {
	.sz = sizeof(struct pv_space_ops),
	.read = sp_read,
	.write = sp_write,
	.store_atomic = sp_store_atomic,
	.map_near = sp_map_near,
	.unmap = sp_unmap,
	.protect = sp_protect,
	.stop_all = sp_stop_all,
	.resume_all = sp_resume_all,
	.threads = sp_threads,
	.backtrace = sp_backtrace,
	.call = sp_call,
	.sync_core = sp_sync_core,
	.symbol = sp_symbol,
	.advance = sp_advance,
	.trap_redirect = sp_trap_redirect,
	.thread_slot = sp_thread_slot,
	.note = sp_note,
	.call_flags = sp_call_flags,
	.health = sp_health,
};
