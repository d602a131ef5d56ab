/* Check `consistency` for `global` engines (judge_global.h). */
#include "consistency_global.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct func {
	const char *name;     /* borrowed from the spec's owner */
	uint64_t lo, hi, entry, size;
	uint64_t *sites;      /* owned, sorted: addresses right after a call */
	size_t nsites;
};

struct pv_global_judge {
	struct func *f;
	size_t n;
	uint64_t min, max;    /* bounds of every function, a quick filter */
};

void pv_global_judge_close(struct pv_global_judge *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++)
		free(j->f[i].sites);
	free(j->f);
	free(j);
}

/* The return sites of one function: the end of every call instruction in a
 * linear decode of its original bytes. */
static int return_sites(csh cs, const struct pv_global_func_spec *s, struct func *f,
                        struct pv_error *err)
{
	cs_insn *insn = cs_malloc(cs);
	if (!insn)
		return pv_error_set(err, PV_ENOMEM, "out of memory preparing the consistency check");
	size_t cap = 0;
	const uint8_t *p = s->code;
	size_t left = (size_t)s->size;
	uint64_t a = s->entry;
	while (left && cs_disasm_iter(cs, &p, &left, &a, insn)) {
		if (!cs_insn_group(cs, insn, CS_GRP_CALL))
			continue;
		if (f->nsites == cap) {
			cap = cap ? 2 * cap : 8;
			uint64_t *v = realloc(f->sites, cap * sizeof(*v));
			if (!v) {
				cs_free(insn, 1);
				return pv_error_set(err, PV_ENOMEM,
				                    "out of memory preparing the consistency check");
			}
			f->sites = v;
		}
		f->sites[f->nsites++] = a; /* a is already past the call */
	}
	cs_free(insn, 1);
	return 0;
}

int pv_global_judge_open(const struct pv_global_func_spec *specs, size_t n,
                         struct pv_global_judge **out, struct pv_error *err)
{
	*out = NULL;
	struct pv_global_judge *j = calloc(1, sizeof(*j));
	if (!j || !(j->f = calloc(n ? n : 1, sizeof(*j->f)))) {
		free(j);
		return pv_error_set(err, PV_ENOMEM, "out of memory preparing the consistency check");
	}
	csh cs;
	cs_err ce = cs_open(CS_ARCH_X86, CS_MODE_64, &cs);
	if (ce != CS_ERR_OK) {
		pv_global_judge_close(j);
		return pv_error_set(err, PV_EINTERNAL,
		                    "capstone could not open an x86-64 disassembler (%s)",
		                    cs_strerror(ce));
	}
	/* Groups need instruction details. */
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	j->min = UINT64_MAX;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		struct func *f = &j->f[i];
		f->name = specs[i].name;
		f->lo = specs[i].lo;
		f->hi = specs[i].hi;
		f->entry = specs[i].entry;
		f->size = specs[i].size;
		j->n = i + 1;
		rc = return_sites(cs, &specs[i], f, err);
		if (f->lo < j->min)
			j->min = f->lo;
		if (f->hi > j->max)
			j->max = f->hi;
	}
	cs_close(&cs);
	if (rc) {
		pv_global_judge_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

int pv_global_judge_func(const struct pv_global_judge *j, uint64_t addr)
{
	if (addr < j->min || addr >= j->max)
		return -1;
	for (size_t i = 0; i < j->n; i++)
		if (addr >= j->f[i].lo && addr < j->f[i].hi)
			return (int)i;
	return -1;
}

static bool is_site(const struct func *f, uint64_t v)
{
	size_t lo = 0, hi = f->nsites;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->sites[mid] == v)
			return true;
		if (f->sites[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int pv_global_judge_threads(const struct pv_global_judge *j, const struct pv_global_thread *t,
                            size_t n, struct pv_global_finding *out)
{
	for (size_t k = 0; k < n; k++) {
		const struct pv_global_thread *th = &t[k];
		if (th->done)
			continue;
		memset(out, 0, sizeof(*out));
		out->thread = th->id;
		out->addr = th->pc;
		if (!th->stopped) {
			snprintf(out->what, sizeof(out->what),
			         "was not stopped (pc 0x%llx) when a replaced function's code changed",
			         (unsigned long long)th->pc);
			return 1;
		}
		int fi = pv_global_judge_func(j, th->pc);
		if (fi >= 0) {
			out->func = j->f[fi].name;
			snprintf(out->what, sizeof(out->what), "had its pc at %s%+lld (0x%llx)",
			         j->f[fi].name, (long long)(th->pc - j->f[fi].entry),
			         (unsigned long long)th->pc);
			return 1;
		}
		for (size_t w = 0; w < th->nwords; w++) {
			uint64_t v = th->stack[w];
			if (v <= j->min || v > j->max)
				continue;
			for (size_t i = 0; i < j->n; i++) {
				if (!is_site(&j->f[i], v))
					continue;
				out->addr = v;
				out->func = j->f[i].name;
				snprintf(out->what, sizeof(out->what),
				         "would return into %s%+lld (return address 0x%llx at 0x%llx "
				         "on its stack)",
				         j->f[i].name, (long long)(v - j->f[i].entry),
				         (unsigned long long)v,
				         (unsigned long long)(th->sp + 8 * w));
				return 1;
			}
		}
	}
	return 0;
}
