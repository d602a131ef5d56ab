/* The exec adapter's state checks (exec_state.h): the ptrace backend's
 * probes (register sets, pt_judge_thread, pt_os_probe/pt_os_compare), taken
 * around a command the target partly runs through. */
#include "state.h"

#include <capstone/capstone.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../checks/state_os.h"
#include "../checks/state_regs.h"

#define WATCH_MAX 8
#define WATCH_BYTES_MAX (8u << 20) /* per writable segment: the rest is not read */
#define VMAS_MAX 256

struct watch {
	uint64_t lo, hi;          /* 8-byte aligned */
	uint8_t *now;             /* owned: the bytes at the last look */
	uint8_t *vol;             /* owned: per word, 1 when the target changes it */
	uint8_t *buf;             /* owned: scratch for a new look */
};

struct pv_exec_state {
	struct pt_proc *p;
	const struct pv_image *img;
	uint64_t bias;
	struct watch w[WATCH_MAX];
	size_t nw;
	uint64_t got[2][2];       /* .got and .got.plt, loaded addresses, [lo, hi) */
	bool *owned;              /* owned: per symbol of img, its code writes it */
	struct pt_osstate *os_last; /* owned: at the last look */
	struct pt_osstate *os_before; /* owned: before the current command */
	bool os_unstable;         /* the target changed mappings, fds or dispositions */
	uint64_t vmas[VMAS_MAX][2]; /* every mapping before the current command */
	size_t nvmas;
	/* Threads before the current command, by index into p->threads. */
	bool had[PT_MAX_THREADS];
	pid_t tid[PT_MAX_THREADS];
	struct pt_regset *regs[PT_MAX_THREADS]; /* owned */
	unsigned commands;        /* judged */
	unsigned full_regs;       /* thread x command pairs compared in full */
};

static void read_vmas(pid_t pid, uint64_t (*v)[2], size_t *n)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	*n = 0;
	while (f && *n < VMAS_MAX && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2) {
			v[*n][0] = lo;
			v[*n][1] = hi;
			(*n)++;
		}
	}
	if (f)
		fclose(f);
}

static int look(struct pv_exec_state *s, struct watch *w)
{
	return pt_read(s->p, w->lo, w->buf, (size_t)(w->hi - w->lo));
}

static bool in_got(const struct pv_exec_state *s, uint64_t a)
{
	for (int i = 0; i < 2; i++)
		if (a + 8 > s->got[i][0] && a < s->got[i][1])
			return true;
	return false;
}

/* The data symbol (STT_OBJECT) holding link-time address a, or -1. */
static long object_at(const struct pv_image *img, uint64_t a)
{
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *y = &img->symbols[i];
		if (y->type == STT_OBJECT && y->size && a >= y->value && a < y->value + y->size)
			return (long)i;
	}
	return -1;
}

/* Objects the target's own code stores to, or takes the address of (lea,
 * an absolute immediate), so may change through a pointer: counters,
 * locks, result arrays. Their words are the target's to change, however
 * rarely (a lock word contended only while the tool paused the holder, a
 * result written once at a worker's end), and are not judged. The rest
 * of the data (objects the code only reads, padding, the loader's words)
 * changes only by the loader or by someone else. */
static int mark_owned(struct pv_exec_state *s)
{
	const struct pv_image *img = s->img;
	if (!(s->owned = calloc(img->nsymbols ? img->nsymbols : 1, sizeof(*s->owned))))
		return PV_ENOMEM;
	csh cs;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return PV_EIO;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	cs_insn *insn = cs_malloc(cs);
	for (size_t g = 0; insn && g < img->nsegments; g++) {
		const struct pv_segment *seg = &img->segments[g];
		size_t left = 0;
		const uint8_t *code = seg->flags & PF_X ? pv_image_at(img, seg->vaddr, &left) : NULL;
		uint64_t a = seg->vaddr;
		while (code && left) {
			if (!cs_disasm_iter(cs, &code, &left, &a, insn)) {
				code++, left--, a++; /* data in the text: step over a byte */
				continue;
			}
			const cs_x86 *x = &insn->detail->x86;
			for (unsigned k = 0; k < x->op_count; k++) {
				const cs_x86_op *op = &x->operands[k];
				long sym = -1;
				if (op->type == X86_OP_IMM)
					sym = object_at(img, (uint64_t)op->imm);
				else if (op->type == X86_OP_MEM && (insn->id == X86_INS_LEA ||
				                                    (op->access & CS_AC_WRITE))) {
					if (op->mem.base == X86_REG_RIP)
						sym = object_at(img, insn->address + insn->size +
						                         (uint64_t)op->mem.disp);
					else if (op->mem.base == X86_REG_INVALID)
						sym = object_at(img, (uint64_t)op->mem.disp);
				}
				if (sym >= 0)
					s->owned[sym] = true;
			}
		}
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&cs);
	return 0;
}

