/* Check `torn-exec` (judge_exec.h): versions of watched code windows, their
 * instruction boundaries, and the verdict on each executed instruction. */
#include "torn_exec.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Versions remembered per window besides the original. An engine produces a
 * handful (patched, reverted, a half-written state that it left); the cache
 * keeps their boundaries from one run to the next. */
#define VERSIONS 8
/* Instructions kept during one operation for judging at its end. */
#define PENDING_MAX 256
/* Versions an operation showed the threads when it resumed them. */
#define MIDS 4

/* One content of a window: bytes of [blo, bhi) and which are instruction
 * starts. */
struct version {
	uint8_t *bytes;
	uint8_t *bound;
	bool used;
};

struct window {
	uint64_t lo, hi;     /* judged starts */
	uint64_t blo, bhi;   /* bytes held: from the anchor below lo to hi + 15 */
	size_t n;            /* bhi - blo */
	uint64_t *anchors;   /* owned, within [blo, bhi) */
	size_t nanchors;
	struct version orig;
	struct version cache[VERSIONS];
	size_t next_evict;
	const struct version *cur;    /* the code now (outside operations) */
	const struct version *before; /* when the current operation began */
	struct version mid[MIDS];     /* when it resumed the threads (owned) */
	size_t nmid;
};

struct pending {
	int window, thread;
	uint64_t addr, step;
	unsigned len;
	uint8_t bytes[PV_X86_MAX_INSN];
};

struct pv_exec_judge {
	csh cs;
	pv_exec_read_fn read;
	void *ctx;
	struct window *w;
	size_t nw;
	uint8_t *scratch;    /* the largest window's bytes */
	bool in_op;
	struct pending pending[PENDING_MAX];
	size_t npending;
	size_t dropped;
};

/* Marks the instruction starts of v by linear decoding from each anchor up
 * to the next one; an undecodable byte ends that anchor's run (the anchor
 * itself always counts). */
static void decode(const struct pv_exec_judge *j, const struct window *w, struct version *v)
{
	memset(v->bound, 0, w->n);
	cs_insn *insn = cs_malloc(j->cs);
	if (!insn)
		return; /* no boundaries: every instruction fails, loudly */
	for (size_t k = 0; k < w->nanchors; k++) {
		uint64_t stop = k + 1 < w->nanchors ? w->anchors[k + 1] : w->bhi;
		uint64_t a = w->anchors[k];
		const uint8_t *p = v->bytes + (a - w->blo);
		size_t left = (size_t)(w->bhi - a);
		/* A function starts an instruction whatever its bytes decode
		 * to: garbage there is a crash, not a torn instruction. */
		v->bound[a - w->blo] = 1;
		while (a < stop) {
			uint64_t at = a;
			if (!cs_disasm_iter(j->cs, &p, &left, &a, insn))
				break;
			v->bound[at - w->blo] = 1;
		}
	}
	/* An unconditional jmp of this version (eb, e9) starts an instruction
	 * where it lands, as a control-flow disassembler sees it: an engine's
	 * short jmp into the padding before an entry reaches a long jmp it
	 * wrote there, which linear decoding of multi-byte NOP padding can
	 * straddle. Compiled code jumps to boundaries already; one level. */
	for (size_t i = 0; i < w->n; i++) {
		if (v->bound[i] != 1)
			continue;
		uint64_t to;
		if (v->bytes[i] == 0xeb && i + 2 <= w->n)
			to = w->blo + i + 2 + (uint64_t)(int64_t)(int8_t)v->bytes[i + 1];
		else if (v->bytes[i] == 0xe9 && i + 5 <= w->n) {
			int32_t d;
			memcpy(&d, v->bytes + i + 1, sizeof(d));
			to = w->blo + i + 5 + (uint64_t)(int64_t)d;
		} else
			continue;
		if (to < w->blo || to >= w->bhi || v->bound[to - w->blo])
			continue;
		uint64_t a = to;
		const uint8_t *p = v->bytes + (a - w->blo);
		size_t left = (size_t)(w->bhi - a);
		/* 2: reached by a jmp, not itself a jmp to follow. */
		while (a < w->bhi && !v->bound[a - w->blo]) {
			uint64_t at = a;
			if (!cs_disasm_iter(j->cs, &p, &left, &a, insn))
				break;
			v->bound[at - w->blo] = 2;
		}
	}
	cs_free(insn, 1);
}

