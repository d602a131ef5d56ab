/* What the emu backend tells people: violations (the first of each check is
 * kept), addresses as symbol+offset, and the optional trace of a run. */
#include <stdarg.h>
#include <string.h>

#include "internal.h"

bool emu_has_violation(const struct pv_emu *e, const char *check)
{
	const struct pv_run_result *r = e->run.res;
	for (size_t i = 0; i < r->nviolations; i++)
		if (!strcmp(r->violations[i].check, check))
			return true;
	return false;
}

void emu_violation(struct pv_emu *e, const char *check, int thread, uint64_t addr,
                   const char *fmt, ...)
{
	struct pv_run_result *r = e->run.res;
	if (emu_has_violation(e, check) || r->nviolations == PV_RUN_MAX_VIOLATIONS)
		return;
	struct pv_violation *v = &r->violations[r->nviolations++];
	snprintf(v->check, sizeof(v->check), "%s", check);
	v->thread = thread;
	v->address = addr;
	v->step = r->decisions;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	emu_trace(e, "violation %s: %s", v->check, v->detail);
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
