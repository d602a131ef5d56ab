/* The ptrace backend behind the driver's table (harness/model/backend.h).
 *
 * open: reads target and patch, learns where they load (one dry spawn: the
 * target runs without ASLR, so every run has the same addresses and the
 * engine plans once), relocates the patch, describes it for planning.
 *
 * One run:
 *   spawn (stopped at exec), map the harness page and the patch area, write
 *   the relocated patch, park main at pv_verify (a `jmp .` at its entry:
 *   main reaches it when every worker is done and spins there until the
 *   engine has reverted, so the target's end never races the engine), start;
 *   wait until every worker runs, then a stream-chosen delay; maybe a
 *   thread steered onto an instruction boundary in a replaced function's
 *   first bytes (space.c: pt_steer), held there for the engine to find;
 *   apply (pauses probed by space.c), a stream-chosen delay, revert;
 *   rollback-bytes and rollback-leak; release main; wait for the exit;
 *   crash, liveness and target-verify from how the process ended.
 *
 * Stream bytes, in the order a run reads them: the pre-apply delay
 * ((byte & 15) * 500 us, default 2), one for steering and two more when it
 * steers (space.c: pt_steer), then one per fault point of every space
 * operation and, per stop_all, one per thread but one (the stop order) and
 * one for the gaps between stops (space.c), then the delay between apply and
 * revert (same rule).
 * Exhausted: no delays, no steering, no signals, natural order. The kernel's
 * timing is not in the stream: a replayed stream makes the same choices,
 * which need not give the same run. */
#include "ptrace.h"

#include <capstone/capstone.h>

#include <errno.h>
#include <elf.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../load/analysis.h"
#include "../load/patchdesc.h"
#include "../checks/liveness.h"
#include "../checks/rollback_bytes.h"
#include "../model/sequence.h"

#define DELAY_UNIT_S 500e-6

struct pt_backend {
	char *target_path;            /* owned */
	char *patch_path;             /* owned */
	enum pv_mem_model mem_model;
	struct pv_image *target;      /* owned */
	struct pv_patch *patch;       /* owned */
	unsigned char *image;         /* owned: the relocated patch */
	uint64_t bias, patch_base;
	bool placed;                  /* bias and patch_base are known */
	struct pv_patch_view view;    /* the patch as engines see it, owned */
	uint64_t verify;              /* link-time pv_verify, 0 when none */
	struct pv_global_judge *global; /* owned: `consistency` of global engines */
	unsigned workers;
	char args[3][32];
	char *argv[5];
	enum pt_probes probes;
	double last_pause_ms, last_probe_ms; /* of the last run */
	uint64_t last_steer;          /* where the last run parked a thread, 0: none */
	int last_steer_thread;
	uint64_t last_signals;        /* mask of the signals the last run sent */
	enum pv_fault fault;          /* --fault: injected after a successful apply */
	/* A sequence's other patches (issue 11), each in its own area. */
	struct pt_extra {
		char *path;               /* owned */
		struct pv_patch *patch;   /* owned */
		unsigned char *image;     /* owned: relocated */
		uint64_t base;
		struct pv_patch_view view; /* owned */
	} extra[PV_SEQ_MAX_PATCHES - 1];
	size_t nextra;
};

/* ------------------------------------------------------------ setup */

static uint64_t min_vaddr(const struct pv_image *img)
{
	uint64_t lo = UINT64_MAX;
	for (size_t i = 0; i < img->nsegments; i++)
		if (img->segments[i].vaddr < lo)
			lo = img->segments[i].vaddr;
	return lo == UINT64_MAX ? 0 : lo & ~(PT_PAGE - 1);
}

static int seg_prot(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

/* Maps the patch area, writes the image, protects each page as its
 * segments say (r-x code, r-- data, rw- writable data). */
static int load_one(struct pt_backend *b, struct pt_proc *p, const struct pv_patch *pa,
                    unsigned char **image, uint64_t *base, struct pv_error *err)
{
	uint64_t span = pa->span;
	int rc;
	if (!b->placed && (rc = pt_find_gap(p, p->exe_lo, span, base)))
		return rc;
	if ((rc = pt_map_fixed(p, *base, span, PROT_READ | PROT_WRITE)))
		return rc;
	if (!*image && (rc = pv_patch_relocate(pa, b->target, b->bias, *base, image, err)))
		return rc;
	if ((rc = pt_write(p, *base, *image, span)))
		return rc;
	size_t npages = span / PT_PAGE;
	int *prot = calloc(npages ? npages : 1, sizeof(*prot));
	if (!prot)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	const struct pv_image *img = pa->image;
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct pv_segment *s = &img->segments[i];
		uint64_t lo = (s->vaddr - pa->min_vaddr) / PT_PAGE;
		uint64_t hi = (s->vaddr - pa->min_vaddr + s->memsz + PT_PAGE - 1) / PT_PAGE;
		for (uint64_t k = lo; k < hi && k < npages; k++)
			prot[k] |= seg_prot(s->flags);
	}
	for (size_t k = 0; !rc && k < npages;) {
		size_t e = k + 1;
		while (e < npages && prot[e] == prot[k])
			e++;
		uint64_t a[3] = {*base + k * PT_PAGE, (e - k) * PT_PAGE, (uint64_t)prot[k]};
		int64_t r;
		struct pt_thread *t = &p->threads[0];
		if (!(rc = pt_syscall(p, t, SYS_mprotect, a, 3, &r)) && r)
			rc = pv_error_set(err, PV_EIO, "cannot protect the patch area: %s",
			                  strerror((int)-r));
		k = e;
	}
	free(prot);
	return rc;
}

/* The patch, then a sequence's other patches. */
static int load_patch(struct pt_backend *b, struct pt_proc *p, struct pv_error *err)
{
	int rc = load_one(b, p, b->patch, &b->image, &b->patch_base, err);
	p->patch_lo = b->patch_base;
	p->patch_hi = b->patch_base + b->patch->span;
	for (size_t i = 0; !rc && i < b->nextra; i++)
		rc = load_one(b, p, b->extra[i].patch, &b->extra[i].image, &b->extra[i].base, err);
	return rc;
}

/* Spawns the target and prepares it, stopped at its exec; main parked at
 * pv_verify when park is set; envp NULL: patchvet's environment. */
