/* The hijack family: see hijack.h. Written against include/patchvet only. */
#include "common.h"
#include "hijack.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JMP_LEN PV_ENG_JMP_LEN
#define ATTEMPTS 20
#define MAX_FRAMES 128
#define MAX_THREADS 128
#define HELPER_PAGE 4096
#define HELPER_RET 0x40   /* offset of a bare `ret` in the helper page */

/* The checksum: rax = sum of the even 8-byte words of [rdi, rdi + rsi),
 * rsi a multiple of 16, summed 16 bytes at a time in xmm0 (xmm1 the load),
 * as a vectorised memcmp or checksum in a real injector would. */
static const uint8_t checksum_code[] = {
	0x66, 0x0f, 0xef, 0xc0,       /* pxor   %xmm0,%xmm0 */
	0x48, 0x85, 0xf6,             /* 1: test %rsi,%rsi */
	0x74, 0x12,                   /* je     2f */
	0xf3, 0x0f, 0x6f, 0x0f,       /* movdqu (%rdi),%xmm1 */
	0x66, 0x0f, 0xd4, 0xc1,       /* paddq  %xmm1,%xmm0 */
	0x48, 0x83, 0xc7, 0x10,       /* add    $16,%rdi */
	0x48, 0x83, 0xee, 0x10,       /* sub    $16,%rsi */
	0xeb, 0xe9,                   /* jmp    1b */
	0x66, 0x48, 0x0f, 0x7e, 0xc0, /* 2: movq %xmm0,%rax */
	0xc3,                         /* ret */
};

struct hj_site {
	const char *name;
	uint64_t at, old_lo, old_hi, new_lo, new_hi;
	uint8_t jmp[JMP_LEN];
	uint8_t saved[JMP_LEN];
};

struct hj_state {
	const struct pv_engine *engine;
	const struct hj_flags *flags;
	uint64_t image_addr, image_size;
	bool applied;
	size_t nsites;
	struct hj_site sites[];
};

/* ------------------------------------------------------------------ plan */

int hj_plan(const struct pv_engine *e, const struct hj_flags *flags,
            const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	*state = NULL;
	/* The same refusals as stw-jmp: a jmp moves code, never data. */
	int rc = pv_eng_check_patch(e, patch, err);
	for (size_t i = 0; !rc && i < patch->nfuncs; i++)
		rc = pv_eng_check_jmp_site(e, &patch->funcs[i], pv_eng_site_offset(&patch->funcs[i]),
		                           err);
	if (rc)
		return rc;
	struct hj_state *st = calloc(1, sizeof(*st) + patch->nfuncs * sizeof(st->sites[0]));
	if (!st)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", e->name);
	st->engine = e;
	st->flags = flags;
	st->image_addr = patch->image_addr;
	st->image_size = patch->image_size;
	st->nsites = patch->nfuncs;
	for (size_t i = 0; i < patch->nfuncs; i++) {
		const struct pv_patch_func *f = &patch->funcs[i];
		struct hj_site *s = &st->sites[i];
		s->name = f->old_name ? f->old_name : "?";
		s->at = f->old_addr + pv_eng_site_offset(f);
		s->old_lo = f->old_addr;
		s->old_hi = f->old_addr + f->old_size;
		s->new_lo = f->new_addr;
		s->new_hi = f->new_addr + (f->new_size ? f->new_size : 1);
		uint32_t rel = (uint32_t)(f->new_addr - (s->at + JMP_LEN));
		s->jmp[0] = 0xe9;
		for (unsigned b = 0; b < 4; b++)
			s->jmp[1 + b] = (uint8_t)(rel >> (8 * b));
	}
	*state = st;
	return 0;
}

/* ------------------------------------------------------------------ helpers */

/* 1 when a live thread is inside (or returns into) a window, 0 when none,
 * a negative code when the space fails. */
