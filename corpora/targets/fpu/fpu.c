/* fpu: workers that keep live values in every SSE register (and, when the
 * machine has AVX, in the upper halves of every ymm register) across long
 * stretches of code, and in rflags across a loop, then check them. An engine
 * that stops a thread anywhere must give it back every register it had: a
 * hijack that forgets the vector state or the flags shows up here as a wrong
 * register or a wrong sum.
 *
 * Each iteration: step() (the function the patch replaces, which computes in
 * double precision) then hold(), which loads a pattern of the worker's own
 * into xmm0-15 / ymm0-15, spins, and compares. Verification: no mismatch,
 * and every worker's sum equals the closed form (integer-valued doubles, so
 * exact).
 *
 * The scenario runs on ptrace only; the emulator build links but never runs. */
#include <patchvet/target.h>

#define SPIN 2000

static unsigned long mismatches[PV_MAX_WORKERS] __attribute__((used));
static double sums[PV_MAX_WORKERS] __attribute__((used));

/* acc + (i mod 8), computed in SSE registers. noipa: one real function. */
__attribute__((noipa)) double step(double acc, unsigned long i)
{
	return acc + (double)(i & 7);
}

#if __STDC_HOSTED__
static int have_avx(void)
{
	unsigned a, b, c, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27)) || !(c & (1u << 28)))
		return 0; /* no OSXSAVE or no AVX */
	unsigned lo, hi;
	__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6; /* the OS saves xmm and ymm state */
}
#else
static int have_avx(void) { return 0; }
#endif

/* 16 registers x 32 bytes of the worker's pattern. */
struct pattern {
	unsigned char b[16][32];
};

#define LOADS(op, w)                                                             \
	op " 0*" w "(%1), %%" R "0\n\t" op " 1*" w "(%1), %%" R "1\n\t"            \
	op " 2*" w "(%1), %%" R "2\n\t" op " 3*" w "(%1), %%" R "3\n\t"            \
	op " 4*" w "(%1), %%" R "4\n\t" op " 5*" w "(%1), %%" R "5\n\t"            \
	op " 6*" w "(%1), %%" R "6\n\t" op " 7*" w "(%1), %%" R "7\n\t"            \
	op " 8*" w "(%1), %%" R "8\n\t" op " 9*" w "(%1), %%" R "9\n\t"            \
	op " 10*" w "(%1), %%" R "10\n\t" op " 11*" w "(%1), %%" R "11\n\t"        \
	op " 12*" w "(%1), %%" R "12\n\t" op " 13*" w "(%1), %%" R "13\n\t"        \
	op " 14*" w "(%1), %%" R "14\n\t" op " 15*" w "(%1), %%" R "15\n\t"

#define STORES(op, w)                                                            \
	op " %%" R "0, 0*" w "(%2)\n\t" op " %%" R "1, 1*" w "(%2)\n\t"            \
	op " %%" R "2, 2*" w "(%2)\n\t" op " %%" R "3, 3*" w "(%2)\n\t"            \
	op " %%" R "4, 4*" w "(%2)\n\t" op " %%" R "5, 5*" w "(%2)\n\t"            \
	op " %%" R "6, 6*" w "(%2)\n\t" op " %%" R "7, 7*" w "(%2)\n\t"            \
	op " %%" R "8, 8*" w "(%2)\n\t" op " %%" R "9, 9*" w "(%2)\n\t"            \
	op " %%" R "10, 10*" w "(%2)\n\t" op " %%" R "11, 11*" w "(%2)\n\t"        \
	op " %%" R "12, 12*" w "(%2)\n\t" op " %%" R "13, 13*" w "(%2)\n\t"        \
	op " %%" R "14, 14*" w "(%2)\n\t" op " %%" R "15, 15*" w "(%2)\n\t"

/* The spin: a loop whose exit depends on the flags of its compare (a thread
 * stopped there must get them back; check state-regs compares them), then a
 * `setb` recording whether the carry flag still said "below" after it. */
#define SPIN_ASM                                                                 \
	"xor %%eax, %%eax\n\t"                                                   \
	"1: add $1, %%eax\n\t"                                                   \
	"cmp %3, %%eax\n\t"                                                      \
	"jb 1b\n\t"                                                              \
	"setb %%cl\n\t"                                                          \
	"movzbl %%cl, %%ecx\n\t"

/* Loads the pattern, spins, stores the registers back; returns 1 when the
 * flags were wrong after the loop. */
static int hold(const struct pattern *in, struct pattern *out, int avx)
{
	int flag;
	if (avx) {
#define R "ymm"
		__asm__ volatile(LOADS("vmovdqu", "32") SPIN_ASM STORES("vmovdqu", "32")
		                 "vzeroupper\n\t"
		                 : "=&c"(flag)
		                 : "r"(in), "r"(out), "i"(SPIN)
		                 : "rax", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
		                   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		                   "xmm12", "xmm13", "xmm14", "xmm15");
#undef R
	} else {
#define R "xmm"
		__asm__ volatile(LOADS("movdqu", "32") SPIN_ASM STORES("movdqu", "32")
		                 : "=&c"(flag)
		                 : "r"(in), "r"(out), "i"(SPIN)
		                 : "rax", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
		                   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		                   "xmm12", "xmm13", "xmm14", "xmm15");
#undef R
	}
	return flag;
}

static int same(const struct pattern *a, const struct pattern *b, unsigned width)
{
	for (unsigned r = 0; r < 16; r++)
		for (unsigned k = 0; k < width; k++)
			if (a->b[r][k] != b->b[r][k])
				return 0;
	return 1;
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	int avx = have_avx();
	unsigned width = avx ? 32 : 16;
	struct pattern in, out;
	for (unsigned r = 0; r < 16; r++)
		for (unsigned k = 0; k < 32; k++)
			in.b[r][k] = (unsigned char)(index * 131 + r * 17 + k * 7 + 1);
	double acc = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		acc = step(acc, i);
		for (unsigned r = 0; r < 16; r++)
			for (unsigned k = 0; k < 32; k++)
				out.b[r][k] = 0;
		if (hold(&in, &out, avx) || !same(&in, &out, width))
			mismatches[index]++;
	}
	sums[index] = acc;
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	/* sum over i < n of (i mod 8) */
	unsigned long n = w->iterations, whole = n / 8, rest = n % 8;
	double want = (double)(whole * 28 + rest * (rest - 1) / 2);
	for (unsigned i = 0; i < w->workers; i++) {
		if (mismatches[i]) {
			SAY("fpu: a vector register or the flags changed under a worker\n");
			return 1;
		}
		if (sums[i] != want) {
			SAY("fpu: a worker's double-precision sum is wrong\n");
			return 1;
		}
	}
	return 0;
}
