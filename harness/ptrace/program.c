/* Real programs as targets (the scenario's [program] section,
 * harness/model/program.h): what a run of the ptrace backend does instead of
 * `TARGET WORKERS ITERATIONS PARAM`, calibration and main's parking.
 *
 *   pt_program_spawn   a fresh {workdir} under --out and a free {port}, the
 *                      command started (argv, env, cwd, stdin, stdout) as
 *                      every target is: own group, PDEATHSIG, no ASLR,
 *                      seized with EXITKILL
 *   pt_program_start   the program runs until it is ready (ptrace events
 *                      served meanwhile, bounded by the run's timeout), then
 *                      the load driver starts: not traced, its own process
 *                      group, killed on every path
 *   pt_program_window  a stream-chosen delay in [0, window) (before apply,
 *                      and between apply and revert)
 *   pt_program_stop    the end: `exit` awaited, or the stop signal sent and
 *                      the exit awaited stop_wait seconds (liveness when not)
 *   pt_program_judge   crash, then the oracle (`exit`, `load`, a command):
 *                      target-verify with its first line on stderr
 *   pt_program_end     the load driver killed, the {workdir} removed
 *
 * pt_program_dry_run is the counterpart of calibration at open: one run
 * without an engine must reach ready, stop cleanly and pass its oracle. */
#include "ptrace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../checks/crash.h"
#include "../checks/target_verify.h"

#define LOAD_TERM_WAIT_S 2.0   /* SIGTERM to SIGKILL of the load driver */
#define VERIFY_MIN_S 10.0      /* a verify command gets at least this long */
#define CLEAN_PATH "/usr/local/bin:/usr/bin:/bin"

enum pt_program_state {
	PT_PROGRAM_IDLE,       /* no run */
	PT_PROGRAM_STARTING,   /* spawned, not ready yet */
	PT_PROGRAM_READY,
	PT_PROGRAM_ENDED,      /* it ended before it was ready */
	PT_PROGRAM_NEVER,      /* not ready within the timeout */
};

struct pt_program {
	const struct pv_program *pg;  /* the scenario's; valid until close */
	char *target;                 /* {target}, absolute; owned */
	char *work_root;              /* --out, absolute; owned */
	/* The current run. */
	enum pt_program_state state;
	char workdir[PATH_MAX];       /* "" when none */
	unsigned port;
	struct pv_program_vars vars;
	char **argv, **envp;          /* owned */
	double started, deadline;     /* monotonic seconds: spawn, spawn + timeout */
	pid_t load_pid;               /* 0: none running */
	bool load_ran, load_exited;
	int load_status;
	char load_first[160];         /* first line of its stderr */
	bool signalled;               /* stop = signal: it was sent */
};

