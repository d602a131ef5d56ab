/* The exec adapter (exec_adapter.h): an external patcher's commands run
 * against a native target at moments the decision stream chooses.
 *
 * Stream bytes, in the order a run reads them: the delay before the first
 * command ((byte & 15) * 500 us, default 2), then before each command the
 * delay the target runs on its own, detached, before the command starts
 * (same rule; bit 4 also sends SIGUSR1 or SIGUSR2, one the target catches
 * itself, to thread (byte >> 5) % threads just before the command starts),
 * and the delay between apply and revert (same rule). */
#include "adapter.h"
#include "../load/objects.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../engines/catalogue.h"
#include "state.h"
#include "execfile.h"
#include "../util/files.h"
#include "../load/image.h"
#include "../checks/liveness.h"
#include "../checks/rollback_bytes.h"
#include "../load/patchfile.h"
#include "../ptrace/ptrace.h"

#define DELAY_UNIT_S 500e-6
#define OUT_MAX 4096
#define CMP_BYTES 16          /* first bytes of a replaced function compared */
#define MIN_RUN_MS 200        /* a traced run without commands lasts this long */
#define REATTACH_MS 1000      /* the tool's own detach may lag its exit */
#define REAP_MS 5000          /* SIGKILL to reaped, at most */
#define BASELINE_LOOKS 3      /* looks at the target running alone before the first command */
#define BASELINE_MS 5         /* apart */

extern char **environ;

struct pv_exec {
	struct pv_engine engine;  /* first: the engine pointer is the pv_exec */
	struct pv_execfile *file; /* owned */
};

static int refuse(void *state, struct pv_space *space, struct pv_error *err)
{
	(void)state;
	(void)space;
	return pv_error_set(err, PV_EUNSUPPORTED, "exec engines run only on the ptrace backend "
	                                          "(--backend ptrace)");
}

static int exec_plan(const struct pv_patch_desc *patch, void **state, struct pv_error *err)
{
	(void)patch;
	(void)err;
	*state = NULL;
	return 0;
}

bool pv_exec_is_spec(const char *arg)
{
	return arg && !strncmp(arg, PV_EXEC_PREFIX, strlen(PV_EXEC_PREFIX));
}

bool pv_exec_engine_is(const struct pv_engine *e)
{
	return e && e->plan == exec_plan;
}

const struct pv_engine *pv_exec_engine(const struct pv_exec *x)
{
	return &x->engine;
}

void pv_exec_close(struct pv_exec *x)
{
	if (!x)
		return;
	pv_execfile_free(x->file);
	free(x);
}

int pv_exec_open(const char *spec, struct pv_exec **out, struct pv_error *err)
{
	*out = NULL;
	const char *path = spec + (pv_exec_is_spec(spec) ? strlen(PV_EXEC_PREFIX) : 0);
	if (!*path)
		return pv_error_set(err, PV_EINVAL, "--engine exec: needs a file (exec:FILE)");
	struct pv_exec *x = calloc(1, sizeof(*x));
	if (!x)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = pv_execfile_load(path, &x->file, err);
	if (!rc && pv_engine_find(x->file->name))
		rc = pv_error_set(err, PV_EINVAL, "%s: the engine calls itself '%s', the name of a "
		                                  "built-in engine; set another name in [engine]",
		                  path, x->file->name);
	if (rc) {
		pv_exec_close(x);
		return rc;
	}
	x->engine = (struct pv_engine){
		.sz = sizeof(struct pv_engine),
		.abi_version = PV_ABI_VERSION,
		.name = x->file->name,
		.description = x->file->description,
		.consistency = x->file->consistency,
		.plan = exec_plan,
		.apply = refuse,
		.revert = refuse,
	};
	*out = x;
	return 0;
}

/* ------------------------------------------------------------ commands */

struct cmd_result {
	bool started;
	bool timed_out;
	int status;               /* wait status */
	char out[OUT_MAX];        /* stdout, truncated */
	char errline[160];        /* first line of stderr */
	double ms;
};

