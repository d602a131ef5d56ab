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
#include <stdarg.h>
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
#include "../checks/crash.h"
#include "../checks/ineffective.h"
#include "../checks/liveness.h"
#include "../checks/target_verify.h"
#include "../model/sequence.h"
#include "../script/script.h"

#define DELAY_UNIT_S 500e-6

struct pt_backend {
	struct pt_target t;           /* owned: files and command line */
	enum pv_mem_model mem_model;
	unsigned char *image;         /* owned: the relocated patch */
	uint64_t bias, patch_base;
	bool placed;                  /* bias and patch_base are known */
	struct pv_objects objs;       /* owned: the executable and its libraries */
	uint64_t near;                /* the patch area goes within reach of this */
	struct pv_patch_view view;    /* the patch as engines see it, owned */
	struct pv_global_judge *global; /* owned: `consistency` of global engines */
	enum pt_probes probes;
	double last_pause_ms, last_probe_ms; /* of the last run */
	uint64_t last_steer;          /* where the last run parked a thread, 0: none */
	int last_steer_thread;
	uint64_t last_signals;        /* mask of the signals the last run sent */
	enum pv_fault fault;          /* --fault: injected after a successful apply */
	/* A sequence's other patches, each in its own area. */
	struct pt_extra {
		char *path;               /* owned */
		struct pv_patch *patch;   /* owned */
		unsigned char *image;     /* owned: relocated */
		uint64_t base;
		struct pv_patch_view view; /* owned */
	} extra[PV_SEQ_MAX_PATCHES - 1];
	size_t nextra;
	struct pt_program *prog;      /* owned: a program scenario's (program.c), or NULL */
	pid_t attach_pid;             /* > 0: runs in this running process (pid.c) */
	unsigned pid_runs, pid_left;  /* its runs, and those that left the patch applied */
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
	if (!b->placed && (rc = pt_find_gap(p, b->near ? b->near : p->exe_lo, span, base)))
		return rc;
	if ((rc = pt_map_fixed(p, *base, span, PROT_READ | PROT_WRITE)))
		return rc;
	struct pv_resolver res = {.objects = &b->objs, .ifunc = pt_ifunc, .ctx = p};
	if (!*image && (rc = pv_patch_relocate_in(pa, &res, *base, image, err)))
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
	int rc = load_one(b, p, b->t.patch, &b->image, &b->patch_base, err);
	p->patch_lo = b->patch_base;
	p->patch_hi = b->patch_base + b->t.patch->span;
	for (size_t i = 0; !rc && i < b->nextra; i++)
		rc = load_one(b, p, b->extra[i].patch, &b->extra[i].image, &b->extra[i].base, err);
	return rc;
}

uint64_t pt_load_bias(const struct pt_proc *p, const struct pv_image *target)
{
	return target->elf_type == ET_DYN ? p->exe_lo - min_vaddr(target) : 0;
}

int pt_park_main(struct pt_proc *p, uint64_t at)
{
	/* `jmp .`: main spins there, no signal involved (a breakpoint's
	 * SIGTRAP would be pending across the engine's pauses). */
	static const uint8_t spin[2] = {0xeb, 0xfe};
	p->park_addr = at;
	int rc = pt_read(p, p->park_addr, p->park_orig, 2);
	if (!rc)
		rc = pt_write(p, p->park_addr, spin, 2);
	if (!rc)
		p->park_live = true;
	return rc;
}

/* The target's objects, and where the patch area must be: within reach of
 * the first replaced function. A replaced function that no object defines
 * is the user's mistake, said before anything runs. */
static int find_objects(struct pt_backend *b, struct pt_proc *p, struct pv_error *err)
{
	pv_objects_free(&b->objs);
	int rc = pt_objects_read(p, b->t.target, b->bias, &b->objs, err);
	const struct pv_patch *pas[PV_SEQ_MAX_PATCHES];
	size_t npas = 0;
	pas[npas++] = b->t.patch;
	for (size_t i = 0; i < b->nextra; i++)
		pas[npas++] = b->extra[i].patch;
	b->near = 0;
	for (size_t k = 0; !rc && k < npas; k++)
		for (size_t i = 0; !rc && i < pas[k]->nreplacements; i++) {
			struct pv_found f;
			const char *name = pas[k]->replacements[i].old_name;
			if ((rc = pv_objects_find(&b->objs, name, true, &f, err)))
				break;
			if (f.sym->type == STT_GNU_IFUNC)
				rc = pv_error_set(err, PV_ENOENT,
				                  "%s: '%s' is an ifunc in %s (its resolver picks one of "
				                  "several implementations at load time), not a function "
				                  "patchvet can replace", pas[k]->image->path, name,
				                  pv_object_name(&b->objs.v[f.obj]));
			if (!b->near)
				b->near = b->objs.v[f.obj].main ? p->exe_lo : b->objs.v[f.obj].lo;
		}
	return rc;
}

