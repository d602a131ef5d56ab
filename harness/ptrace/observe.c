/* What the ptrace backend observes for the checks it judges while a run
 * goes: the violation recorder, the stopped world at every code write
 * (`consistency` for global engines) and the bytes a thread resumes on
 * (`torn-exec`). The checks room words and decides; this sees. */
#include "ptrace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ violations */

bool pt_has_violation(const struct pt_proc *p, enum pv_check_id check)
{
	const struct pv_run_result *r = p->run ? p->run->res : NULL;
	for (size_t i = 0; r && i < r->nviolations; i++)
		if (!strcmp(r->violations[i].check, pv_check_name(check)))
			return true;
	return false;
}

void pt_violation(struct pt_proc *p, enum pv_check_id check, int thread, uint64_t addr,
                  const char *fmt, ...)
{
	struct pv_run_result *r = p->run ? p->run->res : NULL;
	if (!r || pt_has_violation(p, check) || r->nviolations == PV_RUN_MAX_VIOLATIONS)
		return;
	struct pv_violation *v = &r->violations[r->nviolations++];
	snprintf(v->check, sizeof(v->check), "%s", pv_check_name(check));
	v->thread = thread;
	v->address = addr;
	v->step = p->run->stream.decisions;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
}

unsigned pt_decide(struct pt_proc *p, unsigned dflt)
{
	struct pt_stream *st = &p->run->stream;
	st->decisions++;
	return st->pos < st->len ? st->bytes[st->pos++] : dflt;
}

/* The end of the mapping holding addr (0 when none), from /proc/PID/maps. */
static uint64_t mapping_end(struct pt_proc *p, uint64_t addr)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	FILE *f = fopen(path, "re");
	uint64_t end = 0;
	while (f && !end && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && addr >= lo && addr < hi)
			end = hi;
	}
	if (f)
		fclose(f);
	return end;
}

#define JUDGE_STACK_MAX (64 * 1024) /* bytes of each stack the judge scans */

#define JUDGE_FRAMES_MAX 256

/* The return addresses of stopped thread t, from a reliable unwind into
 * words[0..*nwords): true. false when the walk is not reliable; the judge
 * then scans the raw stack, which may hold stale return addresses in slots
 * a live frame reserved but never wrote (a false alarm, never a miss). */
static bool unwound(struct pt_space *s, struct pt_thread *t, uint64_t *words, size_t *nwords)
{
	struct pt_proc *p = s->proc;
	size_t count = 0;
	if (!s->unwind && pt_unwind_open(p, s->patch_path, s->patch_bias, &s->unwind)) {
		pv_error_clear(p->err);
		return false;
	}
	if (pt_backtrace(p, s->unwind, t, words, JUDGE_FRAMES_MAX, &count) || count < 1) {
		pv_error_clear(p->err);
		return false;
	}
	/* words[0] is the pc, judged on its own. */
	memmove(words, words + 1, (count - 1) * sizeof(*words));
	*nwords = count - 1;
	return true;
}

/* `consistency` for engines that declare `global`: asked before a unit
 * changes code of a replaced function. Every thread must be stopped by the
 * engine, none with its pc or a return address in a replaced function
 * (harness/checks/consistency_global.h): the return addresses of a reliable unwind, or
 * else every word of the thread's live stack. */
void pt_judge_global(struct pt_space *s, uint64_t addr, const uint8_t *bytes, size_t n)
{
	struct pt_proc *p = s->proc;
	const struct pt_run *run = p->run;
	if (!run || !run->global || pt_has_violation(p, PV_CHECK_CONSISTENCY))
		return;
	bool hit = false;
	for (size_t i = 0; i < n && !hit; i++)
		hit = pv_global_judge_func(run->global, addr + i) >= 0;
	uint8_t now[16];
	if (!hit || n > sizeof(now) || pt_read(p, addr, now, n) || !memcmp(now, bytes, n))
		return;
	struct pv_global_thread th[PT_MAX_THREADS];
	uint64_t *stacks[PT_MAX_THREADS] = {0};
	size_t k = 0;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct pt_thread *t = &p->threads[i];
		struct pv_global_thread *g = &th[k++];
		*g = (struct pv_global_thread){.id = (int)t->id, .stopped = t->engine_stopped,
		                               .done = !t->live, .pc = t->regs.rip,
		                               .sp = t->regs.rsp};
		if (!t->live || !t->stopped)
			continue;
		size_t nwords = 0;
		if ((stacks[i] = malloc(JUDGE_FRAMES_MAX * sizeof(uint64_t))) &&
		    unwound(s, &p->threads[i], stacks[i], &nwords)) {
			g->stack = stacks[i];
			g->nwords = nwords;
			continue;
		}
		free(stacks[i]);
		stacks[i] = NULL;
		uint64_t end = mapping_end(p, t->regs.rsp);
		size_t len = end > t->regs.rsp ? (size_t)(end - t->regs.rsp) : 0;
		if (len > JUDGE_STACK_MAX)
			len = JUDGE_STACK_MAX;
		len &= ~(size_t)7;
		if (len && (stacks[i] = malloc(len)) && !pt_read(p, t->regs.rsp, stacks[i], len)) {
			g->stack = stacks[i];
			g->nwords = len / 8;
		}
	}
	struct pv_global_finding f;
	if (pv_global_judge_threads(run->global, th, k, &f) == 1)
		pt_violation(p, PV_CHECK_CONSISTENCY, f.thread, f.addr,
		             "thread %d %s when %s changed the code at 0x%llx (the engine declares "
		             "global consistency)", f.thread, f.what, run->op ? run->op : "the engine",
		             (unsigned long long)addr);
	for (size_t i = 0; i < p->nthreads; i++)
		free(stacks[i]);
	pv_error_clear(p->err);
}

