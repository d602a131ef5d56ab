/* State probes, after CRIU's ZDTM: what a process holds, taken when the
 * engine's pause begins and compared just before it ends. Nothing of the
 * target runs in between (its threads are stopped), so any difference is
 * the engine's (or the harness's) doing:
 *   state-regs         every register of every stopped thread (general,
 *                      rflags, fs_base/gs_base, x87, MXCSR, xmm, ymm)
 *   syscall-disrupted  a thread stopped inside an interruptible system call
 *                      resumes without the kernel's restart of that call
 *   state-os           mappings (but the harness's and the engine's own),
 *                      the fd table, signal dispositions, masks, pending
 *   state-mem          a digest of the target's writable memory */
#include "ptrace.h"
#include "../checks/state_mem.h"
#include "../checks/state_os.h"
#include "../checks/state_regs.h"
#include "../checks/syscall_disrupted.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

/* ------------------------------------------------------------ registers */

static const char *const gpr_names[] = {
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
	"rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "rflags", "rsp",
	"ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
};

/* The upper halves of ymm0-15: XSAVE component 2 at its standard offset,
 * zero when XSTATE_BV says the component is in its initial state. */
#define XSAVE_BV_OFF 512
#define XSAVE_YMM_OFF 576
#define XSAVE_YMM_LEN 256

static const uint8_t *ymm_hi(const struct pt_regset *r)
{
	static const uint8_t zeros[XSAVE_YMM_LEN];
	if (r->xstate_len < XSAVE_YMM_OFF + XSAVE_YMM_LEN)
		return zeros;
	uint64_t bv;
	memcpy(&bv, r->xstate + XSAVE_BV_OFF, sizeof(bv));
	return (bv & 4) ? r->xstate + XSAVE_YMM_OFF : zeros;
}

int pt_regs_compare(const struct pt_regset *a, const struct pt_regset *b, char *why,
                    size_t len)
{
	const unsigned long long *ga = (const void *)&a->gpr, *gb = (const void *)&b->gpr;
	_Static_assert(sizeof(struct user_regs_struct) == sizeof(gpr_names) / sizeof(gpr_names[0]) * 8,
	               "user_regs_struct layout");
	for (size_t i = 0; i < sizeof(gpr_names) / sizeof(gpr_names[0]); i++)
		if (ga[i] != gb[i]) {
			snprintf(why, len, "%s 0x%llx became 0x%llx", gpr_names[i], ga[i], gb[i]);
			return 1;
		}
	const struct user_fpregs_struct *fa = &a->fpr, *fb = &b->fpr;
	if (fa->mxcsr != fb->mxcsr) {
		snprintf(why, len, "mxcsr 0x%x became 0x%x", fa->mxcsr, fb->mxcsr);
		return 1;
	}
	if (fa->cwd != fb->cwd || fa->swd != fb->swd || fa->ftw != fb->ftw) {
		snprintf(why, len, "the x87 control/status/tag word changed");
		return 1;
	}
	for (unsigned r = 0; r < 16; r++)
		if (memcmp(&fa->xmm_space[4 * r], &fb->xmm_space[4 * r], 16)) {
			snprintf(why, len, "xmm%u changed (0x%08x%08x%08x%08x became "
			                   "0x%08x%08x%08x%08x)", r,
			         fa->xmm_space[4 * r + 3], fa->xmm_space[4 * r + 2],
			         fa->xmm_space[4 * r + 1], fa->xmm_space[4 * r],
			         fb->xmm_space[4 * r + 3], fb->xmm_space[4 * r + 2],
			         fb->xmm_space[4 * r + 1], fb->xmm_space[4 * r]);
			return 1;
		}
	for (unsigned r = 0; r < 8; r++)
		if (memcmp(&fa->st_space[4 * r], &fb->st_space[4 * r], 10)) {
			snprintf(why, len, "x87 register st%u changed", r);
			return 1;
		}
	const uint8_t *ya = ymm_hi(a), *yb = ymm_hi(b);
	for (unsigned r = 0; r < 16; r++)
		if (memcmp(ya + 16 * r, yb + 16 * r, 16)) {
			snprintf(why, len, "the upper half of ymm%u changed", r);
			return 1;
		}
	return 0;
}

