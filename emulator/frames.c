/* Stack frames of emulated threads: the backtrace that engines ask for.
 *
 * Reliability rule (space.h: PV_EBUSY when frames may be missing). For each
 * frame, the function holding its pc (a sized function symbol of the target
 * or the patch) is analysed once from its original bytes: a data flow over
 * its control flow graph (direct branches, fall-through) tracks where the
 * return address is at every instruction start:
 *   - at [rsp + k] before `push %rbp; mov %rsp,%rbp` and after the epilogue
 *     (`leave`, `pop %rbp`), k following pushes, pops and sub/add of rsp;
 *   - at [rbp + 8] once the frame pointer is set up (the caller's rbp at
 *     [rbp]).
 * The walk says PV_EBUSY, and the engine must treat the thread as unsafe,
 * when a pc is in no known function (trampolines, garbage), is not an
 * instruction start reached by the analysis, is reached with two different
 * frame layouts, follows an unknown change of rsp or rbp, lies in bytes that
 * differ from the original code (other than the entry itself), or when a
 * return address or saved rbp lies outside the thread's stack. It ends at
 * the sentinel, the return address of every thread's function. */
#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FS_UNSET 0xffffu
#define FS_UNKNOWN 0xfffeu
#define FS_FRAME 0x8000u

const struct emu_func *emu_func_at(const struct pv_emu *e, uint64_t addr)
{
	size_t lo = 0, hi = e->nfn;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct emu_func *f = &e->fn[mid];
		if (addr < f->addr)
			hi = mid;
		else if (addr - f->addr >= f->size)
			lo = mid + 1;
		else
			return f;
	}
	return NULL;
}

static bool writes_reg(csh cs, const cs_insn *in, x86_reg r)
{
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;
	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return true; /* assume the worst */
	for (uint8_t i = 0; i < nwr; i++)
		if (wr[i] == r)
			return true;
	return false;
}

static bool reg_operand(const cs_x86 *x, int i, x86_reg r)
{
	return x->op_count > i && x->operands[i].type == X86_OP_REG && x->operands[i].reg == r;
}

/* Where the return address is after `in`, given where it was before. */
static uint16_t effect(csh cs, const cs_insn *in, uint16_t st)
{
	const cs_x86 *x = &in->detail->x86;
	bool frame = st == FS_FRAME;
	switch (in->id) {
	case X86_INS_PUSH:
	case X86_INS_PUSHFQ:
		return frame ? st : (st + 8u < FS_FRAME ? (uint16_t)(st + 8u) : FS_UNKNOWN);
	case X86_INS_POP:
	case X86_INS_POPFQ:
		if (reg_operand(x, 0, X86_REG_RBP))
			return frame || st == 8 ? 0 : FS_UNKNOWN;
		return frame ? st : (st >= 8u ? (uint16_t)(st - 8u) : FS_UNKNOWN);
	case X86_INS_LEAVE:
		return frame ? 0 : FS_UNKNOWN;
	case X86_INS_MOV:
		if (reg_operand(x, 0, X86_REG_RBP) && reg_operand(x, 1, X86_REG_RSP))
			return st == 8 ? FS_FRAME : FS_UNKNOWN;
		break;
	case X86_INS_SUB:
	case X86_INS_ADD:
		if (reg_operand(x, 0, X86_REG_RSP) && x->op_count == 2 &&
		    x->operands[1].type == X86_OP_IMM) {
			if (frame)
				return st;
			int64_t d = x->operands[1].imm * (in->id == X86_INS_SUB ? 1 : -1);
			int64_t k = (int64_t)st + d;
			return k >= 0 && k < FS_FRAME ? (uint16_t)k : FS_UNKNOWN;
		}
		break;
	case X86_INS_CALL:
		return st;
	default:
		break;
	}
	if (writes_reg(cs, in, X86_REG_RBP))
		return FS_UNKNOWN;
	if (writes_reg(cs, in, X86_REG_RSP))
		return frame ? st : FS_UNKNOWN;
	return st;
}

static void merge(uint16_t *fs, size_t *stack, size_t *n, size_t off, uint16_t st)
{
	uint16_t cur = fs[off];
	if (cur == st || cur == FS_UNKNOWN)
		return;
	fs[off] = cur == FS_UNSET ? st : FS_UNKNOWN;
	stack[(*n)++] = off;
}

