#include "minimize.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../explore/explore.h"

/* What a run makes of a stream: each choice's byte, and the byte that
 * would have given the default there. */
struct tape {
	const uint8_t *stream;
	size_t len, pos;
	uint8_t *dflt;              /* per choice: the default-equivalent byte */
	bool *differs;              /* per choice: the stream's byte is not the default */
	size_t cap, n;
};

static int tape_choose(void *ctx, const struct pv_choice *c)
{
	struct tape *t = ctx;
	int b = t->pos < t->len ? t->stream[t->pos] : -1;
	t->pos++;
	uint8_t d = 0xff;
	bool differs = false;
	switch (c->kind) {
	case PV_CHOICE_PHASE:
		d = 2; /* EMU_PHASE_DEFAULT */
		differs = b >= 0 && (b & 15) != 2;
		break;
	case PV_CHOICE_PREEMPT:
		d = PV_CHOICE_PREEMPT_NO;
		differs = b >= 0 && b < 0x20;
		break;
	case PV_CHOICE_SLICE: {
		unsigned dpos = 0;
		for (unsigned i = 0; i < c->nrunnable; i++)
			if (c->thread < 0 || c->runnable[i] > (unsigned)c->thread) {
				dpos = i;
				break;
			}
		d = PV_CHOICE_SLICE_BYTE(dpos);
		differs = b >= 0 && c->nrunnable &&
		          ((b & 3) != 3 || ((unsigned)b >> 2) % c->nrunnable != dpos);
		break;
	}
	}
	if (t->n < t->cap) {
		t->dflt[t->n] = d;
		t->differs[t->n] = differs;
		t->n++;
	}
	return b;
}

struct ctx {
	struct pv_session *s;
	uint8_t *record;
	struct tape tape;
	uint64_t runs, max_runs;
	struct pv_run_result res;
	struct pv_error *err;
};

/* Runs stream through the tape; the record replays it. */
static int run_taped(struct ctx *x, const uint8_t *stream, size_t len, size_t *rec_len)
{
	x->tape.stream = stream;
	x->tape.len = len;
	x->tape.pos = 0;
	x->tape.n = 0;
	struct pv_chooser ch = {.choose = tape_choose, .ctx = &x->tape};
	x->runs++;
	return x->s->ops->run_chosen(x->s->handle, x->s->engine, x->s->state, &ch, x->record,
	                             PV_EXPLORE_RECORD_MAX, rec_len, &x->res, x->err);
}

/* Does the stream show the check? (-1: the run failed) */
static int shows(struct ctx *x, const uint8_t *stream, size_t len)
{
	x->runs++;
	if (pv_session_run(x->s, stream, len, &x->res, x->err))
		return -1;
	return pv_session_same(x->s, &x->res) != NULL;
}

/* base with only the kept candidate choices left as they are, ending after
 * the last of them: past it the default rule answers, whatever kind of
 * choice each position has become. Returns the length. */
static size_t compose(const uint8_t *base, size_t len, const uint8_t *dflt, const size_t *cand,
                      size_t ncand, const bool *kept, uint8_t *out)
{
	size_t end = 0;
	for (size_t i = 0; i < ncand; i++)
		if (kept[i])
			end = cand[i] + 1;
	if (end > len)
		end = len;
	memcpy(out, base, end);
	for (size_t i = 0; i < ncand && cand[i] < end; i++)
		if (!kept[i])
			out[cand[i]] = dflt[cand[i]];
	return end;
}

/* Counts the choices of the last taped run that differ from the default. */
static uint64_t differing(const struct ctx *x, size_t len)
{
	uint64_t n = 0;
	for (size_t i = 0; i < x->tape.n && i < len; i++)
		n += x->tape.differs[i];
	return n;
}

struct buffers {
	uint8_t *base, *trial, *dflt;
	size_t *cand;
	bool *kept, *saved;
};

/* One ddmin pass over the canonical stream base[0..len) (just taped): the
 * result goes to b->trial, *tlen its length. <0 when a run failed. */