/* ------------------------------------------------------------ torn-exec */


/* The replaced function whose first PROLOGUE_BYTES hold addr, or NULL. */
static const struct pv_patch_func *prologue_of(const struct pt_run *run, uint64_t addr)
{
	for (size_t i = 0; run->desc && i < run->desc->nfuncs; i++) {
		const struct pv_patch_func *f = &run->desc->funcs[i];
		if (f->old_addr && f->prologue.boundaries && addr >= f->old_addr &&
		    addr < f->old_addr + PROLOGUE_BYTES)
			return f;
	}
	return NULL;
}

/* The end of the original instruction at addr (addr + 1 when unknown). */
uint64_t pt_insn_end(const struct pv_patch_func *f, uint64_t addr)
{
	uint64_t end = 0;
	for (size_t k = 0; k < f->prologue.nboundaries; k++) {
		uint64_t b = f->old_addr + f->prologue.boundaries[k];
		if (b > addr && (!end || b < end))
			end = b;
	}
	return end ? end : addr + 1;
}

static const struct pt_write *write_at(const struct pt_run *run, uint64_t addr)
{
	for (size_t i = 0; i < run->nwrites; i++)
		if (addr >= run->writes[i].addr && addr < run->writes[i].addr + run->writes[i].len)
			return &run->writes[i];
	return NULL;
}

/* torn-exec, as far as a real process shows it: a thread about to run again
 * at pc inside a replaced function's first bytes, where the original
 * instruction that starts at pc now holds bytes the engine changed, and pc
 * is not where a range the engine wrote begins (the start of its new code).
 * The CPU would execute a mix of old and new bytes, or the middle of the
 * new instruction. */
void pt_judge_torn(struct pt_proc *p, const struct pt_thread *t, const char *when)
{
	const struct pt_run *run = p->run;
	if (!run || !t->live || !t->stopped || pt_has_violation(p, PV_CHECK_TORN_EXEC))
		return;
	uint64_t pc = t->regs.rip;
	const struct pv_patch_func *f = prologue_of(run, pc);
	if (!f || (write_at(run, pc) && !write_at(run, pc - 1)))
		return;
	/* A write that starts at pc right after one that ends in a whole jmp
	 * (hotpatch-pad: the long jmp in the padding, then the entry) starts
	 * new code too; byte-by-byte writes of one jmp do not end on one. */
	const struct pt_write *prev = write_at(run, pc - 1);
	const struct pt_write *here = write_at(run, pc);
	/* A write that starts at pc with a whole jmp (pulp's eb f0 over two
	 * 1-byte NOPs) is new code from its first byte, whatever came before;
	 * byte-by-byte writes are 1 byte long and stay judged. */
	if (here && here->addr == pc) {
		uint8_t op = 0;
		if (pt_read(p, pc, &op, 1))
			pv_error_clear(p->err);
		else if ((op == 0xeb && here->len >= 2) || (op == 0xe9 && here->len >= 5))
			return;
	}
	if (here && here->addr == pc && prev) {
		uint8_t op = 0;
		if (pt_read(p, prev->addr, &op, 1))
			pv_error_clear(p->err);
		else if ((op == 0xe9 && prev->addr + 5 == pc) || (op == 0xeb && prev->addr + 2 == pc))
			return;
	}
	uint64_t end = pt_insn_end(f, pc);
	uint8_t now[PROLOGUE_BYTES];
	if (end - pc > sizeof(now) || pt_read(p, pc, now, end - pc)) {
		pv_error_clear(p->err);
		return;
	}
	for (uint64_t a = pc; a < end; a++) {
		const struct pt_write *w = write_at(run, a);
		if (!w || now[a - pc] == w->orig[a - w->addr])
			continue;
		pt_violation(p, PV_CHECK_TORN_EXEC, (int)t->id, pc,
		             "thread %u %s at %s+%llu (0x%llx), an instruction boundary of the "
		             "original code whose bytes %s changed (0x%02x at +%llu, was 0x%02x): "
		             "it executes a mix of old and new code", t->id, when, f->old_name,
		             (unsigned long long)(pc - f->old_addr), (unsigned long long)pc,
		             run->op ? run->op : "the engine", now[a - pc],
		             (unsigned long long)(a - pc), w->orig[a - w->addr]);
		return;
	}
}