static int setup_env(struct pt_backend *b, struct pt_proc *p, char *const envp[], bool park,
                     struct pv_error *err)
{
	int rc = pt_spawn_env(b->argv, envp, p, err);
	if (rc)
		return rc;
	uint64_t bias = b->target->elf_type == ET_DYN ? p->exe_lo - min_vaddr(b->target) : 0;
	if (b->placed && bias != b->bias) {
		rc = pv_error_set(err, PV_EUNSUPPORTED, "%s loaded at another address than in the "
		                                        "first run (0x%llx, not 0x%llx): is address "
		                                        "space randomisation forced on?",
		                  b->target_path, (unsigned long long)bias,
		                  (unsigned long long)b->bias);
		goto fail;
	}
	b->bias = bias;
	p->bias = bias;
	for (size_t i = 0; i < b->target->nsegments && p->ntext < 8; i++) {
		const struct pv_segment *sg = &b->target->segments[i];
		if (sg->flags & PF_X) {
			p->text[p->ntext][0] = sg->vaddr + bias;
			p->text[p->ntext][1] = sg->vaddr + bias + sg->memsz;
			p->ntext++;
		}
	}
	if ((rc = pt_map_page(p, &p->threads[0])) || (rc = load_patch(b, p, err)))
		goto fail;
	/* sync_core's membarrier needs a registration, which waits for an RCU
	 * grace period: milliseconds that belong to no engine's pause. */
	uint64_t mb[2] = {1u << 6 /* REGISTER_PRIVATE_EXPEDITED_SYNC_CORE */, 0};
	int64_t r;
	if (!pt_syscall(p, &p->threads[0], SYS_membarrier, mb, 2, &r) && r == 0)
		p->membarrier_ready = true;
	b->placed = true;
	if (b->verify && park) {
		/* `jmp .`: main spins there, no signal involved (a breakpoint's
		 * SIGTRAP would be pending across the engine's pauses). */
		static const uint8_t spin[2] = {0xeb, 0xfe};
		p->park_addr = b->verify + bias;
		if ((rc = pt_read(p, p->park_addr, p->park_orig, 2)) ||
		    (rc = pt_write(p, p->park_addr, spin, 2)))
			goto fail;
		p->park_live = true;
	}
	return 0;
fail:
	pt_release(p);
	return rc;
}

static int setup(struct pt_backend *b, struct pt_proc *p, struct pv_error *err)
{
	return setup_env(b, p, NULL, true, err);
}

/* ------------------------------------------------------------ open/close */

/* The replaced functions, with their original bytes from the file, for the
 * `consistency` judge of global engines. */
static int open_judge(struct pt_backend *b, struct pv_error *err)
{
	size_t n = b->view.desc.nfuncs, k = 0;
	struct pv_global_func_spec *spec = calloc(n ? n : 1, sizeof(*spec));
	if (!spec)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const struct pv_patch_func *f = &b->view.desc.funcs[i];
		if (!f->old_addr)
			continue;
		size_t avail = 0;
		const unsigned char *code = pv_image_at(b->target, f->old_addr - b->bias, &avail);
		if (!code || avail < f->old_size) {
			rc = pv_error_set(err, PV_EFORMAT, "%s: function %s is not inside one loaded "
			                                   "segment", b->target_path, f->old_name);
			break;
		}
		spec[k++] = (struct pv_global_func_spec){
			.name = f->old_name,
			.lo = f->old_addr - f->prologue.padding_before,
			.hi = f->old_addr + f->old_size,
			.entry = f->old_addr,
			.size = f->old_size,
			.code = code,
		};
	}
	if (!rc)
		rc = pv_global_judge_open(spec, k, &b->global, err);
	free(spec);
	return rc;
}

static void bk_close(void *handle)
{
	struct pt_backend *b = handle;
	if (!b)
		return;
	free(b->target_path);
	free(b->patch_path);
	pv_image_close(b->target);
	pv_patch_close(b->patch);
	pv_patch_view_free(&b->view);
	pv_global_judge_close(b->global);
	free(b->image);
	for (size_t i = 0; i < b->nextra; i++) {
		free(b->extra[i].path);
		pv_patch_close(b->extra[i].patch);
		free(b->extra[i].image);
		pv_patch_view_free(&b->extra[i].view);
	}
	free(b);
}

/* Times one traced run of the target without an engine, and scales its
 * iterations up until such a run lasts PT_MIN_RUN_MS: a run must still be
 * working while the engine applies and reverts, whatever the scenario's
 * count (chosen for the emulator) makes of it natively. */
static int calibrate(struct pt_backend *b, unsigned long iters, struct pv_error *err)
{
	struct pt_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = pt_spawn(b->argv, p, err);
	double ms = 0;
	if (!rc) {
		double t0 = pt_now();
		pt_resume_thread(p, &p->threads[0]);
		pt_pump_until(p, t0 + PT_FINISH_TIMEOUT_MS / 1e3, NULL, NULL);
		ms = (pt_now() - t0) * 1e3;
		bool ok = p->exited && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
		pt_release(p);
		if (!ok)
			rc = pv_error_set(err, PV_EIO, "%s %s %s %s does not run to a successful end "
			                               "natively (%s)", b->argv[0], b->argv[1], b->argv[2],
			                  b->argv[3], p->output[0] ? p->output : "no message");
	}
	free(p);
	if (rc || ms >= PT_MIN_RUN_MS)
		return rc;
	unsigned long scale = (unsigned long)(PT_MIN_RUN_MS / (ms > 0.1 ? ms : 0.1)) + 1;
	if (scale > PT_SCALE_MAX)
		scale = PT_SCALE_MAX;
	snprintf(b->args[1], sizeof(b->args[1]), "%lu", iters * scale);
	return 0;
}

static int bk_open(const struct pv_backend_config *cfg, void **handle, struct pv_error *err)
{
	*handle = NULL;
	if (!cfg || !cfg->target_path || !cfg->patch_path)
		return pv_error_set(err, PV_EINVAL, "ptrace backend: a target and a patch are needed");
	struct pt_backend *b = calloc(1, sizeof(*b));
	if (!b)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	b->probes = PT_PROBES_LAZY;
	b->mem_model = cfg->mem_model;
	b->workers = cfg->workload.workers;
	b->target_path = strdup(cfg->target_path);
	b->patch_path = strdup(cfg->patch_path);
	int rc = 0;
	if (!b->target_path || !b->patch_path)
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!rc)
		rc = pv_image_open(cfg->target_path, &b->target, err);
	if (!rc)
		rc = pv_patch_open(cfg->patch_path, &b->patch, err);
	b->fault = cfg->fault;
	if (!rc && cfg->nextra >= PV_SEQ_MAX_PATCHES)
		rc = pv_error_set(err, PV_EINVAL, "at most %d patches in a sequence",
		                  PV_SEQ_MAX_PATCHES);
	for (size_t i = 0; !rc && i < cfg->nextra; i++, b->nextra++) {
		if (!(b->extra[i].path = strdup(cfg->extra_patches[i])))
			rc = pv_error_set(err, PV_ENOMEM, "out of memory");
		else
			rc = pv_patch_open(cfg->extra_patches[i], &b->extra[i].patch, err);
	}
	if (rc) {
		bk_close(b);
		return rc;
	}
	const struct pv_symbol *v = NULL;
	if (!pv_image_find_function(b->target, "pv_verify", &v, NULL))
		b->verify = v->value;
	snprintf(b->args[0], sizeof(b->args[0]), "%u", cfg->workload.workers);
	snprintf(b->args[2], sizeof(b->args[2]), "%ld", cfg->workload.param);
	b->argv[0] = b->target_path;
	b->argv[1] = b->args[0];
	b->argv[2] = b->args[1];
	b->argv[3] = b->args[2];
	b->argv[4] = NULL;
	unsigned long iters = cfg->workload.iterations * PT_ITERATION_SCALE;
	snprintf(b->args[1], sizeof(b->args[1]), "%lu", iters);
	if ((rc = calibrate(b, iters, err))) {
		bk_close(b);
		return rc;
	}
	/* A dry spawn: where the target and the patch land. */
	struct pt_proc *p = calloc(1, sizeof(*p));
	if (!p) {
		bk_close(b);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	p->err = err;
	rc = setup(b, p, err);
	if (!rc)
		pt_release(p);
	free(p);
	if (!rc)
		rc = pv_patch_describe(b->target, b->bias, b->patch, b->patch_path, b->patch_base, &b->view, err);
	for (size_t i = 0; !rc && i < b->nextra; i++)
		rc = pv_patch_describe(b->target, b->bias, b->extra[i].patch, b->extra[i].path,
		                       b->extra[i].base, &b->extra[i].view, err);
	if (!rc)
		rc = open_judge(b, err);
	if (rc) {
		bk_close(b);
		return rc;
	}
	*handle = b;
	return 0;
}

