/* `patchvet run --pid PID`: the runs of the ptrace backend in a process
 * patchvet did not start, which it must leave running, untraced and as it
 * found it, whatever happens to patchvet.
 *
 * The threads are seized with PTRACE_SEIZE and no PTRACE_O_EXITKILL
 * (attach.c): when patchvet dies, even by SIGKILL, the kernel detaches them
 * and they run on. They are stopped with PTRACE_INTERRUPT only, never
 * SIGSTOP, so no thread is ever in a group-stop that a dying tracer would
 * leave behind. Runs in such a process are gentle (struct pt_run): no
 * thread steered with an int3, no signal sent to it.
 *
 * pt_release of an attached process (proc.c) comes here instead of killing:
 * when the code of the executable is the file's again (the patch was
 * reverted), the patch area and the harness page are unmapped; then every
 * thread is detached. When it is not, the patch area stays where the
 * redirected code needs it, and left_applied says so.
 *
 * No byte of its code is ever borrowed for an injected system call: until
 * the harness page exists (and for unmapping it), injections go through a
 * `syscall` instruction of its own code (libc's), so a patchvet killed in
 * the middle of one leaves no changed byte behind. */
#include "ptrace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* The address of a `syscall` instruction (0f 05) in an executable file
 * mapping of p, 0 when none is found. */
static uint64_t find_syscall(struct pt_proc *p)
{
	char path[64], line[4608];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	FILE *f = fopen(path, "re");
	uint64_t found = 0;
	enum { CHUNK = 1 << 16 };
	uint8_t *buf = malloc(CHUNK);
	while (f && buf && !found && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8];
		int off = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &lo, &hi, perms, &off) < 3 ||
		    perms[2] != 'x' || !off || line[off] != '/')
			continue;
		for (uint64_t at = lo; !found && at < hi; at += CHUNK - 1) {
			size_t n = hi - at < CHUNK ? (size_t)(hi - at) : CHUNK;
			if (pt_read(p, at, buf, n))
				break;
			for (size_t i = 0; i + 1 < n && !found; i++)
				if (buf[i] == 0x0f && buf[i + 1] == 0x05)
					found = at + i;
		}
	}
	if (f)
		fclose(f);
	free(buf);
	pv_error_clear(p->err);
	return found;
}

int pt_pid_attach(pid_t pid, const struct pt_target *t, struct pt_proc *p,
                  struct pv_error *err)
{
	char exe[64];
	struct stat a, b;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (pid <= 0 || stat(exe, &a))
		return pv_error_set(err, PV_ENOENT, "process %d: %s", (int)pid,
		                    pid <= 0 ? "not a process id" : strerror(errno));
	if (stat(t->target_path, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return pv_error_set(err, PV_EINVAL, "process %d does not run %s, the scenario's "
		                                    "target (see /proc/%d/exe)", (int)pid,
		                    t->target_path, (int)pid);
	int rc = pt_attach(pid, p, err);
	if (rc)
		return rc;
	/* Its code must be its file's: a patch left applied (by a patchvet
	 * killed between apply and revert, or by anyone) is not a start. */
	struct pv_rollback_finding f;
	if (pt_code_diff(p, t->target, pt_load_bias(p, t->target), &f)) {
		pt_detach(p);
		return pv_error_set(err, PV_EINVAL, "process %d: its code differs from %s at 0x%llx "
		                                    "(a patch left applied?); patchvet patches only a "
		                                    "process whose code is its file's",
		                    (int)pid, t->target_path, (unsigned long long)f.addr);
	}
	p->attached = true;
	p->attached_image = t->target;
	/* Until the harness page is mapped, injections run through it. */
	uint64_t sys = find_syscall(p);
	p->page = p->sys_insn = sys ? sys - PT_GADGET_SYSCALL : 0;
	return 0;
}

/* munmap(addr, len) by a stopped thread of p. */
static void unmap(struct pt_proc *p, struct pt_thread *t, uint64_t addr, uint64_t len)
{
	uint64_t a[2] = {addr, len};
	int64_t r;
	if (pt_syscall(p, t, SYS_munmap, a, 2, &r) || r)
		fprintf(stderr, "patchvet: process %d: could not unmap 0x%llx (%llu bytes) that "
		                "patchvet mapped\n", (int)p->pid, (unsigned long long)addr,
		        (unsigned long long)len);
}

void pt_pid_start(struct pt_proc *p)
{
	pt_resume_all(p);
	pt_pump(p, pt_now() + PT_PID_SETTLE_MS / 1e3);
}

void pt_pid_release(struct pt_proc *p)
{
	if (p->pid > 0 && !p->exited && !pt_stop_all(p, NULL)) {
		struct pv_rollback_finding f;
		/* Every object's code, the libraries' too: a patched library
		 * function still leads into the patch area. */
		p->left_applied = p->attached_image &&
		                  pt_code_diff(p, p->attached_image, p->bias, &f);
		for (size_t i = 0; p->objects && i < p->objects->n && !p->left_applied; i++)
			if (!p->objects->v[i].main)
				p->left_applied = pt_code_diff(p, p->objects->v[i].image,
				                               p->objects->v[i].bias, &f);
		pv_error_clear(p->err);
		struct pt_thread *t = NULL;
		bool temp = false;
		if (!p->left_applied && !pt_worker_thread(p, &t, &temp) && t) {
			if (p->patch_hi > p->patch_lo)
				unmap(p, t, p->patch_lo, p->patch_hi - p->patch_lo);
			uint64_t page = p->page;
			p->page = p->sys_insn; /* the last call: the process's own syscall */
			if (page)
				unmap(p, t, page, PT_PAGE);
		}
	}
	pt_detach(p);
}