static void slurp(int fd, char *buf, size_t cap, size_t *n)
{
	char tmp[512];
	ssize_t r;
	while ((r = read(fd, tmp, sizeof(tmp))) > 0) {
		size_t k = (size_t)r < cap - 1 - *n ? (size_t)r : cap - 1 - *n;
		memcpy(buf + *n, tmp, k);
		*n += k;
		buf[*n] = '\0';
	}
}

/* The child between fork and exec: only async-signal-safe calls. */
static void cmd_child(char *const argv[], int out, int errfd)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(127);
	close_range(3, ~0u, 0);
	execvp(argv[0], argv);
	_exit(127);
}

/* Runs argv in a process group of its own, at most timeout_ms; the whole
 * group is killed and the command reaped before this returns. */
static int run_command(char *const argv[], unsigned timeout_ms, struct cmd_result *r,
                       struct pv_error *err)
{
	memset(r, 0, sizeof(*r));
	int out[2], errp[2];
	if (pipe2(out, O_CLOEXEC))
		return pv_error_set(err, PV_EIO, "cannot make a pipe: %s", strerror(errno));
	if (pipe2(errp, O_CLOEXEC)) {
		close(out[0]);
		close(out[1]);
		return pv_error_set(err, PV_EIO, "cannot make a pipe: %s", strerror(errno));
	}
	double t0 = pt_now();
	pid_t pid = fork();
	if (pid == 0)
		cmd_child(argv, out[1], errp[1]);
	close(out[1]);
	close(errp[1]);
	if (pid < 0) {
		close(out[0]);
		close(errp[0]);
		return pv_error_set(err, PV_EIO, "cannot fork: %s", strerror(errno));
	}
	setpgid(pid, pid);
	r->started = true;
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	char errbuf[OUT_MAX] = "";
	size_t nout = 0, nerr = 0;
	double deadline = t0 + timeout_ms / 1e3;
	for (;;) {
		struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN},
		                        {.fd = errp[0], .events = POLLIN}};
		poll(fds, 2, 10);
		slurp(out[0], r->out, sizeof(r->out), &nout);
		slurp(errp[0], errbuf, sizeof(errbuf), &nerr);
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: the group id stays reserved until the kill below. */
		if (!waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid)
			break;
		if (pt_now() > deadline) {
			r->timed_out = true;
			break;
		}
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
		;
	slurp(out[0], r->out, sizeof(r->out), &nout);
	slurp(errp[0], errbuf, sizeof(errbuf), &nerr);
	close(out[0]);
	close(errp[0]);
	snprintf(r->errline, sizeof(r->errline), "%.159s", errbuf);
	r->errline[strcspn(r->errline, "\n")] = '\0';
	r->ms = (pt_now() - t0) * 1e3;
	return 0;
}

static void describe_status(const struct cmd_result *r, char *buf, size_t len)
{
	if (r->timed_out)
		snprintf(buf, len, "did not finish within its timeout");
	else if (WIFSIGNALED(r->status))
		snprintf(buf, len, "died of SIG%s", sigabbrev_np(WTERMSIG(r->status))
		                                        ? sigabbrev_np(WTERMSIG(r->status)) : "?");
	else if (WEXITSTATUS(r->status) == 127)
		snprintf(buf, len, "exited with status 127 (could it be run?)");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(r->status));
}

/* ------------------------------------------------------------ backend */

struct ex_backend {
	struct pt_target t;           /* owned: files and command line, as ptrace's */
	struct pv_patch_func *funcs;  /* owned: names only (plan needs no more) */
	struct pv_patch_desc desc;
	unsigned long iters;
	const struct pv_engine *calibrated; /* the engine whose env calibrated iters */
	char **envp;                  /* owned: environ plus the file's env */
	struct pv_objects objs;       /* owned: the target's objects, as loaded */
};

static void free_env(struct ex_backend *b)
{
	for (size_t i = 0; b->envp && b->envp[i]; i++)
		free(b->envp[i]);
	free(b->envp);
	b->envp = NULL;
}