static int version_alloc(struct version *v, size_t n)
{
	v->bytes = malloc(n);
	v->bound = malloc(n);
	return v->bytes && v->bound ? 0 : -1;
}

static void version_free(struct version *v)
{
	free(v->bytes);
	free(v->bound);
}

/* The version of w holding bytes (j->scratch), decoded once and cached. */
static const struct version *version_of(struct pv_exec_judge *j, struct window *w)
{
	const uint8_t *bytes = j->scratch;
	if (!memcmp(w->orig.bytes, bytes, w->n))
		return &w->orig;
	for (size_t i = 0; i < VERSIONS; i++)
		if (w->cache[i].used && !memcmp(w->cache[i].bytes, bytes, w->n))
			return &w->cache[i];
	/* Evict round robin, sparing the versions in use. */
	struct version *v = NULL;
	for (size_t tries = 0; tries < VERSIONS && !v; tries++) {
		struct version *c = &w->cache[w->next_evict];
		w->next_evict = (w->next_evict + 1) % VERSIONS;
		if (c != w->cur && c != w->before)
			v = c;
	}
	memcpy(v->bytes, bytes, w->n);
	decode(j, w, v);
	v->used = true;
	return v;
}

static int read_window(struct pv_exec_judge *j, const struct window *w, struct pv_error *err)
{
	int rc = j->read(j->ctx, w->blo, j->scratch, w->n);
	if (rc)
		return pv_error_set(err, rc,
		                    "torn-exec: cannot read the code at 0x%llx..0x%llx to judge it",
		                    (unsigned long long)w->blo, (unsigned long long)w->bhi);
	return 0;
}

void pv_exec_judge_close(struct pv_exec_judge *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nw; i++) {
		struct window *w = &j->w[i];
		free(w->anchors);
		version_free(&w->orig);
		for (size_t k = 0; k < VERSIONS; k++)
			version_free(&w->cache[k]);
		for (size_t k = 0; k < MIDS; k++)
			version_free(&w->mid[k]);
	}
	free(j->w);
	free(j->scratch);
	cs_close(&j->cs);
	free(j);
}

static int setup_window(struct window *w, const struct pv_exec_window_spec *s,
                        struct pv_error *err)
{
	w->lo = s->lo;
	w->hi = s->hi;
	w->blo = s->lo;
	for (size_t k = 0; k < s->nanchors; k++)
		if (s->anchors[k] <= s->lo)
			w->blo = s->anchors[k];
	if (s->nanchors == 0 || s->anchors[0] > s->lo || s->hi <= s->lo)
		return pv_error_set(err, PV_EINTERNAL,
		                    "torn-exec: window 0x%llx..0x%llx has no anchor at or below its "
		                    "start",
		                    (unsigned long long)s->lo, (unsigned long long)s->hi);
	w->bhi = s->hi + PV_X86_MAX_INSN;
	w->n = (size_t)(w->bhi - w->blo);
	w->anchors = malloc(s->nanchors * sizeof(*w->anchors));
	if (!w->anchors)
		return pv_error_set(err, PV_ENOMEM, "out of memory preparing torn-exec windows");
	for (size_t k = 0; k < s->nanchors; k++)
		if (s->anchors[k] >= w->blo && s->anchors[k] < w->bhi &&
		    (w->nanchors == 0 || s->anchors[k] > w->anchors[w->nanchors - 1]))
			w->anchors[w->nanchors++] = s->anchors[k];
	if (version_alloc(&w->orig, w->n))
		return pv_error_set(err, PV_ENOMEM, "out of memory preparing torn-exec windows");
	for (size_t k = 0; k < VERSIONS; k++)
		if (version_alloc(&w->cache[k], w->n))
			return pv_error_set(err, PV_ENOMEM,
			                    "out of memory preparing torn-exec windows");
	for (size_t k = 0; k < MIDS; k++)
		if (version_alloc(&w->mid[k], w->n))
			return pv_error_set(err, PV_ENOMEM,
			                    "out of memory preparing torn-exec windows");
	return 0;
}

