/* `patchvet bench` on real processes (harness/ptrace/bench.h). */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ptrace.h"

extern char **environ;

#define PROC_TIMEOUT_S 120.0 /* one bench process, from gate to exit */
#define BUSY_RETRIES 50     /* apply/revert that gave up (a thread inside) */
#define CYCLE_ITERATIONS 1000000000000ul /* "forever": killed at the end */

static void sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1e3), (long)((ms - (time_t)(ms / 1e3) * 1e3) * 1e6)};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Every worker was born and has had its first stop served: a thread whose
 * first stop is still pending is not yet traced in the books, and
 * pt_detach_all would leave it behind, stopped. */
static bool workers_born(struct pt_proc *p, void *arg)
{
	if (p->nthreads < *(const unsigned *)arg + 1)
		return false;
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].live && !p->threads[i].traced)
			return false;
	return true;
}

/* Forget what the last engine operation left in the run's books. */
static void run_reset(struct pt_run *run)
{
	for (size_t i = 0; i < run->nwrites; i++)
		free(run->writes[i].orig);
	run->nwrites = 0;
	run->nmaps = 0;
	run->ntraps = 0;
	run->nretired = 0;
	run->longest_pause_ms = 0;
	pt_os_free(run->pause_os);
	run->pause_os = NULL;
	free(run->pause_mem);
	run->pause_mem = NULL;
}

static uint64_t live_map_bytes(const struct pt_run *run)
{
	uint64_t n = 0;
	for (size_t i = 0; i < run->nmaps; i++)
		n += run->maps[i].live ? run->maps[i].len : 0;
	return n;
}

/* apply or revert, retried while the engine gives up (PV_EBUSY); the world
 * resumed whatever the engine left stopped. */
static int engine_op(struct pt_proc *p, struct pt_space *sp, const struct pv_engine *e,
                     void *state, bool revert, struct pv_error *err)
{
	struct pt_run *run = p->run;
	struct pv_error eerr;
	int rc = PV_EBUSY;
	for (unsigned k = 0; rc == PV_EBUSY && k < BUSY_RETRIES; k++) {
		if (k)
			pt_pump(p, pt_now() + 1e-3);
		pv_error_clear(&eerr);
		pv_error_clear(p->err);
		run->in_engine = true;
		run->op = revert ? "revert" : "apply";
		run->engine_deadline = pt_now() + PT_ENGINE_TIMEOUT_MS / 1e3;
		rc = revert ? e->revert(state, &sp->space, &eerr) : e->apply(state, &sp->space, &eerr);
		run->in_engine = false;
		if (p->world_stopped)
			pt_resume_all(p);
	}
	if (rc)
		pv_error_set(err, rc, "%s: %s failed: %s", e->name, revert ? "revert" : "apply",
		             eerr.msg[0] ? eerr.msg : pv_strerror(rc));
	return rc;
}

static int parse_report(const char *path, struct pv_native_proc *out, struct pv_error *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return pv_error_set(err, PV_EIO, "the target wrote no bench report (%s: %s); is it "
		                                 "built with patchvet's native runtime?", path,
		                    strerror(errno));
	char line[256];
	double cpu = 0, wall = 0;
	unsigned long ops = 0;
	unsigned nworkers = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned i;
		long long c, w;
		long kb;
		if (sscanf(line, "ops %lu", &ops) == 1)
			continue;
		if (sscanf(line, "worker %u %lld %lld", &i, &c, &w) == 3) {
			cpu += (double)c;
			wall = (double)w > wall ? (double)w : wall;
			nworkers++;
		} else if (sscanf(line, "rss_kb %ld", &kb) == 1) {
			out->rss_kb = (double)kb;
		} else if (sscanf(line, "pss_kb %ld", &kb) == 1) {
			out->pss_kb = (double)kb;
		}
	}
	fclose(f);
	if (!ops || !nworkers)
		return pv_error_set(err, PV_EIO, "%s: the bench report has no operations", path);
	out->ops = ops;
	out->cpu_ns_per_op = cpu / (double)ops;
	out->wall_ns_per_op = wall / ((double)ops / nworkers);
	return 0;
}

/* Our environment plus the bench variables (PV_BENCH_LATENCY=1 with
 * latency); free() it with free_env. */
static char **bench_env(const char *gate, const char *report, bool latency)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 4, sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PV_BENCH_", 9))
			env[k++] = environ[i];
	if (asprintf(&env[k], "PV_BENCH_GATE=%s", gate) < 0) {
		free(env);
		return NULL;
	}
	if (asprintf(&env[k + 1], "PV_BENCH_REPORT=%s", report) < 0 ||
	    (latency && !(env[k + 2] = strdup("PV_BENCH_LATENCY=1")))) {
		free(env[k]);
		free(env[k + 1]);
		free(env);
		return NULL;
	}
	return env;
}