static int ddmin(struct ctx *x, struct buffers *b, size_t len, size_t *tlen)
{
	size_t n = x->tape.n < len ? x->tape.n : len;
	size_t ncand = 0;
	for (size_t i = 0; i < n; i++)
		if (x->tape.differs[i])
			b->cand[ncand++] = i;
	memcpy(b->dflt, x->tape.dflt, n);
	for (size_t i = n; i < len; i++)
		b->dflt[i] = b->base[i];
	for (size_t i = 0; i < ncand; i++)
		b->kept[i] = true;
	/* Try dropping chunks of the kept candidates at ever finer
	 * granularity (Zeller's ddmin, complements only). */
	size_t nkept = ncand, gran = 2;
	while (nkept >= 1 && x->runs < x->max_runs) {
		size_t chunk = (nkept + gran - 1) / gran;
		bool progress = false;
		for (size_t start = 0; start < nkept && x->runs < x->max_runs; start += chunk) {
			memcpy(b->saved, b->kept, ncand * sizeof(bool));
			size_t rank = 0;
			for (size_t i = 0; i < ncand; i++)
				if (b->kept[i]) {
					if (rank >= start && rank < start + chunk)
						b->kept[i] = false;
					rank++;
				}
			size_t l = compose(b->base, len, b->dflt, b->cand, ncand, b->kept, b->trial);
			int r = shows(x, b->trial, l);
			if (r < 0)
				return -1;
			if (r) {
				nkept -= start + chunk <= nkept ? chunk : nkept - start;
				progress = true;
				gran = gran > 2 ? gran - 1 : 2;
				break;
			}
			memcpy(b->kept, b->saved, ncand * sizeof(bool));
		}
		if (!progress) {
			if (gran >= nkept)
				break;
			gran = 2 * gran < nkept ? 2 * gran : nkept;
		}
	}
	*tlen = compose(b->base, len, b->dflt, b->cand, ncand, b->kept, b->trial);
	return 0;
}

int pv_minimize(struct pv_session *s, uint64_t max_runs, struct pv_minimize_result *out,
                struct pv_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!s->ops->run_chosen)
		return pv_error_set(err, PV_EUNSUPPORTED,
		                    "minimize needs a deterministic backend: a %s run does not "
		                    "follow its stream alone", s->ops->name);
	if (s->seq)
		return pv_error_set(err, PV_EUNSUPPORTED, "minimize does not shrink the stream of a "
		                                          "sequence yet; replay the reproducer as it "
		                                          "is");
	struct ctx x = {.s = s, .max_runs = max_runs, .err = err};
	size_t cap = PV_EXPLORE_RECORD_MAX;
	struct buffers b = {
		.base = malloc(cap), .trial = malloc(cap), .dflt = malloc(cap),
		.cand = malloc(cap * sizeof(size_t)), .kept = malloc(cap * sizeof(bool)),
		.saved = malloc(cap * sizeof(bool)),
	};
	x.record = malloc(cap);
	x.tape.dflt = malloc(cap);
	x.tape.differs = malloc(cap * sizeof(bool));
	x.tape.cap = cap;
	int rc = 0;
	if (!x.record || !x.tape.dflt || !x.tape.differs || !b.base || !b.trial || !b.dflt ||
	    !b.cand || !b.kept || !b.saved) {
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	/* The reproducer's run, canonical: every choice it made, as bytes. */
	size_t len = 0;
	if ((rc = run_taped(&x, s->repro->stream, s->repro->stream_len, &len)))
		goto out;
	if (!pv_session_same(s, &x.res)) {
		rc = pv_error_set(err, PV_ESTATE, "the reproducer's stream no longer shows %s: "
		                                  "nothing to minimize (replay it to see what it "
		                                  "shows now)", s->repro->check);
		goto out;
	}
	out->preemptions_before = x.res.preemptions;
	out->choices_before = differing(&x, len);
	uint64_t best = out->choices_before;
	uint64_t best_pre = x.res.preemptions;
	memcpy(b.base, x.record, len);
	struct pv_run_result best_run = x.res;
	size_t best_len = len;
	uint8_t *best_stream = malloc(cap);
	if (!best_stream) {
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(best_stream, b.base, len);
	/* Rounds until a fixpoint: dropping a choice moves the meaning of the
	 * bytes after it, so the taped result is minimized again. */
	for (int round = 0; round < 8 && x.runs < max_runs; round++) {
		size_t tlen = 0, flen = 0;
		if (ddmin(&x, &b, len, &tlen)) {
			rc = PV_EINTERNAL;
			break;
		}
		if ((rc = run_taped(&x, b.trial, tlen, &flen)))
			break;
		uint64_t now = differing(&x, flen);
		if (!pv_session_same(s, &x.res) || now > best ||
		    (now == best && x.res.preemptions >= best_pre))
			break;
		best = now;
		best_pre = x.res.preemptions;
		best_run = x.res;
		best_len = flen;
		memcpy(best_stream, x.record, flen);
		memcpy(b.base, x.record, flen);
		len = flen;
	}
	if (!rc) {
		out->stream = best_stream;
		out->len = best_len;
		out->choices_after = best;
		out->preemptions_after = best_pre;
		out->run = best_run;
		out->runs = x.runs;
	} else {
		free(best_stream);
		if (rc == PV_EINTERNAL)
			rc = pv_error_set(err, PV_EINTERNAL, "a test run failed: %s", err->msg);
	}
out:
	free(x.record);
	free(x.tape.dflt);
	free(x.tape.differs);
	free(b.base);
	free(b.trial);
	free(b.dflt);
	free(b.cand);
	free(b.kept);
	free(b.saved);
	return rc;
}