/* True when the word at loaded address a is in an object the target's own
 * code may write (mark_owned). */
static bool owned_word(const struct pv_exec_state *s, uint64_t a)
{
	for (size_t i = 0; i < s->img->nsymbols; i++) {
		const struct pv_symbol *y = &s->img->symbols[i];
		uint64_t lo = y->value + s->bias;
		if (s->owned[i] && a + 8 > lo && a < lo + y->size)
			return true;
	}
	return false;
}

int pv_exec_state_open(struct pt_proc *p, const struct pv_image *img, uint64_t bias,
                       struct pv_exec_state **out, struct pv_error *err)
{
	*out = NULL;
	struct pv_exec_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	s->p = p;
	s->img = img;
	s->bias = bias;
	static const char *const gots[2] = {".got", ".got.plt"};
	for (int i = 0; i < 2; i++) {
		const struct pv_section *sec = pv_image_section(img, gots[i]);
		if (sec && sec->addr) {
			s->got[i][0] = sec->addr + bias;
			s->got[i][1] = sec->addr + bias + sec->size;
		}
	}
	int rc = mark_owned(s);
	if (rc)
		rc = pv_error_set(err, rc, "cannot disassemble %s to find the data its code writes",
		                  img->path);
	for (size_t i = 0; !rc && i < img->nsegments && s->nw < WATCH_MAX; i++) {
		const struct pv_segment *g = &img->segments[i];
		if (!(g->flags & PF_W) || !g->memsz)
			continue;
		struct watch *w = &s->w[s->nw++];
		w->lo = (g->vaddr + bias) & ~7ull;
		w->hi = (g->vaddr + bias + g->memsz + 7) & ~7ull;
		if (w->hi - w->lo > WATCH_BYTES_MAX)
			w->hi = w->lo + WATCH_BYTES_MAX;
		size_t len = (size_t)(w->hi - w->lo);
		w->now = malloc(len);
		w->buf = malloc(len);
		w->vol = calloc(len / 8, 1);
		if (!w->now || !w->buf || !w->vol)
			rc = pv_error_set(err, PV_ENOMEM, "out of memory");
		else if (look(s, w))
			rc = pv_error_set(err, PV_EIO, "cannot read the target's data at 0x%llx: %s",
			                  (unsigned long long)w->lo, p->err->msg);
		else
			memcpy(w->now, w->buf, len);
		/* The target's own objects and the GOT are never judged. */
		for (size_t k = 0; w->vol && k < len / 8; k++)
			if (owned_word(s, w->lo + 8 * k) || in_got(s, w->lo + 8 * k))
				w->vol[k] = 1;
	}
	if (!rc && pt_os_probe(p, &s->os_last))
		rc = pv_error_set(err, PV_EIO, "%s", p->err->msg);
	if (rc) {
		pv_exec_state_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void pv_exec_state_close(struct pv_exec_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nw; i++) {
		free(s->w[i].now);
		free(s->w[i].vol);
		free(s->w[i].buf);
	}
	for (size_t i = 0; i < PT_MAX_THREADS; i++)
		free(s->regs[i]);
	pt_os_free(s->os_last);
	pt_os_free(s->os_before);
	free(s->owned);
	free(s);
}

void pv_exec_state_learn(struct pv_exec_state *s)
{
	struct pt_proc *p = s->p;
	if (p->exited)
		return;
	for (size_t i = 0; i < s->nw; i++) {
		struct watch *w = &s->w[i];
		if (look(s, w))
			continue;
		size_t words = (size_t)(w->hi - w->lo) / 8;
		for (size_t k = 0; k < words; k++)
			if (memcmp(w->now + 8 * k, w->buf + 8 * k, 8))
				w->vol[k] = 1;
		memcpy(w->now, w->buf, words * 8);
	}
	struct pt_osstate *os = NULL;
	char why[200];
	if (!pt_os_probe(p, &os)) {
		if (s->os_last && pt_os_compare(p, s->os_last, os, why, sizeof(why)))
			s->os_unstable = true;
		pt_os_free(s->os_last);
		s->os_last = os;
	}
	pv_error_clear(p->err);
}

void pv_exec_state_before(struct pv_exec_state *s)
{
	struct pt_proc *p = s->p;
	pv_exec_state_learn(s);
	if (p->exited)
		return;
	for (size_t i = 0; i < p->nthreads && i < PT_MAX_THREADS; i++) {
		struct pt_thread *t = &p->threads[i];
		s->had[i] = false;
		if (!t->live || !t->stopped)
			continue;
		if (!s->regs[i] && !(s->regs[i] = malloc(sizeof(*s->regs[i]))))
			continue;
		if (pt_regs_get(p, t, s->regs[i]))
			continue;
		s->had[i] = true;
		s->tid[i] = t->tid;
	}
	pt_os_free(s->os_before);
	s->os_before = NULL;
	pt_os_probe(p, &s->os_before);
	read_vmas(p->pid, s->vmas, &s->nvmas);
	pv_error_clear(p->err);
}

/* The data symbol holding a (loaded address), for the finding. */
static void name_word(const struct pv_exec_state *s, uint64_t a, char *buf, size_t len)
{
	for (size_t i = 0; i < s->img->nsymbols; i++) {
		const struct pv_symbol *y = &s->img->symbols[i];
		uint64_t lo = y->value + s->bias;
		if (y->type == STT_OBJECT && y->size && a >= lo && a < lo + y->size) {
			snprintf(buf, len, " (%s+%llu)", y->name, (unsigned long long)(a - lo));
			return;
		}
	}
	buf[0] = '\0';
}

static void judge_mem(struct pv_exec_state *s, const char *cmd)
{
	for (size_t i = 0; i < s->nw; i++) {
		struct watch *w = &s->w[i];
		if (look(s, w))
			continue;
		size_t words = (size_t)(w->hi - w->lo) / 8;
		for (size_t k = 0; k < words; k++) {
			uint64_t a = w->lo + 8 * k, was, is;
			if (!memcmp(w->now + 8 * k, w->buf + 8 * k, 8) || w->vol[k])
				continue;
			memcpy(&was, w->now + 8 * k, 8);
			memcpy(&is, w->buf + 8 * k, 8);
			char sym[96];
			name_word(s, a, sym, sizeof(sym));
			pt_violation(s->p, PV_CHECK_STATE_MEM, -1, a,
			             "the target's data word at 0x%llx%s changed from 0x%llx to 0x%llx "
			             "during %s, and the target never changed it on its own",
			             (unsigned long long)a, sym, (unsigned long long)was,
			             (unsigned long long)is, cmd);
			/* Judged once: from now on it is the value to keep. */
			w->vol[k] = 1;
		}
		memcpy(w->now, w->buf, words * 8);
	}
}

/* Registers no target code changes: the TLS bases and segment selectors. */
static int invariant_regs(const struct user_regs_struct *a, const struct user_regs_struct *b,
                          char *why, size_t len)
{
	static const struct {
		const char *name;
		size_t off;
	} regs[] = {
		{"fs_base", offsetof(struct user_regs_struct, fs_base)},
		{"gs_base", offsetof(struct user_regs_struct, gs_base)},
		{"cs", offsetof(struct user_regs_struct, cs)},
		{"ss", offsetof(struct user_regs_struct, ss)},
		{"ds", offsetof(struct user_regs_struct, ds)},
		{"es", offsetof(struct user_regs_struct, es)},
		{"fs", offsetof(struct user_regs_struct, fs)},
		{"gs", offsetof(struct user_regs_struct, gs)},
	};
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		unsigned long long x, y;
		memcpy(&x, (const char *)a + regs[i].off, sizeof(x));
		memcpy(&y, (const char *)b + regs[i].off, sizeof(y));
		if (x != y) {
			snprintf(why, len, "%s 0x%llx became 0x%llx", regs[i].name, x, y);
			return 1;
		}
	}
	return 0;
}

