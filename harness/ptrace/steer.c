/* Steering: before the engine writes, the decision stream may park one
 * thread on a chosen instruction boundary inside a hot window, so the write
 * lands while it is there; torn-exec is judged where it resumes. */
#include "ptrace.h"

#include <string.h>
#include <sys/ptrace.h>

/* ------------------------------------------------------------ steering */

#define STEER_TIMEOUT_S 0.03 /* how long the chosen thread may take to arrive */
#define STEER_WINDOW 8       /* boundaries steered to: within the first 8 bytes,
                                what a jmp rel32 or an 8-byte store changes */

static bool steered(struct pt_proc *p, void *arg)
{
	const struct pt_steer *st = arg;
	const struct pt_thread *t = pt_thread_by_id(p, st->want);
	return st->parked || !t || !t->live;
}

bool pt_steer_trap(struct pt_proc *p, struct pt_thread *t)
{
	struct pt_run *run = p->run;
	if (!run || !run->steer.active || t->regs.rip != run->steer.addr + 1)
		return false;
	struct pt_steer *st = &run->steer;
	/* Back onto the boundary, as if the int3 had never been there. */
	t->regs.rip = st->addr;
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &t->regs))
		return false;
	if (t->id == st->want && !st->parked)
		st->parked = t;
	else
		st->held[t->id] = true;
	return true;
}

/* Stream bytes: steer when the first is below 0xc0 (function: byte mod the
 * replaced functions), then the boundary (mod those within STEER_WINDOW)
 * and the thread (mod the live threads other than main). */
void pt_steer(struct pt_proc *p)
{
	struct pt_run *run = p->run;
	if (!run || !run->desc || p->exited || run->gentle)
		return;
	struct pt_steer *st = &run->steer;
	memset(st, 0, sizeof(*st));
	unsigned b = pt_decide(p, 0xff);
	if (b >= 0xc0)
		return;
	const struct pv_patch_func *cand[64];
	size_t nf = 0;
	for (size_t i = 0; i < run->desc->nfuncs && nf < 64; i++) {
		const struct pv_patch_func *f = &run->desc->funcs[i];
		if (f->old_addr && f->prologue.boundaries && f->prologue.nboundaries)
			cand[nf++] = f;
	}
	unsigned bnd = pt_decide(p, 0), who = pt_decide(p, 0);
	if (!nf)
		return;
	const struct pv_patch_func *f = cand[b % nf];
	uint8_t offs[PROLOGUE_BYTES];
	size_t no = 0;
	for (size_t k = 0; k < f->prologue.nboundaries && no < sizeof(offs); k++)
		if (f->prologue.boundaries[k] < STEER_WINDOW)
			offs[no++] = f->prologue.boundaries[k];
	struct pt_thread *cands[PT_MAX_THREADS];
	size_t nt = 0;
	for (size_t i = 1; i < p->nthreads; i++)
		if (p->threads[i].live)
			cands[nt++] = &p->threads[i];
	if (!no || !nt)
		return;
	st->addr = f->old_addr + offs[bnd % no];
	st->insn_end = pt_insn_end(f, st->addr);
	st->want = cands[who % nt]->id;
	static const uint8_t int3 = 0xcc;
	if (pt_read(p, st->addr, &st->orig, 1) || pt_write(p, st->addr, &int3, 1)) {
		pv_error_clear(p->err);
		return;
	}
	st->active = true;
	pt_pump_until(p, pt_now() + STEER_TIMEOUT_S, steered, st);
	/* Gone before the engine's first operation: neither the engine nor
	 * a check (rollback-bytes, state-mem) ever sees the harness's byte. */
	pt_write(p, st->addr, &st->orig, 1);
	st->active = false;
	/* A thread that trapped just now still gets its SIGTRAP: it is then
	 * put back on the boundary (proc.c: trap_resume). */
	if (run->nretired < PT_TRAPS_MAX)
		run->retired[run->nretired++] = st->addr;
	for (size_t i = 0; i < p->nthreads; i++)
		if (st->held[i]) {
			st->held[i] = false;
			pt_resume_thread(p, &p->threads[i]);
		}
	pv_error_clear(p->err);
}

/* Lets the parked thread go: torn-exec is judged where it resumes. */
void pt_unpark(struct pt_proc *p, const char *when)
{
	struct pt_steer *st = p->run ? &p->run->steer : NULL;
	struct pt_thread *t = st ? st->parked : NULL;
	if (!t)
		return;
	st->parked = NULL;
	if (!t->live || !t->stopped || t->engine_stopped)
		return; /* the engine's resume_all lets it go */
	pt_judge_torn(p, t, when);
	pt_resume_thread(p, t);
}

void pt_steer_release(struct pt_proc *p)
{
	pt_unpark(p, "resumes after apply");
}