static const struct pv_patch_desc *bk_patch(void *handle)
{
	return &((struct pt_backend *)handle)->view.desc;
}

/* ------------------------------------------------------------ judging */

static void symbolize(const struct pt_backend *b, uint64_t addr, char *buf, size_t len)
{
	const struct pv_image *img = b->target;
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		uint64_t lo = s->value + b->bias;
		if ((s->type == STT_FUNC || s->type == STT_GNU_IFUNC) && s->shndx != SHN_UNDEF &&
		    addr >= lo && addr < lo + s->size) {
			snprintf(buf, len, "%s+%llu (0x%llx)", s->name, (unsigned long long)(addr - lo),
			         (unsigned long long)addr);
			return;
		}
	}
	for (size_t i = 0; i < b->view.desc.nfuncs; i++) {
		const struct pv_patch_func *f = &b->view.desc.funcs[i];
		if (addr >= f->new_addr && addr < f->new_addr + f->new_size) {
			snprintf(buf, len, "%s+%llu (0x%llx, patch)", f->new_name,
			         (unsigned long long)(addr - f->new_addr), (unsigned long long)addr);
			return;
		}
	}
	snprintf(buf, len, "0x%llx", (unsigned long long)addr);
}

/* rollback-bytes: every executable byte of the target against its file, and
 * every other code range the engine wrote against what it held before. */
static void check_rollback(struct pt_backend *b, struct pt_proc *p, const char *after)
{
	const struct pv_image *img = b->target;
	for (size_t i = 0; i < img->nsegments && !pt_has_violation(p, PV_CHECK_ROLLBACK_BYTES); i++) {
		const struct pv_segment *s = &img->segments[i];
		size_t avail = 0;
		const unsigned char *orig = pv_image_at(img, s->vaddr, &avail);
		if (!(s->flags & PF_X) || !orig || !avail)
			continue;
		uint8_t *now = malloc(avail);
		uint64_t at = s->vaddr + b->bias;
		if (now && !pt_read(p, at, now, avail)) {
			for (unsigned k = 0; p->park_live && k < 2; k++)
				if (p->park_addr + k >= at && p->park_addr + k < at + avail)
					now[p->park_addr + k - at] = p->park_orig[k];
			struct pv_rollback_finding f;
			if (pv_judge_rollback(at, now, orig, avail, &f)) {
				char where[160];
				symbolize(b, f.addr, where, sizeof(where));
				pt_violation(p, PV_CHECK_ROLLBACK_BYTES, -1, f.addr,
				             "after %s, %zu code byte%s differ from the file, the first at "
				             "%s (0x%02x, the file has 0x%02x)", after, f.ndiff,
				             f.ndiff == 1 ? "" : "s", where, f.now, f.orig);
			}
		}
		free(now);
	}
	const struct pt_run *run = p->run;
	for (size_t i = 0; i < run->nwrites && !pt_has_violation(p, PV_CHECK_ROLLBACK_BYTES); i++) {
		const struct pt_write *w = &run->writes[i];
		if (w->addr >= p->exe_lo && w->addr < p->exe_hi)
			continue; /* judged against the file above */
		bool own = w->addr >= p->patch_lo && w->addr < p->patch_hi;
		for (size_t k = 0; k < run->nmaps; k++)
			own |= w->addr >= run->maps[k].addr &&
			       w->addr < run->maps[k].addr + run->maps[k].len;
		uint8_t *now = malloc(w->len);
		struct pv_rollback_finding f;
		if (!own && now && !pt_read(p, w->addr, now, w->len) &&
		    pv_judge_rollback(w->addr, now, w->orig, w->len, &f))
			pt_violation(p, PV_CHECK_ROLLBACK_BYTES, -1, f.addr,
			             "after %s, %zu byte%s the engine wrote at 0x%llx differ from what "
			             "was there before (0x%02x, was 0x%02x)", after, f.ndiff,
			             f.ndiff == 1 ? "" : "s", (unsigned long long)f.addr, f.now, f.orig);
		free(now);
	}
	pv_error_clear(p->err);
}

/* rollback-leak: every map_near of the run is gone, in the books and in
 * /proc/PID/maps. */
static void check_leak(struct pt_proc *p, const char *after)
{
	const struct pt_run *run = p->run;
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	for (size_t i = 0; i < run->nmaps; i++) {
		const struct pt_map *m = &run->maps[i];
		bool mapped = m->live;
		FILE *f = mapped ? NULL : fopen(path, "re");
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long long lo, hi;
			if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && lo < m->addr + m->len &&
			    hi > m->addr)
				mapped = true;
		}
		if (f)
			fclose(f);
		if (mapped) {
			pt_violation(p, PV_CHECK_ROLLBACK_LEAK, -1, m->addr,
			             "after %s, the engine's mapping of %llu bytes at 0x%llx is still "
			             "there", after, (unsigned long long)m->len,
			             (unsigned long long)m->addr);
			return;
		}
	}
}

/* After apply or revert: the engine must not leave the world stopped. */
static void after_engine(struct pt_proc *p, const char *what, int rc, double started,
                         const struct pv_error *eerr, struct pv_run_result *res)
{
	double ms = (pt_now() - started) * 1e3;
	if (ms > PT_ENGINE_TIMEOUT_MS)
		pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "%s took %.0f ms, beyond its bound of %d ms", what,
		             ms, PT_ENGINE_TIMEOUT_MS);
	size_t held = 0;
	for (size_t i = 0; i < p->nthreads; i++)
		held += p->threads[i].live && p->threads[i].engine_stopped;
	if (held) {
		pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "%s returned with %zu thread%s still stopped",
		             what, held, held == 1 ? "" : "s");
		pt_pause_check(p);
		pt_resume_all(p);
	}
	if (rc && rc != PV_EBUSY && eerr->msg[0])
		snprintf(res->engine_error, sizeof(res->engine_error), "%.199s", eerr->msg);
	if (p->err->code && p->err->msg[0])
		snprintf(res->space_error, sizeof(res->space_error), "%.199s", p->err->msg);
}

static bool workers_started(struct pt_proc *p, void *arg)
{
	const struct pt_backend *b = arg;
	/* Every worker was born (some may have finished already). */
	return p->nthreads >= b->workers + 1;
}

static void delay(struct pt_proc *p)
{
	unsigned b = pt_decide(p, 2);
	pt_pump(p, pt_now() + (b & 15) * DELAY_UNIT_S);
}

