#include "driver_sequence.h"

#include "../load/reproducer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t npatches(const struct pv_job *job)
{
	return job->sequence ? job->sequence->npatches : 1;
}

static void release_states(const struct pv_job *job, void *states[PV_SEQ_MAX_PATCHES])
{
	for (size_t i = 0; i < PV_SEQ_MAX_PATCHES; i++) {
		if (states[i] && job->engine->release)
			job->engine->release(states[i]);
		states[i] = NULL;
	}
}

/* Opens target (one flavour's build) and plans every patch. */
static int open_one(const struct pv_backend_ops *ops, enum pv_mem_model mem,
                    const struct pv_job *job, const char *target, void **h,
                    void *states[PV_SEQ_MAX_PATCHES], struct pv_error *err)
{
	const struct pv_engine *e = job->engine;
	struct pv_backend_config bc = {.target_path = target, .patch_path = job->patch,
	                               .workload = job->workload, .mem_model = mem,
	                               .extra_patches = job->extra_patches,
	                               .nextra = job->nextra, .fault = job->fault,
	                               .program = job->program, .work_dir = job->work_dir,
	                               .attach_pid = job->attach_pid};
	int rc = ops->open(&bc, h, err);
	if (rc)
		return rc;
	if (job->sequence) {
		if (!ops->run_sequence || !ops->patch_at)
			return pv_error_set(err, PV_EUNSUPPORTED, "backend %s does not run sequences; "
			                                          "use --backend ptrace", ops->name);
		bool stacks = PV_ENGINE_HAS(e, apply_on_top) && (e->flags & PV_ENGINE_STACKS) &&
		              e->apply_on_top;
		if (job->sequence->max_depth > 1 && !stacks)
			return pv_error_set(err, PV_EREFUSED, "%s: engine does not stack patches", e->name);
		bool replaces = PV_ENGINE_HAS(e, apply_replace) &&
		                (e->flags & PV_ENGINE_REPLACES) && e->apply_replace;
		if (job->sequence->replaces && !replaces)
			return pv_error_set(err, PV_EREFUSED, "%s: engine does not replace patches "
			                                      "cumulatively", e->name);
	}
	for (size_t i = 0; i < npatches(job); i++) {
		const struct pv_patch_desc *d = job->sequence ? ops->patch_at(*h, i) : ops->patch(*h);
		if (!d)
			return pv_error_set(err, PV_EINTERNAL, "backend %s has no patch %zu", ops->name, i);
		struct pv_error perr;
		pv_error_clear(&perr);
		rc = e->plan(d, &states[i], &perr);
		if (rc == PV_EREFUSED && job->sequence)
			return pv_error_set(err, rc, "%s (patch %s)",
			                    perr.msg[0] ? perr.msg : "refused, no reason given",
			                    job->sequence->patches[i]);
		if (rc == PV_EREFUSED)
			return pv_error_set(err, rc, "%s", perr.msg[0] ? perr.msg : "refused, no reason given");
		if (rc)
			return pv_error_set(err, rc, "%s: plan failed: %s", e->name,
			                    perr.msg[0] ? perr.msg : pv_strerror(rc));
	}
	return 0;
}

int pv_lifecycle_open(const struct pv_backend_ops *ops, enum pv_mem_model mem,
                      const struct pv_job *job, struct pv_result *r, void **h,
                      void *states[PV_SEQ_MAX_PATCHES], struct pv_error *err)
{
	*h = NULL;
	int rc = open_one(ops, mem, job, job->target, h, states, err);
	for (size_t a = 0; rc == PV_EREFUSED && a < job->nalts; a++) {
		struct pv_error aerr;
		pv_error_clear(&aerr);
		release_states(job, states);
		if (*h)
			ops->close(*h);
		*h = NULL;
		int arc = open_one(ops, mem, job, job->alts[a].target, h, states, &aerr);
		if (arc == PV_EREFUSED)
			continue; /* the first flavour's reason stays */
		rc = arc;
		if (arc)
			*err = aerr;
		char *fl = strdup(job->alts[a].flavour), *tg = strdup(job->alts[a].target);
		if (!fl || !tg) {
			free(fl);
			free(tg);
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		}
		free(r->flavour);
		free(r->target);
		r->flavour = fl;
		r->target = tg;
		memcpy(r->target_sha256, job->alts[a].target_sha256, sizeof(r->target_sha256));
	}
	if (!rc && job->sequence && !r->steps) {
		const struct pv_sequence *seq = job->sequence;
		if (!(r->steps = calloc(seq->nsteps, sizeof(*r->steps))))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		r->nsteps = seq->nsteps;
		for (size_t i = 0; i < seq->nsteps; i++) {
			char name[128];
			pv_step_name(seq, i, name, sizeof(name));
			if (!(r->steps[i].step = strdup(name)))
				return pv_error_set(err, PV_ENOMEM, "out of memory");
		}
	}
	return rc;
}

