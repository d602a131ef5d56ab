/* pv-patcher: a standalone user-space patcher built from the stw-jmp
 * reference engine (engines/jmp.c), for `patchvet run --engine exec:FILE`
 * (docs/exec-adapter.md) and as an example of an external tool.
 *
 *   pv-patcher [DEFECT] apply  PID PATCH TARGET STATEFILE
 *   pv-patcher [DEFECT] revert PID PATCH TARGET STATEFILE
 *   pv-patcher status PID STATEFILE
 *
 * apply seizes every thread of PID and stops them all, maps the patch
 * (relocated against TARGET as loaded) within 2 GiB of the executable, waits
 * until no thread has its pc or a return address in a replaced function
 * (resuming them briefly between looks), writes a `jmp rel32` over each
 * entry (after an endbr64), records the saved bytes and the mapping in
 * STATEFILE, and detaches. revert waits until no thread is in the patch,
 * puts the bytes back, unmaps the patch and removes STATEFILE. status
 * prints "applied" or "not-applied".
 *
 * DEFECT, one at most, each a defect the exec adapter must catch:
 *   --broken      apply and revert say they succeeded and do nothing
 *                 (ineffective);
 *   --bad-revert  revert puts back only the first byte of each jmp
 *                 (crash, or rollback-bytes when nothing calls it any more);
 *   --leaky       revert never unmaps the patch (rollback-leak);
 *   --scribble    apply also writes a word of the target's data that its
 *                 code never writes, the first of .data (state-mem);
 *   --close-fd    apply also closes the target's fd 0 (state-os);
 *   --ignore-signal  apply also sets SIGPIPE to SIG_IGN in the target
 *                 (state-os: a signal disposition);
 *   --clobber-gs  apply changes the main thread's gs_base, as a tool that
 *                 restores a stale saved register would (state-regs).
 *
 * Exit status: 0 done, 1 failed, 2 usage, 75 busy (threads never left the
 * replaced functions; nothing changed). */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../harness/load/image.h"
#include "../harness/load/patchfile.h"
#include "../harness/ptrace/ptrace.h"

#define JMP_LEN 5
#define MAX_SITES 64
#define ATTEMPTS 200
#define MAX_FRAMES 64
#define EXIT_BUSY 75

struct site {
	uint64_t at;              /* where the jmp goes */
	uint64_t lo, hi;          /* the old function */
	uint64_t to;              /* the new function */
	uint8_t saved[JMP_LEN];
};

struct state {
	uint64_t base, span;
	size_t nsites;
	struct site sites[MAX_SITES];
};

/* One inclusive address range that no thread may be in. */
struct range {
	uint64_t lo, hi;
};

enum defect { NONE, BROKEN, BAD_REVERT, LEAKY, SCRIBBLE, CLOSE_FD, IGNORE_SIGNAL, CLOBBER_GS };

static int usage(void)
{
	fputs("usage: pv-patcher [--broken|--bad-revert|--leaky|--scribble|--close-fd|"
	      "--ignore-signal|--clobber-gs] apply|revert PID PATCH TARGET STATEFILE\n"
	      "       pv-patcher status PID STATEFILE\n",
	      stderr);
	return 2;
}

static int sys(struct pt_proc *p, long nr, const uint64_t *a, unsigned n, int64_t *ret)
{
	struct pt_thread *t;
	bool temp;
	int rc = pt_worker_thread(p, &t, &temp);
	if (!rc)
		rc = pt_syscall(p, t, nr, a, n, ret);
	if (temp)
		pt_resume_thread(p, t);
	if (!rc && *ret < 0 && *ret > -4096)
		rc = pv_error_set(p->err, PV_EIO, "system call %ld in process %d failed: %s", nr,
		                  (int)p->pid, strerror((int)-*ret));
	return rc;
}

static bool inside(const struct range *r, size_t n, uint64_t pc)
{
	for (size_t i = 0; i < n; i++)
		if (pc >= r[i].lo && pc < r[i].hi)
			return true;
	return false;
}

/* Stops the world with no thread in any of the ranges (returns 0, all
 * stopped), or PV_EBUSY after ATTEMPTS looks. */
