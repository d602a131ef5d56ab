/* Suite `engines`: every built-in engine and the catalogue, against a mock
 * space (an in-memory struct pv_space_ops that records every call). */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <patchvet/engine.h>

#include "../engines/catalogue.h"

#define MEM_BASE 0x401000u
#define MEM_SIZE 0x4000u
#define OLD_ADDR 0x401100u
#define OLD_SIZE 0x30u
#define NEW_ADDR 0x402000u
#define NEW_SIZE 0x20u
#define MAX_LOG 4096
#define MAX_THREADS 4
#define MAX_FRAMES 8
#define MAP_ADDR 0x403000u  /* where map_near puts the engine's page */
#define SLOT_ADDR 0x7e0000020000ull
#define GOT_ADDR 0x401800u

enum op { OP_READ, OP_WRITE, OP_STOP, OP_RESUME, OP_THREADS, OP_BACKTRACE, OP_SYNC,
          OP_ADVANCE, OP_ATOMIC, OP_MAP, OP_UNMAP, OP_PROTECT, OP_TRAP, OP_SLOT, OP_NOTE };

struct call {
	enum op op;
	uint64_t addr;
	size_t len;
};

struct mock {
	struct pv_space space; /* first: the engine's pointer is the mock's */
	uint8_t mem[MEM_SIZE];
	struct call log[MAX_LOG];
	size_t nlog;
	unsigned counts[OP_NOTE + 1];
	unsigned nthreads;
	uint64_t frames[MAX_THREADS][MAX_FRAMES];
	size_t nframes[MAX_THREADS];
	int backtrace_rc;        /* returned by backtrace when non-zero */
	unsigned leave_after;    /* advance calls after which every thread moves out */
	bool stopped;
	bool mapped;             /* the engine holds MAP_ADDR's page */
	uint64_t slots[MAX_THREADS];
	uint64_t trap_at, trap_to; /* the one trap redirect, 0 when none */
	unsigned tramp_on_stop;  /* at this stop_all, thread 0 is in the trampoline */
	bool unmapped_busy;      /* unmap came while thread 0 was in the trampoline */
};

static struct mock *of(struct pv_space *s)
{
	return (struct mock *)s;
}

static void record(struct mock *m, enum op op, uint64_t addr, size_t len)
{
	m->counts[op]++;
	cr_assert_lt(m->nlog, MAX_LOG, "mock log full");
	m->log[m->nlog++] = (struct call){op, addr, len};
}

static int mock_read(struct pv_space *s, uint64_t addr, void *buf, size_t len)
{
	struct mock *m = of(s);
	record(m, OP_READ, addr, len);
	if (addr < MEM_BASE || addr + len > MEM_BASE + MEM_SIZE)
		return PV_EFAULT;
	memcpy(buf, m->mem + (addr - MEM_BASE), len);
	return 0;
}

static int mock_write(struct pv_space *s, uint64_t addr, const void *buf, size_t len)
{
	struct mock *m = of(s);
	record(m, OP_WRITE, addr, len);
	if (addr < MEM_BASE || addr + len > MEM_BASE + MEM_SIZE)
		return PV_EFAULT;
	memcpy(m->mem + (addr - MEM_BASE), buf, len);
	return 0;
}

static int mock_stop_all(struct pv_space *s)
{
	struct mock *m = of(s);
	record(m, OP_STOP, 0, 0);
	if (m->tramp_on_stop && m->counts[OP_STOP] == m->tramp_on_stop) {
		m->frames[0][0] = MAP_ADDR + 14;
		m->nframes[0] = 1;
	}
	of(s)->stopped = true;
	return 0;
}

static int mock_resume_all(struct pv_space *s)
{
	record(of(s), OP_RESUME, 0, 0);
	of(s)->stopped = false;
	return 0;
}

static int mock_threads(struct pv_space *s, struct pv_thread_info *out, size_t max,
                        size_t *count)
{
	struct mock *m = of(s);
	record(m, OP_THREADS, 0, 0);
	for (unsigned i = 0; i < m->nthreads && i < max; i++)
		out[i] = (struct pv_thread_info){.id = i, .os_tid = -1,
		                                 .state = m->stopped ? PV_THREAD_STOPPED
		                                                     : PV_THREAD_RUNNABLE,
		                                 .pc = m->frames[i][0]};
	*count = m->nthreads;
	return 0;
}

static int mock_backtrace(struct pv_space *s, unsigned id, uint64_t *pcs, size_t max,
                          size_t *count)
{
	struct mock *m = of(s);
	record(m, OP_BACKTRACE, id, 0);
	cr_assert(m->stopped, "backtrace of a running thread");
	if (m->backtrace_rc)
		return m->backtrace_rc;
	size_t n = m->nframes[id] < max ? m->nframes[id] : max;
	memcpy(pcs, m->frames[id], n * sizeof(*pcs));
	*count = n;
	return 0;
}

static int mock_sync_core(struct pv_space *s)
{
	record(of(s), OP_SYNC, 0, 0);
	return 0;
}

static int mock_advance(struct pv_space *s, unsigned hint)
{
	struct mock *m = of(s);
	record(m, OP_ADVANCE, hint, 0);
	if (m->leave_after && m->counts[OP_ADVANCE] >= m->leave_after)
		for (unsigned i = 0; i < m->nthreads; i++) {
			m->frames[i][0] = 0x400800;
			m->nframes[i] = 1;
		}
	return 0;
}

static int mock_store_atomic(struct pv_space *s, uint64_t addr, uint64_t value, unsigned size)
{
	struct mock *m = of(s);
	record(m, OP_ATOMIC, addr, size);
	if ((size != 1 && size != 2 && size != 4 && size != 8) || addr % size)
		return PV_EINVAL;
	if (addr < MEM_BASE || addr + size > MEM_BASE + MEM_SIZE)
		return PV_EFAULT;
	for (unsigned i = 0; i < size; i++)
		m->mem[addr - MEM_BASE + i] = (uint8_t)(value >> (8 * i));
	return 0;
}