void pv_lifecycle_close(const struct pv_backend_ops *ops, const struct pv_job *job, void *h,
                        void *states[PV_SEQ_MAX_PATCHES])
{
	release_states(job, states);
	if (h)
		ops->close(h);
}

int pv_lifecycle_record(struct pv_result *r, const struct pv_job *job,
                        const struct pv_run_result *res)
{
	const struct pv_engine *e = job->engine;
	unsigned fault = job->fault; /* --fault, or a sequence's first fault step */
	for (size_t i = 0; !fault && job->sequence && i < job->sequence->nsteps; i++)
		if (job->sequence->steps[i].kind == PV_STEP_FAULT)
			fault = job->sequence->steps[i].fault;
	if (fault) {
		r->faults += res->fault_injected;
		r->rolled_back += res->rolled_back;
		bool declared = PV_ENGINE_HAS(e, rollback_bound) &&
		                (e->flags & PV_ENGINE_AUTO_ROLLBACK) && e->monitor;
		char line[240];
		if (declared)
			snprintf(line, sizeof(line), "auto-rollback: declared (bound %u monitor calls); "
			         "rolled back in %llu of %llu runs with an injected %s",
			         e->rollback_bound, (unsigned long long)r->rolled_back,
			         (unsigned long long)r->faults, pv_fault_name(fault));
		else
			snprintf(line, sizeof(line), "auto-rollback: not declared (%llu runs with an "
			         "injected %s; patchvet reverted)", (unsigned long long)r->faults,
			         pv_fault_name(fault));
		free(r->info);
		if (!(r->info = strdup(line)))
			return PV_ENOMEM;
	} else if (res->info[0] && !r->info && !(r->info = strdup(res->info))) {
		return PV_ENOMEM;
	}
	for (size_t i = 0; job->sequence && i < res->nsteps && i < r->nsteps; i++) {
		const struct pv_step_outcome *o = &res->steps[i];
		struct pv_step_record *st = &r->steps[i];
		if (!o->ran)
			continue;
		st->ran++;
		st->refused += o->rc == PV_EBUSY || o->rc == PV_EREFUSED;
		if (!st->live && !(st->live = strdup(o->live)))
			return PV_ENOMEM;
	}
	return 0;
}

int pv_repro_lifecycle(struct pv_reproducer *r, const struct pv_job *job,
                       const struct pv_result *res, struct pv_error *err)
{
	if (res && res->flavour && res->target && strcmp(res->flavour, job->flavour)) {
		snprintf(r->flavour, sizeof(r->flavour), "%s", res->flavour);
		snprintf(r->target, sizeof(r->target), "%s", res->target);
		memcpy(r->target_sha256, res->target_sha256, sizeof(r->target_sha256));
	}
	if (job->fault)
		snprintf(r->fault, sizeof(r->fault), "%s", pv_fault_name(job->fault));
	const struct pv_sequence *seq = job->sequence;
	if (!seq)
		return 0;
	size_t used = 0;
	for (size_t i = 0; i < seq->nsteps; i++) {
		char step[PV_REPRO_PATH_MAX + 16];
		pv_step_name(seq, i, step, sizeof(step));
		int w = snprintf(r->sequence + used, sizeof(r->sequence) - used, "%s%s", i ? "," : "",
		                 step);
		if (w < 0 || (size_t)w >= sizeof(r->sequence) - used)
			return pv_error_set(err, PV_ERANGE, "the sequence is too long for a reproducer "
			                                    "(%zu bytes at most)", sizeof(r->sequence) - 1);
		used += (size_t)w;
	}
	if (job->nextra > PV_REPRO_EXTRA_MAX)
		return pv_error_set(err, PV_ERANGE, "a reproducer holds at most %d patches after the "
		                                    "first", PV_REPRO_EXTRA_MAX);
	for (size_t i = 0; i < job->nextra; i++) {
		snprintf(r->extra_patch[i], sizeof(r->extra_patch[i]), "%s", job->extra_patches[i]);
		int rc = pv_sha256_file(job->extra_patches[i], r->extra_sha256[i], err);
		if (rc)
			return rc;
	}
	return 0;
}