static int quiesce(struct pt_proc *p, struct pt_unwind *u, const struct range *r, size_t n)
{
	for (unsigned attempt = 0; attempt < ATTEMPTS; attempt++) {
		int rc = attempt ? pt_stop_all(p, NULL) : 0;
		if (rc)
			return rc;
		bool busy = false;
		for (size_t i = 0; !busy && i < p->nthreads; i++) {
			struct pt_thread *t = &p->threads[i];
			if (!t->live)
				continue;
			uint64_t pcs[MAX_FRAMES];
			size_t count = 0;
			rc = pt_backtrace(p, u, t, pcs, MAX_FRAMES, &count);
			busy = rc == PV_EBUSY;
			if (rc && rc != PV_EBUSY)
				return rc;
			for (size_t k = 0; !busy && k < count; k++)
				busy = inside(r, n, pcs[k]);
		}
		if (!busy)
			return 0;
		pv_error_clear(p->err);
		pt_resume_all(p);
		pt_pump(p, pt_now() + 0.0002 * (1 + attempt % 10));
	}
	return pv_error_set(p->err, PV_EBUSY, "a thread stayed inside a replaced function for "
	                                      "%d looks", ATTEMPTS);
}

static int save_state(const char *path, const struct state *s, struct pv_error *err)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return pv_error_set(err, PV_EIO, "%s: %s", path, strerror(errno));
	fprintf(f, "pv-patcher 1\nmap %" PRIx64 " %" PRIx64 "\n", s->base, s->span);
	for (size_t i = 0; i < s->nsites; i++) {
		const struct site *st = &s->sites[i];
		fprintf(f, "site %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64, st->at, st->lo,
		        st->hi, st->to);
		for (unsigned k = 0; k < JMP_LEN; k++)
			fprintf(f, " %02x", st->saved[k]);
		fputc('\n', f);
	}
	if (fclose(f))
		return pv_error_set(err, PV_EIO, "%s: %s", path, strerror(errno));
	return 0;
}

static int load_state(const char *path, struct state *s, struct pv_error *err)
{
	memset(s, 0, sizeof(*s));
	FILE *f = fopen(path, "r");
	if (!f)
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s: %s", path,
		                    strerror(errno));
	char line[256];
	int rc = 0;
	if (!fgets(line, sizeof(line), f) || strcmp(line, "pv-patcher 1\n") ||
	    !fgets(line, sizeof(line), f) ||
	    sscanf(line, "map %" SCNx64 " %" SCNx64, &s->base, &s->span) != 2)
		rc = pv_error_set(err, PV_EFORMAT, "%s: not a pv-patcher state file", path);
	while (!rc && fgets(line, sizeof(line), f)) {
		struct site *st = &s->sites[s->nsites];
		unsigned b[JMP_LEN];
		if (s->nsites == MAX_SITES ||
		    sscanf(line, "site %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %x %x %x %x %x",
		           &st->at, &st->lo, &st->hi, &st->to, &b[0], &b[1], &b[2], &b[3], &b[4]) != 9) {
			rc = pv_error_set(err, PV_EFORMAT, "%s: bad line '%.60s'", path, line);
			break;
		}
		for (unsigned k = 0; k < JMP_LEN; k++)
			st->saved[k] = (uint8_t)b[k];
		s->nsites++;
	}
	fclose(f);
	return rc;
}

static void jmp_bytes(const struct site *s, uint8_t out[JMP_LEN])
{
	int32_t rel = (int32_t)(int64_t)(s->to - (s->at + JMP_LEN));
	out[0] = 0xe9;
	memcpy(out + 1, &rel, 4);
}