/* ------------------------------------------------------------ OS state */

struct pt_vma {
	uint64_t lo, hi;
	char perms[8];
	uint64_t off;
	char name[96];
};

struct pt_osstate {
	struct pt_vma *vmas;
	size_t nvmas;
	char *fds;              /* "fd target flags\n" per descriptor, sorted by fd */
	uint64_t cgt, ign;      /* process-wide dispositions (the leader's status) */
};

void pt_os_free(struct pt_osstate *s)
{
	if (!s)
		return;
	free(s->vmas);
	free(s->fds);
	free(s);
}

static int read_vmas(pid_t pid, struct pt_vma **out, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return PV_EIO;
	size_t cap = 64, k = 0;
	struct pt_vma *v = malloc(cap * sizeof(*v));
	char line[512];
	while (v && fgets(line, sizeof(line), f)) {
		if (k == cap) {
			struct pt_vma *w = realloc(v, 2 * cap * sizeof(*v));
			if (!w) {
				free(v);
				v = NULL;
				break;
			}
			v = w;
			cap *= 2;
		}
		unsigned long long lo, hi, off;
		int name = 0;
		struct pt_vma *m = &v[k];
		memset(m, 0, sizeof(*m));
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, m->perms, &off, &name) < 4)
			continue;
		m->lo = lo;
		m->hi = hi;
		m->off = off;
		if (name) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(m->name, sizeof(m->name), "%s", line + name);
		}
		k++;
	}
	fclose(f);
	if (!v)
		return PV_ENOMEM;
	*out = v;
	*n = k;
	return 0;
}

static int cmp_fd(const void *a, const void *b)
{
	return atoi(*(char *const *)a) - atoi(*(char *const *)b);
}

/* "fd target flags" lines of every descriptor. */
static char *read_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	char *names[256];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_fd);
	size_t cap = 256 * (n + 1), len = 0;
	char *out = malloc(cap);
	for (size_t i = 0; i < n; i++) {
		char link[256] = "", lpath[96], flags[32] = "";
		if (!names[i])
			continue;
		snprintf(lpath, sizeof(lpath), "/proc/%d/fd/%s", (int)pid, names[i]);
		ssize_t k = readlink(lpath, link, sizeof(link) - 1);
		link[k > 0 ? k : 0] = '\0';
		snprintf(lpath, sizeof(lpath), "/proc/%d/fdinfo/%s", (int)pid, names[i]);
		FILE *f = fopen(lpath, "re");
		char line[128];
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "flags:", 6))
				sscanf(line + 6, "%31s", flags);
		if (f)
			fclose(f);
		if (out)
			len += (size_t)snprintf(out + len, cap - len, "%s %s %s\n", names[i], link, flags);
		free(names[i]);
	}
	if (out)
		out[len] = '\0';
	return out;
}

static void read_status(const char *path, struct pt_sigstate *s)
{
	memset(s, 0, sizeof(*s));
	FILE *f = fopen(path, "re");
	char line[128];
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "SigPnd: %llx", &v) == 1)
			s->pnd = v;
		else if (sscanf(line, "ShdPnd: %llx", &v) == 1)
			s->shdpnd = v;
		else if (sscanf(line, "SigBlk: %llx", &v) == 1)
			s->blk = v;
		else if (sscanf(line, "SigIgn: %llx", &v) == 1)
			s->ign = v;
		else if (sscanf(line, "SigCgt: %llx", &v) == 1)
			s->cgt = v;
	}
	if (f)
		fclose(f);
}

int pt_sig_probe(struct pt_proc *p, struct pt_thread *t, struct pt_sigstate *s)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)p->pid, (int)t->tid);
	read_status(path, s);
	return 0;
}