static void judge_exit(struct pt_backend *b, struct pt_proc *p, struct pv_run_result *res,
                       bool killed)
{
	char where[160];
	if (p->crash.seen) {
		symbolize(b, p->crash.pc, where, sizeof(where));
		pt_violation(p, PV_CHECK_CRASH, p->crash.thread, p->crash.pc,
		             "thread %d died of %s at %s (fault address 0x%llx)", p->crash.thread,
		             sigabbrev_np(p->crash.sig) ? sigabbrev_np(p->crash.sig) : "?", where,
		             (unsigned long long)p->crash.addr);
		return;
	}
	if (!p->exited || killed)
		return;
	if (WIFSIGNALED(p->status)) {
		int sig = WTERMSIG(p->status);
		pt_violation(p, PV_CHECK_CRASH, -1, 0, "the target died of SIG%s",
		             sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		return;
	}
	int code = WEXITSTATUS(p->status);
	res->verify_status = code;
	if (code) {
		char first[160];
		snprintf(first, sizeof(first), "%.159s", p->output);
		first[strcspn(first, "\n")] = '\0';
		pt_violation(p, PV_CHECK_TARGET_VERIFY, -1, 0, "the target exited with status %d%s%s", code,
		             first[0] ? ": " : "", first);
	}
}

/* The start of every run: a fresh process from setup() with its run state,
 * the space on it, main resumed until the workers have started, and the
 * unwinder reading every module now, outside the engine's pauses. serr
 * (the caller's) becomes the process's error buffer. */
static int start_run(struct pt_backend *b, const struct pv_engine *engine,
                     const uint8_t *stream, size_t len, struct pv_run_result *res,
                     struct pt_run **runp, struct pt_proc **pp, struct pt_space *sp,
                     struct pv_error *serr, struct pv_error *err)
{
	memset(res, 0, sizeof(*res));
	res->revert_rc = 1;
	res->verify_status = -1;
	struct pt_run *run = calloc(1, sizeof(*run));
	struct pt_proc *p = calloc(1, sizeof(*p));
	if (!run || !p) {
		free(run);
		free(p);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	pv_error_clear(serr);
	run->res = res;
	run->stream = (struct pt_stream){.bytes = stream, .len = len};
	run->probes = b->probes;
	run->desc = &b->view.desc;
	if (engine->consistency == PV_CONSISTENCY_GLOBAL)
		run->global = b->global;
	p->run = run;
	run->workers = b->workers;
	int rc = setup(b, p, serr);
	if (rc) {
		pv_error_set(err, rc, "%s", serr->msg);
		free(run);
		free(p);
		return rc;
	}
	p->err = serr;
	pt_space_init(sp, p, b->mem_model);
	sp->target = b->target;
	sp->patch_path = b->patch_path;
	sp->patch_bias = b->patch_base - b->patch->min_vaddr;
	b->last_steer = 0;
	b->last_steer_thread = -1;
	pt_resume_thread(p, &p->threads[0]);
	if (pt_pump_until(p, pt_now() + PT_START_TIMEOUT_MS / 1e3, workers_started, b) ==
	    PV_ETIMEDOUT) {
		char detail[PV_CHECK_DETAIL_LEN];
		pv_liveness_word_start(false, b->workers, PT_START_TIMEOUT_MS, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "%s", detail);
	}
	pt_unwind_open(p, sp->patch_path, sp->patch_bias, &sp->unwind);
	*runp = run;
	*pp = p;
	return 0;
}

/* ------------------------------------------------------------ faults */

#define PT_MONITOR_TICK_MS 2 /* the workers run this long between monitor calls */
#define PT_FAULT_SCALE 4      /* runs with a fault do this much more work, so the
                                 workers still run when it comes (random delays
                                 before and during apply can outlast a run) */

/* The iteration count of the target's command line for one run: the
 * calibrated one, PT_FAULT_SCALE times it when the run injects a fault.
 * Returns the calibrated one, for the caller to put back. */
static unsigned long fault_iterations(struct pt_backend *b, bool fault)
{
	unsigned long iters = strtoul(b->args[1], NULL, 10);
	if (fault)
		snprintf(b->args[1], sizeof(b->args[1]), "%lu", iters * PT_FAULT_SCALE);
	return iters;
}

#define PT_SLOW_NS 20000000  /* what a slowdown adds to each call: 20 ms asleep */

/* How many bytes from the start of code (len bytes) whole instructions
 * that can run elsewhere cover, at least 5 (a jmp rel32): no branch, call,
 * return or RIP-relative operand among them. 0 when they cannot. */
static unsigned movable(const uint8_t *code, size_t len, uint64_t at)
{
	csh cs;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return 0;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	cs_insn *insn = NULL;
	size_t n = cs_disasm(cs, code, len, at, 0, &insn);
	unsigned used = 0;
	bool ok = true;
	for (size_t i = 0; i < n && used < 5 && ok; i++) {
		const cs_detail *d = insn[i].detail;
		for (unsigned g = 0; d && g < d->groups_count; g++)
			ok &= d->groups[g] != CS_GRP_JUMP && d->groups[g] != CS_GRP_CALL &&
			      d->groups[g] != CS_GRP_RET && d->groups[g] != CS_GRP_INT;
		for (unsigned o = 0; d && o < d->x86.op_count; o++)
			ok &= !(d->x86.operands[o].type == X86_OP_MEM &&
			        d->x86.operands[o].mem.base == X86_REG_RIP);
		used += insn[i].size;
	}
	if (n)
		cs_free(insn, n);
	cs_close(&cs);
	return ok && used >= 5 ? used : 0;
}

/* Writes len bytes at addr with every thread stopped and none between
 * addr and addr + len (exclusive of addr: there it starts whatever is
 * written); retries a few times while one is. */
static int write_quiet(struct pt_proc *p, uint64_t addr, const uint8_t *buf, unsigned len)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		int rc = pt_stop_all(p, NULL);
		bool inside = false;
		for (size_t i = 0; !rc && i < p->nthreads; i++)
			inside |= p->threads[i].live && p->threads[i].regs.rip > addr &&
			          p->threads[i].regs.rip < addr + len;
		if (!rc && !inside)
			rc = pt_write(p, addr, buf, len);
		pt_resume_all(p);
		if (rc || !inside)
			return rc;
		pt_pump(p, pt_now() + 200e-6);
	}
	return PV_EBUSY;
}

/* A slowdown: every call of one of desc's functions (at most 4) sleeps
 * PT_SLOW_NS first, in a stub of the harness near the patch (a jmp rel32
 * over the function's first instructions, which the stub runs after
 * sleeping). The worker is off the CPU meanwhile, as behind a slow call.
 * False when no function could be detoured. */