static void ex_close(void *handle)
{
	struct ex_backend *b = handle;
	if (!b)
		return;
	pt_target_close(&b->t);
	pv_objects_free(&b->objs);
	free(b->funcs);
	free_env(b);
	free(b);
}

static int ex_open(const struct pv_backend_config *cfg, void **handle, struct pv_error *err)
{
	*handle = NULL;
	if (!cfg || !cfg->target_path || !cfg->patch_path)
		return pv_error_set(err, PV_EINVAL, "exec adapter: a target and a patch are needed");
	struct ex_backend *b = calloc(1, sizeof(*b));
	if (!b)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	b->iters = cfg->workload.iterations * PT_ITERATION_SCALE;
	int rc = pt_target_open(&b->t, cfg, b->iters, err);
	size_t n = rc ? 0 : b->t.patch->nreplacements;
	if (!rc && !(b->funcs = calloc(n ? n : 1, sizeof(*b->funcs))))
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	if (rc) {
		ex_close(b);
		return rc;
	}
	/* Every replaced function must exist, in the program or a library
	 * it needs (as found on disk; runs look again in what is loaded). */
	struct pv_objects disk = {0};
	rc = pv_objects_from_files(&disk, b->t.target, err);
	for (size_t i = 0; !rc && i < n; i++) {
		struct pv_found f;
		rc = pv_objects_find(&disk, b->t.patch->replacements[i].old_name, true, &f, err);
	}
	pv_objects_free(&disk);
	if (rc) {
		ex_close(b);
		return rc == PV_ENOMEM ? rc : PV_ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		b->funcs[i].old_name = b->t.patch->replacements[i].old_name;
		b->funcs[i].new_name = b->t.patch->replacements[i].new_name;
	}
	b->desc = (struct pv_patch_desc){.sz = sizeof(b->desc), .path = b->t.patch_path,
	                                 .funcs = b->funcs, .nfuncs = n};
	*handle = b;
	return 0;
}

static const struct pv_patch_desc *ex_patch(void *handle)
{
	return &((struct ex_backend *)handle)->desc;
}

/* environ with the exec file's NAME=VALUE entries over it. */
static int build_env(struct ex_backend *b, const struct pv_execfile *f, struct pv_error *err)
{
	free_env(b);
	size_t n = 0;
	while (environ && environ[n])
		n++;
	b->envp = calloc(n + f->nenv + 1, sizeof(*b->envp));
	if (!b->envp)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t key = strcspn(environ[i], "=");
		bool over = false;
		for (size_t j = 0; j < f->nenv; j++)
			over |= !strncmp(f->env[j], environ[i], key + 1);
		if (!over && !(b->envp[k++] = strdup(environ[i])))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	for (size_t j = 0; j < f->nenv; j++)
		if (!(b->envp[k++] = strdup(f->env[j])))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
	return 0;
}

/* As the ptrace backend does, but for longer (every command is a process
 * of its own): scales the iterations up until one traced run without
 * commands lasts MIN_RUN_MS. */
static int calibrate(struct ex_backend *b, const struct pv_exec *x, struct pv_error *err)
{
	int rc = build_env(b, x->file, err);
	if (rc)
		return rc;
	if ((rc = pt_target_calibrate(&b->t, b->envp, x->file->path, b->iters, MIN_RUN_MS, err)))
		return rc;
	b->calibrated = &x->engine;
	return 0;
}

/* ------------------------------------------------------------ one run */

struct ex_run {
	struct ex_backend *b;
	const struct pv_exec *x;
	struct pt_proc *p;
	struct pv_run_result *res;
	char pid[16];
	char workdir[64];
	uint64_t bias;
	bool detached;
	const char *phase;        /* the command of the current detached window */
	const char *died;         /* the command during which the target ended, or NULL */
	struct pv_exec_state *st; /* owned: the state checks, once the workers run */
	bool tool_maps;           /* mappings new during this command are the tool's */
};

