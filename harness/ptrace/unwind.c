/* Backtraces of stopped threads: libdw (CFI from .eh_frame/.debug_frame of
 * every module, the patch included), with a frame-pointer walk when libdw
 * cannot attach. A walk is reliable only when it reaches the outermost frame
 * (libdw: the CFI says the return address is undefined, as glibc's clone3
 * and _start do; frame pointers: a zero rbp) without a gap; otherwise
 * PV_EBUSY, as Linux livepatch treats an unreliable stack. */
#include "ptrace.h"

#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

struct pt_unwind {
	Dwfl *dwfl;            /* NULL: libdw unavailable, walk frame pointers */
};

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                        Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                        GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	/* .eh_frame (and .debug_frame of our own -g builds) is enough; looking
	 * for separate debug files only costs time. */
	return -1;
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = no_debuginfo,
};

int pt_unwind_open(struct pt_proc *p, const char *patch_path, uint64_t patch_bias,
                   struct pt_unwind **out)
{
	struct pt_unwind *u = calloc(1, sizeof(*u));
	if (!u)
		return pv_error_set(p->err, PV_ENOMEM, "out of memory");
	Dwfl *d = dwfl_begin(&callbacks);
	if (d && dwfl_linux_proc_report(d, p->pid) == 0 &&
	    (!patch_path || dwfl_report_elf(d, "patch", patch_path, -1, patch_bias, true)) &&
	    dwfl_report_end(d, NULL, NULL) == 0 && dwfl_linux_proc_attach(d, p->pid, true) == 0)
		u->dwfl = d;
	else if (d)
		dwfl_end(d);
	*out = u;
	return 0;
}

void pt_unwind_close(struct pt_unwind *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	free(u);
}

struct walk {
	uint64_t *pcs;
	size_t max, count;
	bool full;
};

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	if (!dwfl_frame_pc(state, &pc, NULL))
		return -1;
	if (w->count == w->max) {
		w->full = true;
		return DWARF_CB_ABORT;
	}
	w->pcs[w->count++] = pc;
	return DWARF_CB_OK;
}

/* Frame pointers: [rbp] is the caller's rbp, [rbp + 8] the return address.
 * The pc's own frame may not have pushed rbp yet (prologue) or at all
 * (a leaf without a frame pointer), so this walk is only reliable when the
 * pc lies in the target executable, which patchvet's corpora build with
 * -fno-omit-frame-pointer, outside its first bytes. */
static int fp_walk(struct pt_proc *p, struct pt_thread *t, uint64_t *pcs, size_t max,
                   size_t *count)
{
	size_t n = 0;
	bool reliable = t->regs.rip >= p->exe_lo && t->regs.rip < p->exe_hi;
	pcs[n++] = t->regs.rip;
	uint64_t bp = t->regs.rbp;
	while (n < max) {
		if (!bp) /* the outermost frame clears rbp */
			break;
		uint64_t fr[2];
		if (bp & 7 || pt_read(p, bp, fr, sizeof(fr))) {
			reliable = false;
			break;
		}
		if (!fr[1])
			break;
		pcs[n++] = fr[1];
		if (fr[0] && fr[0] <= bp) {
			reliable = false; /* frames must go up the stack */
			break;
		}
		bp = fr[0];
	}
	*count = n;
	return reliable ? 0 : PV_EBUSY;
}

int pt_backtrace(struct pt_proc *p, struct pt_unwind *u, struct pt_thread *t, uint64_t *pcs,
                 size_t max, size_t *count)
{
	*count = 0;
	if (!max)
		return 0;
	if (!u || !u->dwfl)
		return fp_walk(p, t, pcs, max, count);
	struct walk w = {.pcs = pcs, .max = max};
	int rc = dwfl_getthread_frames(u->dwfl, t->tid, on_frame, &w);
	*count = w.count;
	if (rc == 0 || w.full)
		return 0;
	return PV_EBUSY;
}