/* A thread whose registers cannot have changed by its own execution:
 * parked at pv_verify (a `jmp .`) before and after. A thread blocked in a
 * system call is not one: it may wake, loop and block again at the same pc
 * and stack with other registers (the blocking scenario's readers do). */
static bool still(const struct pt_proc *p, const struct pt_regset *a,
                  const struct pt_regset *b)
{
	return p->park_live && a->gpr.rip == p->park_addr && b->gpr.rip == p->park_addr;
}

static void judge_threads(struct pv_exec_state *s, const char *cmd)
{
	struct pt_proc *p = s->p;
	char when[64], why[160];
	snprintf(when, sizeof(when), "during %s (the tool's command)", cmd);
	struct pt_regset *now = &p->scratch;
	for (size_t i = 0; i < p->nthreads && i < PT_MAX_THREADS; i++) {
		struct pt_thread *t = &p->threads[i];
		if (!t->live)
			continue;
		if (!s->had[i] || s->tid[i] != t->tid) {
			pt_violation(p, PV_CHECK_STATE_OS, (int)t->id, 0, "a thread (tid %d) appeared %s and "
			                                           "is still there", (int)t->tid, when);
			continue;
		}
		if (!t->stopped || pt_regs_get(p, t, now))
			continue;
		if (still(p, s->regs[i], now)) {
			s->full_regs++;
			pt_judge_thread(p, t, s->regs[i], now, when);
		} else if (invariant_regs(&s->regs[i]->gpr, &now->gpr, why, sizeof(why))) {
			char detail[PV_CHECK_DETAIL_LEN];
			pv_state_regs_word(t->id, why, when, detail, sizeof(detail));
			pt_violation(p, PV_CHECK_STATE_REGS, (int)t->id, now->gpr.rip, "%s", detail);
		}
	}
}