int pt_os_probe(struct pt_proc *p, struct pt_osstate **out)
{
	struct pt_osstate *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(p->err, PV_ENOMEM, "out of memory");
	int rc = read_vmas(p->pid, &s->vmas, &s->nvmas);
	s->fds = read_fds(p->pid);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	struct pt_sigstate st;
	read_status(path, &st);
	s->cgt = st.cgt;
	s->ign = st.ign;
	if (rc || !s->fds) {
		pt_os_free(s);
		return pv_error_set(p->err, rc ? rc : PV_EIO, "cannot read the mappings or the fd "
		                                              "table of process %d", (int)p->pid);
	}
	*out = s;
	return 0;
}

/* The harness page, the patch area and every engine mapping of the run. */
static bool ignored(const struct pt_proc *p, uint64_t lo, uint64_t hi)
{
	if (p->page && lo < p->page + PT_PAGE && hi > p->page)
		return true;
	if (p->patch_hi && lo < p->patch_hi && hi > p->patch_lo)
		return true;
	for (size_t i = 0; p->run && i < p->run->nmaps; i++) {
		const struct pt_map *m = &p->run->maps[i];
		if (lo < m->addr + m->len && hi > m->addr)
			return true;
	}
	return false;
}

static const struct pt_vma *next_vma(const struct pt_proc *p, const struct pt_osstate *s,
                                     size_t *i)
{
	while (*i < s->nvmas) {
		const struct pt_vma *v = &s->vmas[(*i)++];
		if (!ignored(p, v->lo, v->hi))
			return v;
	}
	return NULL;
}

static void vma_text(const struct pt_vma *v, char *buf, size_t len)
{
	if (!v)
		snprintf(buf, len, "nothing");
	else
		snprintf(buf, len, "%llx-%llx %s %s", (unsigned long long)v->lo,
		         (unsigned long long)v->hi, v->perms, v->name[0] ? v->name : "[anon]");
}

int pt_os_compare(const struct pt_proc *p, const struct pt_osstate *a,
                  const struct pt_osstate *b, char *why, size_t len)
{
	size_t i = 0, j = 0;
	for (;;) {
		const struct pt_vma *x = next_vma(p, a, &i), *y = next_vma(p, b, &j);
		if (!x && !y)
			break;
		if (!x || !y || x->lo != y->lo || x->hi != y->hi || strcmp(x->perms, y->perms) ||
		    x->off != y->off || strcmp(x->name, y->name)) {
			char tx[160], ty[160];
			vma_text(x, tx, sizeof(tx));
			vma_text(y, ty, sizeof(ty));
			snprintf(why, len, "mapping %s became %s", tx, ty);
			return 1;
		}
	}
	if (strcmp(a->fds, b->fds)) {
		snprintf(why, len, "the fd table changed (\"%.60s\" became \"%.60s\")", a->fds,
		         b->fds);
		return 1;
	}
	if (a->cgt != b->cgt || a->ign != b->ign) {
		snprintf(why, len, "signal dispositions changed (caught %llx, ignored %llx became "
		                   "caught %llx, ignored %llx)", (unsigned long long)a->cgt,
		         (unsigned long long)a->ign, (unsigned long long)b->cgt,
		         (unsigned long long)b->ign);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ memory */

/* A fast 64-bit digest (not cryptographic: it only needs to change). */
static uint64_t mix(uint64_t h, const uint8_t *buf, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, buf + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ buf[i]) * 0x100000001b3ull;
	return h;
}

#define DIGEST_CHUNK (64 * 1024)

/* The rseq areas of stopped threads, kept out of the digest. */
static void learn_rseq(struct pt_thread *t)
{
	if (t->rseq_known || !t->live || !t->stopped)
		return;
	struct __ptrace_rseq_configuration c;
	memset(&c, 0, sizeof(c));
	/* A thread registers its area when it starts: ask until it has one. */
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, t->tid, (void *)sizeof(c), &c) > 0 &&
	    c.rseq_abi_pointer) {
		t->rseq_addr = c.rseq_abi_pointer;
		t->rseq_len = c.rseq_abi_size;
		t->rseq_known = true;
	}
}