static bool slow_start(struct pt_proc *p, const struct pv_patch_desc *desc)
{
	struct pt_run *run = p->run;
	for (size_t f = 0; desc && f < desc->nfuncs && run->nslow < 4; f++) {
		uint64_t at = desc->funcs[f].new_addr;
		uint8_t code[16];
		unsigned len;
		if (!at || pt_read(p, at, code, sizeof(code)) ||
		    !(len = movable(code, sizeof(code), at)))
			continue;
		if (!run->slow_page &&
		    (pt_find_gap(p, at, PT_PAGE, &run->slow_page) ||
		     pt_map_fixed(p, run->slow_page, PT_PAGE, PROT_READ | PROT_EXEC))) {
			run->slow_page = 0;
			break;
		}
		uint64_t stub = run->slow_page + 128 * run->nslow;
		uint8_t s[128];
		size_t n = 0;
		static const uint8_t head[] = {
			0x50, 0x57, 0x56, 0x51, 0x41, 0x53,             /* push rax rdi rsi rcx r11 */
			0x48, 0x83, 0xec, 0x10,                         /* sub $16,%rsp */
			0x48, 0xc7, 0x04, 0x24, 0, 0, 0, 0,             /* movq $0,(%rsp) */
			0x48, 0xc7, 0x44, 0x24, 0x08};                  /* movq $NS,8(%rsp) */
		static const uint8_t tail[] = {
			0x48, 0x89, 0xe7,                               /* mov %rsp,%rdi */
			0x31, 0xf6,                                     /* xor %esi,%esi */
			0xb8, SYS_nanosleep, 0, 0, 0,                   /* mov $nanosleep,%eax */
			0x0f, 0x05,                                     /* syscall */
			0x48, 0x83, 0xc4, 0x10,                         /* add $16,%rsp */
			0x41, 0x5b, 0x59, 0x5e, 0x5f, 0x58};            /* pop r11 rcx rsi rdi rax */
		memcpy(s + n, head, sizeof(head));
		n += sizeof(head);
		uint32_t ns = PT_SLOW_NS;
		memcpy(s + n, &ns, 4);
		n += 4;
		memcpy(s + n, tail, sizeof(tail));
		n += sizeof(tail);
		memcpy(s + n, code, len); /* the moved instructions */
		n += len;
		int32_t back = (int32_t)((int64_t)(at + len) - (int64_t)(stub + n + 5));
		s[n++] = 0xe9;
		memcpy(s + n, &back, 4);
		n += 4;
		uint8_t jmp[5] = {0xe9};
		int32_t to = (int32_t)((int64_t)stub - (int64_t)(at + 5));
		memcpy(jmp + 1, &to, 4);
		if (pt_write(p, stub, s, n) || write_quiet(p, at, jmp, 5))
			continue;
		struct pt_detour *d = &run->slow[run->nslow++];
		d->at = at;
		d->len = 5;
		memcpy(d->orig, code, 5);
	}
	return run->nslow > 0;
}

/* The slowdown ends: the functions' first bytes back (a worker asleep in a
 * stub goes on through it, as before). */
static void slow_stop(struct pt_proc *p)
{
	struct pt_run *run = p->run;
	for (unsigned i = 0; i < run->nslow && !p->exited; i++)
		write_quiet(p, run->slow[i].at, run->slow[i].orig, run->slow[i].len);
	run->nslow = 0;
}

#define EDGE_BYTES 16 /* after a replaced function's entry: where engines write */

static bool at_patch_edge(const struct pt_run *run, uint64_t pc)
{
	for (size_t i = 0; run->desc && i < run->desc->nfuncs; i++) {
		const struct pv_patch_func *f = &run->desc->funcs[i];
		if (f->old_addr && pc + f->prologue.padding_before >= f->old_addr &&
		    pc < f->old_addr + EDGE_BYTES)
			return true;
	}
	return false;
}

/* The injected fault (issue 11), natively. Crash: the first live worker
 * exits where it stands (SYS_exit injected through the harness page): it
 * dies as a crashed worker does, without a signal, because a fatal signal
 * natively takes the whole process and would leave nothing to roll back;
 * locks it held stay held, as they would. Stall: every live worker is held
 * ptrace-stopped until the patch is reverted (the engine's own resume_all,
 * or unstall). False when no worker was left to fault. */
static bool inject_fault(struct pt_proc *p, enum pv_fault fault,
                         const struct pv_patch_desc *desc)
{
	struct pt_run *run = p->run;
	if (fault == PV_FAULT_SLOWDOWN)
		return slow_start(p, desc);
	bool hit = false;
	for (size_t i = 0; i < p->nthreads; i++) {
		struct pt_thread *t = &p->threads[i];
		if (t->id == 0 || t->id > run->workers || !t->live)
			continue;
		bool was = t->stopped;
		if (pt_stop_thread(p, t) || !t->live)
			continue;
		if (fault == PV_FAULT_CRASH) {
			if (!pt_thread_exit(p, t)) {
				run->fault_dead[i] = true;
				run->fault_crashed++;
				return true;
			}
			if (t->live && t->stopped && !was)
				pt_resume_thread(p, t);
			continue;
		}
		/* Not in the bytes engines rewrite (a replaced function's padding
		 * and first bytes): a hang is the program's, and one held there
		 * would keep a careful revert waiting for ever. */
		for (int tries = 0; tries < 20 && t->live && t->stopped && at_patch_edge(run, t->regs.rip);
		     tries++) {
			pt_resume_thread(p, t);
			pt_pump(p, pt_now() + 100e-6);
			pt_stop_thread(p, t);
		}
		if (!t->live || !t->stopped)
			continue;
		run->fault_held[i] = true;
		hit = true;
	}
	return hit;
}

/* The patch is gone: workers a stall still holds run again, calls of a
 * slowed function are fast again. */
static void unstall(struct pt_proc *p)
{
	struct pt_run *run = p->run;
	slow_stop(p);
	for (size_t i = 0; i < p->nthreads; i++) {
		struct pt_thread *t = &p->threads[i];
		if (!run->fault_held[i])
			continue;
		run->fault_held[i] = false;
		if (t->live && t->stopped && !t->engine_stopped && !p->world_stopped)
			pt_resume_thread(p, t);
	}
}

/* After a fault: an engine declaring automatic rollback must revert by
 * itself within its bound of monitor calls, PT_MONITOR_TICK_MS of the
 * workers' time apart (emu: one scheduling slice). 1 when the engine took
 * revert over (rolled back, or its monitor failed), 0 when patchvet must
 * revert. Shared by a plain run (--fault) and a sequence's fault step. */
