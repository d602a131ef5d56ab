/* Check `consistency` for `thread` and `call` engines (judge_version.h). */
#include "consistency_version.h"

#include <stdlib.h>
#include <string.h>

struct vthread {
	enum pv_version last;        /* thread: version of the last replaced code */
	int call_func;               /* call: function of the last replaced code, -1 */
	enum pv_version call_ver;
	bool call_ctl;               /* that instruction transferred control */
};

struct pv_version_judge {
	struct pv_version_func_spec *f; /* owned copy (names and code borrowed) */
	size_t n;
	unsigned nthreads;
	struct vthread *t;
};

int pv_version_judge_open(const struct pv_version_func_spec *f, size_t n, unsigned nthreads,
                          struct pv_version_judge **out, struct pv_error *err)
{
	*out = NULL;
	struct pv_version_judge *j = calloc(1, sizeof(*j));
	if (j) {
		j->f = calloc(n ? n : 1, sizeof(*j->f));
		j->t = calloc(nthreads ? nthreads : 1, sizeof(*j->t));
	}
	if (!j || !j->f || !j->t) {
		pv_version_judge_close(j);
		return pv_error_set(err, PV_ENOMEM, "out of memory preparing the consistency check");
	}
	memcpy(j->f, f, n * sizeof(*f));
	j->n = n;
	j->nthreads = nthreads;
	pv_version_judge_reset(j);
	*out = j;
	return 0;
}

void pv_version_judge_close(struct pv_version_judge *j)
{
	if (!j)
		return;
	free(j->f);
	free(j->t);
	free(j);
}

void pv_version_judge_reset(struct pv_version_judge *j)
{
	for (unsigned i = 0; i < j->nthreads; i++)
		j->t[i] = (struct vthread){.last = PV_VERSION_NONE, .call_func = -1};
}

enum pv_version pv_version_classify(const struct pv_version_judge *j, uint64_t addr,
                                    const uint8_t *bytes, unsigned len, int *func)
{
	for (size_t i = 0; i < j->n; i++) {
		const struct pv_version_func_spec *s = &j->f[i];
		if (addr - s->new_lo < s->new_hi - s->new_lo) {
			*func = (int)i;
			return PV_VERSION_NEW;
		}
		if (addr - s->old_lo >= s->old_hi - s->old_lo)
			continue;
		/* Bytes the engine wrote are its redirect, not old code. */
		if (addr + len > s->old_hi || memcmp(bytes, s->old_code + (addr - s->old_lo), len))
			return PV_VERSION_NONE;
		*func = (int)i;
		return PV_VERSION_OLD;
	}
	return PV_VERSION_NONE;
}

enum pv_version pv_version_thread_step(struct pv_version_judge *j, unsigned t,
                                       enum pv_version v)
{
	if (t >= j->nthreads || v == PV_VERSION_NONE)
		return PV_VERSION_NONE;
	enum pv_version was = j->t[t].last;
	j->t[t].last = v;
	return was != v ? was : PV_VERSION_NONE;
}

/* Whether an instruction may leave the function: call, ret, jmp, any
 * branch (prefixes skipped). */
static bool transfers_control(const uint8_t *b, unsigned len)
{
	unsigned i = 0;
	while (i < len && (b[i] == 0xf2 || b[i] == 0xf3 || b[i] == 0x66 || b[i] == 0x3e ||
	                   b[i] == 0x2e || (b[i] & 0xf0) == 0x40))
		i++;
	if (i >= len)
		return false;
	uint8_t op = b[i];
	if (op == 0xe8 || op == 0xe9 || op == 0xeb || op == 0xc2 || op == 0xc3 || op == 0xca ||
	    op == 0xcb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3))
		return true;
	if (op == 0x0f && i + 1 < len && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f)
		return true;
	if (op == 0xff && i + 1 < len) {
		unsigned reg = (b[i + 1] >> 3) & 7;
		return reg >= 2 && reg <= 5;
	}
	return false;
}

int pv_version_call_step(struct pv_version_judge *j, unsigned t, int func, enum pv_version v,
                         const uint8_t *bytes, unsigned len, struct pv_version_finding *f)
{
	if (t >= j->nthreads || v == PV_VERSION_NONE || func < 0 || (size_t)func >= j->n)
		return 0;
	struct vthread *th = &j->t[t];
	int mixed = th->call_func == func && th->call_ver != v && !th->call_ctl;
	if (mixed)
		*f = (struct pv_version_finding){
			.thread = (int)t, .func = j->f[func].name, .was = th->call_ver, .now = v};
	th->call_func = func;
	th->call_ver = v;
	th->call_ctl = transfers_control(bytes, len);
	return mixed;
}

const char *pv_version_func_name(const struct pv_version_judge *j, int func)
{
	return func >= 0 && (size_t)func < j->n ? j->f[func].name : "?";
}