/* ------------------------------------------------------------ helpers */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* A free loopback TCP port, as the kernel hands one out. */
static unsigned free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	unsigned port = 0;
	if (s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(s, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static bool port_open(unsigned port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = s >= 0 && !connect(s, (struct sockaddr *)&a, sizeof(a));
	if (s >= 0)
		close(s);
	return ok;
}

/* The small clean environment (PATH, HOME, LANG=C) plus the scenario's
 * words, a later NAME replacing an earlier one. */
static int make_env(struct pt_program *pr, struct pv_error *err)
{
	char **words = NULL;
	int rc = pr->pg->env ? pv_program_split(pr->pg->env, &pr->vars, &words, err) : 0;
	if (rc)
		return rc;
	size_t n = 0;
	while (words && words[n])
		n++;
	char **env = calloc(n + 4, sizeof(*env));
	if (!env) {
		pv_argv_free(words);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	size_t k = 0;
	if (asprintf(&env[k++], "PATH=%s", CLEAN_PATH) < 0 ||
	    asprintf(&env[k++], "HOME=%s", pr->workdir) < 0 || !(env[k++] = strdup("LANG=C"))) {
		env[k - 1] = NULL;
		pv_argv_free(env);
		pv_argv_free(words);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		size_t name = strcspn(words[i], "=") + 1;
		size_t j = 0;
		while (j < k && strncmp(env[j], words[i], name))
			j++;
		free(j < k ? env[j] : NULL);
		env[j] = words[i];
		words[i] = NULL;
		k += j == k;
	}
	env[k] = NULL;
	pv_argv_free(words);
	pr->envp = env;
	return 0;
}

/* argv[0] without a '/' is looked up in the clean PATH, as a shell would. */
static int find_program(char **argv0, struct pv_error *err)
{
	if (strchr(*argv0, '/'))
		return 0;
	char path[PATH_MAX];
	for (const char *d = CLEAN_PATH; *d;) {
		size_t n = strcspn(d, ":");
		snprintf(path, sizeof(path), "%.*s/%s", (int)n, d, *argv0);
		if (!access(path, X_OK)) {
			char *full = strdup(path);
			if (!full)
				return pv_error_set(err, PV_ENOMEM, "out of memory");
			free(*argv0);
			*argv0 = full;
			return 0;
		}
		d += n + (d[n] == ':');
	}
	return pv_error_set(err, PV_ENOENT, "%s: no such program in %s", *argv0, CLEAN_PATH);
}

/* A helper process (the load driver, a verify command): not traced, its own
 * process group, dead with patchvet (PDEATHSIG), stdin and stdout
 * /dev/null, stderr into errpath, in the run's {workdir}. */
static int run_helper(struct pt_program *pr, const char *line, const char *errpath,
                      pid_t *out, struct pv_error *err)
{
	char **argv = NULL;
	int rc = pv_program_split(line, &pr->vars, &argv, err);
	if (!rc)
		rc = find_program(&argv[0], err);
	if (!rc && access(argv[0], X_OK))
		rc = pv_error_set(err, PV_ENOENT, "%s: cannot execute it: %s", argv[0],
		                  strerror(errno));
	int efd = rc ? -1 : open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!rc && efd < 0)
		rc = pv_error_set(err, PV_EIO, "%s: %s", errpath, strerror(errno));
	pid_t parent = getpid();
	pid_t pid = rc ? -1 : fork();
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(efd, 2) < 0 ||
		    chdir(pr->workdir))
			_exit(127);
		close_range(3, ~0u, 0);
		execve(argv[0], argv, pr->envp);
		_exit(127);
	}
	if (!rc && pid < 0)
		rc = pv_error_set(err, PV_EIO, "cannot fork: %s", strerror(errno));
	if (pid > 0)
		setpgid(pid, pid);
	if (efd >= 0)
		close(efd);
	pv_argv_free(argv);
	*out = pid > 0 ? pid : 0;
	return rc;
}

/* Waits for helper pid until deadline, then SIGTERM to its group and
 * SIGKILL LOAD_TERM_WAIT_S later. True when it exited by itself. */
static bool wait_helper(pid_t pid, double deadline, int *status)
{
	bool termed = false;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return !termed;
		if (r < 0 && errno != EINTR)
			return false;
		double now = pt_now();
		if (now >= deadline && !termed) {
			kill(-pid, SIGTERM);
			termed = true;
			deadline = now + LOAD_TERM_WAIT_S;
		} else if (now >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return false;
		}
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
}

