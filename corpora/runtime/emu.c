/* The emulator runtime of patchvet corpus targets (include/patchvet/target.h):
 * the same calls as corpora/runtime/native.c, for the freestanding emulator
 * build. There is no main: the emu backend starts pv_worker on each thread
 * and pv_verify afterwards.
 *
 * Everything that needs the outside world goes through pv__emu_call, whose
 * `syscall` the backend serves (emulator/calls.h). Locks take the fast path
 * in target code, as the native futex lock does, so an uncontended lock costs
 * no call; a contended one blocks the thread, and the scheduler runs another.
 *
 * Built with -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns,
 * so the loops below stay loops instead of becoming calls to themselves. */
#include <patchvet/target.h>

#include <stddef.h>

#include "calls.h"

long pv__emu_call(long nr, long a, long b, long c);

/* System V arguments are moved to the registers the backend reads; the
 * backend itself clobbers nothing but rax. */
__asm__("	.text\n"
        "	.globl	pv__emu_call\n"
        "	.type	pv__emu_call, @function\n"
        "	.p2align 4\n"
        "pv__emu_call:\n"
        "	mov	%rdi, %rax\n"
        "	mov	%rsi, %rdi\n"
        "	mov	%rdx, %rsi\n"
        "	mov	%rcx, %rdx\n"
        "	syscall\n"
        "	ret\n"
        "	.size	pv__emu_call, .-pv__emu_call\n");

/* ------------------------------------------------------------------ lock */

/* Drepper's mutex 3, as in the native runtime: 0 free, 1 locked, 2 locked
 * with (possible) waiters. */
static int *lock_word(pv_lock_t *lock)
{
	return (int *)&lock->state;
}

static int cmpxchg(int *word, int expected, int desired)
{
	__atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_ACQUIRE,
	                            __ATOMIC_RELAXED);
	return expected;
}

void pv_lock(pv_lock_t *lock)
{
	int *w = lock_word(lock);
	int c = cmpxchg(w, 0, 1);
	if (c == 0)
		return;
	if (c != 2)
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		pv__emu_call(PV_EMU_CALL_WAIT, (long)w, 2, 0);
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	}
}

void pv_unlock(pv_lock_t *lock)
{
	int *w = lock_word(lock);
	if (__atomic_fetch_sub(w, 1, __ATOMIC_RELEASE) != 1) {
		__atomic_store_n(w, 0, __ATOMIC_RELEASE);
		pv__emu_call(PV_EMU_CALL_WAKE, (long)w, 0, 0);
	}
}

/* ------------------------------------------------------------ the rest */

void pv_yield(void)
{
	pv__emu_call(PV_EMU_CALL_YIELD, 0, 0, 0);
}

void *pv_alloc(size_t size)
{
	return (void *)pv__emu_call(PV_EMU_CALL_ALLOC, (long)(size ? size : 1), 0, 0);
}

/* The heap is a bump allocator reset with every run: nothing to free. */
void pv_free(void *ptr)
{
	(void)ptr;
}

long pv_write(int fd, const void *buf, size_t len)
{
	return pv__emu_call(PV_EMU_CALL_WRITE, fd, (long)buf, (long)len);
}

/* Operation latencies are measured natively only. */
void pv_op_done(unsigned index)
{
	(void)index;
}

/* ------------------------------------------- what gcc may call by itself */

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}