static void delay_by(struct ex_run *r, unsigned byte)
{
	double until = pt_now() + (byte & 15) * DELAY_UNIT_S;
	if (!r->detached) {
		pt_pump(r->p, until);
		return;
	}
	while (pt_now() < until && !pt_reap_detached(r->p))
		usleep(100);
}

static void delay(struct ex_run *r)
{
	delay_by(r, pt_decide(r->p, 2));
}

/* The signals of mask (bits of SIGUSR1 and SIGUSR2) the process catches. */
static uint64_t caught(pid_t pid, uint64_t mask)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	unsigned long long cgt = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &cgt) == 1)
			break;
	if (f)
		fclose(f);
	return cgt & mask;
}

/* A signal the target handles itself, to one of its threads, as the tool
 * starts: a patcher must cope with signals around its pauses (delivered
 * before its stop, or pending across it). Signals the target does not
 * catch are never sent: their default action is no fault of the tool. */
static void perturb(struct ex_run *r, unsigned which)
{
	struct pt_proc *p = r->p;
	uint64_t usr = (1ull << (SIGUSR1 - 1)) | (1ull << (SIGUSR2 - 1));
	uint64_t mask = caught(p->pid, usr);
	size_t live = 0;
	for (size_t i = 0; i < p->nthreads; i++)
		live += p->threads[i].live;
	if (!mask || !live)
		return;
	int sig = mask & (1ull << (SIGUSR1 - 1)) ? SIGUSR1 : SIGUSR2;
	size_t k = which % live;
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].live && k-- == 0) {
			syscall(SYS_tgkill, p->pid, p->threads[i].tid, sig);
			return;
		}
}

/* Gives the target to the tool: every thread stopped, then detached. */
static void give(struct ex_run *r)
{
	struct pt_proc *p = r->p;
	if (r->detached || p->exited)
		return;
	if (!pt_stop_all(p, NULL)) {
		if (r->st)
			pv_exec_state_before(r->st);
		pt_detach_all(p);
	} else {
		pt_detach_all(p);
		pv_error_clear(p->err);
	}
	r->detached = true;
}

/* Takes the target back: seized and every thread stopped. */
static void take(struct ex_run *r)
{
	struct pt_proc *p = r->p;
	if (!r->detached)
		return;
	double deadline = pt_now() + REATTACH_MS / 1e3;
	int rc;
	while ((rc = pt_reattach(p)) == PV_EBUSY && pt_now() < deadline) {
		pt_detach_all(p);
		usleep(1000);
	}
	if (rc && pt_reap_detached(p))
		rc = 0; /* it ended on its own meanwhile: judged by its exit */
	if (rc) {
		pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "after %s, patchvet cannot trace the target "
		                                   "again: %s", r->phase, p->err->msg);
		pv_error_clear(p->err);
		/* Whatever still holds it, the target ends here (bounded: a
		 * process that cannot be reaped is reported, not waited on
		 * for ever). */
		kill(-p->pid, SIGKILL);
		pt_detach_all(p);
		double until = pt_now() + REAP_MS / 1e3;
		while (!pt_reap_detached(p) && pt_now() < until)
			usleep(1000);
		if (!p->exited)
			pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "the target (pid %d) could not be reaped "
			                                   "within %d ms of SIGKILL", (int)p->pid,
			             REAP_MS);
	} else if (r->st && !p->exited) {
		pv_exec_state_after(r->st, r->phase, r->tool_maps);
	}
	r->detached = false;
}

/* One command, the target detached around it. Returns 0 when it ran (its
 * outcome in *cr), negative when it could not even start. */
