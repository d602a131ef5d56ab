#include "script.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../checks/liveness.h"
#include "../checks/rollback_leak.h"

const char *pv_script_op_name(enum pv_script_op op)
{
	switch (op) {
	case PV_SCRIPT_REVERT:
		return "revert";
	case PV_SCRIPT_RESTARTED:
		return "restarted";
	case PV_SCRIPT_MONITOR:
		return "monitor";
	default:
		return "apply";
	}
}

bool pv_script_clean_rc(int rc)
{
	return rc == 0 || rc == PV_EBUSY || rc == PV_EREFUSED;
}

static bool ended(const struct pv_script *s)
{
	return s->ops->ended && s->ops->ended(s->ctx);
}

static bool crashed(const struct pv_script *s)
{
	return s->ops->crashed && s->ops->crashed(s->ctx);
}

__attribute__((format(printf, 5, 6))) static void violation(const struct pv_script *s,
                                                            enum pv_check_id check, int thread,
                                                            uint64_t addr, const char *fmt, ...)
{
	char detail[PV_CHECK_DETAIL_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	s->ops->violation(s->ctx, check, thread, addr, detail);
}

void pv_script_rollback(const struct pv_script *s, const char *after)
{
	struct pv_rollback_finding f;
	char where[160];
	char detail[PV_CHECK_DETAIL_LEN];
	if (s->ops->rollback_diff(s->ctx, &f, where, sizeof(where))) {
		pv_rollback_bytes_word(&f, after, where, detail, sizeof(detail));
		s->ops->violation(s->ctx, PV_CHECK_ROLLBACK_BYTES, -1, f.addr, detail);
	}
	uint64_t addr = 0, len = 0;
	size_t n = s->ops->leaked(s->ctx, &addr, &len);
	if (n) {
		pv_rollback_leak_word(n, addr, len, after, detail, sizeof(detail));
		s->ops->violation(s->ctx, PV_CHECK_ROLLBACK_LEAK, -1, addr, detail);
	}
}

int pv_script_auto_rollback(const struct pv_script *s, void *state, size_t patch,
                            enum pv_fault fault, struct pv_error *err)
{
	struct pv_run_result *res = s->res;
	const struct pv_engine *engine = s->engine;
	const char *why = s->ops->inject(s->ctx, fault, patch);
	if (why) {
		snprintf(res->info, sizeof(res->info), "%s", why);
		return 0;
	}
	res->fault_injected = true;
	bool declared = PV_ENGINE_HAS(engine, rollback_bound) &&
	                (engine->flags & PV_ENGINE_AUTO_ROLLBACK) && engine->monitor;
	if (!declared) {
		snprintf(res->info, sizeof(res->info),
		         "auto-rollback: not declared (a %s was injected after apply; patchvet "
		         "reverted)", pv_fault_name(fault));
		return 0;
	}
	unsigned bound = engine->rollback_bound ? engine->rollback_bound : 1;
	for (unsigned n = 1; n <= bound && !ended(s); n++) {
		/* The monitor saw the fault once at least: a finished target shows
		 * nothing more (a crash stays counted). */
		if (!s->ops->workers_left(s->ctx) && n > 1) {
			snprintf(res->info, sizeof(res->info),
			         "auto-rollback: not judged (every worker finished %u monitor call(s) "
			         "after the %s; patchvet reverted)", n - 1, pv_fault_name(fault));
			return 0;
		}
		int mrc = 0;
		struct pv_script_call c = {.op = PV_SCRIPT_MONITOR, .state = state};
		int rc = s->ops->call(s->ctx, &c, &mrc, err);
		if (rc)
			return rc;
		if (mrc == 1) {
			res->rolled_back = true;
			res->revert_rc = 0;
			res->engine_error[0] = '\0';
			snprintf(res->info, sizeof(res->info),
			         "auto-rollback: rolled back %u monitor call(s) after the %s "
			         "(bound %u)", n, pv_fault_name(fault), bound);
			return 1;
		}
		if (mrc) {
			res->revert_rc = mrc;
			return 1;
		}
		s->ops->tick(s->ctx);
	}
	if (ended(s))
		return 0;
	char detail[PV_CHECK_DETAIL_LEN];
	pv_liveness_word_auto_rollback(engine->name, bound, pv_fault_name(fault), detail,
	                               sizeof(detail));
	s->ops->violation(s->ctx, PV_CHECK_LIVENESS, -1, 0, detail);
	snprintf(res->info, sizeof(res->info), "auto-rollback: declared, missed its bound of %u",
	         bound);
	return 0;
}

/* ------------------------------------------------------------ steps */

/* The restart step: the target anew, then the engine's `restarted` for
 * each applied patch, oldest first (see engine.h); what it leaves
 * unpatched leaves the stack unless the engine claims persistence (the
 * live check judges it then). */
static int restart(const struct pv_script *s, void *const *states,
                   const struct pv_sequence *seq, struct pv_stack *st,
                   struct pv_step_outcome *o, struct pv_error *err)
{
	struct pv_run_result *res = s->res;
	const struct pv_engine *engine = s->engine;
	int rc = s->ops->restart(s->ctx, err);
	if (rc)
		return rc;
	bool persists = PV_ENGINE_HAS(engine, restarted) && (engine->flags & PV_ENGINE_PERSISTS);
	bool has_op = PV_ENGINE_HAS(engine, restarted) && engine->restarted;
	struct pv_stack before = *st;
	char lost[64] = "";
	for (size_t i = 0; i < before.n && !ended(s); i++) {
		unsigned which = before.order[i];
		int r = 1;
		if (has_op) {
			struct pv_script_call c = {.op = PV_SCRIPT_RESTARTED, .state = states[which]};
			if ((rc = s->ops->call(s->ctx, &c, &r, err)))
				return rc;
		}
		if (r < 0) {
			o->rc = r;
			if (!res->apply_rc)
				res->apply_rc = r;
		}
		pv_restart_lost(seq, st, which, r, persists, lost, sizeof(lost));
	}
	pv_restart_info(lost, persists, res->info, sizeof(res->info));
	return 0;
}

/* An apply's return into res->apply_rc: the first failure that is not
 * clean, else PV_EBUSY once one gave up. */
static void keep_apply_rc(struct pv_run_result *res, int rc)
{
	if (!pv_script_clean_rc(rc) && !res->apply_rc)
		res->apply_rc = rc;
	else if (rc == PV_EBUSY && !res->apply_rc)
		res->apply_rc = PV_EBUSY;
}

/* One step; *reverted when a patch went (a revert, or a rollback). */
static int step(const struct pv_script *s, void *const *states, const struct pv_sequence *seq,
                size_t i, struct pv_stack *st, bool *reverted, struct pv_error *err)
{
	struct pv_run_result *res = s->res;
	const struct pv_step *sp = &seq->steps[i];
	struct pv_step_outcome *o = &res->steps[i];
	int rc = 0;
	*reverted = false;
	if (sp->kind == PV_STEP_RESTART) {
		o->ran = true;
		return restart(s, states, seq, st, o, err);
	}
	if (sp->kind == PV_STEP_FAULT) {
		/* Judged against the most recent apply still applied. */
		int top = pv_stack_top(st);
		o->ran = true;
		if (top < 0) {
			snprintf(res->info, sizeof(res->info), "fault not injected at step %zu: no patch "
			                                       "was applied there", i + 1);
			return 0;
		}
		rc = pv_script_auto_rollback(s, states[top], (size_t)top, (enum pv_fault)sp->fault,
		                             err);
		if (rc < 0)
			return rc;
		if (rc && res->rolled_back) {
			pv_stack_remove(st, (unsigned)top);
			*reverted = true;
		} else if (rc) {
			o->rc = res->revert_rc; /* the monitor failed */
		}
		if (rc)
			s->ops->unstall(s->ctx);
		return 0;
	}
	if (sp->kind == PV_STEP_APPLY) {
		int top = pv_stack_top(st);
		if (pv_stack_has(st, sp->patch))
			return 0; /* still applied after a restart: nothing to do */
		o->ran = true;
		void *below = top >= 0 ? states[top] : NULL;
		struct pv_script_call c = {.op = below ? PV_SCRIPT_APPLY_ON_TOP : PV_SCRIPT_APPLY,
		                           .state = states[sp->patch],
		                           .below = below};
		if ((rc = s->ops->call(s->ctx, &c, &o->rc, err)))
			return rc;
		if (!o->rc)
			pv_stack_push(st, sp->patch);
		keep_apply_rc(res, o->rc);
		return 0;
	}
	if (sp->kind == PV_STEP_REPLACE) {
		/* Every applied patch goes, atomically; the stack is then {P}. */
		void *below[PV_SEQ_MAX_PATCHES];
		for (size_t k = 0; k < st->n; k++)
			below[k] = states[st->order[k]];
		o->ran = true;
		struct pv_script_call c = {.op = PV_SCRIPT_REPLACE,
		                           .state = states[sp->patch],
		                           .replaced = below,
		                           .nreplaced = st->n};
		if ((rc = s->ops->call(s->ctx, &c, &o->rc, err)))
			return rc;
		if (!o->rc) {
			st->n = 0;
			pv_stack_push(st, sp->patch);
		}
		keep_apply_rc(res, o->rc);
		return 0;
	}
	/* revert:P, or every applied patch newest first */
	o->ran = sp->kind == PV_STEP_REVERT_ALL || pv_stack_has(st, sp->patch);
	while (o->ran && !o->rc && !ended(s)) {
		int which = sp->kind == PV_STEP_REVERT ? (int)sp->patch : pv_stack_top(st);
		if (which < 0 || !pv_stack_has(st, (unsigned)which))
			break;
		struct pv_script_call c = {.op = PV_SCRIPT_REVERT, .state = states[which]};
		if ((rc = s->ops->call(s->ctx, &c, &o->rc, err)))
			return rc;
		if (!o->rc) {
			pv_stack_remove(st, (unsigned)which);
			*reverted = true;
		}
		if (res->revert_rc == 1 || (res->revert_rc == 0 && !pv_script_clean_rc(o->rc)))
			res->revert_rc = pv_script_clean_rc(o->rc) ? 0 : o->rc;
		if (sp->kind == PV_STEP_REVERT)
			break;
	}
	return 0;
}

struct live_ctx {
	const struct pv_script *s;
	const struct pv_sequence *seq;
	size_t step;
};

static void live_mismatch(void *ctx, const struct pv_patch_func *f, const char *got,
                          const char *want)
{
	const struct live_ctx *c = ctx;
	char step_name[96];
	pv_step_name(c->seq, c->step, step_name, sizeof(step_name));
	violation(c->s, PV_CHECK_INEFFECTIVE, -1, f->old_addr,
	          "after step %zu (%s), a call of %s runs %s, not %s", c->step + 1, step_name,
	          f->old_name, got, want);
}

int pv_script_sequence(const struct pv_script *s, void *const *states,
                       const struct pv_sequence *seq, struct pv_error *err)
{
	struct pv_run_result *res = s->res;
	const struct pv_patch_desc *descs[PV_SEQ_MAX_PATCHES];
	for (size_t i = 0; i < seq->npatches && i < PV_SEQ_MAX_PATCHES; i++)
		descs[i] = s->ops->patch_at(s->ctx, i);
	struct pv_stack st = {0};
	bool applied_once = false, checked = false;
	int rc = 0;
	for (size_t i = 0; i < seq->nsteps && !ended(s) && !crashed(s); i++) {
		const struct pv_step *sp = &seq->steps[i];
		struct pv_step_outcome *o = &res->steps[i];
		res->nsteps = i + 1;
		s->ops->delay(s->ctx);
		if (ended(s))
			break;
		bool reverted;
		if ((rc = step(s, states, seq, i, &st, &reverted, err)))
			break;
		if (reverted)
			s->ops->unstall(s->ctx); /* a stall or slowdown goes with its patch */
		applied_once |= (sp->kind == PV_STEP_APPLY || sp->kind == PV_STEP_REPLACE) && !o->rc;
		if (!o->ran || ended(s))
			continue;
		struct live_ctx c = {.s = s, .seq = seq, .step = i};
		pv_live_check(seq, descs, &st, s->ops->read, s->ctx, o->live, sizeof(o->live),
		              live_mismatch, &c);
		if (s->ops->stepped)
			s->ops->stepped(s->ctx, seq, descs, &st);
		if (st.n)
			continue;
		if (s->ops->rollback_every_time) {
			if (reverted || (sp->kind == PV_STEP_APPLY && o->rc == PV_EBUSY))
				pv_script_rollback(s, reverted ? "revert" : "apply gave up");
		} else if (reverted && !checked) {
			pv_script_rollback(s, "revert");
			checked = true;
		}
	}
	if (rc)
		return rc;
	if (!applied_once && !res->apply_rc)
		res->apply_rc = PV_EBUSY; /* nothing was applied: the target ended first */
	return 0;
}