/* The frame state of every instruction start of f (FS_UNSET elsewhere). */
static int analyse(struct pv_emu *e, struct emu_func *f)
{
	const uint8_t *code = emu_pristine(e, f->addr, f->size);
	size_t size = (size_t)f->size;
	uint16_t *fs = malloc(size * sizeof(*fs));
	/* A state only ever rises (unset, known, unknown), so each offset is
	 * pushed at most twice. */
	size_t *stack = malloc(2 * size * sizeof(*stack));
	cs_insn *in = cs_malloc(e->cs);
	if (!code || !fs || !stack || !in) {
		free(fs);
		free(stack);
		if (in)
			cs_free(in, 1);
		return PV_ENOMEM;
	}
	csh cs = e->cs;
	for (size_t i = 0; i < size; i++)
		fs[i] = FS_UNSET;
	size_t n = 0;
	fs[0] = 0;
	stack[n++] = 0;
	while (n) {
		size_t off = stack[--n];
		const uint8_t *p = code + off;
		size_t left = size - off;
		uint64_t a = f->addr + off;
		if (!cs_disasm_iter(cs, &p, &left, &a, in))
			continue;
		uint16_t st = fs[off] == FS_UNKNOWN ? FS_UNKNOWN : effect(cs, in, fs[off]);
		size_t next = off + in->size;
		bool jump = cs_insn_group(cs, in, CS_GRP_JUMP);
		bool ends = cs_insn_group(cs, in, CS_GRP_RET) || in->id == X86_INS_HLT ||
		            in->id == X86_INS_UD2 || in->id == X86_INS_JMP;
		if (jump) {
			const cs_x86 *x = &in->detail->x86;
			if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
				uint64_t t = (uint64_t)x->operands[0].imm;
				if (t >= f->addr && t < f->addr + size)
					merge(fs, stack, &n, (size_t)(t - f->addr), st);
			}
		}
		if (!ends && next < size)
			merge(fs, stack, &n, next, st);
	}
	cs_free(in, 1);
	free(stack);
	f->frame = fs;
	return 0;
}

static bool read_stack(struct pv_emu *e, const struct emu_thread *t, uint64_t addr,
                       uint64_t *v)
{
	if (addr < t->stack_lo || addr + 8 > t->stack_hi)
		return false;
	return emu_read(e, addr, v, 8) == 0;
}

/* pc lies in bytes that no longer hold the code the analysis read. */
static bool changed(struct pv_emu *e, const struct emu_func *f, uint64_t pc)
{
	if (pc == f->addr)
		return false;
	const uint8_t *now = emu_host(e, pc, 1), *orig = emu_pristine(e, pc, 1);
	return !now || !orig || *now != *orig;
}

int emu_backtrace(struct pv_emu *e, unsigned tid, uint64_t *pcs, size_t max, size_t *count)
{
	const struct emu_thread *t = &e->threads[tid];
	*count = 0;
	if (t->done)
		return 0;
	uint64_t pc = t->pc;
	uint64_t sp = emu_thread_reg(e, tid, UC_X86_REG_RSP);
	uint64_t bp = emu_thread_reg(e, tid, UC_X86_REG_RBP);
	for (;;) {
		if (*count == max)
			return PV_ERANGE;
		pcs[(*count)++] = pc;
		struct emu_func *f = (struct emu_func *)emu_func_at(e, pc);
		if (!f || changed(e, f, pc))
			return PV_EBUSY;
		if (!f->frame && analyse(e, f))
			return PV_ENOMEM;
		uint16_t st = f->frame[pc - f->addr];
		uint64_t ret;
		if (st == FS_UNSET || st == FS_UNKNOWN)
			return PV_EBUSY;
		if (st == FS_FRAME) {
			uint64_t saved;
			if (!read_stack(e, t, bp + 8, &ret) || !read_stack(e, t, bp, &saved))
				return PV_EBUSY;
			sp = bp + 16;
			bp = saved;
		} else {
			if (!read_stack(e, t, sp + st, &ret))
				return PV_EBUSY;
			sp = sp + st + 8;
		}
		if (ret == EMU_SENTINEL)
			return 0;
		pc = ret;
	}
}

void emu_frames_free(struct pv_emu *e)
{
	for (size_t i = 0; i < e->nfn; i++) {
		free(e->fn[i].frame);
		e->fn[i].frame = NULL;
	}
}