static void blank_rseq(const struct pt_proc *p, uint64_t a, uint8_t *buf, size_t len)
{
	for (size_t k = 0; k < p->nthreads; k++) {
		const struct pt_thread *t = &p->threads[k];
		uint64_t lo = t->rseq_addr, hi = t->rseq_addr + t->rseq_len;
		if (!t->rseq_len || hi <= a || lo >= a + len)
			continue;
		if (lo < a)
			lo = a;
		if (hi > a + len)
			hi = a + len;
		memset(buf + (lo - a), 0, hi - lo);
	}
}

int pt_mem_digest(struct pt_proc *p, struct pt_memsum **out)
{
	struct pt_vma *v;
	size_t n;
	int rc = read_vmas(p->pid, &v, &n);
	if (rc)
		return pv_error_set(p->err, rc, "cannot read the mappings of process %d",
		                    (int)p->pid);
	uint8_t *buf = malloc(DIGEST_CHUNK);
	struct pt_memsum *m = calloc(1, sizeof(*m) + n * sizeof(m->areas[0]));
	if (!buf || !m) {
		free(buf);
		free(m);
		free(v);
		return pv_error_set(p->err, PV_ENOMEM, "out of memory");
	}
	for (size_t k = 0; k < p->nthreads; k++)
		learn_rseq(&p->threads[k]);
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = v[i].lo, hi = v[i].hi;
		if (v[i].perms[1] != 'w' || ignored(p, lo, hi) || !strcmp(v[i].name, "[vvar]"))
			continue;
		/* A stack: only its live part, from below the red zone up. */
		bool stack = false;
		for (size_t k = 0; k < p->nthreads; k++) {
			const struct pt_thread *t = &p->threads[k];
			uint64_t sp = t->regs.rsp;
			if (t->live && t->stopped && sp >= lo && sp < hi && sp - 128 > lo) {
				lo = (sp - 128) & ~7ull;
				stack = true;
			}
		}
		uint64_t h = 0xcbf29ce484222325ull;
		for (uint64_t a = lo; a < hi; a += DIGEST_CHUNK) {
			size_t len = hi - a < DIGEST_CHUNK ? (size_t)(hi - a) : DIGEST_CHUNK;
			ssize_t got = pread(p->mem_fd, buf, len, (off_t)a);
			if (got > 0) {
				blank_rseq(p, a, buf, (size_t)got);
				h = mix(h, buf, (size_t)got);
			}
		}
		struct pt_memarea *ar = &m->areas[m->n++];
		ar->lo = lo;
		ar->hi = hi;
		ar->digest = h;
		ar->stack = stack;
		/* A bounded copy: the mapping's name may be longer than the slot. */
		const char *nm = v[i].name[0] ? v[i].name : "[anon]";
		size_t nl = strnlen(nm, sizeof(ar->name) - 1);
		memcpy(ar->name, nm, nl);
		ar->name[nl] = '\0';
	}
	free(buf);
	free(v);
	*out = m;
	return 0;
}