static int mock_map_near(struct pv_space *s, uint64_t near, uint64_t len, unsigned prot,
                         uint64_t *addr)
{
	struct mock *m = of(s);
	(void)near;
	(void)prot;
	record(m, OP_MAP, MAP_ADDR, len);
	cr_assert(!m->mapped, "a second mapping");
	cr_assert_leq(len, 0x1000);
	m->mapped = true;
	*addr = MAP_ADDR;
	return 0;
}

static int mock_unmap(struct pv_space *s, uint64_t addr, uint64_t len)
{
	struct mock *m = of(s);
	record(m, OP_UNMAP, addr, len);
	cr_assert(m->mapped && addr == MAP_ADDR, "unmap of 0x%llx", (unsigned long long)addr);
	m->mapped = false;
	m->unmapped_busy = m->frames[0][0] >= MAP_ADDR && m->frames[0][0] < MAP_ADDR + 0x1000;
	return 0;
}

static int mock_protect(struct pv_space *s, uint64_t addr, uint64_t len, unsigned prot)
{
	(void)prot;
	record(of(s), OP_PROTECT, addr, len);
	return 0;
}

static int mock_trap_redirect(struct pv_space *s, uint64_t addr, uint64_t to)
{
	struct mock *m = of(s);
	record(m, OP_TRAP, addr, to);
	m->trap_at = to ? addr : 0;
	m->trap_to = to;
	return 0;
}

static int mock_thread_slot(struct pv_space *s, unsigned id, unsigned slot, uint64_t value,
                            uint64_t *addr)
{
	struct mock *m = of(s);
	record(m, OP_SLOT, id, value);
	cr_assert_lt(id, MAX_THREADS);
	cr_assert_eq(slot, 0);
	m->slots[id] = value;
	*addr = SLOT_ADDR;
	return 0;
}

static void mock_note(struct pv_space *s, const char *text)
{
	(void)text;
	record(of(s), OP_NOTE, 0, 0);
}

static const struct pv_space_ops mock_ops = {
	.sz = sizeof(struct pv_space_ops),
	.read = mock_read,
	.write = mock_write,
	.stop_all = mock_stop_all,
	.resume_all = mock_resume_all,
	.threads = mock_threads,
	.backtrace = mock_backtrace,
	.sync_core = mock_sync_core,
	.advance = mock_advance,
	.store_atomic = mock_store_atomic,
	.map_near = mock_map_near,
	.unmap = mock_unmap,
	.protect = mock_protect,
	.trap_redirect = mock_trap_redirect,
	.thread_slot = mock_thread_slot,
	.note = mock_note,
};

/* Two threads, both outside bump; memory a recognisable pattern. */
static void mock_init(struct mock *m)
{
	memset(m, 0, sizeof(*m));
	m->space.ops = &mock_ops;
	for (size_t i = 0; i < MEM_SIZE; i++)
		m->mem[i] = (uint8_t)(i * 7 + 3);
	m->nthreads = 2;
	for (unsigned t = 0; t < 2; t++) {
		m->frames[t][0] = 0x400800 + t;
		m->frames[t][1] = 0x400900 + t;
		m->nframes[t] = 2;
	}
}

static const uint8_t *at(const struct mock *m, uint64_t addr)
{
	return m->mem + (addr - MEM_BASE);
}

/* ----------------------------------------------------------------- patch */

static const uint8_t boundaries[] = {0, 1, 4, 5, 8};

struct fixture {
	struct pv_patch_func func;
	struct pv_patch_desc desc;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->func = (struct pv_patch_func){
		.old_name = "bump", .new_name = "bump_v2", .old_addr = OLD_ADDR,
		.old_size = OLD_SIZE, .new_addr = NEW_ADDR, .new_size = NEW_SIZE,
		.prologue = {.first_insn_len = 1, .boundaries = boundaries,
		             .nboundaries = sizeof(boundaries)}};
	f->desc = (struct pv_patch_desc){.sz = sizeof(struct pv_patch_desc),
	                                 .path = "mock.so", .funcs = &f->func, .nfuncs = 1,
	                                 .image_addr = NEW_ADDR, .image_size = 0x1000};
}

static const struct pv_engine *engine(const char *name)
{
	const struct pv_engine_entry *e = pv_engine_find(name);
	cr_assert_not_null(e, "engine %s not in the catalogue", name);
	return e->engine;
}

static void *plan_ok(const struct pv_engine *e, const struct fixture *f)
{
	struct pv_error err;
	pv_error_clear(&err);
	void *state = NULL;
	cr_assert_eq(e->plan(&f->desc, &state, &err), 0, "plan: %s", err.msg);
	cr_assert_not_null(state);
	return state;
}

static void expect_jmp(const struct mock *m, uint64_t where, uint64_t to)
{
	const uint8_t *p = at(m, where);
	cr_expect_eq(p[0], 0xe9, "no jmp opcode at 0x%llx", (unsigned long long)where);
	int32_t rel;
	memcpy(&rel, p + 1, 4);
	cr_expect_eq((int64_t)where + 5 + rel, (int64_t)to, "jmp goes to 0x%llx",
	             (unsigned long long)(where + 5 + (uint64_t)(int64_t)rel));
}

static size_t index_of(const struct mock *m, enum op op, size_t from)
{
	for (size_t i = from; i < m->nlog; i++)
		if (m->log[i].op == op)
			return i;
	return SIZE_MAX;
}

/* ---------------------------------------------------------------- stw-jmp */