/* Frees what bench_env allocated: the strings after environ's. */
static void free_env(char **env)
{
	if (!env)
		return;
	size_t k = 0;
	while (env[k])
		k++;
	for (size_t i = 0; i < k; i++)
		if (!strncmp(env[i], "PV_BENCH_", 9))
			free(env[i]);
	free(env);
}

/* Opens the gate's write end once the target's main waits on it. */
static int open_gate(struct pt_proc *p, const char *gate)
{
	for (unsigned k = 0; k < 2000; k++) {
		int fd = open(gate, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != ENXIO || pt_reap_detached(p))
			return -1;
		sleep_ms(1);
	}
	return -1;
}

/* One bench process: its gate and report files, environment and ptrace
 * state, from creation to cleanup (bench_open / bench_start / bench_close). */
struct bench_proc {
	char gate[4096], report[4096];
	char **env;
	struct pt_run *run;
	struct pt_proc *p;
	struct pv_run_result *res;
	struct pt_space sp;
	bool prepared;          /* p and sp hold a process */
};

static int bench_open(struct bench_proc *b, const char *dir, bool latency,
                      struct pv_error *err)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->gate, sizeof(b->gate), "%s/gate", dir);
	snprintf(b->report, sizeof(b->report), "%s/report", dir);
	unlink(b->report);
	if (mkfifo(b->gate, 0600) && errno != EEXIST)
		return pv_error_set(err, PV_EIO, "cannot make the bench gate %s: %s", b->gate,
		                    strerror(errno));
	b->env = bench_env(b->gate, b->report, latency);
	b->run = calloc(1, sizeof(*b->run));
	b->p = calloc(1, sizeof(*b->p));
	b->res = calloc(1, sizeof(*b->res));
	if (!b->env || !b->run || !b->p || !b->res)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	b->run->res = b->res;
	return 0;
}

/* Spawns the target, lets main run and waits until every worker is born
 * and holds at the runtime's barrier. */
static int bench_start(struct bench_proc *b, void *handle, unsigned workers,
                       unsigned long iterations, struct pv_error *err)
{
	int rc = pt_backend_prepare(handle, workers, iterations, b->env, b->p, b->run, &b->sp, err);
	if (rc)
		return rc;
	b->prepared = true;
	struct pt_proc *p = b->p;
	pt_resume_thread(p, &p->threads[0]);
	if (pt_pump_until(p, pt_now() + PT_START_TIMEOUT_MS / 1e3, workers_born, &workers) ||
	    p->exited)
		return pv_error_set(err, PV_EIO, "the target's %u workers did not start (%s)",
		                    workers, p->output[0] ? p->output : "no message");
	/* Main on its way to the gate; the workers wait at the barrier. */
	pt_pump(p, pt_now() + 2e-3);
	return 0;
}

