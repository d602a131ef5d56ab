/* The scheduler and the decision stream that drives it (semantics in emu.h).
 * Every choice reads one byte; once the stream is exhausted a fixed default
 * answers instead (round robin, EMU_QUANTUM_DEFAULT instructions, never
 * preempt), so every run ends. */
#include "internal.h"

/* Slice lengths selected by the low two bits of a slice byte. */
static const uint64_t quanta[4] = {0, 5, 50, EMU_QUANTUM_DEFAULT};

/* One choice: the next stream byte, or the chooser's answer (recorded, with
 * `dflt` standing for a default answer so the record replays exactly). -1
 * is the default rule. */
static int choose(struct pv_emu *e, struct pv_choice *c, uint8_t dflt)
{
	struct emu_stream *s = &e->run.stream;
	c->index = e->run.res->decisions++;
	if (!s->ch) {
		if (s->pos >= s->len)
			return -1;
		return s->bytes[s->pos++];
	}
	if (s->rec_len >= s->cap)
		return -1;
	c->in_op = e->run.in_op;
	int b = s->ch->choose(s->ch->ctx, c);
	if (b > 255)
		b = 255;
	s->record[s->rec_len++] = b < 0 ? dflt : (uint8_t)b;
	if (b >= 0)
		s->rec_last = s->rec_len;
	return b;
}


unsigned emu_runnable(const struct pv_emu *e, unsigned *list)
{
	unsigned n = 0;
	for (unsigned i = 0; i < e->cfg.workload.workers; i++)
		if (emu_thread_runnable(&e->threads[i]))
			list[n++] = i;
	return n;
}

bool emu_decide_slice(struct pv_emu *e, bool preemptible)
{
	struct emu_run *r = &e->run;
	unsigned list[PV_MAX_WORKERS];
	unsigned n = emu_runnable(e, list);
	if (n == 0 || r->over_budget)
		return false;
	/* The default: the next runnable thread after the last one chosen. */
	unsigned dpos = 0;
	for (unsigned i = 0; i < n; i++) {
		if (list[i] > r->last_tid) {
			dpos = i;
			break;
		}
	}
	struct pv_choice c = {.kind = PV_CHOICE_SLICE, .runnable = list, .nrunnable = n,
	                      .engine_waits = preemptible && r->in_op,
	                      .engine_yields = r->yielding,
	                      .thread = r->last_tid < e->cfg.workload.workers ? (int)r->last_tid
	                                                                       : -1};
	int b = choose(e, &c, PV_CHOICE_SLICE_BYTE(dpos));
	unsigned tid;
	uint64_t q;
	if (b < 0) {
		tid = list[dpos];
		q = EMU_QUANTUM_DEFAULT;
	} else {
		tid = list[((unsigned)b >> 2) % n];
		q = quanta[b & 3];
	}
	r->last_tid = tid;
	uint64_t used = r->res->instructions;
	if (used >= r->budget) {
		r->over_budget = true;
		return false;
	}
	if (q > r->budget - used)
		q = r->budget - used;
	if (e->trace)
		emu_trace(e, "decision %llu: thread %u runs up to %llu instructions from 0x%llx%s",
		          (unsigned long long)r->res->decisions, tid, (unsigned long long)q,
		          (unsigned long long)e->threads[tid].pc, b < 0 ? " (default)" : "");
	if (q == 0)
		return true;
	enum emu_stop stop = emu_run_slice(e, tid, q, preemptible);
	if (e->trace && stop != EMU_STOP_QUANTUM) {
		static const char *const why[] = {
			[EMU_STOP_NONE] = "stopped", [EMU_STOP_QUANTUM] = "used its quantum",
			[EMU_STOP_PREEMPT] = "was preempted", [EMU_STOP_YIELD] = "yielded",
			[EMU_STOP_BLOCKED] = "blocked on a lock", [EMU_STOP_DONE] = "finished",
			[EMU_STOP_CRASH] = "crashed"};
		emu_trace(e, "  thread %u %s at 0x%llx", tid, why[stop],
		          (unsigned long long)e->threads[tid].pc);
	}
	if (r->res->instructions >= r->budget)
		r->over_budget = true;
	return true;
}

bool emu_decide_preempt(struct pv_emu *e, int tid, uint64_t pc)
{
	struct pv_choice c = {.kind = PV_CHOICE_PREEMPT, .thread = tid, .pc = pc};
	unsigned list[PV_MAX_WORKERS];
	if (e->run.stream.ch) { /* only a chooser looks at who else could run */
		c.runnable = list;
		c.nrunnable = emu_runnable(e, list);
	}
	int b = choose(e, &c, PV_CHOICE_PREEMPT_NO);
	bool yes = b >= 0 && b < 0x20;
	e->run.res->preemptions += yes;
	return yes;
}

unsigned emu_decide_phase(struct pv_emu *e)
{
	struct pv_choice c = {.kind = PV_CHOICE_PHASE, .thread = -1};
	int b = choose(e, &c, EMU_PHASE_DEFAULT);
	return b < 0 ? EMU_PHASE_DEFAULT : (unsigned)b & 15u;
}

static bool all_done(const struct pv_emu *e)
{
	for (unsigned i = 0; i < e->cfg.workload.workers; i++)
		if (!e->threads[i].done)
			return false;
	return true;
}

void emu_run_to_end(struct pv_emu *e)
{
	while (!all_done(e)) {
		if (emu_decide_slice(e, false))
			continue;
		if (e->run.over_budget)
			return;
		/* Nobody can run. Threads still stopped were resumed when the
		 * engine returned, so these wait on locks nobody will release. */
		bool crashed = false;
		unsigned blocked = 0, first = 0;
		for (unsigned i = 0; i < e->cfg.workload.workers; i++) {
			crashed |= e->threads[i].crashed;
			if (e->threads[i].blocked && !blocked++)
				first = i;
		}
		/* A crashed thread leaves its locks held: the crash is the
		 * finding, not the hang it causes. */
		if (!crashed)
			emu_violation(e, PV_CHECK_LIVENESS, (int)first, e->threads[first].pc,
			              "deadlock: %u thread(s) wait on locks that no thread will "
			              "release (thread %u waits on 0x%llx)",
			              blocked, first,
			              (unsigned long long)e->threads[first].wait_word);
		return;
	}
}