Test(engines, stw_jmp_writes_exactly_a_jmp_and_restores)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	fixture_init(&f);
	uint8_t before[MEM_SIZE];
	memcpy(before, m.mem, MEM_SIZE);
	const struct pv_engine *e = engine("stw-jmp");
	cr_expect_eq(e->consistency, PV_CONSISTENCY_GLOBAL);
	void *st = plan_ok(e, &f);

	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	expect_jmp(&m, OLD_ADDR, NEW_ADDR);
	cr_expect_eq(memcmp(m.mem, before, OLD_ADDR - MEM_BASE), 0, "bytes before changed");
	cr_expect_eq(memcmp(at(&m, OLD_ADDR + 5), before + (OLD_ADDR + 5 - MEM_BASE),
	                    MEM_SIZE - (OLD_ADDR + 5 - MEM_BASE)), 0, "bytes after changed");
	cr_expect_eq(m.counts[OP_WRITE], 1, "%u writes", m.counts[OP_WRITE]);
	size_t w = index_of(&m, OP_WRITE, 0);
	cr_assert_neq(w, SIZE_MAX);
	cr_expect_eq(m.log[w].addr, OLD_ADDR);
	cr_expect_eq(m.log[w].len, 5);
	/* stop, look, write, sync, resume: in that order */
	size_t stop = index_of(&m, OP_STOP, 0), bt = index_of(&m, OP_BACKTRACE, 0);
	size_t sync = index_of(&m, OP_SYNC, 0), resume = index_of(&m, OP_RESUME, 0);
	cr_expect(stop < bt && bt < w && w < sync && sync < resume,
	          "order stop %zu bt %zu write %zu sync %zu resume %zu", stop, bt, w, sync,
	          resume);
	cr_expect_eq(m.counts[OP_BACKTRACE], 2, "one walk per thread");
	cr_expect(!m.stopped, "threads left stopped");

	m.nlog = 0;
	memset(m.counts, 0, sizeof(m.counts));
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	cr_expect_eq(memcmp(m.mem, before, MEM_SIZE), 0, "revert did not restore every byte");
	cr_expect_eq(m.counts[OP_STOP], 1);
	cr_expect_eq(m.counts[OP_RESUME], 1);
	cr_expect_eq(m.counts[OP_SYNC], 1);
	cr_expect_eq(m.counts[OP_WRITE], 1);
	cr_expect(!m.stopped);

	/* a second run (fresh target) applies again */
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "second apply: %s", err.msg);
	expect_jmp(&m, OLD_ADDR, NEW_ADDR);
	e->release(st);
}

Test(engines, stw_jmp_keeps_endbr64)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	fixture_init(&f);
	f.func.prologue.endbr64 = 1;
	static const uint8_t endbr[] = {0xf3, 0x0f, 0x1e, 0xfa};
	memcpy(m.mem + (OLD_ADDR - MEM_BASE), endbr, 4);
	const struct pv_engine *e = engine("stw-jmp");
	void *st = plan_ok(e, &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect_eq(memcmp(at(&m, OLD_ADDR), endbr, 4), 0, "endbr64 overwritten");
	expect_jmp(&m, OLD_ADDR + 4, NEW_ADDR);
	e->release(st);
}

static void expect_busy_every_time(struct mock *m, const char *what)
{
	struct fixture f;
	struct pv_error err;
	fixture_init(&f);
	uint8_t before[MEM_SIZE];
	memcpy(before, m->mem, MEM_SIZE);
	const struct pv_engine *e = engine("stw-jmp");
	void *st = plan_ok(e, &f);
	pv_error_clear(&err);
	cr_expect_eq(e->apply(st, &m->space, &err), PV_EBUSY, "%s: apply did not give up: %s",
	             what, err.msg);
	cr_expect_eq(err.code, PV_EBUSY);
	cr_expect(strstr(err.msg, "gave up") != NULL, "%s: %s", what, err.msg);
	cr_expect_eq(m->counts[OP_WRITE], 0, "%s: wrote while unsafe", what);
	cr_expect_eq(memcmp(m->mem, before, MEM_SIZE), 0, "%s: target changed", what);
	cr_expect_eq(m->counts[OP_STOP], 20, "%s: %u attempts", what, m->counts[OP_STOP]);
	cr_expect_eq(m->counts[OP_RESUME], m->counts[OP_STOP], "%s: unbalanced resume", what);
	cr_expect_eq(m->counts[OP_ADVANCE], 19, "%s: %u advances", what, m->counts[OP_ADVANCE]);
	cr_expect(!m->stopped, "%s: threads left stopped", what);
	/* nothing applied, so nothing to revert */
	cr_expect_eq(e->revert(st, &m->space, &err), PV_ESTATE);
	e->release(st);
}

Test(engines, stw_jmp_busy_while_pc_inside_every_retry)
{
	struct mock m;
	mock_init(&m);
	m.frames[1][0] = OLD_ADDR + 8;
	expect_busy_every_time(&m, "pc inside");
	mock_init(&m);
	m.frames[0][0] = OLD_ADDR + 2; /* inside the 5 bytes themselves */
	expect_busy_every_time(&m, "pc in the jmp bytes");
}

Test(engines, stw_jmp_busy_while_return_address_inside)
{
	struct mock m;
	mock_init(&m);
	m.frames[0][1] = OLD_ADDR + OLD_SIZE - 1;
	expect_busy_every_time(&m, "return address");
}

Test(engines, stw_jmp_unreliable_stack_is_unsafe)
{
	struct mock m;
	mock_init(&m);
	m.backtrace_rc = PV_EBUSY;
	expect_busy_every_time(&m, "unreliable stack");
}

Test(engines, stw_jmp_applies_once_threads_leave)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	fixture_init(&f);
	m.frames[1][0] = OLD_ADDR + 8;
	m.leave_after = 3;
	const struct pv_engine *e = engine("stw-jmp");
	void *st = plan_ok(e, &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect_eq(m.counts[OP_STOP], 4);
	expect_jmp(&m, OLD_ADDR, NEW_ADDR);
	e->release(st);
}