int pv_exec_judge_open(const struct pv_exec_window_spec *specs, size_t n, pv_exec_read_fn read,
                       void *ctx, struct pv_exec_judge **out, struct pv_error *err)
{
	*out = NULL;
	struct pv_exec_judge *j = calloc(1, sizeof(*j));
	if (!j)
		return pv_error_set(err, PV_ENOMEM, "out of memory preparing the torn-exec check");
	j->read = read;
	j->ctx = ctx;
	cs_err ce = cs_open(CS_ARCH_X86, CS_MODE_64, &j->cs);
	if (ce != CS_ERR_OK) {
		free(j);
		return pv_error_set(err, PV_EINTERNAL,
		                    "capstone could not open an x86-64 disassembler (%s); check "
		                    "that libcapstone 4 is installed with x86 support",
		                    cs_strerror(ce));
	}
	int rc = 0;
	j->w = calloc(n ? n : 1, sizeof(*j->w));
	if (!j->w) {
		rc = pv_error_set(err, PV_ENOMEM, "out of memory preparing torn-exec windows");
		goto fail;
	}
	size_t largest = 1;
	for (size_t i = 0; i < n; i++) {
		j->nw = i + 1;
		rc = setup_window(&j->w[i], &specs[i], err);
		if (rc)
			goto fail;
		if (j->w[i].n > largest)
			largest = j->w[i].n;
	}
	j->scratch = malloc(largest);
	if (!j->scratch) {
		rc = pv_error_set(err, PV_ENOMEM, "out of memory preparing torn-exec windows");
		goto fail;
	}
	for (size_t i = 0; i < j->nw; i++) {
		struct window *w = &j->w[i];
		rc = read_window(j, w, err);
		if (rc)
			goto fail;
		memcpy(w->orig.bytes, j->scratch, w->n);
		decode(j, w, &w->orig);
		w->orig.used = true;
	}
	pv_exec_judge_reset(j);
	*out = j;
	return 0;
fail:
	pv_exec_judge_close(j);
	return rc;
}

void pv_exec_judge_reset(struct pv_exec_judge *j)
{
	for (size_t i = 0; i < j->nw; i++) {
		j->w[i].cur = &j->w[i].orig;
		j->w[i].before = NULL;
	}
	j->in_op = false;
	j->npending = 0;
	j->dropped = 0;
}

int pv_exec_judge_window(const struct pv_exec_judge *j, uint64_t addr)
{
	for (size_t i = 0; i < j->nw; i++)
		if (addr >= j->w[i].lo && addr < j->w[i].hi)
			return (int)i;
	return -1;
}

int pv_exec_judge_op_begin(struct pv_exec_judge *j, struct pv_error *err)
{
	for (size_t i = 0; i < j->nw; i++) {
		int rc = read_window(j, &j->w[i], err);
		if (rc)
			return rc;
		j->w[i].before = version_of(j, &j->w[i]);
		j->w[i].nmid = 0;
	}
	j->in_op = true;
	j->npending = 0;
	return 0;
}

static bool matches(const struct window *w, const struct version *v, uint64_t addr,
                    const uint8_t *bytes, unsigned len)
{
	size_t off = (size_t)(addr - w->blo);
	return v && v->bound[off] && !memcmp(v->bytes + off, bytes, len);
}

static bool in_mid(const struct window *w, uint64_t addr, const uint8_t *bytes, unsigned len)
{
	for (size_t k = 0; k < w->nmid; k++)
		if (matches(w, &w->mid[k], addr, bytes, len))
			return true;
	return false;
}

