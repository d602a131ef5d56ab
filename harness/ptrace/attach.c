/* Processes patchvet did not start (a standalone patcher's target), and
 * giving a spawned process back for a while: the exec adapter detaches
 * before every command of an external patcher, which must trace the target
 * itself, and seizes it again afterwards (ptrace.h, attach.c). */
#include "ptrace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define ATTACH_OPTIONS (PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD)

static struct pt_thread *known(struct pt_proc *p, pid_t tid)
{
	struct pt_thread *t = pt_thread_by_tid(p, tid);
	if (t || p->nthreads == PT_MAX_THREADS)
		return t;
	t = &p->threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->id = (unsigned)p->nthreads++;
	return t;
}

static pid_t tracer_of(pid_t tid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	int pid = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &pid) == 1)
			break;
	if (f)
		fclose(f);
	return (pid_t)pid;
}

/* Seizes every thread listed in /proc/PID/task; threads known before and
 * not listed any more are gone. */
static int seize_tasks(struct pt_proc *p, long options)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->pid);
	DIR *d = opendir(path);
	if (!d)
		return pv_error_set(p->err, PV_ENOENT, "process %d is gone", (int)p->pid);
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i].live = false;
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0)
			continue;
		struct pt_thread *t = known(p, tid);
		if (!t) {
			rc = pv_error_set(p->err, PV_ERANGE, "process %d has more than %d threads",
			                  (int)p->pid, PT_MAX_THREADS);
			break;
		}
		t->stopped = t->engine_stopped = t->hijacked = false;
		t->held_sig = 0;
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options)) {
			if (errno == ESRCH)
				continue; /* exited meanwhile */
			pid_t by = tracer_of(tid);
			rc = pv_error_set(p->err, errno == EPERM ? PV_EBUSY : PV_EIO,
			                  "cannot seize thread %d of process %d: %s%s", (int)tid,
			                  (int)p->pid, strerror(errno),
			                  by ? " (another process traces it)" : "");
			break;
		}
		t->live = t->traced = true;
	}
	closedir(d);
	return rc;
}

int pt_attach(pid_t pid, struct pt_proc *p, struct pv_error *err)
{
	p->pid = pid;
	p->mem_fd = p->out_fd = -1;
	p->err = err;
	p->nthreads = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	p->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (p->mem_fd < 0)
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "cannot open %s: %s",
		                    path, strerror(errno));
	int rc = pt_exe_range(p);
	if (!rc)
		rc = seize_tasks(p, ATTACH_OPTIONS);
	if (!rc)
		rc = pt_stop_all(p, NULL);
	if (rc)
		pt_detach(p);
	return rc;
}

int pt_detach_all(struct pt_proc *p)
{
	int rc = 0;
	for (size_t i = 0; i < p->nthreads; i++) {
		struct pt_thread *t = &p->threads[i];
		if (!t->live || !t->traced)
			continue;
		if (!t->stopped && !pt_stop_thread(p, t) && !t->live)
			continue;
		if (ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)t->held_sig) &&
		    errno != ESRCH && !rc)
			rc = pv_error_set(p->err, PV_EIO, "cannot detach from thread %d of process %d: "
			                                  "%s", (int)t->tid, (int)p->pid,
			                  strerror(errno));
		t->stopped = t->engine_stopped = t->hijacked = t->traced = false;
		t->held_sig = 0;
	}
	p->world_stopped = false;
	return rc;
}

void pt_detach(struct pt_proc *p)
{
	if (p->pid > 0)
		pt_detach_all(p);
	for (size_t i = 0; i < p->nthreads; i++) {
		p->threads[i].live = false;
		free(p->threads[i].snap);
		p->threads[i].snap = NULL;
	}
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	p->mem_fd = -1;
	p->pid = -1;
}

/* A thread that died while still traced by us is our zombie to reap, and
 * until it is, its process's leader cannot be reaped: reap every such
 * task of pid (a thread seized in a reattach that failed halfway, say). */
static void reap_traced_threads(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		int st;
		if (tid > 0 && tid != pid)
			while (waitpid(tid, &st, __WALL | WNOHANG) < 0 && errno == EINTR)
				;
	}
	closedir(d);
}

bool pt_reap_detached(struct pt_proc *p)
{
	if (p->exited)
		return true;
	int st;
	pid_t r;
	do
		r = waitpid(p->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		reap_traced_threads(p->pid);
		do
			r = waitpid(p->pid, &st, WNOHANG);
		while (r < 0 && errno == EINTR);
	}
	if (r != p->pid)
		return false;
	p->exited = true;
	p->status = st;
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i].live = p->threads[i].stopped = false;
	return true;
}

int pt_reattach(struct pt_proc *p)
{
	if (pt_reap_detached(p))
		return 0;
	int rc = seize_tasks(p, ATTACH_OPTIONS | PTRACE_O_EXITKILL);
	if (!rc)
		rc = pt_stop_all(p, NULL);
	return rc;
}