static void first_line_of(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "re");
	if (f && fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

static void first_line(const char *text, char *buf, size_t len)
{
	size_t n = strcspn(text, "\n");
	n = n < len - 1 ? n : len - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
}

/* "exit status 3", "SIGSEGV" */
static void word_status(int st, char *buf, size_t len)
{
	if (WIFSIGNALED(st))
		snprintf(buf, len, "death by SIG%s", sigabbrev_np(WTERMSIG(st)));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
}

/* ------------------------------------------------------------ open/close */

int pt_program_open(const struct pv_backend_config *cfg, struct pt_program **out,
                    struct pv_error *err)
{
	*out = NULL;
	if (!cfg->work_dir)
		return pv_error_set(err, PV_EINVAL, "a program scenario needs a work directory "
		                                    "(patchvet run's --out) for its {workdir}");
	struct pt_program *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	pr->pg = cfg->program;
	pr->target = realpath(cfg->target_path, NULL);
	pr->work_root = realpath(cfg->work_dir, NULL);
	if (!pr->target || !pr->work_root) {
		const char *what = pr->target ? cfg->work_dir : cfg->target_path;
		int rc = pv_error_set(err, PV_ENOENT, "%s: %s", what, strerror(errno));
		pt_program_close(pr);
		return rc;
	}
	*out = pr;
	return 0;
}

void pt_program_close(struct pt_program *pr)
{
	if (!pr)
		return;
	pt_program_end(pr);
	free(pr->target);
	free(pr->work_root);
	free(pr);
}

/* ------------------------------------------------------------ a run */

void pt_program_end(struct pt_program *pr)
{
	if (!pr)
		return;
	if (pr->load_pid > 0) {
		kill(-pr->load_pid, SIGKILL);
		kill(pr->load_pid, SIGKILL);
		while (waitpid(pr->load_pid, NULL, 0) < 0 && errno == EINTR)
			;
		pr->load_pid = 0;
	}
	if (pr->workdir[0])
		nftw(pr->workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pr->workdir[0] = '\0';
	pv_argv_free(pr->argv);
	pv_argv_free(pr->envp);
	pr->argv = pr->envp = NULL;
	pr->state = PT_PROGRAM_IDLE;
}

int pt_program_spawn(struct pt_program *pr, struct pt_proc *p, struct pv_error *err)
{
	pt_program_end(pr); /* what a previous run left */
	const struct pv_program *pg = pr->pg;
	pr->load_ran = pr->load_exited = false;
	pr->load_status = 0;
	pr->load_first[0] = '\0';
	if (snprintf(pr->workdir, sizeof(pr->workdir), "%s/.work-XXXXXX", pr->work_root) >=
	    (int)sizeof(pr->workdir) || !mkdtemp(pr->workdir)) {
		int e = errno;
		pr->workdir[0] = '\0';
		return pv_error_set(err, PV_EIO, "cannot make a work directory in %s: %s",
		                    pr->work_root, strerror(e));
	}
	if (!(pr->port = free_port())) {
		pt_program_end(pr);
		return pv_error_set(err, PV_EIO, "no free TCP port on 127.0.0.1 for {port}");
	}
	pr->vars = (struct pv_program_vars){.target = pr->target, .dir = pg->dir,
	                                    .workdir = pr->workdir, .port = pr->port};
	char *cwd = NULL, *in = NULL, *out = NULL;
	int rc = pv_program_split(pg->command, &pr->vars, &pr->argv, err);
	if (!rc)
		rc = find_program(&pr->argv[0], err);
	if (!rc)
		rc = make_env(pr, err);
	if (!rc)
		rc = pv_program_expand(pg->cwd ? pg->cwd : "{workdir}", &pr->vars, &cwd, err);
	if (!rc && pg->stdin_path)
		rc = pv_program_expand(pg->stdin_path, &pr->vars, &in, err);
	if (!rc && pg->stdout_path)
		rc = pv_program_expand(pg->stdout_path, &pr->vars, &out, err);
	if (!rc) {
		struct pt_spawn_opts o = {.envp = pr->envp, .cwd = cwd, .stdin_path = in,
		                          .stdout_path = out};
		pr->started = pt_now();
		pr->deadline = pr->started + pg->timeout;
		rc = pt_spawn_with(pr->argv, &o, p, err);
	}
	free(cwd);
	free(in);
	free(out);
	if (rc) {
		pt_program_end(pr);
		return rc;
	}
	pr->state = PT_PROGRAM_STARTING;
	pr->signalled = false;
	return 0;
}

static bool is_ready(struct pt_proc *p, void *arg)
{
	struct pt_program *pr = arg;
	const struct pv_program *pg = pr->pg;
	switch (pg->ready) {
	case PV_READY_DELAY:
		return pt_now() >= pr->started + pg->ready_delay;
	case PV_READY_PORT: {
		unsigned port = strcmp(pg->ready_arg, "{port}") ? (unsigned)atoi(pg->ready_arg)
		                                                : pr->port;
		return port_open(port);
	}
	case PV_READY_FILE: {
		char *path = NULL;
		struct pv_error e;
		bool ok = !pv_program_expand(pg->ready_arg, &pr->vars, &path, &e) &&
		          !access(path, F_OK);
		free(path);
		return ok;
	}
	case PV_READY_OUTPUT:
		return strstr(p->output, pg->ready_arg) != NULL;
	}
	return false;
}

/* "port 8080" */
static void word_ready(const struct pv_program *pg, char *buf, size_t len)
{
	static const char *const kinds[] = {"delay", "port", "file", "output"};
	if (pg->ready == PV_READY_DELAY)
		snprintf(buf, len, "delay %g", pg->ready_delay);
	else
		snprintf(buf, len, "%s %.80s", kinds[pg->ready], pg->ready_arg);
}

void pt_program_start(struct pt_program *pr, struct pt_proc *p)
{
	pt_resume_all(p);
	pt_pump_until(p, pr->deadline, is_ready, pr);
	if (!is_ready(p, pr)) {
		pr->state = p->exited ? PT_PROGRAM_ENDED : PT_PROGRAM_NEVER;
		if (pr->state == PT_PROGRAM_NEVER) {
			char r[100];
			word_ready(pr->pg, r, sizeof(r));
			pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "the program was not ready (ready = "
			             "%s) within its timeout of %g s", r, pr->pg->timeout);
		}
		return;
	}
	pr->state = PT_PROGRAM_READY;
	if (!pr->pg->load)
		return;
	char errpath[PATH_MAX + 16];
	snprintf(errpath, sizeof(errpath), "%s/.load-stderr", pr->workdir);
	struct pv_error e;
	pv_error_clear(&e);
	if (run_helper(pr, pr->pg->load, errpath, &pr->load_pid, &e))
		snprintf(pr->load_first, sizeof(pr->load_first), "%.159s", e.msg);
	pr->load_ran = pr->load_pid > 0;
}

bool pt_program_ready(const struct pt_program *pr)
{
	return pr->state == PT_PROGRAM_READY;
}

void pt_program_window(struct pt_program *pr, struct pt_proc *p)
{
	unsigned b = pt_decide(p, 0);
	pt_pump(p, pt_now() + pr->pg->window * (double)(b & 0xff) / 256.0);
}

/* The load driver ends: awaited until deadline when the oracle is its
 * status, else stopped now (SIGTERM, SIGKILL LOAD_TERM_WAIT_S later)
 * unless it ended by itself. */
static void stop_load(struct pt_program *pr, struct pt_proc *p, double deadline)
{
	if (pr->load_pid <= 0)
		return;
	if (pr->pg->verify == PV_VERIFY_LOAD) {
		/* The traced program keeps being served meanwhile. */
		int st = 0;
		pid_t r;
		while ((r = waitpid(pr->load_pid, &st, WNOHANG)) == 0 && pt_now() < deadline &&
		       !p->exited)
			pt_pump(p, pt_now() + 0.005);
		if (r == pr->load_pid || (r == 0 && waitpid(pr->load_pid, &st, WNOHANG) == pr->load_pid)) {
			pr->load_exited = true;
			pr->load_status = st;
			pr->load_pid = 0;
			return;
		}
	}
	int st = 0;
	pr->load_exited = wait_helper(pr->load_pid, pr->pg->verify == PV_VERIFY_LOAD ? deadline
	                                                                            : pt_now(),
	                              &st);
	pr->load_status = st;
	pr->load_pid = 0;
}

bool pt_program_stop(struct pt_program *pr, struct pt_proc *p)
{
	const struct pv_program *pg = pr->pg;
	if (pr->state != PT_PROGRAM_READY) {
		stop_load(pr, p, pt_now());
		return !p->exited;
	}
	stop_load(pr, p, pr->deadline);
	if (p->exited)
		return false;
	if (pg->stop == PV_STOP_EXIT) {
		if (pt_pump_until(p, pr->deadline, NULL, NULL) == PV_ETIMEDOUT) {
			pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "the program did not end by itself "
			             "within its timeout of %g s", pg->timeout);
			return true;
		}
		return false;
	}
	kill(p->pid, pg->stop_signal);
	pr->signalled = true;
	if (pt_pump_until(p, pt_now() + pg->stop_wait, NULL, NULL) == PV_ETIMEDOUT) {
		pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "the program did not stop within %g s of "
		             "SIG%s", pg->stop_wait, sigabbrev_np(pg->stop_signal));
		return true;
	}
	return false;
}