Test(engines, stw_jmp_revert_waits_for_new_code)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	fixture_init(&f);
	uint8_t orig[5];
	memcpy(orig, at(&m, OLD_ADDR), 5);
	const struct pv_engine *e = engine("stw-jmp");
	void *st = plan_ok(e, &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	/* a thread inside the replacement: revert must give up, jmp intact */
	m.frames[0][0] = NEW_ADDR + 4;
	cr_expect_eq(e->revert(st, &m.space, &err), PV_EBUSY, "%s", err.msg);
	expect_jmp(&m, OLD_ADDR, NEW_ADDR);
	/* one about to execute the jmp's middle byte: the same */
	m.frames[0][0] = OLD_ADDR + 3;
	cr_expect_eq(e->revert(st, &m.space, &err), PV_EBUSY, "%s", err.msg);
	/* in the old body behind the jmp is fine for revert */
	m.frames[0][0] = OLD_ADDR + 0x10;
	cr_expect_eq(e->revert(st, &m.space, &err), 0, "%s", err.msg);
	cr_expect_eq(memcmp(at(&m, OLD_ADDR), orig, 5), 0);
	e->release(st);
}

/* ------------------------------------------------------------------ plan */

/* A fixture every engine accepts: a 5-byte first instruction (the fentry
 * NOP), 16 bytes of padding and a GOT slot; pulp gets its own layout (two
 * 1-byte NOPs at the entry). */
static const uint8_t fentry_boundaries[] = {0, 5, 6, 9};
static const uint8_t pulp_boundaries[] = {0, 1, 2, 3, 6};
static const struct pv_got_slot got_slot = {.func = 0, .addr = GOT_ADDR};

static void fixture_for(struct fixture *f, const struct pv_engine *e)
{
	fixture_init(f);
	struct pv_prologue *pr = &f->func.prologue;
	pr->padding_before = 16;
	f->desc.got_slots = &got_slot;
	f->desc.ngot_slots = 1;
	if (!strcmp(e->name, "pulp") || !strcmp(e->name, "pc-migrate") ||
	    !strcmp(e->name, "pulp-guard") || !strcmp(e->name, "stack-clobber") ||
	    !strcmp(e->name, "replace-keep")) {
		pr->boundaries = pulp_boundaries;
		pr->nboundaries = sizeof(pulp_boundaries);
		return;
	}
	pr->first_insn_len = 5;
	pr->fentry = 1;
	pr->fentry_addr = OLD_ADDR;
	pr->boundaries = fentry_boundaries;
	pr->nboundaries = sizeof(fentry_boundaries);
}

static bool named(const struct pv_engine *e, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(e->name, *names))
			return true;
	return false;
}

/* Engines that need no rel32 reach (absolute jumps, GOT pointers) and that
 * write fewer than 5 bytes into the function. */
static const char *const absolute[] = {"pulp", "pc-migrate", "pulp-guard", "stack-clobber",
                                       "replace-keep", "got", NULL};
static const char *const two_bytes[] = {"pulp", "pc-migrate", "pulp-guard", "stack-clobber",
                                        "replace-keep", "got", "hotpatch-pad", NULL};
/* Engines that put a jmp after endbr64 (so a cet function needs 9 bytes). */
static const char *const after_endbr[] = {"stw-jmp", "ksplice", "naive-write", "no-quiesce",
                                          "skip-thread", "bad-revert", "hijack-jmp",
                                          "clobber", "eintr", "redzone", NULL};

/* Every engine (but those in `except`, or only those in `only`) refuses
 * the spoiled fixture, mentioning `mention`. */
static void expect_refused_by(void (*spoil)(struct fixture *), const char *mention,
                              const char *const *except, const char *const *only)
{
	size_t n;
	const struct pv_engine_entry *cat = pv_engine_catalogue(&n);
	for (size_t i = 0; i < n; i++) {
		const struct pv_engine *e = cat[i].engine;
		if ((except && named(e, except)) || (only && !named(e, only)))
			continue;
		struct fixture f;
		struct pv_error err;
		fixture_for(&f, e);
		void *st = NULL;
		pv_error_clear(&err);
		cr_assert_eq(e->plan(&f.desc, &st, &err), 0, "%s refuses the base fixture: %s",
		             e->name, err.msg);
		e->release(st);
		spoil(&f);
		pv_error_clear(&err);
		st = (void *)&f;
		cr_expect_eq(e->plan(&f.desc, &st, &err), PV_EREFUSED,
		             "%s planned a patch with %s", e->name, mention);
		cr_expect_null(st, "%s: state left after refusing", e->name);
		cr_expect(strstr(err.msg, mention) != NULL, "%s: '%s' not in: %s", e->name, mention,
		          err.msg);
		cr_expect(strstr(err.msg, e->name) == err.msg, "%s", err.msg);
	}
}

static void expect_refused(void (*spoil)(struct fixture *), const char *mention)
{
	expect_refused_by(spoil, mention, NULL, NULL);
}

/* Each spoils the fixture with one reason to refuse. */
static void spoil_too_short_bit(struct fixture *f)
{
	f->func.prologue.hazards |= PV_HAZARD_TOO_SHORT;
}
static void spoil_too_short_size(struct fixture *f)
{
	f->func.old_size = 3;
}
static void spoil_cet_short(struct fixture *f) /* 7 bytes, jmp after endbr64 needs 9 */
{
	f->func.prologue.endbr64 = 1;
	f->func.old_size = 7;
}
static void spoil_branch(struct fixture *f)
{
	f->func.prologue.hazards |= PV_HAZARD_BRANCH_INTO_PROLOGUE;
}
static void spoil_data(struct fixture *f)
{
	f->desc.hazards |= PV_HAZARD_DATA_LAYOUT_CHANGE;
}
static void spoil_missing(struct fixture *f)
{
	f->desc.hazards |= PV_HAZARD_MISSING_FUNCTION;
}
static void spoil_missing_func(struct fixture *f)
{
	f->func.old_addr = 0;
}
static void spoil_far(struct fixture *f)
{
	f->func.new_addr = OLD_ADDR + 0x100000000ull;
}
static void spoil_far_below(struct fixture *f)
{
	f->func.old_addr = 0x7f0000000000ull;
	if (f->func.prologue.fentry)
		f->func.prologue.fentry_addr = f->func.old_addr;
}