static int command(struct ex_run *r, enum pv_exec_cmd c, struct cmd_result *cr,
                   struct pv_error *err)
{
	const struct pv_execfile *f = r->x->file;
	struct pv_exec_vars v = {.pid = r->pid, .patch = r->b->t.patch_path,
	                         .target = r->b->t.target_path, .workdir = r->workdir,
	                         .dir = f->dir};
	char **argv = NULL;
	int rc = pv_exec_argv(f, c, &v, &argv, err);
	if (rc)
		return rc;
	memset(cr, 0, sizeof(*cr));
	r->phase = pv_exec_cmd_name(c);
	r->tool_maps = c == PV_EXEC_PREPARE || c == PV_EXEC_APPLY;
	unsigned byte = pt_decide(r->p, 2);
	give(r);
	delay_by(r, byte);
	if (byte & 0x10 && !pt_reap_detached(r->p))
		perturb(r, byte >> 5);
	if (!pt_reap_detached(r->p))
		rc = run_command(argv, f->cmds[c].timeout_ms, cr, err);
	pv_exec_argv_free(argv);
	if (!rc && cr->timed_out)
		pt_violation(r->p, PV_CHECK_LIVENESS, -1, 0, "%s (%s) did not finish within %u ms; its "
		                                      "process group was killed", r->phase,
		             f->cmds[c].words[0], f->cmds[c].timeout_ms);
	take(r);
	if (r->p->exited && !r->died)
		r->died = r->phase;
	return rc;
}

/* The engine error of a failed command: "apply: TOOL exited with ...". */
static void command_failed(struct ex_run *r, enum pv_exec_cmd c, const struct cmd_result *cr)
{
	char how[64];
	describe_status(cr, how, sizeof(how));
	char msg[512];
	snprintf(msg, sizeof(msg), "%s: %.120s %s%s%.160s", pv_exec_cmd_name(c),
	         r->x->file->cmds[c].words[0], how, cr->errline[0] ? ": " : "", cr->errline);
	snprintf(r->res->engine_error, sizeof(r->res->engine_error), "%.199s", msg);
}

static int outcome(const struct cmd_result *cr)
{
	if (cr->timed_out)
		return PV_ETIMEDOUT;
	if (WIFEXITED(cr->status) && WEXITSTATUS(cr->status) == 0)
		return 0;
	if (WIFEXITED(cr->status) && WEXITSTATUS(cr->status) == PV_EXEC_BUSY_STATUS)
		return PV_EBUSY;
	return PV_EIO;
}

/* The target's bytes at addr, with main's parking bytes as in the file. */
static int read_code(struct pt_proc *p, uint64_t addr, uint8_t *buf, size_t len)
{
	int rc = pt_read(p, addr, buf, len);
	for (unsigned k = 0; !rc && p->park_live && k < 2; k++)
		if (p->park_addr + k >= addr && p->park_addr + k < addr + len)
			buf[p->park_addr + k - addr] = p->park_orig[k];
	return rc;
}

/* ineffective: apply said yes, but no replaced function starts differently. */
static void check_effect(struct ex_run *r)
{
	const struct pv_patch *pa = r->b->t.patch;
	size_t checked = 0, changed = 0;
	for (size_t i = 0; i < pa->nreplacements; i++) {
		struct pv_found f;
		struct pv_error scratch;
		if (pv_objects_find(&r->b->objs, pa->replacements[i].old_name, true, &f, &scratch))
			continue;
		const struct pv_symbol *s = f.sym;
		const struct pv_image *img = r->b->objs.v[f.obj].image;
		size_t n = s->size && s->size < CMP_BYTES ? s->size : CMP_BYTES, avail = 0;
		const unsigned char *orig = pv_image_at(img, s->value, &avail);
		uint8_t now[CMP_BYTES];
		if (!orig || avail < n || read_code(r->p, f.addr, now, n))
			continue;
		checked++;
		changed += memcmp(now, orig, n) != 0;
	}
	pv_error_clear(r->p->err);
	if (checked && !changed)
		pt_violation(r->p, PV_CHECK_INEFFECTIVE, -1, 0, "apply reported success, but the first "
		                                         "bytes of none of the %zu replaced "
		                                         "function%s differ from the file", checked,
		             checked == 1 ? "" : "s");
}

