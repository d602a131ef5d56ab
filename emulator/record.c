/* What the emu backend tells people: violations (the first of each check is
 * kept), addresses as symbol+offset, and the optional trace of a run. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool emu_has_violation(const struct pv_emu *e, enum pv_check_id check)
{
	const struct pv_run_result *r = e->run.res;
	for (size_t i = 0; i < r->nviolations; i++)
		if (!strcmp(r->violations[i].check, pv_check_name(check)))
			return true;
	return false;
}

void emu_violation(struct pv_emu *e, enum pv_check_id check, int thread, uint64_t addr,
                   const char *fmt, ...)
{
	struct pv_run_result *r = e->run.res;
	if (emu_has_violation(e, check) || r->nviolations == PV_RUN_MAX_VIOLATIONS)
		return;
	struct pv_violation *v = &r->violations[r->nviolations++];
	snprintf(v->check, sizeof(v->check), "%s", pv_check_name(check));
	v->thread = thread;
	v->address = addr;
	v->step = r->decisions;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	emu_trace(e, "violation %s: %s", v->check, v->detail);
	emu_story(e, PV_STORY_VIOLATION, thread, addr, "%s: %s", v->check, v->detail);
}

void emu_symbolize(const struct pv_emu *e, uint64_t addr, char *buf, size_t len)
{
	const struct emu_func *f = emu_func_at(e, addr);
	if (f && addr != f->addr)
		snprintf(buf, len, "%s+%llu (0x%llx)", f->name, (unsigned long long)(addr - f->addr),
		         (unsigned long long)addr);
	else if (f)
		snprintf(buf, len, "%s (0x%llx)", f->name, (unsigned long long)addr);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
}

void emu_trace(struct pv_emu *e, const char *fmt, ...)
{
	if (!e->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(e->trace, fmt, ap);
	va_end(ap);
	fputc('\n', e->trace);
}

void pv_emu_symbolize(const struct pv_emu *e, uint64_t addr, char *buf, size_t len)
{
	emu_symbolize(e, addr, buf, len);
}

void pv_emu_set_story(struct pv_emu *e, struct pv_story_event **events, size_t *nevents,
                      size_t max)
{
	e->story = events && nevents ? events : NULL;
	e->nstory = e->story ? nevents : NULL;
	e->story_max = max;
}

void emu_story(struct pv_emu *e, int kind, int thread, uint64_t addr, const char *fmt, ...)
{
	if (!e->story || *e->nstory >= e->story_max)
		return;
	size_t n = *e->nstory;
	/* Grow by doubling; a failed growth ends the story, not the run. */
	if ((n & (n - 1)) == 0) {
		size_t cap = n ? 2 * n : 64;
		struct pv_story_event *v = realloc(*e->story, cap * sizeof(*v));
		if (!v) {
			e->story_max = n;
			return;
		}
		*e->story = v;
	}
	struct pv_story_event *ev = &(*e->story)[n];
	memset(ev, 0, sizeof(*ev));
	ev->step = e->run.res ? e->run.res->decisions : 0;
	ev->thread = thread;
	ev->kind = (enum pv_story_kind)kind;
	ev->address = addr;
	if (addr) {
		const struct emu_func *f = emu_func_at(e, addr);
		if (f)
			snprintf(ev->symbol, sizeof(ev->symbol), "%s+%llu", f->name,
			         (unsigned long long)(addr - f->addr));
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
	va_end(ap);
	*e->nstory = n + 1;
}

void emu_disasm(struct pv_emu *e, uint64_t addr, char *buf, size_t len)
{
	uint8_t code[16];
	size_t n = sizeof(code);
	while (n && emu_read(e, addr, code, n))
		n--;
	cs_insn *in = NULL;
	size_t count = n ? cs_disasm(e->cs, code, n, addr, 1, &in) : 0;
	if (count)
		snprintf(buf, len, "%s%s%s", in[0].mnemonic, in[0].op_str[0] ? " " : "",
		         in[0].op_str);
	else
		snprintf(buf, len, "(bytes that decode to no instruction)");
	if (in)
		cs_free(in, count);
}