/* Opens the gate: the workers start their measured run. */
static int bench_go(struct bench_proc *b, struct pv_error *err)
{
	int fd = open_gate(b->p, b->gate);
	if (fd < 0 || write(fd, "g", 1) != 1) {
		int rc = pv_error_set(err, PV_EIO, "cannot open the target's bench gate %s: %s",
		                      b->gate, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	close(fd);
	return 0;
}

static void bench_close(struct bench_proc *b)
{
	if (b->prepared) {
		pt_release(b->p);
		pt_space_fini(&b->sp);
	}
	if (b->run)
		run_reset(b->run);
	free_env(b->env);
	unlink(b->report);
	free(b->run);
	free(b->p);
	free(b->res);
}

int pv_ptrace_bench_proc(void *handle, const struct pv_engine *engine, bool patched,
                         unsigned workers, unsigned long iterations, const char *dir,
                         struct pv_native_proc *out, struct pv_error *err)
{
	memset(out, 0, sizeof(*out));
	struct bench_proc b;
	void *state = NULL;
	int rc = bench_open(&b, dir, false, err);
	if (!rc)
		rc = bench_start(&b, handle, workers, iterations, err);
	if (rc)
		goto out;
	struct pt_proc *p = b.p;
	if (patched) {
		struct pv_error perr;
		pv_error_clear(&perr);
		rc = engine->plan(pv_backend_ptrace_ops.patch(handle), &state, &perr);
		if (rc) {
			pv_error_set(err, rc, "%s: plan failed: %s", engine->name,
			             perr.msg[0] ? perr.msg : pv_strerror(rc));
			goto out;
		}
		if ((rc = engine_op(p, &b.sp, engine, state, false, err)))
			goto out;
		out->apply_pause_ms = b.run->longest_pause_ms;
		out->engine_bytes = live_map_bytes(b.run);
	}
	/* From here the process runs untraced; PDEATHSIG still ties it to us. */
	if ((rc = pt_detach_all(p)) || (rc = bench_go(&b, err)))
		goto out;
	double deadline = pt_now() + PROC_TIMEOUT_S;
	while (!pt_reap_detached(p) && pt_now() < deadline)
		sleep_ms(1);
	if (!p->exited) {
		rc = pv_error_set(err, PV_ETIMEDOUT, "a bench process ran over %.0f s; lower --time "
		                                     "or the scenario's iterations", PROC_TIMEOUT_S);
		goto out;
	}
	if (!WIFEXITED(p->status) || WEXITSTATUS(p->status)) {
		pt_drain_output(p);
		rc = pv_error_set(err, PV_EIO, "a bench process (%s) did not end well: %s %d%s%s",
		                  patched ? "patched" : "unpatched",
		                  WIFEXITED(p->status) ? "exit status" : "signal",
		                  WIFEXITED(p->status) ? WEXITSTATUS(p->status) : WTERMSIG(p->status),
		                  p->output[0] ? ": " : "", p->output);
		goto out;
	}
	rc = parse_report(b.report, out, err);
out:
	/* The process first: the engine's release may not touch it. */
	bench_close(&b);
	if (state && engine->release)
		engine->release(state);
	return rc;
}

unsigned long pv_ptrace_bench_iterations(void *handle)
{
	unsigned long n = 0;
	return pt_backend_ctl(handle, PT_CTL_ITERATIONS, &n) ? 0 : n;
}

double pv_bench_bucket_lo(unsigned b)
{
	/* corpora/runtime/native.c's lat_bucket, inverted. */
	if (b < 8)
		return b;
	unsigned e = b / 8 + 2, sub = b % 8;
	return (double)((8ull + sub) << (e - 3));
}

/* Sets the runtime's pv__bench_window. */
static int set_window(struct pt_proc *p, uint64_t addr, int on)
{
	return pt_write(p, addr, &on, sizeof(on));
}

static int parse_latency(const char *path, struct pv_native_latency *out, struct pv_error *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return pv_error_set(err, PV_EIO, "the target wrote no bench report (%s: %s)", path,
		                    strerror(errno));
	char line[128];
	unsigned win, b, n, lines = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "lat %u %u %u", &win, &b, &n) == 3 && win < 2 &&
		    b < PV_BENCH_LAT_BUCKETS) {
			out->counts[win][b] += n;
			lines++;
		}
	fclose(f);
	if (!lines)
		return pv_error_set(err, PV_ENOENT, "the target records no operation latencies (it "
		                                    "does not call pv_op_done)");
	return 0;
}

int pv_ptrace_bench_latency(void *handle, const struct pv_engine *engine, unsigned workers,
                            unsigned long iterations, const char *dir,
                            struct pv_native_latency *out, struct pv_error *err)
{
	memset(out, 0, sizeof(*out));
	struct bench_proc b;
	void *state = NULL;
	uint64_t flag = 0, size = 0;
	int rc = bench_open(&b, dir, true, err);
	if (rc)
		goto out;
	struct pv_error perr;
	pv_error_clear(&perr);
	rc = engine->plan(pv_backend_ptrace_ops.patch(handle), &state, &perr);
	if (rc) {
		pv_error_set(err, rc, "%s: plan failed: %s", engine->name,
		             perr.msg[0] ? perr.msg : pv_strerror(rc));
		goto out;
	}
	if ((rc = bench_start(&b, handle, workers, iterations, err)))
		goto out;
	struct pt_proc *p = b.p;
	struct pt_run *run = b.run;
	if (pv_space_symbol(&b.sp.space, "pv__bench_window", &flag, &size) || !flag) {
		rc = pv_error_set(err, PV_ENOENT, "the target has no pv__bench_window: is it built "
		                                  "with patchvet's native runtime?");
		goto out;
	}
	if ((rc = bench_go(&b, err)))
		goto out;
	/* Steady state, the apply window, patched, the revert window. */
	pt_pump(p, pt_now() + 0.15);
	uint64_t used_at = 0;
	int used = 0;
	if (!pv_space_symbol(&b.sp.space, "pv__bench_lat_used", &used_at, &size) &&
	    !p->exited && !pt_read(p, used_at, &used, sizeof(used)) && !used) {
		rc = pv_error_set(err, PV_ENOENT, "the target records no operation latencies (it "
		                                  "does not call pv_op_done)");
		goto out;
	}
	for (int op = 0; op < 2 && !rc; op++) {
		if (p->exited) {
			rc = pv_error_set(err, PV_EIO, "the target ended before %s; its run is too short",
			                  op ? "revert" : "apply");
			break;
		}
		run_reset(run);
		if ((rc = set_window(p, flag, 1)))
			break;
		rc = engine_op(p, &b.sp, engine, state, op == 1, err);
		pt_pump(p, pt_now() + PV_BENCH_WINDOW_GRACE_MS / 1e3);
		set_window(p, flag, 0);
		if (op)
			out->revert_pause_ms = run->longest_pause_ms;
		else
			out->apply_pause_ms = run->longest_pause_ms;
		if (!op)
			pt_pump(p, pt_now() + 0.05);
	}
	if (rc)
		goto out;
	if (pt_pump_until(p, pt_now() + PT_FINISH_TIMEOUT_MS / 1e3, NULL, NULL) || !p->exited) {
		rc = pv_error_set(err, PV_ETIMEDOUT, "the target did not finish within %d ms",
		                  PT_FINISH_TIMEOUT_MS);
		goto out;
	}
	if (!WIFEXITED(p->status) || WEXITSTATUS(p->status)) {
		rc = pv_error_set(err, PV_EIO, "the latency run did not end well (%s)",
		                  p->output[0] ? p->output : "no message");
		goto out;
	}
	rc = parse_latency(b.report, out, err);
out:
	bench_close(&b);
	if (state && engine->release)
		engine->release(state);
	return rc;
}