/* rollback-bytes: every executable byte of the target against its file. */
static void check_rollback(struct ex_run *r)
{
	struct pv_rollback_finding fd;
	bool found = false;
	const struct pv_objects *o = &r->b->objs;
	const struct pv_patch *pa = r->b->t.patch;
	/* The executable, and each library that holds a replaced function. */
	bool holds[PV_OBJECTS_MAX] = {false};
	for (size_t i = 0; i < pa->nreplacements; i++) {
		struct pv_found f;
		struct pv_error scratch;
		if (!pv_objects_find(o, pa->replacements[i].old_name, true, &f, &scratch))
			holds[f.obj] = true;
	}
	for (size_t k = 0; k < o->n && !found && !pt_has_violation(r->p, PV_CHECK_ROLLBACK_BYTES);
	     k++)
		if (o->v[k].main || holds[k])
			found = pt_code_diff(r->p, o->v[k].image, o->v[k].bias, &fd);
	if (found) {
		char where[32], detail[PV_CHECK_DETAIL_LEN];
		snprintf(where, sizeof(where), "0x%llx", (unsigned long long)fd.addr);
		pv_rollback_bytes_word(&fd, "revert", where, detail, sizeof(detail));
		pt_violation(r->p, PV_CHECK_ROLLBACK_BYTES, -1, fd.addr, "%s", detail);
	}
	pv_error_clear(r->p->err);
}

/* The status command after a successful apply: it must say "applied". */
static int check_status(struct ex_run *r, struct pv_error *err)
{
	const struct pv_execfile *f = r->x->file;
	if (!f->cmds[PV_EXEC_STATUS].words)
		return 0;
	struct cmd_result cr;
	int rc = command(r, PV_EXEC_STATUS, &cr, err);
	if (rc || cr.timed_out || !cr.started)
		return rc;
	bool ok = WIFEXITED(cr.status) && WEXITSTATUS(cr.status) == 0;
	if (ok && f->applied_word) {
		ok = false;
		size_t n = strlen(f->applied_word);
		for (const char *s = cr.out; !ok && (s = strstr(s, f->applied_word)); s++)
			ok = (s == cr.out || strchr(" \t\n", s[-1])) && strchr(" \t\n", s[n]);
	}
	char how[64];
	describe_status(&cr, how, sizeof(how));
	if (!ok && f->applied_word)
		pt_violation(r->p, PV_CHECK_INEFFECTIVE, -1, 0, "apply reported success, but status %s "
		                                         "without printing '%s'", how,
		             f->applied_word);
	else if (!ok)
		pt_violation(r->p, PV_CHECK_INEFFECTIVE, -1, 0, "apply reported success, but status %s",
		             how);
	return 0;
}

/* The process's executable mappings ([lo, hi) pairs), at most max. */
#define XMAPS_MAX 64
struct xmaps {
	size_t n;
	uint64_t r[XMAPS_MAX][2];
};

static void exec_maps(pid_t pid, struct xmaps *m)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	m->n = 0;
	while (f && m->n < XMAPS_MAX && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perm[8];
		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perm) == 3 && perm[2] == 'x') {
			m->r[m->n][0] = lo;
			m->r[m->n][1] = hi;
			m->n++;
		}
	}
	if (f)
		fclose(f);
}

/* rollback-leak: an executable mapping that appeared since before the tool
 * first ran (its patch, a trampoline) and is still there after revert. */
static bool in_maps(const struct xmaps *m, const uint64_t r[2])
{
	for (size_t k = 0; k < m->n; k++)
		if (m->r[k][0] == r[0] && m->r[k][1] == r[1])
			return true;
	return false;
}

/* A mapping the target makes and unmaps itself (a library it loads and
 * unloads) is the target's: the new mappings are looked at again while the
 * target runs on, and one that goes away was not the tool's. */
#define LEAK_LOOKS 10
#define LEAK_LOOK_MS 5