/* Runs the verify command after the program ended: 0 and *status, or a
 * code (err) when it could not start. */
static int run_verify(struct pt_program *pr, int *status, char *first, size_t len,
                      struct pv_error *err)
{
	char errpath[PATH_MAX + 16];
	snprintf(errpath, sizeof(errpath), "%s/.verify-stderr", pr->workdir);
	pid_t pid;
	int rc = run_helper(pr, pr->pg->verify_command, errpath, &pid, err);
	if (rc)
		return rc;
	double deadline = pr->deadline;
	if (deadline < pt_now() + VERIFY_MIN_S)
		deadline = pt_now() + VERIFY_MIN_S;
	if (!wait_helper(pid, deadline, status))
		return pv_error_set(err, PV_ETIMEDOUT, "the verify command did not end within %.0f s",
		                    deadline - pr->started);
	first_line_of(errpath, first, len);
	return 0;
}

void pt_program_judge(struct pt_program *pr, struct pt_proc *p, struct pv_run_result *res,
                      bool killed, const char *crash_where)
{
	const struct pv_program *pg = pr->pg;
	char detail[PV_CHECK_DETAIL_LEN], first[160], st[48];
	if (p->crash.seen || killed || !p->exited) {
		pt_judge_exit(p, res, killed, crash_where, NULL);
		return;
	}
	bool by_stop = pg->stop == PV_STOP_SIGNAL && pr->state == PT_PROGRAM_READY &&
	               WIFSIGNALED(p->status) && WTERMSIG(p->status) == pg->stop_signal;
	if (WIFSIGNALED(p->status) && !by_stop) {
		pt_judge_exit(p, res, false, crash_where, NULL);
		return;
	}
	int code = by_stop ? 0 : WEXITSTATUS(p->status);
	first_line(p->output, first, sizeof(first));
	if (pr->state == PT_PROGRAM_ENDED) {
		word_status(p->status, st, sizeof(st));
		snprintf(res->engine_error, sizeof(res->engine_error),
		         "the program ended (%s) before it was ready%s%.100s", st, first[0] ? ": " : "",
		         first);
		return;
	}
	if (pr->state != PT_PROGRAM_READY)
		return;
	/* A program the scenario stops with a signal runs until then: ending
	 * by itself once patched is what its oracle may not see. (Before
	 * apply, the run already says the target ended first.) */
	if (pg->stop == PV_STOP_SIGNAL && !pr->signalled && res->apply_rc == 0) {
		word_status(p->status, st, sizeof(st));
		pt_violation(p, PV_CHECK_TARGET_VERIFY, -1, 0, "the program ended by itself (%s) "
		             "before it was stopped with SIG%s%s%.100s", st,
		             sigabbrev_np(pg->stop_signal), first[0] ? ": " : "", first);
		return;
	}
	int status = -1;
	switch (pg->verify) {
	case PV_VERIFY_EXIT:
		res->verify_status = code;
		if (code) {
			pv_target_verify_word_exit(code, first, detail, sizeof(detail));
			pt_violation(p, PV_CHECK_TARGET_VERIFY, -1, 0, "%s", detail);
		}
		return;
	case PV_VERIFY_LOAD:
		if (!pr->load_ran) {
			pt_violation(p, PV_CHECK_TARGET_VERIFY, -1, 0, "the load driver did not start: "
			             "%s", pr->load_first);
			return;
		}
		if (!pr->load_exited) {
			pt_violation(p, PV_CHECK_LIVENESS, -1, 0, "the load driver did not end within "
			             "the run's timeout of %g s", pg->timeout);
			return;
		}
		status = pr->load_status;
		char errpath[PATH_MAX + 16];
		snprintf(errpath, sizeof(errpath), "%s/.load-stderr", pr->workdir);
		first_line_of(errpath, first, sizeof(first));
		break;
	case PV_VERIFY_COMMAND: {
		struct pv_error e;
		pv_error_clear(&e);
		if (run_verify(pr, &status, first, sizeof(first), &e)) {
			pt_violation(p, PV_CHECK_TARGET_VERIFY, -1, 0, "%s", e.msg);
			return;
		}
		break;
	}
	}
	res->verify_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (res->verify_status) {
		word_status(status, st, sizeof(st));
		pt_violation(p, PV_CHECK_TARGET_VERIFY, -1, 0, "the %s failed (%s)%s%s",
		             pg->verify == PV_VERIFY_LOAD ? "load driver" : "verify command", st,
		             first[0] ? ": " : "", first);
	}
}