static void read_memory(pid_t pid, struct pv_native_cycle *c)
{
	char path[64], line[256];
	long kb;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %ld kB", &kb) == 1)
			c->rss_kb = (double)kb;
		else if (sscanf(line, "Pss: %ld kB", &kb) == 1)
			c->pss_kb = (double)kb;
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
			c->vm_kb = (double)kb;
	if (f)
		fclose(f);
}

int pv_ptrace_bench_cycles(void *handle, const struct pv_engine *engine, unsigned workers,
                           unsigned cycles, struct pv_native_cycle *out, unsigned *done,
                           struct pv_error *err)
{
	*done = 0;
	struct pt_run *run = calloc(1, sizeof(*run));
	struct pt_proc *p = calloc(1, sizeof(*p));
	struct pv_run_result *res = calloc(1, sizeof(*res));
	if (!run || !p || !res) {
		free(run);
		free(p);
		free(res);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	run->res = res;
	struct pt_space sp;
	void *state = NULL;
	struct pv_error perr;
	pv_error_clear(&perr);
	int rc = engine->plan(pv_backend_ptrace_ops.patch(handle), &state, &perr);
	if (rc) {
		pv_error_set(err, rc, "%s: plan failed: %s", engine->name,
		             perr.msg[0] ? perr.msg : pv_strerror(rc));
		goto out_noproc;
	}
	if ((rc = pt_backend_prepare(handle, workers, CYCLE_ITERATIONS, NULL, p, run, &sp, err)))
		goto out_noproc;
	pt_resume_thread(p, &p->threads[0]);
	if (pt_pump_until(p, pt_now() + PT_START_TIMEOUT_MS / 1e3, workers_born, &workers) ||
	    p->exited) {
		rc = pv_error_set(err, PV_EIO, "the target's %u workers did not start (%s)", workers,
		                  p->output[0] ? p->output : "no message");
		goto out;
	}
	pt_pump(p, pt_now() + 10e-3);
	double leaked = 0;
	for (unsigned i = 0; i < cycles; i++) {
		struct pv_native_cycle *c = &out[i];
		memset(c, 0, sizeof(*c));
		run_reset(run);
		if ((rc = engine_op(p, &sp, engine, state, false, err)))
			break;
		c->apply_pause_ms = run->longest_pause_ms;
		c->mapped_bytes = (double)live_map_bytes(run);
		pt_pump(p, pt_now() + 2e-3);
		run->longest_pause_ms = 0;
		if ((rc = engine_op(p, &sp, engine, state, true, err)))
			break;
		c->revert_pause_ms = run->longest_pause_ms;
		leaked += (double)live_map_bytes(run);
		c->leaked_bytes = leaked;
		read_memory(p->pid, c);
		if (p->exited) {
			rc = pv_error_set(err, PV_EIO, "the target ended during apply/revert cycles (%s)",
			                  p->output[0] ? p->output : "no message");
			break;
		}
		*done = i + 1;
		pt_pump(p, pt_now() + 1e-3);
	}
out:
	pt_release(p);
	pt_space_fini(&sp);
out_noproc:
	if (state && engine->release)
		engine->release(state);
	run_reset(run);
	free(run);
	free(p);
	free(res);
	return rc;
}