static void check_leak(struct ex_run *r, const struct xmaps *before)
{
	struct pt_proc *p = r->p;
	struct xmaps now, later;
	exec_maps(p->pid, &now);
	bool fresh[XMAPS_MAX] = {false}, any = false;
	for (size_t i = 0; i < now.n; i++)
		any |= fresh[i] = !in_maps(before, now.r[i]);
	if (any) {
		bool stopped = p->world_stopped;
		if (stopped)
			pt_resume_all(p);
		for (unsigned k = 0; k < LEAK_LOOKS && !p->exited; k++) {
			pt_pump(p, pt_now() + LEAK_LOOK_MS / 1e3);
			exec_maps(p->pid, &later);
			for (size_t i = 0; i < now.n; i++)
				fresh[i] &= in_maps(&later, now.r[i]);
		}
		if (stopped && !p->exited)
			pt_stop_all(p, NULL);
		pv_error_clear(p->err);
	}
	for (size_t i = 0; i < now.n && !p->exited; i++) {
		if (fresh[i]) {
			pt_violation(r->p, PV_CHECK_ROLLBACK_LEAK, -1, now.r[i][0],
			             "after revert, an executable mapping of %llu bytes at 0x%llx that "
			             "was not there before the tool ran is still there",
			             (unsigned long long)(now.r[i][1] - now.r[i][0]),
			             (unsigned long long)now.r[i][0]);
			return;
		}
	}
}

/* Spawns the target, parks main at pv_verify (as the ptrace backend does),
 * starts it and waits for its workers. */
static int start(struct ex_run *r, struct pv_error *err)
{
	struct ex_backend *b = r->b;
	struct pt_proc *p = r->p;
	int rc = pt_spawn_env(b->t.argv, b->envp, p, err);
	if (rc)
		return rc;
	r->bias = pt_load_bias(p, b->t.target);
	p->bias = r->bias;
	/* At the entry point every library the program links is loaded. */
	if ((rc = pt_run_to(p, b->t.target->entry + r->bias, PT_START_TIMEOUT_MS)))
		return rc;
	/* Read once, and again only when this run loaded them elsewhere. */
	if (!b->objs.n || !pt_objects_same(p, &b->objs)) {
		pv_objects_free(&b->objs);
		if ((rc = pt_objects_read(p, b->t.target, r->bias, &b->objs, err)))
			return rc;
	}
	if (b->t.verify && (rc = pt_park_main(p, b->t.verify + r->bias)))
		return rc;
	snprintf(r->pid, sizeof(r->pid), "%d", (int)p->pid);
	pt_start_workers(p, b->t.workers, NULL);
	return 0;
}

/* The state checks' first looks: the target runs alone a few times (with
 * the signals the commands may bring), so that what it changes by itself
 * is learned before any command is judged (exec_state.h). */
static int baseline(struct ex_run *r, struct pv_error *err)
{
	struct pt_proc *p = r->p;
	int rc = pv_exec_state_open(p, r->b->t.target, r->bias, &r->st, err);
	for (unsigned k = 0; !rc && k < BASELINE_LOOKS && !p->exited; k++) {
		pt_resume_all(p);
		perturb(r, k);
		pt_pump(p, pt_now() + BASELINE_MS / 1e3);
		if (!p->exited)
			pt_stop_all(p, NULL);
		pv_error_clear(p->err);
		pv_exec_state_learn(r->st);
	}
	return rc;
}