Test(engines, plan_refuses_each_hazard)
{
	expect_refused(spoil_too_short_bit, "too-short");
	expect_refused_by(spoil_too_short_size, "too-short", two_bytes, NULL);
	expect_refused_by(spoil_cet_short, "too-short", NULL, after_endbr);
	expect_refused(spoil_branch, "branch-into-prologue");
	expect_refused(spoil_data, "data-layout-change");
	expect_refused(spoil_missing, "missing-function");
	expect_refused(spoil_missing_func, "missing-function");
	expect_refused_by(spoil_far, "reach", absolute, NULL);
	expect_refused_by(spoil_far_below, "reach", absolute, NULL);
}

Test(engines, plan_accepts_rip_relative_prologue_and_edge_of_reach)
{
	struct fixture f;
	fixture_init(&f);
	/* the jmp replaces the whole function: nothing is relocated */
	f.func.prologue.hazards = PV_HAZARD_RIP_RELATIVE_PROLOGUE;
	f.func.new_addr = OLD_ADDR + 5 + 0x7fffffffu;
	void *st = plan_ok(engine("stw-jmp"), &f);
	engine("stw-jmp")->release(st);
}

Test(engines, plan_rejects_empty_patch)
{
	struct fixture f;
	struct pv_error err;
	fixture_init(&f);
	f.desc.nfuncs = 0;
	void *st = NULL;
	cr_expect_eq(engine("stw-jmp")->plan(&f.desc, &st, &err), PV_EINVAL);
	cr_expect_null(st);
}

/* ---------------------------------------------------------------- mutants */

Test(engines, naive_write_writes_byte_by_byte_without_stopping)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	fixture_init(&f);
	m.frames[0][0] = OLD_ADDR + 1; /* would make stw-jmp wait */
	uint8_t orig[5];
	memcpy(orig, at(&m, OLD_ADDR), 5);
	const struct pv_engine *e = engine("naive-write");
	cr_expect_eq(e->consistency, PV_CONSISTENCY_GLOBAL, "claims what stw-jmp claims");
	void *st = plan_ok(e, &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect_eq(m.counts[OP_WRITE], 5);
	size_t w = 0;
	for (unsigned b = 0; b < 5; b++) {
		w = index_of(&m, OP_WRITE, w);
		cr_assert_neq(w, SIZE_MAX);
		cr_expect_eq(m.log[w].addr, OLD_ADDR + b);
		cr_expect_eq(m.log[w].len, 1);
		w++;
	}
	cr_expect_eq(m.counts[OP_STOP], 0, "naive-write stopped the threads");
	cr_expect_eq(m.counts[OP_BACKTRACE], 0);
	expect_jmp(&m, OLD_ADDR, NEW_ADDR);
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	cr_expect_eq(m.counts[OP_WRITE], 10);
	cr_expect_eq(m.counts[OP_STOP], 0);
	cr_expect_eq(memcmp(at(&m, OLD_ADDR), orig, 5), 0);
	e->release(st);
}

Test(engines, no_quiesce_stops_but_never_looks)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	fixture_init(&f);
	m.frames[0][0] = OLD_ADDR + 1;
	const struct pv_engine *e = engine("no-quiesce");
	void *st = plan_ok(e, &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect_eq(m.counts[OP_STOP], 1);
	cr_expect_eq(m.counts[OP_RESUME], 1);
	cr_expect_eq(m.counts[OP_BACKTRACE], 0, "no-quiesce walked a stack");
	cr_expect_eq(m.counts[OP_WRITE], 1);
	expect_jmp(&m, OLD_ADDR, NEW_ADDR);
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	cr_expect_eq(m.counts[OP_BACKTRACE], 0);
	e->release(st);
}