/* Sites of every replacement, for a patch loaded at base. */
static int plan(const struct pv_objects *objs, const struct pv_patch *patch, uint64_t base,
                struct state *s, struct pv_error *err)
{
	for (size_t i = 0; i < patch->nreplacements; i++) {
		const struct pv_replacement *r = &patch->replacements[i];
		struct pv_found f;
		if (pv_objects_find(objs, r->old_name, true, &f, err))
			return PV_ENOENT;
		const struct pv_symbol *old = f.sym;
		uint64_t bias = objs->v[f.obj].bias;
		if (s->nsites == MAX_SITES)
			return pv_error_set(err, PV_ERANGE, "more than %d replacements", MAX_SITES);
		size_t avail = 0;
		const unsigned char *code = pv_image_at(objs->v[f.obj].image, old->value, &avail);
		static const uint8_t endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
		unsigned skip = code && avail >= 4 && !memcmp(code, endbr64, 4) ? 4 : 0;
		if (old->size < skip + JMP_LEN)
			return pv_error_set(err, PV_EUNSUPPORTED, "%s is too short for a jmp", r->old_name);
		struct site *st = &s->sites[s->nsites++];
		st->lo = old->value + bias;
		st->hi = st->lo + old->size;
		st->at = st->lo + skip;
		st->to = base + r->new_sym->value - patch->min_vaddr;
		int64_t d = (int64_t)(st->to - (st->at + JMP_LEN));
		if (d != (int32_t)d)
			return pv_error_set(err, PV_ERANGE, "%s's replacement is out of a jmp's reach",
			                    r->old_name);
	}
	return 0;
}

/* Maps the patch at base and protects each page as its segments say. */
static int load_patch(struct pt_proc *p, const struct pv_patch *patch, const unsigned char *image,
                      uint64_t base)
{
	int64_t r;
	uint64_t a[6] = {base, patch->span, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0};
	int rc = sys(p, SYS_mmap, a, 6, &r);
	if (!rc && (uint64_t)r != base)
		rc = pv_error_set(p->err, PV_EIO, "mmap placed the patch elsewhere");
	if (!rc)
		rc = pt_write(p, base, image, patch->span);
	const struct pv_image *img = patch->image;
	for (size_t i = 0; !rc && i < img->nsegments; i++) {
		const struct pv_segment *sg = &img->segments[i];
		uint64_t lo = (sg->vaddr - patch->min_vaddr) & ~(PT_PAGE - 1);
		uint64_t hi = (sg->vaddr - patch->min_vaddr + sg->memsz + PT_PAGE - 1) & ~(PT_PAGE - 1);
		int prot = (sg->flags & PF_R ? PROT_READ : 0) | (sg->flags & PF_W ? PROT_WRITE : 0) |
		           (sg->flags & PF_X ? PROT_EXEC : 0);
		uint64_t m[3] = {base + lo, hi - lo, (uint64_t)prot};
		rc = sys(p, SYS_mprotect, m, 3, &r);
	}
	return rc;
}

/* The state defects, after a successful apply, every thread stopped. */
static int side_effect(struct pt_proc *p, const struct pv_image *target, uint64_t bias,
                       enum defect defect)
{
	int64_t r;
	if (defect == SCRIBBLE) {
		const struct pv_section *d = pv_image_section(target, ".data");
		static const uint8_t junk[8] = {0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};
		return d ? pt_write(p, d->addr + bias, junk, sizeof(junk))
		         : pv_error_set(p->err, PV_ENOENT, "the target has no .data");
	}
	if (defect == CLOSE_FD) {
		uint64_t a[1] = {0};
		return sys(p, SYS_close, a, 1, &r);
	}
	if (defect == CLOBBER_GS) {
		/* gs_base: no user-space code of the target uses it, so the target
		 * runs on and only the check sees it (main is always there). */
		struct pt_regset *regs = &p->scratch;
		int rc = pt_regs_get(p, &p->threads[0], regs);
		if (rc)
			return rc;
		regs->gpr.gs_base ^= 0x10000;
		return pt_regs_set(p, &p->threads[0], regs, false);
	}
	if (defect == IGNORE_SIGNAL) {
		/* A struct kernel_sigaction {SIG_IGN, flags 0, restorer 0, mask 0}
		 * below the red zone of the thread that makes the call. */
		struct pt_thread *t;
		bool temp;
		int rc = pt_worker_thread(p, &t, &temp);
		if (temp)
			pt_resume_thread(p, t);
		if (rc)
			return rc;
		uint64_t act[4] = {1, 0, 0, 0}, at = (t->regs.rsp - 512) & ~15ull;
		if ((rc = pt_write(p, at, act, sizeof(act))))
			return rc;
		uint64_t a[4] = {SIGPIPE, at, 0, 8};
		return sys(p, SYS_rt_sigaction, a, 4, &r);
	}
	return 0;
}

