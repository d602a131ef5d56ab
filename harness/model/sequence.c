#include "sequence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_or_add(struct pv_sequence *seq, const char *name, size_t len, unsigned *out,
                       struct pv_error *err)
{
	for (unsigned i = 0; i < seq->npatches; i++)
		if (strlen(seq->patches[i]) == len && !strncmp(seq->patches[i], name, len)) {
			*out = i;
			return 0;
		}
	if (seq->npatches == PV_SEQ_MAX_PATCHES)
		return pv_error_set(err, PV_EINVAL, "a sequence names at most %d patches",
		                    PV_SEQ_MAX_PATCHES);
	if (!(seq->patches[seq->npatches] = strndup(name, len)))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	*out = (unsigned)seq->npatches++;
	return 0;
}

void pv_sequence_free(struct pv_sequence *seq)
{
	for (size_t i = 0; i < seq->npatches; i++)
		free(seq->patches[i]);
	memset(seq, 0, sizeof(*seq));
}

/* st: what is surely applied; maybe: what was applied before a restart,
 * which the engine may or may not have applied again (the run decides). */
static int parse_step(struct pv_sequence *seq, const char *item, size_t len,
                      struct pv_stack *st, struct pv_stack *maybe, struct pv_error *err)
{
	if (seq->nsteps == PV_SEQ_MAX_STEPS)
		return pv_error_set(err, PV_EINVAL, "a sequence has at most %d steps",
		                    PV_SEQ_MAX_STEPS);
	struct pv_step *s = &seq->steps[seq->nsteps];
	if (len == strlen("revert-all") && !strncmp(item, "revert-all", len)) {
		s->kind = PV_STEP_REVERT_ALL;
		st->n = 0;
		maybe->n = 0;
		seq->nsteps++;
		return 0;
	}
	if (len == strlen("restart") && !strncmp(item, "restart", len)) {
		/* What survives depends on the engine: the run decides. */
		s->kind = PV_STEP_RESTART;
		for (size_t i = 0; i < st->n; i++)
			pv_stack_push(maybe, st->order[i]);
		st->n = 0;
		seq->nsteps++;
		return 0;
	}
	const char *colon = memchr(item, ':', len);
	size_t verb = colon ? (size_t)(colon - item) : len;
	if (colon && verb == 5 && !strncmp(item, "fault", 5)) {
		s->kind = PV_STEP_FAULT;
		s->fault = pv_fault_parse(colon + 1, len - verb - 1);
		if (!s->fault)
			return pv_error_set(err, PV_EINVAL, "sequence step %zu, '%.*s': want fault:crash, "
			                                    "fault:stall or fault:slowdown",
			                    seq->nsteps + 1, (int)len, item);
		if (!st->n && !maybe->n)
			return pv_error_set(err, PV_EINVAL, "sequence step %zu injects a %s with no patch "
			                                    "applied there", seq->nsteps + 1,
			                    pv_fault_name(s->fault));
		/* An engine with automatic rollback may revert the top patch. */
		int top = pv_stack_top(st);
		if (top >= 0) {
			pv_stack_remove(st, (unsigned)top);
			pv_stack_push(maybe, (unsigned)top);
		}
		seq->nsteps++;
		return 0;
	}
	if (colon && verb == 5 && !strncmp(item, "apply", 5))
		s->kind = PV_STEP_APPLY;
	else if (colon && verb == 7 && !strncmp(item, "replace", 7))
		s->kind = PV_STEP_REPLACE;
	else if (colon && verb == 6 && !strncmp(item, "revert", 6))
		s->kind = PV_STEP_REVERT;
	else
		return pv_error_set(err, PV_EINVAL, "sequence step %zu, '%.*s': want apply:PATCH, "
		                                    "replace:PATCH, revert:PATCH, revert-all, restart "
		                                    "or fault:KIND",
		                    seq->nsteps + 1, (int)len, item);
	size_t nlen = len - verb - 1;
	if (!nlen)
		return pv_error_set(err, PV_EINVAL, "sequence step %zu, '%.*s': no patch named",
		                    seq->nsteps + 1, (int)len, item);
	int rc = find_or_add(seq, colon + 1, nlen, &s->patch, err);
	if (rc)
		return rc;
	bool on = pv_stack_has(st, s->patch), perhaps = pv_stack_has(maybe, s->patch);
	if (s->kind != PV_STEP_REVERT && on)
		return pv_error_set(err, PV_EINVAL, "sequence step %zu %s %s, which is already "
		                                    "applied there", seq->nsteps + 1,
		                    s->kind == PV_STEP_APPLY ? "applies" : "replaces with",
		                    seq->patches[s->patch]);
	if (s->kind == PV_STEP_REPLACE) {
		/* Every applied patch (and any a restart may have kept) goes. */
		st->n = 0;
		maybe->n = 0;
		pv_stack_push(st, s->patch);
		seq->replaces = true;
		if (st->n > seq->max_depth)
			seq->max_depth = (unsigned)st->n;
		seq->nsteps++;
		return 0;
	}
	if (s->kind == PV_STEP_REVERT && !on && !perhaps)
		return pv_error_set(err, PV_EINVAL, "sequence step %zu reverts %s, which is not "
		                                    "applied there", seq->nsteps + 1,
		                    seq->patches[s->patch]);
	pv_stack_remove(maybe, s->patch);
	if (s->kind == PV_STEP_APPLY)
		pv_stack_push(st, s->patch);
	else
		pv_stack_remove(st, s->patch);
	if (st->n > seq->max_depth)
		seq->max_depth = (unsigned)st->n;
	seq->nsteps++;
	return 0;
}