Test(engines, catalogue_is_consistent)
{
	size_t n;
	const struct pv_engine_entry *cat = pv_engine_catalogue(&n);
	cr_assert_geq(n, 3);
	cr_expect(!cat[0].mutant, "reference engines come first");
	for (size_t i = 0; i < n; i++) {
		const struct pv_engine *e = cat[i].engine;
		cr_expect_eq(e->sz, sizeof(struct pv_engine));
		cr_expect_eq(e->abi_version, PV_ABI_VERSION);
		cr_expect(e->description && *e->description);
		cr_expect_eq(pv_engine_find(e->name), &cat[i]);
		cr_expect_eq(cat[i].mutant != 0, cat[i].defect != NULL, "%s", e->name);
		for (const char *p = e->name; *p; p++)
			cr_expect((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
	}
	cr_expect_null(pv_engine_find("no-such-engine"));
	cr_expect_null(pv_engine_find(NULL));
}

/* ---------------------------------------------------- the reference engines and mutants */

static void *plan_for(const char *name, struct fixture *f)
{
	const struct pv_engine *e = engine(name);
	fixture_for(f, e);
	return plan_ok(e, f);
}

static void log_reset(struct mock *m)
{
	m->nlog = 0;
	memset(m->counts, 0, sizeof(m->counts));
}

Test(engines, ksplice_waits_longer_each_time_then_gives_up)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	m.frames[1][0] = OLD_ADDR + 8;
	const struct pv_engine *e = engine("ksplice");
	cr_expect_eq(e->consistency, PV_CONSISTENCY_GLOBAL);
	void *st = plan_for("ksplice", &f);
	cr_expect_eq(e->apply(st, &m.space, &err), PV_EBUSY, "%s", err.msg);
	cr_expect_eq(m.counts[OP_WRITE], 0);
	cr_expect_eq(m.counts[OP_STOP], m.counts[OP_RESUME]);
	unsigned hints[16], n = 0;
	for (size_t i = 0; i < m.nlog && n < 16; i++)
		if (m.log[i].op == OP_ADVANCE)
			hints[n++] = (unsigned)m.log[i].addr;
	cr_assert_geq(n, 6);
	for (unsigned i = 0; i + 1 < n; i++)
		cr_expect(hints[i + 1] >= hints[i], "waits %u then %u", hints[i], hints[i + 1]);
	cr_expect_eq(hints[0], 1);
	cr_expect_eq(hints[3], 8, "the 4th wait is %u, not doubling", hints[3]);
	cr_expect_lt(m.counts[OP_STOP], 20u, "ksplice tries fewer times than stw-jmp");
	e->release(st);
}

Test(engines, skip_thread_never_looks_at_the_newest_thread)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	m.frames[1][0] = OLD_ADDR + 8; /* the newest thread is inside bump */
	const struct pv_engine *e = engine("skip-thread");
	void *st = plan_for("skip-thread", &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect_eq(m.counts[OP_BACKTRACE], 1, "walked %u stacks", m.counts[OP_BACKTRACE]);
	expect_jmp(&m, OLD_ADDR, NEW_ADDR);
	e->release(st);
	/* the older thread is still looked at */
	mock_init(&m);
	m.frames[0][0] = OLD_ADDR + 8;
	st = plan_for("skip-thread", &f);
	cr_expect_eq(e->apply(st, &m.space, &err), PV_EBUSY);
	e->release(st);
}

Test(engines, bad_revert_restores_only_the_opcode)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	uint8_t orig[5];
	memcpy(orig, at(&m, OLD_ADDR), 5);
	const struct pv_engine *e = engine("bad-revert");
	void *st = plan_for("bad-revert", &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	cr_expect_eq(at(&m, OLD_ADDR)[0], orig[0]);
	cr_expect_neq(memcmp(at(&m, OLD_ADDR), orig, 5), 0, "bad-revert restored everything");
	e->release(st);
}

Test(engines, hotpatch_pad_padding_first_then_one_atomic_store)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	m.frames[0][0] = OLD_ADDR; /* at the entry: fine without stopping */
	uint8_t before[MEM_SIZE];
	memcpy(before, m.mem, MEM_SIZE);
	const struct pv_engine *e = engine("hotpatch-pad");
	cr_expect_eq(e->consistency, PV_CONSISTENCY_CALL);
	void *st = plan_for("hotpatch-pad", &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect_eq(m.counts[OP_STOP], 0, "hotpatch-pad stopped the threads");
	expect_jmp(&m, OLD_ADDR - 5, NEW_ADDR);
	cr_expect_eq(at(&m, OLD_ADDR)[0], 0xeb);
	cr_expect_eq(at(&m, OLD_ADDR)[1], 0xf9, "short jmp to entry - 5");
	size_t w = index_of(&m, OP_WRITE, 0), a = index_of(&m, OP_ATOMIC, 0);
	cr_assert_neq(a, SIZE_MAX);
	cr_expect(w < a, "the entry changed before the padding was ready");
	cr_expect_eq(m.log[a].addr, OLD_ADDR);
	cr_expect_eq(m.log[a].len, 2);
	cr_expect_eq(memcmp(at(&m, OLD_ADDR + 2), before + (OLD_ADDR + 2 - MEM_BASE), 3), 0);
	for (size_t i = 0; i < m.nlog; i++)
		if (m.log[i].op == OP_WRITE)
			cr_expect(m.log[i].addr + m.log[i].len <= OLD_ADDR, "a plain write at the entry");

	/* revert waits while a thread is about to run the long jmp */
	log_reset(&m);
	m.frames[1][0] = OLD_ADDR - 5;
	m.leave_after = 2;
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	cr_expect_geq(m.counts[OP_STOP], 3);
	cr_expect_eq(memcmp(m.mem, before, MEM_SIZE), 0, "revert left bytes changed");
	cr_expect(!m.stopped);
	e->release(st);
}

static void spoil_no_padding(struct fixture *f)
{
	f->func.prologue.padding_before = 4;
}
static void spoil_one_byte_first(struct fixture *f)
{
	f->func.prologue.first_insn_len = 1;
}
static void spoil_odd_entry(struct fixture *f)
{
	f->func.old_addr = OLD_ADDR + 1;
}
static void spoil_no_fentry(struct fixture *f)
{
	f->func.prologue.fentry = 0;
	f->func.prologue.fentry_addr = 0;
	f->func.prologue.boundaries = boundaries;
	f->func.prologue.nboundaries = sizeof(boundaries);
}
static void spoil_no_got(struct fixture *f)
{
	f->desc.got_slots = NULL;
	f->desc.ngot_slots = 0;
}

Test(engines, layout_engines_refuse_what_their_layout_lacks)
{
	static const char *const hp[] = {"hotpatch-pad", NULL};
	static const char *const pulp[] = {"pulp", "pc-migrate", "pulp-guard", "stack-clobber",
	                                   "replace-keep", NULL};
	static const char *const fentry[] = {"klp", "no-stack-check", "free-early", "leaky",
	                                     "klp-stack-clobber", NULL};
	static const char *const int3[] = {"int3-live", "no-sync", NULL};
	static const char *const got[] = {"got", NULL};
	expect_refused_by(spoil_no_padding, "padding", NULL, hp);
	expect_refused_by(spoil_no_padding, "padding", NULL, pulp);
	expect_refused_by(spoil_one_byte_first, "first instruction", NULL, hp);
	expect_refused_by(spoil_odd_entry, "aligned", NULL, hp);
	expect_refused_by(spoil_no_fentry, "fentry", NULL, fentry);
	expect_refused_by(spoil_no_fentry, "inside the 5 bytes", NULL, int3);
	expect_refused_by(spoil_no_got, "GOT", NULL, got);
}

Test(engines, pulp_writes_padding_and_entry_with_threads_stopped)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	m.frames[0][0] = OLD_ADDR + 1; /* between the two NOPs: must wait */
	m.leave_after = 2;
	uint8_t before[MEM_SIZE];
	memcpy(before, m.mem, MEM_SIZE);
	const struct pv_engine *e = engine("pulp");
	void *st = plan_for("pulp", &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect_eq(m.counts[OP_STOP], 3, "%u stops", m.counts[OP_STOP]);
	const uint8_t *pad = at(&m, OLD_ADDR - 14);
	static const uint8_t jmp_rip[6] = {0xff, 0x25, 0, 0, 0, 0};
	cr_expect_eq(memcmp(pad, jmp_rip, 6), 0, "no jmp *0(%%rip) in the padding");
	uint64_t to;
	memcpy(&to, pad + 6, 8);
	cr_expect_eq(to, NEW_ADDR);
	cr_expect_eq(at(&m, OLD_ADDR)[0], 0xeb);
	cr_expect_eq(at(&m, OLD_ADDR)[1], 0xf0);
	for (size_t i = 0; i < m.nlog; i++)
		if (m.log[i].op == OP_WRITE) {
			size_t s = i;
			while (s > 0 && m.log[s].op != OP_STOP && m.log[s].op != OP_RESUME)
				s--;
			cr_expect_eq(m.log[s].op, OP_STOP, "a write while the threads run");
		}
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	cr_expect_eq(memcmp(m.mem, before, MEM_SIZE), 0, "revert left bytes changed");
	cr_expect(!m.stopped);
	e->release(st);
}

static void expect_int3_protocol(const char *name, unsigned syncs_per_poke)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	uint8_t before[MEM_SIZE];
	memcpy(before, m.mem, MEM_SIZE);
	const struct pv_engine *e = engine(name);
	cr_expect_eq(e->consistency, PV_CONSISTENCY_CALL);
	void *st = plan_for(name, &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "%s: apply: %s", name, err.msg);
	expect_jmp(&m, OLD_ADDR, NEW_ADDR);
	cr_expect_eq(m.counts[OP_STOP], 0, "%s stopped the threads", name);
	cr_expect_eq(m.counts[OP_SYNC], syncs_per_poke, "%s: %u sync_core", name,
	             m.counts[OP_SYNC]);
	cr_expect_eq(m.trap_at, 0, "%s left a trap redirect", name);
	/* trap on, int3, tail, first byte, trap off: in that order */
	static const enum op want[] = {OP_TRAP, OP_WRITE, OP_WRITE, OP_WRITE, OP_TRAP};
	size_t k = 0;
	for (size_t i = 0; i < m.nlog && k < 5; i++) {
		if (m.log[i].op != OP_TRAP && m.log[i].op != OP_WRITE)
			continue;
		cr_expect_eq(m.log[i].op, want[k], "%s: step %zu", name, k);
		if (k == 0)
			cr_expect(m.log[i].addr == OLD_ADDR && m.log[i].len == NEW_ADDR,
			          "%s: the trap must lead to the replacement", name);
		if (k == 1)
			cr_expect(m.log[i].addr == OLD_ADDR && m.log[i].len == 1, "%s: int3 first", name);
		if (k == 2)
			cr_expect(m.log[i].addr == OLD_ADDR + 1 && m.log[i].len == 4, "%s: tail", name);
		if (k == 3)
			cr_expect(m.log[i].addr == OLD_ADDR && m.log[i].len == 1, "%s: opcode", name);
		k++;
	}
	cr_expect_eq(k, 5, "%s: %zu steps", name, k);
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "%s: revert: %s", name, err.msg);
	cr_expect_eq(memcmp(m.mem, before, MEM_SIZE), 0, "%s: revert left bytes changed", name);
	e->release(st);
}