int pt_mem_compare(const struct pt_memsum *a, const struct pt_memsum *b, bool stacks_only,
                   char *why, size_t len)
{
	for (size_t i = 0; i < a->n || i < b->n; i++) {
		const struct pt_memarea *x = i < a->n ? &a->areas[i] : NULL;
		const struct pt_memarea *y = i < b->n ? &b->areas[i] : NULL;
		if (x && y && x->lo == y->lo && x->hi == y->hi && x->digest == y->digest)
			continue;
		if (stacks_only && x && y && x->lo == y->lo && !x->stack)
			continue;
		const struct pt_memarea *z = x ? x : y;
		if (x && y && x->lo == y->lo && x->hi == y->hi)
			snprintf(why, len, "%llx-%llx %s", (unsigned long long)z->lo,
			         (unsigned long long)z->hi, z->name);
		else
			snprintf(why, len, "the extent of %llx-%llx %s", (unsigned long long)z->lo,
			         (unsigned long long)z->hi, z->name);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ pauses */

/* Nothing of a stopped target changes while the engine pauses it except
 * through patchvet itself: a register only by the SETREGSET of an
 * injection or a call, mappings, fds and signal state only by an injected
 * system call or a call, memory only by a call, an injection (the kernel
 * writes rseq areas) or an engine write to writable memory. So a pause's
 * probes are taken lazily, just before the first operation that could
 * change what they cover (pt_touch_*), and compared at the resume: a pause
 * in which the engine only looks and writes code costs nothing. Eager mode
 * takes everything when the pause begins (to check the harness itself). */
static int snap_thread(struct pt_proc *p, struct pt_thread *t)
{
	if (t->snap_valid || !t->live || !t->stopped)
		return 0;
	if (!t->snap && !(t->snap = malloc(sizeof(*t->snap))))
		return pv_error_set(p->err, PV_ENOMEM, "out of memory");
	int rc = pt_regs_get(p, t, t->snap);
	if (!rc) {
		pt_sig_probe(p, t, &t->snap_sig);
		/* A signal the kernel already handed to the tracer (held for
		 * delivery at the resume) is pending for the thread too: the
		 * check below counts it on both sides of the pause. */
		if (t->held_sig)
			t->snap_sig.pnd |= 1ull << (t->held_sig - 1);
		t->snap_valid = true;
	}
	return rc;
}

static bool probing(const struct pt_proc *p)
{
	return p->run && p->run->probes != PT_PROBES_OFF && p->world_stopped;
}

int pt_touch_thread(struct pt_proc *p, struct pt_thread *t)
{
	if (!probing(p))
		return 0;
	double t0 = pt_now();
	int rc = snap_thread(p, t);
	p->run->probe_ms += (pt_now() - t0) * 1e3;
	return rc;
}

int pt_touch_process(struct pt_proc *p)
{
	if (!probing(p))
		return 0;
	struct pt_run *run = p->run;
	double t0 = pt_now();
	int rc = 0;
	if (!run->pause_os)
		rc = pt_os_probe(p, &run->pause_os);
	if (!rc && !run->pause_mem)
		rc = pt_mem_digest(p, &run->pause_mem);
	run->probe_ms += (pt_now() - t0) * 1e3;
	return rc;
}

int pt_pause_probe(struct pt_proc *p)
{
	struct pt_run *run = p->run;
	if (!run)
		return 0;
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i].snap_valid = false;
	pt_os_free(run->pause_os);
	run->pause_os = NULL;
	free(run->pause_mem);
	run->pause_mem = NULL;
	run->pause_called = false;
	if (run->probes != PT_PROBES_EAGER)
		return 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < p->nthreads; i++)
		rc = pt_touch_thread(p, &p->threads[i]);
	return rc ? rc : pt_touch_process(p);
}

static const char *syscall_name(long nr)
{
	switch (nr) {
	case 0: return "read";
	case 1: return "write";
	case 7: return "poll";
	case 23: return "select";
	case 35: return "nanosleep";
	case 202: return "futex";
	case 230: return "clock_nanosleep";
	case 232: return "epoll_wait";
	case 61: return "wait4";
	default: return "a system call";
	}
}