static int busy(const struct hj_state *st, struct pv_space *sp, bool reverting,
                const struct pv_thread_info *th, size_t n)
{
	uint64_t pcs[MAX_FRAMES];
	for (size_t i = 0; i < n; i++) {
		if (th[i].state == PV_THREAD_DONE)
			continue;
		size_t frames = 0;
		int rc = pv_space_backtrace(sp, th[i].id, pcs, MAX_FRAMES, &frames);
		if (rc == PV_EBUSY || (!rc && frames >= MAX_FRAMES))
			return 1;
		if (rc)
			return rc;
		for (size_t f = 0; f < frames; f++)
			for (size_t k = 0; k < st->nsites; k++) {
				const struct hj_site *s = &st->sites[k];
				uint64_t pc = pcs[f];
				if (!reverting && pc >= s->old_lo && pc < s->old_hi)
					return 1;
				if (reverting && ((pc >= s->new_lo && pc < s->new_hi) ||
				                  (pc >= s->at && pc < s->at + JMP_LEN)))
					return 1;
			}
	}
	return 0;
}

static int write_sites(struct hj_state *st, struct pv_space *sp, bool reverting)
{
	int rc = 0;
	if (!reverting)
		for (size_t i = 0; !rc && i < st->nsites; i++)
			rc = pv_space_read(sp, st->sites[i].at, st->sites[i].saved, JMP_LEN);
	for (size_t i = 0; !rc && i < st->nsites; i++)
		rc = pv_space_write(sp, st->sites[i].at,
		                    reverting ? st->sites[i].saved : st->sites[i].jmp, JMP_LEN);
	if (!rc) {
		rc = pv_space_sync_core(sp);
		if (rc == PV_EUNSUPPORTED)
			rc = 0;
	}
	return rc;
}

/* Hijacks a stopped thread that is not in a system call to checksum the
 * patch image, and compares with the sum of what the engine reads. */
static int checksum(const struct hj_state *st, struct pv_space *sp, uint64_t helper,
                    const struct pv_thread_info *th, size_t n, struct pv_error *err)
{
	const char *name = st->engine->name;
	const struct pv_thread_info *pick = NULL;
	for (size_t i = 0; i < n && !pick; i++)
		if (th[i].state == PV_THREAD_STOPPED && !th[i].in_syscall)
			pick = &th[i];
	if (!pick)
		return 0; /* every thread is in the kernel: skip the check this time */
	uint64_t len = st->image_size & ~15ull;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", name);
	int rc = pv_space_read(sp, st->image_addr, copy, len);
	uint64_t want = 0;
	for (uint64_t k = 0; !rc && k < len; k += 16) {
		uint64_t w;
		memcpy(&w, copy + k, 8);
		want += w;
	}
	free(copy);
	if (rc)
		return pv_error_set(err, rc, "%s: cannot read the patch image", name);
	uint64_t args[2] = {st->image_addr, len}, got = 0;
	rc = pv_space_call_flags(sp, pick->id, helper, args, 2, st->flags->call_flags, &got);
	if (rc)
		return pv_error_set(err, rc, "%s: the checksum call on thread %u failed: %s", name,
		                    pick->id, pv_strerror(rc));
	if (got != want)
		return pv_error_set(err, PV_EIO, "%s: the patch image in the target is corrupt "
		                                 "(checksum 0x%llx, expected 0x%llx)", name,
		                    (unsigned long long)got, (unsigned long long)want);
	return 0;
}

static int kick(const struct hj_state *st, struct pv_space *sp, uint64_t helper,
                const struct pv_thread_info *th, size_t n, struct pv_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (th[i].state != PV_THREAD_STOPPED || !th[i].in_syscall)
			continue;
		int rc = pv_space_call_flags(sp, th[i].id, helper + HELPER_RET, NULL, 0,
		                             st->flags->kick_flags, NULL);
		if (rc)
			return pv_error_set(err, rc, "%s: cannot kick thread %u: %s",
			                    st->engine->name, th[i].id, pv_strerror(rc));
	}
	return 0;
}