/* prepare, apply, status, a delay, revert; the verdicts in r->res. */
static int drive(struct ex_run *r, struct pv_error *err)
{
	struct pt_proc *p = r->p;
	struct pv_run_result *res = r->res;
	const struct pv_execfile *f = r->x->file;
	struct xmaps before;
	struct cmd_result cr;
	int rc = 0;
	delay(r);
	if (p->exited) {
		res->apply_rc = PV_EBUSY;
		snprintf(res->engine_error, sizeof(res->engine_error), "the target ended before apply");
		return 0;
	}
	/* Code mappings before the tool touches the target, to compare after revert. */
	pt_stop_all(p, NULL);
	pv_error_clear(p->err);
	exec_maps(p->pid, &before);
	if ((rc = baseline(r, err)))
		return rc;
	if (f->cmds[PV_EXEC_PREPARE].words) {
		if ((rc = command(r, PV_EXEC_PREPARE, &cr, err)) || !cr.started)
			goto out;
		if (outcome(&cr)) {
			res->apply_rc = outcome(&cr);
			command_failed(r, PV_EXEC_PREPARE, &cr);
			goto out;
		}
	}
	if (p->exited || (rc = command(r, PV_EXEC_APPLY, &cr, err)) || !cr.started)
		goto out;
	if ((res->apply_rc = outcome(&cr)))
		command_failed(r, PV_EXEC_APPLY, &cr);
	if (res->apply_rc || p->exited)
		goto out;
	check_effect(r);
	if ((rc = check_status(r, err)) || p->exited)
		goto out;
	pt_resume_all(p);
	delay(r);
	if (p->exited || !f->cmds[PV_EXEC_REVERT].words)
		goto out;
	if ((rc = command(r, PV_EXEC_REVERT, &cr, err)) || !cr.started)
		goto out;
	if ((res->revert_rc = outcome(&cr)))
		command_failed(r, PV_EXEC_REVERT, &cr);
	if (res->revert_rc || p->exited)
		goto out;
	check_rollback(r);
	check_leak(r, &before);
out:
	return rc;
}

static int ex_run(void *handle, const struct pv_engine *engine, void *engine_state,
                  const uint8_t *stream, size_t len, struct pv_run_result *res,
                  struct pv_error *err)
{
	(void)engine_state;
	struct ex_backend *b = handle;
	if (!pv_exec_engine_is(engine))
		return pv_error_set(err, PV_EINVAL, "engine %s is not an exec engine; the exec "
		                                    "adapter runs only those", engine->name);
	const struct pv_exec *x = (const struct pv_exec *)engine;
	memset(res, 0, sizeof(*res));
	res->revert_rc = 1;
	res->verify_status = -1;
	int rc = 0;
	if (b->calibrated != engine && (rc = calibrate(b, x, err)))
		return rc;
	struct pt_run *run = calloc(1, sizeof(*run));
	struct pt_proc *p = calloc(1, sizeof(*p));
	struct ex_run r = {.b = b, .x = x, .p = p, .res = res};
	snprintf(r.workdir, sizeof(r.workdir), "/tmp/patchvet-exec-XXXXXX");
	if (!run || !p || !mkdtemp(r.workdir)) {
		free(run);
		free(p);
		return pv_error_set(err, PV_EIO, "cannot make a work directory: %s", strerror(errno));
	}
	struct pv_error serr;
	pv_error_clear(&serr);
	run->res = res;
	run->stream = (struct pt_stream){.bytes = stream, .len = len};
	run->probes = PT_PROBES_OFF;
	p->run = run;
	rc = start(&r, &serr);
	p->err = &serr;
	if (rc)
		pv_error_set(err, rc, "%s", serr.msg);
	else
		rc = drive(&r, err);
	take(&r);
	bool killed = false;
	if (!rc && !p->exited) {
		pt_stop_all(p, NULL);
		if (p->park_live && !pt_write(p, p->park_addr, p->park_orig, 2))
			p->park_live = false;
		pt_resume_all(p);
		if (pt_pump_until(p, pt_now() + PT_FINISH_TIMEOUT_MS / 1e3, NULL, NULL) ==
		    PV_ETIMEDOUT) {
			char detail[PV_CHECK_DETAIL_LEN];
			pv_liveness_word_finish("the tool", PT_FINISH_TIMEOUT_MS, detail, sizeof(detail));
			pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "%s", detail);
			killed = true;
		}
	}
	pt_release(p);
	if (r.st)
		pv_exec_state_info(r.st, res->info, sizeof(res->info));
	pv_exec_state_close(r.st);
	if (!rc)
		pt_judge_exit(p, res, killed, NULL, r.died);
	pv_remove_tree(r.workdir);
	res->decisions = run->stream.decisions;
	free(run);
	free(p);
	return rc;
}

const struct pv_backend_ops pv_backend_exec_ops = {
	.name = "ptrace",
	.open = ex_open,
	.patch = ex_patch,
	.run = ex_run,
	.close = ex_close,
};