void pt_judge_thread(struct pt_proc *p, struct pt_thread *t, const struct pt_regset *before,
                     const struct pt_regset *now_in, const char *when)
{
	struct pt_regset *now = malloc(sizeof(*now));
	if (!now)
		return;
	memcpy(now, now_in, sizeof(*now));
	char why[160];
	long nr = pt_restartable_syscall(&before->gpr);
	if (nr >= 0 && (now->gpr.rax != before->gpr.rax ||
	                now->gpr.orig_rax != before->gpr.orig_rax ||
	                now->gpr.rip != before->gpr.rip)) {
		char detail[PV_CHECK_DETAIL_LEN];
		pv_syscall_disrupted_word(t->id, syscall_name(nr), nr, (long long)now->gpr.rax, when,
		                          detail, sizeof(detail));
		pt_violation(p, PV_CHECK_SYSCALL_DISRUPTED, (int)t->id, before->gpr.rip, "%s", detail);
		/* Judged: the rest of its registers are compared alone. */
		now->gpr.rax = before->gpr.rax;
		now->gpr.orig_rax = before->gpr.orig_rax;
		now->gpr.rip = before->gpr.rip;
	}
	if (pt_regs_compare(before, now, why, sizeof(why))) {
		char detail[PV_CHECK_DETAIL_LEN];
		pv_state_regs_word(t->id, why, when, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_STATE_REGS, (int)t->id, now->gpr.rip, "%s", detail);
	}
	free(now);
}

void pt_pause_check(struct pt_proc *p)
{
	struct pt_run *run = p->run;
	if (!run || run->probes == PT_PROBES_OFF)
		return;
	double t0 = pt_now();
	struct pt_regset *now = &p->scratch;
	char why[160];
	for (size_t i = 0; i < p->nthreads; i++) {
		struct pt_thread *t = &p->threads[i];
		if (!t->snap_valid || !t->live || !t->stopped)
			continue;
		t->snap_valid = false;
		if (pt_regs_get(p, t, now))
			continue;
		pt_judge_thread(p, t, t->snap, now, "across a pause of the engine");
		struct pt_sigstate s;
		pt_sig_probe(p, t, &s);
		/* Signals the harness itself sent stay pending while stopped; one a
		 * hijacked thread took during a call is held, delivered at the
		 * resume, so still pending; thread and process queues together,
		 * as either may feed a hijacked thread. */
		uint64_t mine = run->signals_sent;
		uint64_t held = t->held_sig ? 1ull << (t->held_sig - 1) : 0;
		uint64_t was = (t->snap_sig.pnd | t->snap_sig.shdpnd) & ~mine;
		uint64_t is = (s.pnd | s.shdpnd | held) & ~mine;
		if (s.blk != t->snap_sig.blk || was != is)
			pt_violation(p, PV_CHECK_STATE_OS, (int)t->id, 0,
			             "thread %u: signal mask or pending signals changed across a "
			             "pause (blocked %llx, pending %llx became blocked %llx, "
			             "pending %llx; thread and process queues, held ones included)",
			             t->id, (unsigned long long)t->snap_sig.blk, (unsigned long long)was,
			             (unsigned long long)s.blk, (unsigned long long)is);
	}
	struct pt_osstate *os = NULL;
	if (run->pause_os && !pt_os_probe(p, &os)) {
		if (pt_os_compare(p, run->pause_os, os, why, sizeof(why))) {
			char detail[PV_CHECK_DETAIL_LEN];
			pv_state_os_word(why, NULL, detail, sizeof(detail));
			pt_violation(p, PV_CHECK_STATE_OS, -1, 0, "%s", detail);
		}
		pt_os_free(os);
	}
	pt_os_free(run->pause_os);
	run->pause_os = NULL;
	/* A call ran target code, which may change data on purpose; never the
	 * live stack of a thread (the red zone included). */
	struct pt_memsum *m = NULL;
	if (run->pause_mem && !pt_mem_digest(p, &m) &&
	    pt_mem_compare(run->pause_mem, m, run->pause_called, why, sizeof(why))) {
		char detail[PV_CHECK_DETAIL_LEN];
		pv_state_mem_word_pause(why, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_STATE_MEM, -1, 0, "%s", detail);
	}
	free(m);
	free(run->pause_mem);
	run->pause_mem = NULL;
	run->probe_ms += (pt_now() - t0) * 1e3;
}