static int apply(struct pt_proc *p, const char *patch_path, const char *target_path,
                 const char *state_path, enum defect defect, struct pv_error *err)
{
	struct pv_image *target = NULL;
	struct pv_patch *patch = NULL;
	unsigned char *image = NULL;
	struct pt_unwind *u = NULL;
	struct state *s = calloc(1, sizeof(*s));
	bool mapped = false;
	int rc = s ? 0 : pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!rc && !access(state_path, F_OK))
		rc = pv_error_set(err, PV_ESTATE, "%s exists: the patch is applied already",
		                  state_path);
	if (!rc)
		rc = pv_image_open(target_path, &target, err);
	if (!rc)
		rc = pv_patch_open(patch_path, &patch, err);
	uint64_t lo = UINT64_MAX;
	for (size_t i = 0; !rc && i < target->nsegments; i++)
		if (target->segments[i].vaddr < lo)
			lo = target->segments[i].vaddr;
	uint64_t bias = 0;
	if (!rc && target->elf_type == ET_DYN)
		bias = p->exe_lo - (lo & ~(PT_PAGE - 1));
	/* The program and its libraries, as its dynamic linker loaded them:
	 * the patch goes within reach of the first replaced function. */
	struct pv_objects objs = {0};
	uint64_t near = p->exe_lo;
	if (!rc)
		rc = pt_objects_read(p, target, bias, &objs, err);
	if (!rc && patch->nreplacements) {
		struct pv_found f;
		if (!pv_objects_find(&objs, patch->replacements[0].old_name, true, &f, err))
			near = objs.v[f.obj].lo;
	}
	if (!rc && !(rc = pt_find_gap(p, near, patch->span, &s->base)))
		s->span = patch->span;
	struct pv_resolver res = {.objects = &objs};
	if (!rc)
		rc = pv_patch_relocate_in(patch, &res, s->base, &image, err);
	if (!rc)
		rc = plan(&objs, patch, s->base, s, err);
	pv_objects_free(&objs);
	if (!rc && !(rc = load_patch(p, patch, image, s->base)))
		mapped = true;
	if (!rc)
		rc = pt_unwind_open(p, patch_path, s->base - patch->min_vaddr, &u);
	struct range busy[MAX_SITES];
	for (size_t i = 0; !rc && i < s->nsites; i++)
		busy[i] = (struct range){s->sites[i].lo, s->sites[i].hi};
	if (!rc)
		rc = quiesce(p, u, busy, s->nsites);
	for (size_t i = 0; !rc && i < s->nsites; i++)
		rc = pt_read(p, s->sites[i].at, s->sites[i].saved, JMP_LEN);
	if (!rc)
		rc = save_state(state_path, s, err);
	for (size_t i = 0; !rc && i < s->nsites; i++) {
		uint8_t jmp[JMP_LEN];
		jmp_bytes(&s->sites[i], jmp);
		rc = pt_write(p, s->sites[i].at, jmp, JMP_LEN);
	}
	if (!rc)
		rc = side_effect(p, target, bias, defect);
	if (rc && mapped) {
		/* Nothing of the patch stays behind a failed apply. */
		struct pv_error ignored;
		struct pv_error *keep = p->err;
		p->err = &ignored;
		for (size_t i = 0; i < s->nsites; i++)
			pt_write(p, s->sites[i].at, s->sites[i].saved, JMP_LEN);
		int64_t r;
		uint64_t a[2] = {s->base, s->span};
		if (!pt_stop_all(p, NULL))
			sys(p, SYS_munmap, a, 2, &r);
		p->err = keep;
		unlink(state_path);
	}
	pt_unwind_close(u);
	free(image);
	pv_patch_close(patch);
	pv_image_close(target);
	free(s);
	return rc;
}