/* ------------------------------------------------------------ dry run */

int pt_program_dry_run(struct pt_program *pr, struct pt_proc *p, struct pv_error *err)
{
	struct pv_run_result *res = calloc(1, sizeof(*res));
	struct pt_run *run = calloc(1, sizeof(*run));
	if (!res || !run) {
		free(res);
		free(run);
		pt_release(p);
		pt_program_end(pr);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	struct pv_error serr;
	pv_error_clear(&serr);
	p->err = &serr;
	run->res = res;
	run->program = pr;
	res->verify_status = -1;
	p->run = run;
	pt_program_start(pr, p);
	if (pr->state == PT_PROGRAM_READY) {
		pt_program_window(pr, p);
		pt_program_window(pr, p);
	}
	bool killed = pt_program_stop(pr, p);
	pt_release(p);
	pt_program_judge(pr, p, res, killed, NULL);
	int rc = 0;
	const char *cmd = pr->pg->command;
	if (pr->state == PT_PROGRAM_ENDED)
		rc = pv_error_set(err, PV_EINVAL, "%s: %s (a run without an engine; `ready` must "
		                                  "hold while the program runs)", cmd,
		                  res->engine_error);
	else if (res->nviolations)
		rc = pv_error_set(err, PV_EINVAL, "%s: a run without an engine fails: %s", cmd,
		                  res->violations[0].detail);
	p->run = NULL;
	pt_program_end(pr);
	free(run);
	free(res);
	return rc;
}