/* Mappings at addresses no mapping held before the command: the tool's. */
static void adopt_tool_maps(struct pv_exec_state *s)
{
	uint64_t now[VMAS_MAX][2];
	size_t n;
	read_vmas(s->p->pid, now, &n);
	struct pt_run *run = s->p->run;
	for (size_t i = 0; run && i < n && run->nmaps < PT_MAPS_MAX; i++) {
		bool fresh = true;
		for (size_t k = 0; fresh && k < s->nvmas; k++)
			fresh = now[i][1] <= s->vmas[k][0] || now[i][0] >= s->vmas[k][1];
		if (fresh)
			run->maps[run->nmaps++] = (struct pt_map){.addr = now[i][0],
			                                          .len = now[i][1] - now[i][0],
			                                          .live = true};
	}
}

void pv_exec_state_after(struct pv_exec_state *s, const char *cmd, bool tool_maps)
{
	struct pt_proc *p = s->p;
	if (p->exited)
		return;
	s->commands++;
	judge_threads(s, cmd);
	if (tool_maps)
		adopt_tool_maps(s);
	struct pt_osstate *os = NULL;
	char why[200];
	if (!pt_os_probe(p, &os)) {
		if (!s->os_unstable && s->os_before &&
		    pt_os_compare(p, s->os_before, os, why, sizeof(why))) {
			char detail[PV_CHECK_DETAIL_LEN];
			pv_state_os_word(why, cmd, detail, sizeof(detail));
			pt_violation(p, PV_CHECK_STATE_OS, -1, 0, "%s", detail);
		}
		pt_os_free(s->os_last);
		s->os_last = os;
	}
	judge_mem(s, cmd);
	pv_error_clear(p->err);
}

void pv_exec_state_info(const struct pv_exec_state *s, char *buf, size_t len)
{
	size_t bytes = 0, vol = 0;
	for (size_t i = 0; i < s->nw; i++) {
		size_t words = (size_t)(s->w[i].hi - s->w[i].lo) / 8;
		bytes += words * 8;
		for (size_t k = 0; k < words; k++)
			vol += s->w[i].vol[k];
	}
	snprintf(buf, len, "state checks judged around %u commands: state-mem (%zu of %zu data "
	                   "words), state-regs, state-os%s", s->commands, bytes / 8 - vol, bytes / 8,
	         s->os_unstable ? " (threads only)" : "");
}