Test(engines, int3_live_runs_the_breakpoint_protocol)
{
	expect_int3_protocol("int3-live", 3);
}

Test(engines, no_sync_runs_it_without_sync_core)
{
	expect_int3_protocol("no-sync", 0);
}

/* klp: the trampoline stub at MAP_ADDR reads the slot and branches. */
static void expect_stub(const struct mock *m)
{
	const uint8_t *p = at(m, MAP_ADDR);
	cr_expect(p[0] == 0x49 && p[1] == 0xbb, "no movabs to r11");
	uint64_t slot;
	memcpy(&slot, p + 2, 8);
	cr_expect_eq(slot, SLOT_ADDR);
	/* cmpq $1, (%r11); jae new: the first patch of a stack is level 1 */
	cr_expect(p[10] == 0x49 && p[11] == 0x83 && p[12] == 0x3b && p[13] == 1, "no cmpq $1");
	cr_expect(p[14] == 0x0f && p[15] == 0x83, "no jae");
	int32_t rel;
	memcpy(&rel, p + 16, 4);
	cr_expect_eq(MAP_ADDR + 20 + (int64_t)rel, NEW_ADDR, "jae goes elsewhere");
	cr_expect_eq(p[20], 0xe9);
	memcpy(&rel, p + 21, 4);
	cr_expect_eq(MAP_ADDR + 25 + (int64_t)rel, OLD_ADDR + 5, "jmp goes elsewhere");
}