static int fault_after_apply(struct pt_proc *p, struct pt_space *sp,
                             const struct pv_engine *engine, void *state, enum pv_fault fault,
                             const struct pv_patch_desc *desc, struct pv_run_result *res)
{
	struct pt_run *run = p->run;
	if (!inject_fault(p, fault, desc)) {
		snprintf(res->info, sizeof(res->info), fault == PV_FAULT_SLOWDOWN
		         ? "fault not injected: no function of the patch could be slowed down"
		         : "fault not injected: every worker had finished when apply returned");
		return 0;
	}
	res->fault_injected = true;
	bool declared = PV_ENGINE_HAS(engine, rollback_bound) &&
	                (engine->flags & PV_ENGINE_AUTO_ROLLBACK) && engine->monitor;
	if (!declared) {
		snprintf(res->info, sizeof(res->info),
		         "auto-rollback: not declared (a %s was injected after apply; patchvet "
		         "reverted)", pv_fault_name(fault));
		return 0;
	}
	unsigned bound = engine->rollback_bound ? engine->rollback_bound : 1;
	for (unsigned n = 1; n <= bound && !p->exited; n++) {
		bool left = false; /* a worker still at work: something to observe */
		for (size_t i = 0; i < p->nthreads; i++)
			left |= p->threads[i].id > 0 && p->threads[i].id <= run->workers &&
			        p->threads[i].live;
		/* The monitor saw the fault once at least: a finished target shows
		 * nothing more (a crash stays counted). */
		if (!left && n > 1) {
			snprintf(res->info, sizeof(res->info),
			         "auto-rollback: not judged (every worker finished %u monitor call(s) "
			         "after the %s; patchvet reverted)", n - 1, pv_fault_name(fault));
			return 0;
		}
		struct pv_error eerr;
		pv_error_clear(&eerr);
		pv_error_clear(p->err);
		run->in_engine = true;
		run->op = "monitor";
		double t0 = pt_now();
		run->engine_deadline = t0 + PT_ENGINE_TIMEOUT_MS / 1e3;
		int mrc = engine->monitor(state, &sp->space, &eerr);
		run->in_engine = false;
		after_engine(p, "monitor", mrc, t0, &eerr, res);
		if (mrc == 1) {
			res->rolled_back = true;
			res->revert_rc = 0;
			res->engine_error[0] = '\0';
			snprintf(res->info, sizeof(res->info),
			         "auto-rollback: rolled back %u monitor call(s) after the %s "
			         "(bound %u)", n, pv_fault_name(fault), bound);
			return 1;
		}
		if (mrc) {
			res->revert_rc = mrc;
			return 1;
		}
		pt_pump(p, pt_now() + PT_MONITOR_TICK_MS / 1e3);
	}
	if (p->exited)
		return 0;
	char detail[PV_CHECK_DETAIL_LEN];
	pv_liveness_word_auto_rollback(engine->name, bound, pv_fault_name(fault), detail,
	                               sizeof(detail));
	pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "%s", detail);
	snprintf(res->info, sizeof(res->info), "auto-rollback: declared, missed its bound of %u",
	         bound);
	return 0;
}

/* Main is let go to verify, and the target's end awaited; after an
 * injected crash the results are known to be incomplete (emu does not
 * verify either) and a lock the dead worker held may hang the rest: the
 * process is killed instead. True when it was killed. */
static bool finish(struct pt_proc *p)
{
	if (p->run->fault_crashed)
		return true;
	if (p->park_live && !p->exited && !p->crash.seen) {
		struct pt_thread *m = &p->threads[0];
		if (!pt_stop_thread(p, m) && m->live) {
			pt_write(p, p->park_addr, p->park_orig, 2);
			p->park_live = false;
			pt_resume_thread(p, m);
		}
	}
	if (pt_pump_until(p, pt_now() + PT_FINISH_TIMEOUT_MS / 1e3, NULL, NULL) == PV_ETIMEDOUT) {
		char detail[PV_CHECK_DETAIL_LEN];
		pv_liveness_word_finish("the engine", PT_FINISH_TIMEOUT_MS, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "%s", detail);
		return true;
	}
	return false;
}

static int bk_run(void *handle, const struct pv_engine *engine, void *engine_state,
                  const uint8_t *stream, size_t len, struct pv_run_result *res,
                  struct pv_error *err)
{
	struct pt_backend *b = handle;
	struct pv_error serr, eerr;
	struct pt_run *run;
	struct pt_proc *p;
	struct pt_space sp;
	unsigned long iters = fault_iterations(b, b->fault != PV_FAULT_NONE);
	int rc = start_run(b, engine, stream, len, res, &run, &p, &sp, &serr, err);
	snprintf(b->args[1], sizeof(b->args[1]), "%lu", iters);
	if (rc)
		return rc;
	bool killed = false;
	delay(p);
	if (p->exited) {
		/* Nothing to patch any more: the target ended on its own. */
		res->apply_rc = PV_EBUSY;
		snprintf(res->engine_error, sizeof(res->engine_error),
		         "the target ended before apply");
		goto finish;
	}

	pt_steer(p);
	b->last_steer = run->steer.parked ? run->steer.addr : 0;
	b->last_steer_thread = run->steer.parked ? (int)run->steer.parked->id : -1;
	pv_error_clear(&eerr);
	run->in_engine = true;
	run->op = "apply";
	double t0 = pt_now();
	run->engine_deadline = t0 + PT_ENGINE_TIMEOUT_MS / 1e3;
	res->apply_rc = engine->apply(engine_state, &sp.space, &eerr);
	run->in_engine = false;
	after_engine(p, "apply", res->apply_rc, t0, &eerr, res);
	pt_steer_release(p);
	if (res->apply_rc == PV_EBUSY && !p->exited) {
		check_rollback(b, p, "an apply that gave up");
		check_leak(p, "an apply that gave up");
	}
	int taken = 0;
	if (res->apply_rc == 0 && !p->exited && b->fault &&
	    (taken = fault_after_apply(p, &sp, engine, engine_state, b->fault, &b->view.desc,
	                               res)) &&
	    res->rolled_back && !p->exited) {
		check_rollback(b, p, "the engine's automatic rollback");
		check_leak(p, "the engine's automatic rollback");
	}
	if (taken)
		unstall(p);
	if (res->apply_rc == 0 && !p->exited && !taken) {
		delay(p);
		pv_error_clear(&eerr);
		pv_error_clear(&serr);
		run->in_engine = true;
		run->op = "revert";
		t0 = pt_now();
		run->engine_deadline = t0 + PT_ENGINE_TIMEOUT_MS / 1e3;
		res->revert_rc = engine->revert(engine_state, &sp.space, &eerr);
		run->in_engine = false;
		after_engine(p, "revert", res->revert_rc, t0, &eerr, res);
		if (res->revert_rc == 0 && !p->exited) {
			check_rollback(b, p, "revert");
			check_leak(p, "revert");
		}
	}

finish:
	/* Let main verify: put pv_verify's bytes back, main stopped meanwhile
	 * (it may be spinning on them). Not after a crash: the group is dying,
	 * and a dying leader reports nothing until every thread is reaped. */
	unstall(p);
	killed = finish(p);
	pt_release(p);
	judge_exit(b, p, res, killed);
	b->last_pause_ms = run->longest_pause_ms;
	b->last_signals = run->signals_sent;
	b->last_probe_ms = run->probe_ms;
	pt_space_fini(&sp);
	for (size_t i = 0; i < run->nwrites; i++)
		free(run->writes[i].orig);
	pt_os_free(run->pause_os);
	free(run->pause_mem);
	res->decisions = run->stream.decisions;
	free(run);
	free(p);
	return 0;
}

/* ------------------------------------------------------------ sequences */

static const struct pv_patch_desc *bk_patch_at(void *handle, size_t i)
{
	struct pt_backend *b = handle;
	return i == 0 ? &b->view.desc : i <= b->nextra ? &b->extra[i - 1].view.desc : NULL;
}

/* Target memory as the engine left it: a slowdown's detours (the
 * harness's own instrumentation) read as the bytes they replaced. */
static int seq_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct pt_proc *p = ctx;
	int rc = pt_read(p, addr, buf, len);
	for (unsigned i = 0; !rc && p->run && i < p->run->nslow; i++) {
		const struct pt_detour *d = &p->run->slow[i];
		for (unsigned k = 0; k < d->len; k++)
			if (d->at + k >= addr && d->at + k < addr + len)
				((uint8_t *)buf)[d->at + k - addr] = d->orig[k];
	}
	return rc;
}

