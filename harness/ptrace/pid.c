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
 * redirected code needs it, and left_applied says so. */
#include "ptrace.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

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
	p->attached = true;
	p->attached_image = t->target;
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
		p->left_applied = p->attached_image &&
		                  pt_code_diff(p, p->attached_image, p->bias, &f);
		struct pt_thread *t = NULL;
		bool temp = false;
		if (!p->left_applied && !pt_worker_thread(p, &t, &temp) && t) {
			if (p->patch_hi > p->patch_lo)
				unmap(p, t, p->patch_lo, p->patch_hi - p->patch_lo);
			uint64_t page = p->page;
			p->page = 0; /* the last call goes through borrowed bytes */
			if (page)
				unmap(p, t, page, PT_PAGE);
		}
	}
	pt_detach(p);
}