Test(engines, klp_switches_each_thread_at_a_safe_point)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	uint8_t before[MEM_SIZE];
	memcpy(before, m.mem, MEM_SIZE);
	m.frames[1][1] = OLD_ADDR + 9; /* thread 1 returns into bump: not yet */
	m.leave_after = 3;
	const struct pv_engine *e = engine("klp");
	cr_expect_eq(e->consistency, PV_CONSISTENCY_THREAD);
	void *st = plan_for("klp", &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect(m.mapped);
	expect_stub(&m);
	expect_jmp(&m, OLD_ADDR, MAP_ADDR);
	cr_expect_eq(m.slots[0], 1);
	cr_expect_eq(m.slots[1], 1);
	/* thread 0 switched in the first round, thread 1 only after leaving */
	size_t first = SIZE_MAX, second = SIZE_MAX, adv = index_of(&m, OP_ADVANCE, 0);
	for (size_t i = 0; i < m.nlog; i++)
		if (m.log[i].op == OP_SLOT && m.log[i].len == 1)
			*(m.log[i].addr == 0 ? &first : &second) = i;
	cr_expect(first < adv && adv < second, "slot %zu, advance %zu, slot %zu", first, adv,
	          second);
	cr_expect(!m.stopped);

	log_reset(&m);
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	cr_expect_eq(m.slots[0], 0);
	cr_expect_eq(m.slots[1], 0);
	cr_expect(!m.mapped, "the trampoline is still mapped");
	cr_expect_eq(memcmp(m.mem, before, MAP_ADDR - MEM_BASE), 0, "revert left bytes changed");
	e->release(st);
}

/* Revert with thread 0 entering the trampoline just before the NOPs go
 * back (the second stop_all of revert), leaving after 5 waits. */
static void revert_with_thread_in_trampoline(const char *name, struct mock *m)
{
	struct fixture f;
	struct pv_error err;
	mock_init(m);
	const struct pv_engine *e = engine(name);
	void *st = plan_for(name, &f);
	cr_assert_eq(e->apply(st, &m->space, &err), 0, "%s: apply: %s", name, err.msg);
	log_reset(m);
	m->tramp_on_stop = 2;
	m->leave_after = 5;
	cr_assert_eq(e->revert(st, &m->space, &err), 0, "%s: revert: %s", name, err.msg);
	cr_expect(!m->mapped, "%s: the trampoline is still mapped", name);
	e->release(st);
}

Test(engines, klp_unmaps_only_when_the_trampoline_is_empty)
{
	struct mock m;
	revert_with_thread_in_trampoline("klp", &m);
	cr_expect(!m.unmapped_busy, "klp unmapped the trampoline with a thread inside");
	cr_expect_geq(m.counts[OP_ADVANCE], 5);
	revert_with_thread_in_trampoline("free-early", &m);
	cr_expect(m.unmapped_busy, "free-early waited for the thread");
	cr_expect_eq(m.counts[OP_ADVANCE], 0);
}

Test(engines, no_stack_check_switches_without_walking)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	m.frames[1][0] = OLD_ADDR + 9; /* inside bump, switched anyway */
	const struct pv_engine *e = engine("no-stack-check");
	void *st = plan_for("no-stack-check", &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_expect_eq(m.counts[OP_BACKTRACE], 0);
	cr_expect_eq(m.slots[1], 1);
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	e->release(st);
}

Test(engines, leaky_never_unmaps)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	const struct pv_engine *e = engine("leaky");
	void *st = plan_for("leaky", &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	cr_expect(m.mapped);
	cr_expect_eq(m.counts[OP_UNMAP], 0);
	cr_expect_neq(at(&m, OLD_ADDR)[0], 0xe9, "the fentry NOP is not back");
	e->release(st);
}

Test(engines, got_stores_pointers_atomically)
{
	struct mock m;
	struct fixture f;
	struct pv_error err;
	mock_init(&m);
	uint64_t old_ptr = OLD_ADDR;
	memcpy(m.mem + (GOT_ADDR - MEM_BASE), &old_ptr, 8);
	const struct pv_engine *e = engine("got");
	void *st = plan_for("got", &f);
	cr_assert_eq(e->apply(st, &m.space, &err), 0, "apply: %s", err.msg);
	uint64_t now;
	memcpy(&now, at(&m, GOT_ADDR), 8);
	cr_expect_eq(now, NEW_ADDR);
	cr_expect_eq(m.counts[OP_ATOMIC], 1);
	cr_expect_eq(m.counts[OP_WRITE], 0, "got wrote code");
	cr_expect_eq(m.counts[OP_STOP], 0);
	cr_assert_eq(e->revert(st, &m.space, &err), 0, "revert: %s", err.msg);
	memcpy(&now, at(&m, GOT_ADDR), 8);
	cr_expect_eq(now, OLD_ADDR);
	e->release(st);
}

/* The catalogue's floor: at least 6 reference engines and 10 mutants, each
 * mutant naming a check id (`patchvet list checks`) that must catch it, and
 * every engine meaningful on some backend. */
Test(engines, catalogue_has_the_zoo)
{
	static const char *const checks[] = {"crash", "torn-exec", "xmc-unsynced", "consistency",
	                                     "ineffective", "state-mem", "state-regs", "state-os",
	                                     "syscall-disrupted", "rollback-bytes",
	                                     "rollback-leak", "use-after-revert", "liveness",
	                                     "target-verify", NULL};
	size_t n, refs = 0, mutants = 0;
	const struct pv_engine_entry *cat = pv_engine_catalogue(&n);
	for (size_t i = 0; i < n; i++) {
		cr_expect_neq(cat[i].backends, 0u, "%s runs nowhere", cat[i].engine->name);
		if (!cat[i].mutant) {
			refs++;
			continue;
		}
		mutants++;
		bool named_check = false;
		for (size_t k = 0; checks[k]; k++)
			named_check |= strstr(cat[i].defect, checks[k]) != NULL;
		cr_expect(named_check, "%s: its defect names no check: %s", cat[i].engine->name,
		          cat[i].defect);
	}
	cr_expect_geq(refs, 6);
	cr_expect_geq(mutants, 10);
}