struct live_ctx {
	struct pt_proc *p;
	const struct pv_sequence *seq;
	size_t step;
};

static void live_mismatch(void *ctx, const struct pv_patch_func *f, const char *got,
                          const char *want)
{
	const struct live_ctx *c = ctx;
	char step_name[96];
	pv_step_name(c->seq, c->step, step_name, sizeof(step_name));
	pt_violation(c->p, PV_CHECK_INEFFECTIVE, -1, f->old_addr,
	             "after step %zu (%s), a call of %s runs %s, not %s", c->step + 1, step_name,
	             f->old_name, got, want);
}

/* After a step: which version each replaced function runs, into o->live,
 * judged against the stack (`ineffective` when it is not the one that
 * must run). */
static void seq_live(struct pt_backend *b, struct pt_proc *p, const struct pv_sequence *seq,
                     const struct pv_stack *st, size_t step, struct pv_step_outcome *o)
{
	const struct pv_patch_desc *descs[PV_SEQ_MAX_PATCHES];
	for (size_t i = 0; i < seq->npatches; i++)
		descs[i] = bk_patch_at(b, i);
	struct live_ctx c = {.p = p, .seq = seq, .step = step};
	pv_live_check(seq, descs, st, seq_read, p, o->live, sizeof(o->live), live_mismatch, &c);
	pv_error_clear(p->err);
}

/* One engine operation of a step: apply (on top of below when not NULL;
 * as a cumulative replace of replaced[0..nreplaced) when replaced is not
 * NULL) or revert. */
static int seq_engine(struct pt_proc *p, struct pv_run_result *res,
                      const struct pv_engine *engine, struct pv_space *space, bool revert,
                      void *state, void *below, void *const *replaced, size_t nreplaced)
{
	struct pt_run *run = p->run;
	struct pv_error eerr;
	pv_error_clear(&eerr);
	pv_error_clear(p->err);
	const char *what = revert ? "revert" : "apply";
	run->in_engine = true;
	run->op = what;
	double t0 = pt_now();
	run->engine_deadline = t0 + PT_ENGINE_TIMEOUT_MS / 1e3;
	int rc = revert     ? engine->revert(state, space, &eerr)
	         : replaced ? engine->apply_replace(state, replaced, nreplaced, space, &eerr)
	         : below    ? engine->apply_on_top(state, below, space, &eerr)
	                    : engine->apply(state, space, &eerr);
	run->in_engine = false;
	after_engine(p, what, rc, t0, &eerr, res);
	return rc;
}

/* A clean answer: done, gave up or refused with the target unchanged. */
static bool clean_rc(int rc)
{
	return rc == 0 || rc == PV_EBUSY || rc == PV_EREFUSED;
}

/* The restart step: the process is killed and spawned again from its file
 * (patch images loaded, nothing applied), the engine's states kept. Each
 * applied patch, oldest first, goes to the engine's `restarted`; what it
 * leaves unpatched leaves the stack, unless the engine claims persistence
 * (then the live check finds it `ineffective`). 0, or a code when the new
 * process cannot be made (err filled). */
static int seq_restart(struct pt_backend *b, struct pt_proc *p, struct pt_space *sp,
                       const struct pv_engine *engine, void *const *states,
                       const struct pv_sequence *seq, struct pv_stack *st,
                       struct pv_run_result *res, struct pv_step_outcome *o,
                       struct pv_error *err)
{
	struct pt_run *run = p->run;
	struct pv_error *serr = p->err;
	pt_space_fini(sp);
	pt_release(p);
	memset(p, 0, sizeof(*p));
	p->run = run;
	/* A new process: the faults of the old one died with it. */
	run->fault_crashed = 0;
	memset(run->fault_dead, 0, sizeof(run->fault_dead));
	memset(run->fault_held, 0, sizeof(run->fault_held));
	memset(run->cpu_ns, 0, sizeof(run->cpu_ns));
	run->slow_page = 0; /* the stubs' page and detours died with it */
	run->nslow = 0;
	for (size_t k = 0; k < run->nmaps; k++)
		run->maps[k].live = false; /* they died with the process */
	int rc = setup(b, p, serr);
	if (rc)
		return pv_error_set(err, rc, "restart: %s", serr->msg);
	p->err = serr;
	pt_space_init(sp, p, b->mem_model);
	sp->target = b->target;
	sp->patch_path = b->patch_path;
	sp->patch_bias = b->patch_base - b->patch->min_vaddr;
	pt_resume_thread(p, &p->threads[0]);
	if (pt_pump_until(p, pt_now() + PT_START_TIMEOUT_MS / 1e3, workers_started, b) ==
	    PV_ETIMEDOUT) {
		char detail[PV_CHECK_DETAIL_LEN];
		pv_liveness_word_start(true, b->workers, PT_START_TIMEOUT_MS, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "%s", detail);
	}
	pt_unwind_open(p, sp->patch_path, sp->patch_bias, &sp->unwind);
	bool persists = PV_ENGINE_HAS(engine, restarted) && (engine->flags & PV_ENGINE_PERSISTS);
	bool has_op = PV_ENGINE_HAS(engine, restarted) && engine->restarted;
	struct pv_stack before = *st;
	char lost[64] = "";
	for (size_t i = 0; i < before.n && !p->exited; i++) {
		unsigned which = before.order[i];
		int r = 1;
		if (has_op) {
			struct pv_error eerr;
			pv_error_clear(&eerr);
			pv_error_clear(p->err);
			run->in_engine = true;
			run->op = "restarted";
			double t0 = pt_now();
			run->engine_deadline = t0 + PT_ENGINE_TIMEOUT_MS / 1e3;
			r = engine->restarted(states[which], &sp->space, &eerr);
			run->in_engine = false;
			after_engine(p, "restarted", r, t0, &eerr, res);
		}
		if (r < 0) {
			o->rc = r;
			if (!res->apply_rc)
				res->apply_rc = r;
		}
		pv_restart_lost(seq, st, which, r, persists, lost, sizeof(lost));
	}
	pv_restart_info(lost, persists, res->info, sizeof(res->info));
	return 0;
}

static int bk_run_sequence(void *handle, const struct pv_engine *engine, void *const *states,
                           const struct pv_sequence *seq, const uint8_t *stream, size_t len,
                           struct pv_run_result *res, struct pv_error *err)
{
	struct pt_backend *b = handle;
	if (seq->npatches != b->nextra + 1 || seq->nsteps > PV_RUN_MAX_STEPS)
		return pv_error_set(err, PV_EINVAL, "the sequence has %zu patches, the backend "
		                                    "loaded %zu", seq->npatches, b->nextra + 1);
	bool faults = false;
	for (size_t i = 0; i < seq->nsteps; i++)
		faults |= seq->steps[i].kind == PV_STEP_FAULT;
	unsigned long iters = fault_iterations(b, faults); /* put back after the run */
	struct pv_error serr;
	struct pt_run *run;
	struct pt_proc *p;
	struct pt_space sp;
	int rc = start_run(b, engine, stream, len, res, &run, &p, &sp, &serr, err);
	if (rc) {
		snprintf(b->args[1], sizeof(b->args[1]), "%lu", iters);
		return rc;
	}
	bool killed = false;