static int switch_code(struct hj_state *st, struct pv_space *sp, bool reverting,
                       struct pv_error *err)
{
	const char *name = st->engine->name;
	const struct hj_flags *fl = st->flags;
	uint64_t helper = 0;
	int rc = 0;
	bool need_helper = !reverting && (fl->checksum || fl->kick);
	if (need_helper) {
		static const uint8_t ret = 0xc3;
		if ((rc = pv_space_map_near(sp, st->image_addr, HELPER_PAGE,
		                            PV_PROT_READ | PV_PROT_WRITE, &helper)) ||
		    (rc = pv_space_write(sp, helper, checksum_code, sizeof(checksum_code))) ||
		    (rc = pv_space_write(sp, helper + HELPER_RET, &ret, 1)) ||
		    (rc = pv_space_protect(sp, helper, HELPER_PAGE, PV_PROT_READ | PV_PROT_EXEC)))
			return pv_error_set(err, rc, "%s: cannot set up its helper code: %s", name,
			                    pv_strerror(rc));
	}
	bool checked = false, done = false;
	struct pv_thread_info th[MAX_THREADS];
	for (unsigned attempt = 0; !rc && !done && attempt < ATTEMPTS; attempt++) {
		if (attempt && (rc = pv_space_advance(sp, attempt)) && rc != PV_EUNSUPPORTED)
			break;
		rc = 0;
		if ((rc = pv_space_stop_all(sp)))
			break;
		size_t n = 0;
		rc = pv_space_threads(sp, th, MAX_THREADS, &n);
		if (n > MAX_THREADS)
			n = MAX_THREADS;
		if (!rc && !checked && fl->checksum && !reverting) {
			rc = checksum(st, sp, helper, th, n, err);
			checked = !rc;
		}
		/* Kicked threads leave the kernel first, then the stacks are looked at. */
		if (!rc && fl->kick && !reverting)
			rc = kick(st, sp, helper, th, n, err);
		int b = rc ? 0 : busy(st, sp, reverting, th, n);
		if (b < 0)
			rc = b;
		if (!rc && !b) {
			if ((rc = write_sites(st, sp, reverting)))
				pv_error_set(err, rc, "%s: cannot write the jmps: %s", name,
				             pv_strerror(rc));
			else
				done = true;
		}
		int rrc = pv_space_resume_all(sp);
		if (!rc && rrc)
			rc = rrc;
	}
	if (helper)
		pv_space_unmap(sp, helper, HELPER_PAGE);
	if (rc)
		return err->msg[0] ? rc : pv_error_set(err, rc, "%s: %s failed: %s", name,
		                                       reverting ? "revert" : "apply",
		                                       pv_strerror(rc));
	if (!done)
		return pv_error_set(err, PV_EBUSY, "%s: %s gave up after %u attempts: a thread "
		                                   "stays inside a replaced function", name,
		                    reverting ? "revert" : "apply", ATTEMPTS);
	st->applied = !reverting;
	return 0;
}

int hj_apply(void *state, struct pv_space *space, struct pv_error *err)
{
	struct hj_state *st = state;
	if (!st || !space)
		return pv_error_set(err, PV_EINVAL, "hijack engine: apply without a plan or a space");
	st->applied = false;
	return switch_code(st, space, false, err);
}

int hj_revert(void *state, struct pv_space *space, struct pv_error *err)
{
	struct hj_state *st = state;
	if (!st || !space)
		return pv_error_set(err, PV_EINVAL, "hijack engine: revert without a plan or a space");
	if (!st->applied)
		return pv_error_set(err, PV_ESTATE, "%s: revert before a successful apply",
		                    st->engine->name);
	return switch_code(st, space, true, err);
}

void hj_release(void *state)
{
	free(state);
}

/* ------------------------------------------------------------------ reference */

static const struct hj_flags reference_flags = {.checksum = true};

static int reference_plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	return hj_plan(&pv_engine_hijack_jmp, &reference_flags, p, s, err);
}

const struct pv_engine pv_engine_hijack_jmp = {
	.sz = sizeof(struct pv_engine),
	.abi_version = PV_ABI_VERSION,
	.name = "hijack-jmp",
	.description = "Stops every thread, hijacks one to checksum the patch image in the "
	               "target (every register restored), waits until no thread is inside a "
	               "replaced function, then writes a jmp rel32 over each entry (libpulp, "
	               "SUSE's user-space live patching).",
	.consistency = PV_CONSISTENCY_GLOBAL,
	.plan = reference_plan,
	.apply = hj_apply,
	.revert = hj_revert,
	.release = hj_release,
};