int pv_exec_judge_resumed(struct pv_exec_judge *j, struct pv_error *err)
{
	if (!j->in_op)
		return 0;
	for (size_t i = 0; i < j->nw; i++) {
		struct window *w = &j->w[i];
		int rc = read_window(j, w, err);
		if (rc)
			return rc;
		bool known = !memcmp(j->scratch, w->before->bytes, w->n);
		for (size_t k = 0; !known && k < w->nmid; k++)
			known = !memcmp(j->scratch, w->mid[k].bytes, w->n);
		if (known || w->nmid == MIDS)
			continue; /* a fifth version stays unknown: a false alarm at worst */
		struct version *v = &w->mid[w->nmid++];
		memcpy(v->bytes, j->scratch, w->n);
		decode(j, w, v);
		v->used = true;
	}
	return 0;
}

static bool boundary(const struct window *w, const struct version *v, uint64_t addr)
{
	return v && v->bound[addr - w->blo];
}

static void finding(struct pv_exec_finding *f, const struct window *w, int thread,
                    uint64_t step, uint64_t addr, const uint8_t *bytes, unsigned len)
{
	memset(f, 0, sizeof(*f));
	f->thread = thread;
	f->addr = addr;
	f->step = step;
	f->len = len;
	memcpy(f->bytes, bytes, len);
	f->boundary = boundary(w, &w->orig, addr) || boundary(w, w->before, addr) ||
	              boundary(w, w->cur, addr);
}

int pv_exec_judge_op_end(struct pv_exec_judge *j, struct pv_exec_finding *out, size_t max,
                         size_t *nfound, struct pv_error *err)
{
	*nfound = 0;
	for (size_t i = 0; i < j->nw; i++) {
		int rc = read_window(j, &j->w[i], err);
		if (rc)
			return rc;
		j->w[i].cur = version_of(j, &j->w[i]);
	}
	for (size_t k = 0; k < j->npending; k++) {
		const struct pending *p = &j->pending[k];
		const struct window *w = &j->w[p->window];
		if (matches(w, w->cur, p->addr, p->bytes, p->len) || in_mid(w, p->addr, p->bytes, p->len))
			continue;
		if (*nfound < max)
			finding(&out[*nfound], w, p->thread, p->step, p->addr, p->bytes, p->len);
		(*nfound)++;
	}
	for (size_t i = 0; i < j->nw; i++)
		j->w[i].before = NULL;
	j->npending = 0;
	j->in_op = false;
	return 0;
}

int pv_exec_judge_insn(struct pv_exec_judge *j, int wi, int thread, uint64_t step,
                       uint64_t addr, const uint8_t *bytes, unsigned len,
                       struct pv_exec_finding *f)
{
	const struct window *w = &j->w[wi];
	if (len == 0 || len > PV_X86_MAX_INSN)
		len = PV_X86_MAX_INSN; /* cannot happen for a real instruction */
	/* The common case, kept cheap: outside operations memory holds the
	 * current version, so with the original code only the boundary can
	 * be wrong. */
	if (!j->in_op && w->cur == &w->orig && w->orig.bound[addr - w->blo])
		return 0;
	if (matches(w, &w->orig, addr, bytes, len))
		return 0;
	if (!j->in_op) {
		if (matches(w, w->cur, addr, bytes, len))
			return 0;
		finding(f, w, thread, step, addr, bytes, len);
		return 1;
	}
	if (matches(w, w->before, addr, bytes, len) || in_mid(w, addr, bytes, len))
		return 0;
	if (j->npending == PENDING_MAX) {
		j->dropped++;
		return 0;
	}
	struct pending *p = &j->pending[j->npending++];
	p->window = wi;
	p->thread = thread;
	p->addr = addr;
	p->step = step;
	p->len = len;
	memcpy(p->bytes, bytes, len);
	return 0;
}

size_t pv_exec_judge_dropped(const struct pv_exec_judge *j)
{
	return j->dropped;
}

void pv_torn_exec_word(const struct pv_exec_finding *f, const char *where, const char *op,
                       char *buf, size_t len)
{
	snprintf(buf, len, "thread %d executed %u byte(s) at %s%s%s that %s", f->thread, f->len,
	         where, op ? " during " : "", op ? op : "",
	         f->boundary ? "mix bytes of two versions of the code"
	                     : "do not start an instruction of any version of the code");
}