int pv_sequence_parse(const char *text, struct pv_sequence *seq, struct pv_error *err)
{
	memset(seq, 0, sizeof(*seq));
	struct pv_stack st = {0}, maybe = {0};
	const char *p = text ? text : "";
	int rc = 0;
	while (!rc) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *q = p;
		while (len && (*q == ' ' || *q == '\t'))
			q++, len--;
		while (len && (q[len - 1] == ' ' || q[len - 1] == '\t'))
			len--;
		if (!len)
			rc = pv_error_set(err, PV_EINVAL, "sequence '%s': step %zu is empty", text ? text : "",
			                  seq->nsteps + 1);
		else
			rc = parse_step(seq, q, len, &st, &maybe, err);
		if (!end)
			break;
		p = end + 1;
	}
	if (!rc && !seq->npatches)
		rc = pv_error_set(err, PV_EINVAL, "sequence '%s' applies no patch", text);
	if (rc)
		pv_sequence_free(seq);
	return rc;
}

const char *pv_fault_name(unsigned fault)
{
	static const char *const names[] = {"none", "crash", "stall", "slowdown"};
	return fault < 4 ? names[fault] : "none";
}

unsigned pv_fault_parse(const char *name, size_t len)
{
	for (unsigned f = 1; name && f < 4; f++)
		if (strlen(pv_fault_name(f)) == len && !strncmp(name, pv_fault_name(f), len))
			return f;
	return 0;
}

void pv_step_name(const struct pv_sequence *seq, size_t step, char *buf, size_t len)
{
	const struct pv_step *s = &seq->steps[step];
	if (s->kind == PV_STEP_FAULT) {
		snprintf(buf, len, "fault:%s", pv_fault_name(s->fault));
		return;
	}
	if (s->kind == PV_STEP_REVERT_ALL || s->kind == PV_STEP_RESTART)
		snprintf(buf, len, s->kind == PV_STEP_RESTART ? "restart" : "revert-all");
	else
		snprintf(buf, len, "%s:%s",
		         s->kind == PV_STEP_APPLY     ? "apply"
		         : s->kind == PV_STEP_REPLACE ? "replace"
		                                      : "revert",
		         seq->patches[s->patch]);
}

bool pv_stack_has(const struct pv_stack *s, unsigned patch)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->order[i] == patch)
			return true;
	return false;
}

int pv_stack_top(const struct pv_stack *s)
{
	return s->n ? (int)s->order[s->n - 1] : -1;
}

void pv_stack_push(struct pv_stack *s, unsigned patch)
{
	if (s->n < PV_SEQ_MAX_PATCHES && !pv_stack_has(s, patch))
		s->order[s->n++] = patch;
}

void pv_stack_remove(struct pv_stack *s, unsigned patch)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->order[i] != patch)
			s->order[k++] = s->order[i];
	s->n = k;
}

static const struct pv_patch_func *func_of(const struct pv_patch_desc *d, const char *old_name)
{
	for (size_t i = 0; d && i < d->nfuncs; i++)
		if (d->funcs[i].old_name && !strcmp(d->funcs[i].old_name, old_name))
			return &d->funcs[i];
	return NULL;
}

int pv_stack_live(const struct pv_stack *s, const struct pv_patch_desc *const *descs,
                  const char *old_name)
{
	for (size_t i = s->n; i-- > 0;)
		if (func_of(descs[s->order[i]], old_name))
			return (int)s->order[i];
	return -1;
}

