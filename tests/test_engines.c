/* Suite `engines`: the jmp-redirect family and the catalogue, against a mock
 * space (an in-memory struct pv_space_ops that records every call). */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <patchvet/engine.h>

#include "../engines/catalogue.h"

#define MEM_BASE 0x401000u
#define MEM_SIZE 0x2000u
#define OLD_ADDR 0x401100u
#define OLD_SIZE 0x30u
#define NEW_ADDR 0x402000u
#define NEW_SIZE 0x20u
#define MAX_LOG 512
#define MAX_THREADS 4
#define MAX_FRAMES 8

enum op { OP_READ, OP_WRITE, OP_STOP, OP_RESUME, OP_THREADS, OP_BACKTRACE, OP_SYNC,
          OP_ADVANCE, OP_NOTE };

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
	record(of(s), OP_STOP, 0, 0);
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

static void expect_refused(void (*spoil)(struct fixture *), const char *mention)
{
	size_t n;
	const struct pv_engine_entry *cat = pv_engine_catalogue(&n);
	for (size_t i = 0; i < n; i++) {
		struct fixture f;
		struct pv_error err;
		fixture_init(&f);
		spoil(&f);
		pv_error_clear(&err);
		void *st = (void *)&f;
		cr_expect_eq(cat[i].engine->plan(&f.desc, &st, &err), PV_EREFUSED,
		             "%s planned a patch with %s", cat[i].engine->name, mention);
		cr_expect_null(st, "%s: state left after refusing", cat[i].engine->name);
		cr_expect(strstr(err.msg, mention) != NULL, "%s: '%s' not in: %s",
		          cat[i].engine->name, mention, err.msg);
		cr_expect(strstr(err.msg, cat[i].engine->name) == err.msg, "%s", err.msg);
	}
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
}

Test(engines, plan_refuses_each_hazard)
{
	expect_refused(spoil_too_short_bit, "too-short");
	expect_refused(spoil_too_short_size, "too-short");
	expect_refused(spoil_cet_short, "too-short");
	expect_refused(spoil_branch, "branch-into-prologue");
	expect_refused(spoil_data, "data-layout-change");
	expect_refused(spoil_missing, "missing-function");
	expect_refused(spoil_missing_func, "missing-function");
	expect_refused(spoil_far, "reach");
	expect_refused(spoil_far_below, "reach");
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