static int revert(struct pt_proc *p, const char *patch_path, const char *state_path,
                  enum defect defect, struct pv_error *err)
{
	struct state *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	struct pv_patch *patch = NULL;
	int rc = load_state(state_path, s, err);
	struct range busy[1] = {{s->base, s->base + s->span}};
	struct pt_unwind *u = NULL;
	if (!rc)
		rc = pv_patch_open(patch_path, &patch, err);
	/* The unwinder must know the patch's code: threads run in it now. */
	if (!rc)
		rc = pt_unwind_open(p, patch_path, s->base - patch->min_vaddr, &u);
	if (!rc)
		rc = quiesce(p, u, busy, 1);
	for (size_t i = 0; !rc && i < s->nsites; i++)
		rc = pt_write(p, s->sites[i].at, s->sites[i].saved,
		              defect == BAD_REVERT ? 1 : JMP_LEN);
	int64_t r;
	uint64_t a[2] = {s->base, s->span};
	if (!rc && defect != LEAKY)
		rc = sys(p, SYS_munmap, a, 2, &r);
	if (!rc)
		unlink(state_path);
	pt_unwind_close(u);
	pv_patch_close(patch);
	free(s);
	return rc;
}

/* Reads the first site's bytes: the jmp means applied. No stop needed. */
static int status(pid_t pid, const char *state_path)
{
	struct pv_error err;
	pv_error_clear(&err);
	struct state *s = calloc(1, sizeof(*s));
	if (!s)
		return 1;
	bool applied = false;
	if (!load_state(state_path, s, &err) && s->nsites) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		FILE *f = fopen(path, "r");
		uint8_t now[JMP_LEN], jmp[JMP_LEN];
		jmp_bytes(&s->sites[0], jmp);
		applied = f && fseeko(f, (off_t)s->sites[0].at, SEEK_SET) == 0 &&
		          fread(now, 1, JMP_LEN, f) == JMP_LEN && !memcmp(now, jmp, JMP_LEN);
		if (f)
			fclose(f);
	}
	free(s);
	puts(applied ? "applied" : "not-applied");
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const flags[] = {[BROKEN] = "--broken", [BAD_REVERT] = "--bad-revert",
	                                    [LEAKY] = "--leaky", [SCRIBBLE] = "--scribble",
	                                    [CLOSE_FD] = "--close-fd",
	                                    [IGNORE_SIGNAL] = "--ignore-signal",
	                                    [CLOBBER_GS] = "--clobber-gs"};
	enum defect defect = NONE;
	for (unsigned i = BROKEN; argc > 1 && i <= CLOBBER_GS; i++)
		if (!strcmp(argv[1], flags[i]))
			defect = (enum defect)i;
	argv += defect != NONE;
	argc -= defect != NONE;
	if (argc == 4 && !strcmp(argv[1], "status"))
		return status((pid_t)atoi(argv[2]), argv[3]);
	if (argc != 6 || (strcmp(argv[1], "apply") && strcmp(argv[1], "revert")))
		return usage();
	bool is_apply = !strcmp(argv[1], "apply");
	pid_t pid = (pid_t)atoi(argv[2]);
	if (pid <= 0)
		return usage();
	if (defect == BROKEN) {
		/* The defect: success claimed, nothing done. */
		puts(is_apply ? "applied" : "reverted");
		return 0;
	}
	struct pv_error err;
	pv_error_clear(&err);
	struct pt_proc *p = calloc(1, sizeof(*p));
	if (!p) {
		fputs("pv-patcher: out of memory\n", stderr);
		return 1;
	}
	int rc = pt_attach(pid, p, &err);
	if (!rc)
		rc = is_apply ? apply(p, argv[3], argv[4], argv[5], defect, &err) : revert(p, argv[3], argv[5], defect, &err);
	pt_detach(p);
	free(p);
	if (rc) {
		fprintf(stderr, "pv-patcher: %s: %s\n", argv[1], err.msg[0] ? err.msg : pv_strerror(rc));
		return rc == PV_EBUSY ? EXIT_BUSY : 1;
	}
	puts(is_apply ? "applied" : "reverted");
	return 0;
}