/* Length of the NOP (or endbr64) at b, 0 when it is none. */
static unsigned nop_len(const uint8_t *b)
{
	static const uint8_t endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
	if (b[0] == 0x90)
		return 1;
	if (!memcmp(b, endbr64, 4))
		return 4;
	unsigned pre = 0;
	while (pre < 3 && b[pre] == 0x66)
		pre++;
	if (pre && b[pre] == 0x90)
		return pre + 1;
	if (b[pre] != 0x0f || b[pre + 1] != 0x1f)
		return 0;
	/* 0f 1f /0 with a ModRM that says how long the operand is. */
	uint8_t modrm = b[pre + 2];
	unsigned mod = modrm >> 6, rm = modrm & 7, n = pre + 3;
	if (mod == 3)
		return n;
	if (rm == 4)
		n++; /* SIB */
	if (mod == 1)
		n += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		n += 4;
	return n;
}

int pv_live_resolve(pv_live_read_fn read, void *ctx, uint64_t entry, uint64_t *dest)
{
	uint64_t at = entry;
	for (unsigned hop = 0; hop < 16; hop++) {
		uint8_t b[16];
		int rc = read(ctx, at, b, sizeof(b));
		if (rc)
			return rc;
		unsigned n = nop_len(b);
		if (n) {
			at += n;
			continue;
		}
		if (b[0] == 0xeb) {
			at = at + 2 + (uint64_t)(int64_t)(int8_t)b[1];
			continue;
		}
		int32_t d32;
		memcpy(&d32, b + (b[0] == 0xe9 ? 1 : 2), 4);
		if (b[0] == 0xe9) {
			at = at + 5 + (uint64_t)(int64_t)d32;
			continue;
		}
		if (b[0] == 0xff && b[1] == 0x25) {
			uint64_t to;
			if ((rc = read(ctx, at + 6 + (uint64_t)(int64_t)d32, &to, 8)))
				return rc;
			at = to;
			continue;
		}
		/* A call or a trap at the start: a trampoline decides (ftrace,
		 * breakpoints); the code alone does not say where it goes. */
		if (b[0] == 0xe8 || b[0] == 0xcc)
			return PV_ENOENT;
		*dest = at;
		return 0;
	}
	return PV_ENOENT;
}

int pv_live_classify(const struct pv_patch_desc *const *descs, size_t npatches,
                     const char *old_name, uint64_t dest)
{
	for (size_t p = 0; p < npatches; p++) {
		const struct pv_patch_func *f = func_of(descs[p], old_name);
		if (f && dest >= f->new_addr && dest < f->new_addr + (f->new_size ? f->new_size : 1))
			return (int)p;
	}
	for (size_t p = 0; p < npatches; p++) {
		const struct pv_patch_func *f = func_of(descs[p], old_name);
		if (f && dest >= f->old_addr - f->prologue.padding_before &&
		    dest < f->old_addr + (f->old_size ? f->old_size : 1))
			return -1;
	}
	return -2;
}

void pv_live_check(const struct pv_sequence *seq, const struct pv_patch_desc *const *descs,
                   const struct pv_stack *st, pv_live_read_fn read, void *rctx, char *live,
                   size_t len,
                   void (*mismatch)(void *ctx, const struct pv_patch_func *f, const char *got,
                                    const char *want),
                   void *mctx)
{
	size_t n = seq->npatches, used = 0;
	live[0] = '\0';
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < descs[i]->nfuncs; k++) {
			const struct pv_patch_func *f = &descs[i]->funcs[k];
			bool seen = false; /* the same function in an earlier patch */
			for (size_t j = 0; j < i && !seen; j++)
				seen = func_of(descs[j], f->old_name) != NULL;
			if (seen || !f->old_addr)
				continue;
			int want = pv_stack_live(st, descs, f->old_name);
			uint64_t dest = 0;
			int got = pv_live_resolve(read, rctx, f->old_addr, &dest)
			                  ? -2
			                  : pv_live_classify(descs, n, f->old_name, dest);
			const char *name = got >= 0 ? seq->patches[got] : got == -1 ? "original" : "?";
			int w = snprintf(live + used, len - used, "%s%s=%s", used ? "," : "",
			                 f->old_name, name);
			if (w > 0 && (size_t)w < len - used)
				used += (size_t)w;
			if (got != -2 && got != want)
				mismatch(mctx, f, name, want >= 0 ? seq->patches[want] : "original");
		}
}

void pv_restart_lost(const struct pv_sequence *seq, struct pv_stack *st, unsigned which, int r,
                     bool persists, char *lost, size_t len)
{
	if (r == 0)
		return;
	size_t used = strlen(lost);
	snprintf(lost + used, len - used, "%s%s", used ? ", " : "", seq->patches[which]);
	if (!persists)
		pv_stack_remove(st, which);
}

void pv_restart_info(const char *lost, bool persists, char *info, size_t len)
{
	if (lost[0] && !persists)
		snprintf(info, len, "unpatched-after-restart: %.60s (not applied again)", lost);
}