/* Spawns the target and prepares it, stopped at its exec; main parked at
 * pv_verify when park is set; envp NULL: patchvet's environment. */
static int setup_env(struct pt_backend *b, struct pt_proc *p, char *const envp[], bool park,
                     struct pv_error *err)
{
	int rc = b->attach_pid ? pt_pid_attach(b->attach_pid, &b->t, p, err)
	         : b->prog     ? pt_program_spawn(b->prog, p, err)
	                       : pt_spawn_env(b->t.argv, envp, p, err);
	if (rc)
		return rc;
	uint64_t bias = pt_load_bias(p, b->t.target);
	if (b->placed && bias != b->bias) {
		rc = pv_error_set(err, PV_EUNSUPPORTED, "%s loaded at another address than in the "
		                                        "first run (0x%llx, not 0x%llx): is address "
		                                        "space randomisation forced on?",
		                  b->t.target_path, (unsigned long long)bias,
		                  (unsigned long long)b->bias);
		goto fail;
	}
	b->bias = bias;
	p->bias = bias;
	for (size_t i = 0; i < b->t.target->nsegments && p->ntext < 8; i++) {
		const struct pv_segment *sg = &b->t.target->segments[i];
		if (sg->flags & PF_X) {
			p->text[p->ntext][0] = sg->vaddr + bias;
			p->text[p->ntext][1] = sg->vaddr + bias + sg->memsz;
			p->ntext++;
		}
	}
	/* At the entry point the dynamic linker has loaded every library the
	 * program links: a patch can be resolved against them. */
	if ((!b->attach_pid && (rc = pt_run_to(p, b->t.target->entry + bias, PT_START_TIMEOUT_MS))) ||
	    (!b->placed && (rc = find_objects(b, p, err))))
		goto fail;
	p->objects = &b->objs;
	/* The patch was relocated against the first run's libraries (a
	 * running process keeps them where they are, and may load more). */
	if (!b->attach_pid && b->placed && b->objs.n > 1 && !pt_objects_same(p, &b->objs)) {
		rc = pv_error_set(err, PV_EUNSUPPORTED, "%s loaded its libraries at other addresses "
		                                        "than in the first run: is address space "
		                                        "randomisation forced on?", b->t.target_path);
		goto fail;
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
	if (b->t.verify && park && (rc = pt_park_main(p, b->t.verify + bias)))
		goto fail;
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

int pt_target_open(struct pt_target *t, const struct pv_backend_config *cfg,
                   unsigned long iterations, struct pv_error *err)
{
	t->workers = cfg->workload.workers;
	t->target_path = strdup(cfg->target_path);
	t->patch_path = strdup(cfg->patch_path);
	int rc = 0;
	if (!t->target_path || !t->patch_path)
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!rc)
		rc = pv_image_open(cfg->target_path, &t->target, err);
	if (!rc)
		rc = pv_patch_open(cfg->patch_path, &t->patch, err);
	if (rc)
		return rc;
	const struct pv_symbol *v = NULL;
	if (!pv_image_find_function(t->target, "pv_verify", &v, NULL))
		t->verify = v->value;
	snprintf(t->args[0], sizeof(t->args[0]), "%u", cfg->workload.workers);
	snprintf(t->args[1], sizeof(t->args[1]), "%lu", iterations);
	snprintf(t->args[2], sizeof(t->args[2]), "%ld", cfg->workload.param);
	t->argv[0] = t->target_path;
	t->argv[1] = t->args[0];
	t->argv[2] = t->args[1];
	t->argv[3] = t->args[2];
	t->argv[4] = NULL;
	return 0;
}

void pt_target_close(struct pt_target *t)
{
	free(t->target_path);
	free(t->patch_path);
	pv_image_close(t->target);
	pv_patch_close(t->patch);
	memset(t, 0, sizeof(*t));
}

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
		const struct pv_object *ob = pv_objects_at(&b->objs, f->old_addr);
		const unsigned char *code =
		        ob ? pv_image_at(ob->image, f->old_addr - ob->bias, &avail) : NULL;
		if (!code || avail < f->old_size) {
			rc = pv_error_set(err, PV_EFORMAT, "%s: function %s is not inside one loaded "
			                                   "segment", ob ? ob->path : b->t.target_path,
			                  f->old_name);
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
	pt_target_close(&b->t);
	pv_objects_free(&b->objs);
	pv_patch_view_free(&b->view);
	pv_global_judge_close(b->global);
	pt_program_close(b->prog);
	if (b->pid_runs)
		fprintf(stderr, "patchvet: process %d: %s; it runs on, untraced\n", (int)b->attach_pid,
		        b->pid_left ? "the patch was LEFT APPLIED (its code is not the file's)"
		                    : "the patch is not applied (its code is the file's again)");
	free(b->image);
	for (size_t i = 0; i < b->nextra; i++) {
		free(b->extra[i].path);
		pv_patch_close(b->extra[i].patch);
		free(b->extra[i].image);
		pv_patch_view_free(&b->extra[i].view);
	}
	free(b);
}

int pt_target_calibrate(struct pt_target *t, char *const envp[], const char *env_from,
                        unsigned long iterations, double min_ms, struct pv_error *err)
{
	snprintf(t->args[1], sizeof(t->args[1]), "%lu", iterations);
	struct pt_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = pt_spawn_env(t->argv, envp, p, err);
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
			                               "natively%s%s%s (%s)", t->argv[0], t->argv[1],
			                  t->argv[2], t->argv[3], env_from ? " with " : "",
			                  env_from ? env_from : "", env_from ? "'s environment" : "",
			                  p->output[0] ? p->output : "no message");
	}
	free(p);
	if (rc || ms >= min_ms)
		return rc;
	unsigned long scale = (unsigned long)(min_ms / (ms > 0.1 ? ms : 0.1)) + 1;
	if (scale > PT_SCALE_MAX)
		scale = PT_SCALE_MAX;
	snprintf(t->args[1], sizeof(t->args[1]), "%lu", iterations * scale);
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
	unsigned long iters = cfg->workload.iterations * PT_ITERATION_SCALE;
	int rc = pt_target_open(&b->t, cfg, iters, err);
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
	/* A run must still be working while the engine applies and reverts,
	 * whatever the scenario's count (chosen for the emulator) makes of it
	 * natively; a program scenario says itself how long it runs. */
	b->attach_pid = cfg->attach_pid > 0 ? (pid_t)cfg->attach_pid : 0;
	if (b->attach_pid)
		b->t.verify = 0; /* nothing of its own is ever written into it */
	if (cfg->program && !b->attach_pid && (rc = pt_program_open(cfg, &b->prog, err))) {
		bk_close(b);
		return rc;
	}
	b->t.workers = b->prog || b->attach_pid ? 0 : b->t.workers;
	if (!b->prog && !b->attach_pid && (rc = pt_target_calibrate(&b->t, NULL, NULL, iters, PT_MIN_RUN_MS, err))) {
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
	if (!rc && b->prog)
		rc = pt_program_dry_run(b->prog, p, err); /* calibration's counterpart */
	else if (!rc)
		pt_release(p);
	free(p);
	if (!rc)
		rc = pv_patch_describe_in(&b->objs, b->t.patch, b->t.patch_path, b->patch_base,
		                          &b->view, err);
	for (size_t i = 0; !rc && i < b->nextra; i++)
		rc = pv_patch_describe_in(&b->objs, b->extra[i].patch, b->extra[i].path,
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
	const struct pv_object *ob = pv_objects_at(&b->objs, addr);
	const struct pv_image *img = ob ? ob->image : b->t.target;
	uint64_t bias = ob ? ob->bias : b->bias;
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		uint64_t lo = s->value + bias;
		if ((s->type == STT_FUNC || s->type == STT_GNU_IFUNC) && s->shndx != SHN_UNDEF &&
		    addr >= lo && addr < lo + s->size) {
			if (ob && !ob->main)
				snprintf(buf, len, "%s+%llu (0x%llx, %s)", s->name,
				         (unsigned long long)(addr - lo), (unsigned long long)addr,
				         pv_object_name(ob));
			else
				snprintf(buf, len, "%s+%llu (0x%llx)", s->name,
				         (unsigned long long)(addr - lo), (unsigned long long)addr);
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

/* The run script's primitives (harness/script/script.h) work on this. */
struct pt_script {
	struct pt_backend *b;
	struct pt_proc *p;            /* the same struct across a restart */
	struct pt_space *sp;
	const struct pv_engine *engine;
};

static const struct pv_script_ops pt_script_ops;
static const struct pv_patch_desc *bk_patch_at(void *handle, size_t i);

bool pt_code_diff(struct pt_proc *p, const struct pv_image *target, uint64_t bias,
                  struct pv_rollback_finding *f)
{
	bool found = false;
	for (size_t i = 0; i < target->nsegments && !found; i++) {
		const struct pv_segment *s = &target->segments[i];
		size_t avail = 0;
		const unsigned char *orig = pv_image_at(target, s->vaddr, &avail);
		if (!(s->flags & PF_X) || !orig || !avail)
			continue;
		uint8_t *now = malloc(avail);
		uint64_t at = s->vaddr + bias;
		if (now && !pt_read(p, at, now, avail)) {
			for (unsigned k = 0; p->park_live && k < 2; k++)
				if (p->park_addr + k >= at && p->park_addr + k < at + avail)
					now[p->park_addr + k - at] = p->park_orig[k];
			found = pv_judge_rollback(at, now, orig, avail, f);
		}
		free(now);
	}
	return found;
}

/* Whether the run touched a shared object: a replaced function of one of
 * the patches lives there, or the engine wrote there. */
static bool touched(const struct pt_backend *b, const struct pt_run *run,
                    const struct pv_object *ob)
{
	for (size_t i = 0; i < run->nwrites; i++)
		if (run->writes[i].addr >= ob->lo && run->writes[i].addr < ob->hi)
			return true;
	for (size_t k = 0; k <= b->nextra; k++) {
		const struct pv_patch_desc *d = k ? &b->extra[k - 1].view.desc : &b->view.desc;
		for (size_t i = 0; i < d->nfuncs; i++)
			if (d->funcs[i].old_addr >= ob->lo && d->funcs[i].old_addr < ob->hi)
				return true;
	}
	return false;
}

/* rollback-bytes facts: every executable byte of the target and of every
 * shared object the run touched against its file, and every other code
 * range the engine wrote against what it held before; the first that
 * differs. */
static bool rollback_diff(void *ctx, struct pv_rollback_finding *f, char *where, size_t len)
{
	const struct pt_script *x = ctx;
	struct pt_backend *b = x->b;
	struct pt_proc *p = x->p;
	if (pt_has_violation(p, PV_CHECK_ROLLBACK_BYTES)) {
		pv_error_clear(p->err);
		return false; /* the first of a check is the one kept */
	}
	const struct pt_run *run = p->run;
	bool found = false;
	for (size_t k = 0; k < b->objs.n && !found; k++) {
		const struct pv_object *ob = &b->objs.v[k];
		if (ob->main || touched(b, run, ob))
			found = pt_code_diff(p, ob->image, ob->bias, f);
	}
	if (found)
		symbolize(b, f->addr, where, len);
	for (size_t i = 0; i < run->nwrites && !found; i++) {
		const struct pt_write *w = &run->writes[i];
		const struct pv_object *ob = pv_objects_at(&b->objs, w->addr);
		if ((w->addr >= p->exe_lo && w->addr < p->exe_hi) || ob)
			continue; /* judged against the file above */
		bool own = w->addr >= p->patch_lo && w->addr < p->patch_hi;
		for (size_t k = 0; k < run->nmaps; k++)
			own |= w->addr >= run->maps[k].addr &&
			       w->addr < run->maps[k].addr + run->maps[k].len;
		uint8_t *now = malloc(w->len);
		if (!own && now && !pt_read(p, w->addr, now, w->len) &&
		    (found = pv_judge_rollback(w->addr, now, w->orig, w->len, f)))
			snprintf(where, len, "0x%llx", (unsigned long long)f->addr);
		free(now);
	}
	pv_error_clear(p->err);
	return found;
}

/* rollback-leak facts: the run's map_near mappings still there, in the
 * books or in /proc/PID/maps. */
static size_t leaked(void *ctx, uint64_t *addr, uint64_t *len)
{
	const struct pt_script *x = ctx;
	struct pt_proc *p = x->p;
	const struct pt_run *run = p->run;
	char path[64], line[512];
	size_t n = 0;
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
		if (mapped && !n++) {
			*addr = m->addr;
			*len = m->len;
		}
	}
	return n;
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
	const unsigned *workers = arg;
	/* Every worker was born (some may have finished already). */
	return p->nthreads >= *workers + 1;
}

void pt_start_workers(struct pt_proc *p, unsigned workers, bool restart)
{
	pt_resume_thread(p, &p->threads[0]);
	if (pt_pump_until(p, pt_now() + PT_START_TIMEOUT_MS / 1e3, workers_started, &workers) ==
	    PV_ETIMEDOUT) {
		char detail[PV_CHECK_DETAIL_LEN];
		pv_liveness_word_start(restart, workers, PT_START_TIMEOUT_MS, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "%s", detail);
	}
}

static void delay(struct pt_proc *p)
{
	if (p->run && p->run->program) {
		pt_program_window(p->run->program, p);
		return;
	}
	unsigned b = pt_decide(p, 2);
	pt_pump(p, pt_now() + (b & 15) * DELAY_UNIT_S);
}

void pt_judge_exit(struct pt_proc *p, struct pv_run_result *res, bool killed,
                   const char *crash_where, const char *when)
{
	char detail[PV_CHECK_DETAIL_LEN];
	if (p->crash.seen) {
		char pc[32];
		snprintf(pc, sizeof(pc), "0x%llx", (unsigned long long)p->crash.pc);
		pv_crash_word_thread_signal(p->crash.thread, sigabbrev_np(p->crash.sig),
		                            crash_where ? crash_where : pc,
		                            (unsigned long long)p->crash.addr, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_CRASH, p->crash.thread, p->crash.pc, "%s", detail);
		return;
	}
	if (!p->exited || killed)
		return;
	if (WIFSIGNALED(p->status)) {
		pv_crash_word_signal(sigabbrev_np(WTERMSIG(p->status)), when, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_CRASH, -1, 0, "%s", detail);
		return;
	}
	int code = WEXITSTATUS(p->status);
	res->verify_status = code;
	if (code) {
		char first[160];
		snprintf(first, sizeof(first), "%.159s", p->output);
		first[strcspn(first, "\n")] = '\0';
		pv_target_verify_word_exit(code, first, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_TARGET_VERIFY, -1, 0, "%s", detail);
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
	run->workers = b->t.workers;
	run->program = b->prog;
	int rc = 0;
	if (b->attach_pid && b->pid_left)
		rc = pv_error_set(serr, PV_ESTATE, "process %d still runs the patch an earlier "
		                                   "schedule applied (the engine's revert did not "
		                                   "remove it): no further schedule can start there",
		                  (int)b->attach_pid);
	if (!rc)
		rc = setup(b, p, serr);
	if (rc) {
		pv_error_set(err, rc, "%s", serr->msg);
		pt_program_end(b->prog);
		free(run);
		free(p);
		return rc;
	}
	p->err = serr;
	pt_space_init(sp, p, b->mem_model);
	sp->target = b->t.target;
	sp->objects = &b->objs;
	sp->patch_path = b->t.patch_path;
	sp->patch_bias = b->patch_base - b->t.patch->min_vaddr;
	b->last_steer = 0;
	b->last_steer_thread = -1;
	run->gentle = b->attach_pid > 0;
	if (b->prog)
		pt_program_start(b->prog, p);
	else if (b->attach_pid)
		pt_pid_start(p);
	else
		pt_start_workers(p, b->t.workers, false);
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
	unsigned long iters = strtoul(b->t.args[1], NULL, 10);
	if (fault)
		snprintf(b->t.args[1], sizeof(b->t.args[1]), "%lu", iters * PT_FAULT_SCALE);
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

/* The injected fault, natively. Crash: the first live worker
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

/* Script primitives of the fault judgement: the fault injected with the
 * patch's functions for a slowdown; between monitor calls the workers run
 * PT_MONITOR_TICK_MS (emu: one scheduling slice). */
static const char *inject(void *ctx, enum pv_fault fault, size_t patch)
{
	const struct pt_script *x = ctx;
	if (inject_fault(x->p, fault, bk_patch_at(x->b, patch)))
		return NULL;
	return fault == PV_FAULT_SLOWDOWN
	               ? "fault not injected: no function of the patch could be slowed down"
	               : "fault not injected: every worker had finished when apply returned";
}

static bool workers_left(void *ctx)
{
	const struct pt_script *x = ctx;
	const struct pt_proc *p = x->p;
	bool left = false;
	for (size_t i = 0; i < p->nthreads; i++)
		left |= p->threads[i].id > 0 && p->threads[i].id <= p->run->workers &&
		        p->threads[i].live;
	return left;
}

static void tick(void *ctx)
{
	const struct pt_script *x = ctx;
	pt_pump(x->p, pt_now() + PT_MONITOR_TICK_MS / 1e3);
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

/* The end of every run: the target let go to verify and awaited (not
 * after a crash: the group is dying, and a dying leader reports nothing
 * until every thread is reaped), crash, liveness and target-verify from
 * how it ended, the run's figures kept, everything freed. */
static void end_run(struct pt_backend *b, struct pt_proc *p, struct pt_run *run,
                    struct pt_space *sp, struct pv_run_result *res)
{
	unstall(p);
	bool killed = b->attach_pid ? false : b->prog ? pt_program_stop(b->prog, p) : finish(p);
	pt_release(p);
	if (b->attach_pid) {
		b->pid_runs++;
		b->pid_left += p->left_applied;
		snprintf(res->info, sizeof(res->info), "process %d: %s, running untraced",
		         (int)b->attach_pid, p->left_applied ? "the patch was LEFT APPLIED"
		                                            : "the patch is not applied");
	}
	char where[160];
	if (p->crash.seen)
		symbolize(b, p->crash.pc, where, sizeof(where));
	if (b->prog)
		pt_program_judge(b->prog, p, res, killed, p->crash.seen ? where : NULL);
	else
		pt_judge_exit(p, res, killed, p->crash.seen ? where : NULL, NULL);
	pt_program_end(b->prog);
	b->last_pause_ms = run->longest_pause_ms;
	b->last_signals = run->signals_sent;
	b->last_probe_ms = run->probe_ms;
	pt_space_fini(sp);
	for (size_t i = 0; i < run->nwrites; i++)
		free(run->writes[i].orig);
	pt_os_free(run->pause_os);
	free(run->pause_mem);
	res->decisions = run->stream.decisions;
	free(run);
	free(p);
}

static int live_read(void *ctx, uint64_t addr, void *buf, size_t len);

/* Whether the first bytes of replaced function f (as far as a 5-byte jmp
 * reaches, or the whole function when shorter) are still those of its file. */
static bool entry_is_files(const struct pt_backend *b, struct pt_script *x,
                           const struct pv_patch_func *f)
{
	const struct pv_object *ob = pv_objects_at(&b->objs, f->old_addr);
	size_t n = 16, avail = 0;
	if (f->old_size && f->old_size < n)
		n = (size_t)f->old_size;
	const unsigned char *orig =
	        ob ? pv_image_at(ob->image, f->old_addr - ob->bias, &avail) : NULL;
	uint8_t now[16];
	return orig && avail >= n && !live_read(x, f->old_addr, now, n) && !memcmp(now, orig, n);
}

/* ineffective, once apply returned 0: a call of each replaced function, at
 * its entry, must reach the replacement (jmps followed), or a GOT slot of
 * it must lead there (an engine that redirects calls through the GOT).
 * Entries that start with a call or a trap are left to the engine's
 * handler, which the code alone does not show. */
static void check_effect(struct pt_script *x)
{
	struct pt_backend *b = x->b;
	struct pt_proc *p = x->p;
	const struct pv_patch_desc *d = &b->view.desc;
	const struct pv_patch_desc *descs[1] = {d};
	for (size_t i = 0; i < d->nfuncs && !p->exited; i++) {
		const struct pv_patch_func *f = &d->funcs[i];
		uint64_t dest = 0;
		if (!f->old_addr)
			continue;
		/* The jmps lead elsewhere, or to a trap or a call, which only
		 * the engine can say where it goes: unless the entry is still
		 * the file's own code (which may itself jump through a pointer,
		 * as a dispatching function does). */
		int live = pv_live_resolve(live_read, x, f->old_addr, &dest)
		                   ? -2
		                   : pv_live_classify(descs, 1, f->old_name, dest);
		if (live == -2 && entry_is_files(b, x, f))
			live = -1;
		if (live != -1)
			continue;
		bool via_got = false;
		for (size_t k = 0; k < d->ngot_slots && !via_got; k++) {
			uint64_t to = 0;
			via_got = d->got_slots[k].func == i && !pt_read(p, d->got_slots[k].addr, &to, 8) &&
			          to >= f->new_addr && to < f->new_addr + (f->new_size ? f->new_size : 1);
		}
		if (via_got)
			continue;
		const struct pv_object *ob = pv_objects_at(&b->objs, f->old_addr);
		char detail[PV_CHECK_DETAIL_LEN];
		pv_ineffective_word_entry(f->old_name, ob && !ob->main ? pv_object_name(ob) : NULL,
		                          (unsigned long long)f->old_addr, detail, sizeof(detail));
		pt_violation(p, PV_CHECK_INEFFECTIVE, -1, f->old_addr, "%s", detail);
		break;
	}
	pv_error_clear(p->err);
}

/* An engine operation that failed because the target ended meanwhile (a
 * program that exits by itself when its work is done): the target's doing,
 * not the engine's failure. True, with the result saying so, when the
 * process is gone or goes within a moment; a crash is judged as ever. */
static bool ended_meanwhile(struct pt_proc *p, int rc, const char *op,
                            struct pv_run_result *res)
{
	if (!rc || rc == PV_EBUSY || rc == PV_EREFUSED)
		return false;
	if (!p->exited)
		pt_pump(p, pt_now() + 0.2);
	if (!p->exited || p->crash.seen)
		return false;
	pv_error_clear(p->err);
	res->space_error[0] = '\0';
	snprintf(res->engine_error, sizeof(res->engine_error), "the target ended during %s", op);
	return true;
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
	snprintf(b->t.args[1], sizeof(b->t.args[1]), "%lu", iters);
	if (rc)
		return rc;
	delay(p);
	if (p->exited || (b->prog && !pt_program_ready(b->prog))) {
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
	if (ended_meanwhile(p, res->apply_rc, "apply", res))
		res->apply_rc = PV_EBUSY; /* nothing left to patch, as before apply */
	pt_steer_release(p);
	struct pt_script x = {.b = b, .p = p, .sp = &sp, .engine = engine};
	struct pv_script sc = {.ops = &pt_script_ops, .ctx = &x, .engine = engine, .res = res};
	if (res->apply_rc == 0 && !p->exited)
		check_effect(&x);
	if (res->apply_rc == PV_EBUSY && !p->exited)
		pv_script_rollback(&sc, "apply gave up");
	int taken = 0;
	if (res->apply_rc == 0 && !p->exited && b->fault &&
	    (taken = pv_script_auto_rollback(&sc, engine_state, 0, b->fault, err)) &&
	    res->rolled_back && !p->exited)
		pv_script_rollback(&sc, "revert");
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
		if (ended_meanwhile(p, res->revert_rc, "revert", res))
			res->revert_rc = 1; /* nothing left to revert */
		if (res->revert_rc == 0 && !p->exited)
			pv_script_rollback(&sc, "revert");
	}

finish:
	end_run(b, p, run, &sp, res);
	return 0;
}

/* ------------------------------------------------------------ sequences */

static const struct pv_patch_desc *bk_patch_at(void *handle, size_t i)
{
	struct pt_backend *b = handle;
	return i == 0 ? &b->view.desc : i <= b->nextra ? &b->extra[i - 1].view.desc : NULL;
}

/* The run script's primitives (harness/script/script.h) over a live
 * process. */

/* Target memory as the engine left it: a slowdown's detours (the
 * harness's own instrumentation) read as the bytes they replaced. */
static int live_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct pt_proc *p = ((const struct pt_script *)ctx)->p;
	int rc = pt_read(p, addr, buf, len);
	for (unsigned i = 0; !rc && p->run && i < p->run->nslow; i++) {
		const struct pt_detour *d = &p->run->slow[i];
		for (unsigned k = 0; k < d->len; k++)
			if (d->at + k >= addr && d->at + k < addr + len)
				((uint8_t *)buf)[d->at + k - addr] = d->orig[k];
	}
	return rc;
}

static const struct pv_patch_desc *patch_at(void *ctx, size_t i)
{
	return bk_patch_at(((const struct pt_script *)ctx)->b, i);
}

/* One engine operation through the space, with its bound and the
 * stopped-world check after it (after_engine). */
static int call(void *ctx, const struct pv_script_call *c, int *rc, struct pv_error *err)
{
	(void)err;
	const struct pt_script *x = ctx;
	struct pt_proc *p = x->p;
	struct pv_space *space = &x->sp->space;
	const struct pv_engine *engine = x->engine;
	struct pt_run *run = p->run;
	struct pv_error eerr;
	pv_error_clear(&eerr);
	pv_error_clear(p->err);
	const char *what = pv_script_op_name(c->op);
	run->in_engine = true;
	run->op = what;
	double t0 = pt_now();
	run->engine_deadline = t0 + PT_ENGINE_TIMEOUT_MS / 1e3;
	switch (c->op) {
	case PV_SCRIPT_APPLY:
		*rc = engine->apply(c->state, space, &eerr);
		break;
	case PV_SCRIPT_APPLY_ON_TOP:
		*rc = engine->apply_on_top(c->state, c->below, space, &eerr);
		break;
	case PV_SCRIPT_REPLACE:
		*rc = engine->apply_replace(c->state, c->replaced, c->nreplaced, space, &eerr);
		break;
	case PV_SCRIPT_REVERT:
		*rc = engine->revert(c->state, space, &eerr);
		break;
	case PV_SCRIPT_RESTARTED:
		*rc = engine->restarted(c->state, space, &eerr);
		break;
	case PV_SCRIPT_MONITOR:
		*rc = engine->monitor(c->state, space, &eerr);
		break;
	}
	run->in_engine = false;
	after_engine(p, what, *rc, t0, &eerr, p->run->res);
	return 0;
}

static void delay_op(void *ctx)
{
	delay(((const struct pt_script *)ctx)->p);
}

/* The restart step: the process is killed and spawned again from its file
 * (patch images loaded, nothing applied). 0, or a code when the new
 * process cannot be made (err filled). */
static int restart(void *ctx, struct pv_error *err)
{
	const struct pt_script *x = ctx;
	struct pt_backend *b = x->b;
	struct pt_proc *p = x->p;
	struct pt_space *sp = x->sp;
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
	sp->target = b->t.target;
	sp->objects = &b->objs;
	sp->patch_path = b->t.patch_path;
	sp->patch_bias = b->patch_base - b->t.patch->min_vaddr;
	if (b->prog)
		pt_program_start(b->prog, p);
	else
		pt_start_workers(p, b->t.workers, true);
	pt_unwind_open(p, sp->patch_path, sp->patch_bias, &sp->unwind);
	return 0;
}

static void unstall_op(void *ctx)
{
	unstall(((const struct pt_script *)ctx)->p);
}

static void stepped(void *ctx, const struct pv_sequence *seq,
                    const struct pv_patch_desc *const *descs, const struct pv_stack *st)
{
	(void)seq, (void)descs, (void)st;
	pv_error_clear(((const struct pt_script *)ctx)->p->err); /* the live check's reads */
}

static void violation(void *ctx, enum pv_check_id check, int thread, uint64_t addr,
                      const char *detail)
{
	pt_violation(((const struct pt_script *)ctx)->p, check, thread, addr, "%s", detail);
}

static bool ended(void *ctx)
{
	return ((const struct pt_script *)ctx)->p->exited;
}

static bool crashed(void *ctx)
{
	return ((const struct pt_script *)ctx)->p->crash.seen;
}

static const struct pv_script_ops pt_script_ops = {
	.call = call,
	.delay = delay_op,
	.read = live_read,
	.patch_at = patch_at,
	.restart = restart,
	.inject = inject,
	.workers_left = workers_left,
	.tick = tick,
	.unstall = unstall_op,
	.stepped = stepped,
	.rollback_diff = rollback_diff,
	.leaked = leaked,
	.violation = violation,
	.ended = ended,
	.crashed = crashed,
	.rollback_every_time = true,
};

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
		snprintf(b->t.args[1], sizeof(b->t.args[1]), "%lu", iters);
		return rc;
	}
	struct pt_script x = {.b = b, .p = p, .sp = &sp, .engine = engine};
	struct pv_script sc = {.ops = &pt_script_ops, .ctx = &x, .engine = engine, .res = res};
	int fatal = pv_script_sequence(&sc, states, seq, err);
	snprintf(b->t.args[1], sizeof(b->t.args[1]), "%lu", iters); /* a restart has spawned */

	end_run(b, p, run, &sp, res);
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
	char saved[2][sizeof(b->t.args[0])];
	memcpy(saved, b->t.args, sizeof(saved));
	if (workers)
		snprintf(b->t.args[0], sizeof(b->t.args[0]), "%u", workers);
	if (iterations)
		snprintf(b->t.args[1], sizeof(b->t.args[1]), "%lu", iterations);
	run->probes = PT_PROBES_OFF;
	run->desc = &b->view.desc;
	p->run = run;
	int rc = setup_env(b, p, envp, false, err);
	memcpy(b->t.args, saved, sizeof(saved));
	if (rc)
		return rc;
	p->err = err;
	pt_space_init(sp, p, b->mem_model);
	sp->target = b->t.target;
	sp->objects = &b->objs;
	sp->patch_path = b->t.patch_path;
	sp->patch_bias = b->patch_base - b->t.patch->min_vaddr;
	return 0;
}

int pt_backend_ctl(void *handle, enum pt_ctl what, ...)
{
	struct pt_backend *b = handle;
	va_list ap;
	va_start(ap, what);
	int rc = 0;
	switch (what) {
	case PT_CTL_SET_PROBES:
		b->probes = (enum pt_probes)va_arg(ap, int);
		break;
	case PT_CTL_LAST_PAUSE:
		*va_arg(ap, double *) = b->last_pause_ms;
		*va_arg(ap, double *) = b->last_probe_ms;
		break;
	case PT_CTL_LAST_STEER:
		*va_arg(ap, uint64_t *) = b->last_steer;
		*va_arg(ap, int *) = b->last_steer_thread;
		break;
	case PT_CTL_LAST_SIGNALS:
		*va_arg(ap, uint64_t *) = b->last_signals;
		break;
	case PT_CTL_ITERATIONS:
		*va_arg(ap, unsigned long *) = strtoul(b->t.args[1], NULL, 10);
		break;
	default:
		rc = PV_EINVAL;
	}
	va_end(ap);
	return rc;
}