	struct pv_stack st = {0};
	bool applied_once = false;
	for (size_t i = 0; i < seq->nsteps && !p->exited && !p->crash.seen; i++) {
		const struct pv_step *s = &seq->steps[i];
		struct pv_step_outcome *o = &res->steps[i];
		res->nsteps = i + 1;
		delay(p);
		if (p->exited)
			break;
		bool reverted = false;
		if (s->kind == PV_STEP_RESTART) {
			o->ran = true;
			if ((rc = seq_restart(b, p, &sp, engine, states, seq, &st, res, o, err)))
				break;
		} else if (s->kind == PV_STEP_FAULT) {
			/* Judged against the most recent apply still applied. */
			int top = pv_stack_top(&st);
			o->ran = true;
			int taken = top < 0 ? 0
			                    : fault_after_apply(p, &sp, engine, states[top],
			                                        (enum pv_fault)s->fault,
			                                        bk_patch_at(b, (size_t)top), res);
			if (top < 0)
				snprintf(res->info, sizeof(res->info), "fault not injected at step %zu: no "
				                                       "patch was applied there", i + 1);
			if (taken && res->rolled_back) {
				pv_stack_remove(&st, (unsigned)top);
				reverted = true;
			} else if (taken) {
				o->rc = res->revert_rc; /* the monitor failed */
			}
			if (taken)
				unstall(p);
		} else if (s->kind == PV_STEP_APPLY && pv_stack_has(&st, s->patch)) {
			/* still applied after a restart: nothing to do */
		} else if (s->kind == PV_STEP_APPLY) {
			int top = pv_stack_top(&st);
			o->ran = true;
			o->rc = seq_engine(p, res, engine, &sp.space, false, states[s->patch],
			                   top >= 0 ? states[top] : NULL, NULL, 0);
			if (!o->rc)
				pv_stack_push(&st, s->patch);
			applied_once |= !o->rc;
			if (!clean_rc(o->rc) && !res->apply_rc)
				res->apply_rc = o->rc;
			else if (o->rc == PV_EBUSY && !res->apply_rc)
				res->apply_rc = PV_EBUSY;
		} else if (s->kind == PV_STEP_REPLACE) {
			/* every applied patch goes at once; the stack is then {P} */
			void *below[PV_SEQ_MAX_PATCHES];
			for (size_t k = 0; k < st.n; k++)
				below[k] = states[st.order[k]];
			o->ran = true;
			o->rc = seq_engine(p, res, engine, &sp.space, false, states[s->patch], NULL,
			                   below, st.n);
			if (!o->rc) {
				st.n = 0;
				pv_stack_push(&st, s->patch);
			}
			applied_once |= !o->rc;
			if (!clean_rc(o->rc) && !res->apply_rc)
				res->apply_rc = o->rc;
			else if (o->rc == PV_EBUSY && !res->apply_rc)
				res->apply_rc = PV_EBUSY;
		} else {
			/* revert:P, or every applied patch newest first */
			o->ran = s->kind == PV_STEP_REVERT_ALL || pv_stack_has(&st, s->patch);
			while (o->ran && !o->rc && !p->exited) {
				int which = s->kind == PV_STEP_REVERT ? (int)s->patch : pv_stack_top(&st);
				if (which < 0 || !pv_stack_has(&st, (unsigned)which))
					break;
				o->rc = seq_engine(p, res, engine, &sp.space, true, states[which], NULL, NULL,
				                   0);
				if (!o->rc) {
					pv_stack_remove(&st, (unsigned)which);
					reverted = true;
				}
				if (res->revert_rc == 1 || (res->revert_rc == 0 && !clean_rc(o->rc)))
					res->revert_rc = clean_rc(o->rc) ? 0 : o->rc;
				if (s->kind == PV_STEP_REVERT)
					break;
			}
		}
		if (reverted)
			unstall(p); /* a stall goes with its patch */
		if (!o->ran || p->exited)
			continue;
		seq_live(b, p, seq, &st, i, o);
		if (!st.n && (reverted || (s->kind == PV_STEP_APPLY && o->rc == PV_EBUSY))) {
			const char *after = reverted ? "the last revert" : "an apply that gave up";
			check_rollback(b, p, after);
			check_leak(p, after);
		}
	}
	if (!applied_once && !res->apply_rc)
		res->apply_rc = PV_EBUSY; /* nothing was applied: the target ended first */
	int fatal = rc;
	snprintf(b->args[1], sizeof(b->args[1]), "%lu", iters); /* a restart has spawned */

	unstall(p);
	killed = finish(p);
	pt_release(p);
	judge_exit(b, p, res, killed);
	b->last_pause_ms = run->longest_pause_ms;
	b->last_signals = run->signals_sent;
	b->last_probe_ms = run->probe_ms;
	pt_space_fini(&sp);
	for (size_t i = 0; i < run->nwrites; i++)
		free(run->writes[i].orig);
	pt_os_free(run->pause_os);
	free(run->pause_mem);
	res->decisions = run->stream.decisions;
	free(run);
	free(p);
	return fatal;
}

const struct pv_backend_ops pv_backend_ptrace_ops = {
	.name = "ptrace",
	.open = bk_open,
	.patch = bk_patch,
	.run = bk_run,
	.close = bk_close,
	.patch_at = bk_patch_at,
	.run_sequence = bk_run_sequence,
};

int pt_backend_prepare(void *handle, unsigned workers, unsigned long iterations,
                       char *const envp[], struct pt_proc *p, struct pt_run *run,
                       struct pt_space *sp, struct pv_error *err)
{
	struct pt_backend *b = handle;
	char saved[2][sizeof(b->args[0])];
	memcpy(saved, b->args, sizeof(saved));
	if (workers)
		snprintf(b->args[0], sizeof(b->args[0]), "%u", workers);
	if (iterations)
		snprintf(b->args[1], sizeof(b->args[1]), "%lu", iterations);
	run->probes = PT_PROBES_OFF;
	run->desc = &b->view.desc;
	p->run = run;
	int rc = setup_env(b, p, envp, false, err);
	memcpy(b->args, saved, sizeof(saved));
	if (rc)
		return rc;
	p->err = err;
	pt_space_init(sp, p, b->mem_model);
	sp->target = b->target;
	sp->patch_path = b->patch_path;
	sp->patch_bias = b->patch_base - b->patch->min_vaddr;
	return 0;
}

unsigned long pt_backend_iterations(void *handle)
{
	return strtoul(((struct pt_backend *)handle)->args[1], NULL, 10);
}

void pt_backend_set_probes(void *handle, enum pt_probes mode)
{
	((struct pt_backend *)handle)->probes = mode;
}

void pt_backend_last_pause(void *handle, double *pause_ms, double *probe_ms)
{
	const struct pt_backend *b = handle;
	*pause_ms = b->last_pause_ms;
	*probe_ms = b->last_probe_ms;
}

void pt_backend_last_steer(void *handle, uint64_t *addr, int *thread)
{
	const struct pt_backend *b = handle;
	*addr = b->last_steer;
	*thread = b->last_steer_thread;
}

uint64_t pt_backend_last_signals(void *handle)
{
	return ((const struct pt_backend *)handle)->last_signals;
}
