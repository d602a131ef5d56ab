#include "jobs.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../reports/report.h"
#include "../util/files.h"
#include "merge.h"
#include "../util/clock.h"

/* What a worker tells the parent while it runs, in shared memory. */
struct slot {
	volatile uint64_t job, done, violating;
};

struct worker_ctx {
	struct slot *slot;
};

static void worker_progress(void *ctx, const struct pv_progress *p)
{
	struct slot *s = ((struct worker_ctx *)ctx)->slot;
	s->job = p->job;
	s->done = p->campaign_done;
	s->violating = p->violating;
}

/* The worker process: its part of every job, results to DIR/results.json. */
static int worker(const struct pv_drive_config *cfg, unsigned w, unsigned nworkers,
                  const char *dir, struct slot *slot, const struct pv_job *jobs, size_t njobs)
{
	struct pv_error err;
	pv_error_clear(&err);
	struct pv_drive_config wc = *cfg;
	uint64_t count = cfg->part.count ? cfg->part.count : 1;
	wc.part = (struct pv_partition){cfg->part.index + count * w, count * nworkers};
	wc.out_dir = dir;
	struct worker_ctx ctx = {.slot = slot};
	wc.progress = worker_progress;
	wc.progress_ctx = &ctx;
	wc.finished = NULL;
	wc.job_done = NULL;
	struct pv_campaign c;
	pv_campaign_init(&c);
	char path[PATH_MAX + 32];
	int rc = pv_mkdir_p(dir, &err);
	if (!rc)
		rc = pv_drive(&wc, jobs, njobs, &c, &err);
	char *text = NULL;
	size_t len = 0;
	if (!rc)
		rc = pv_report_json(&c, &text, &len, &err);
	if (!rc && snprintf(path, sizeof(path), "%s/results.json", dir) >= (int)sizeof(path))
		rc = pv_error_set(&err, PV_ERANGE, "%s: path too long", dir);
	if (!rc)
		rc = pv_file_write_atomic(path, text, len, &err);
	free(text);
	pv_campaign_free(&c);
	if (rc)
		fprintf(stderr, "patchvet: worker %u: %s\n", w + 1, err.msg);
	return rc ? 3 : 0;
}

/* Moves m's results to the end of c (which owns them afterwards). */
static int adopt(struct pv_campaign *c, struct pv_campaign *m, struct pv_error *err)
{
	if (!m->nresults)
		return 0;
	struct pv_result *v = realloc(c->results, (c->nresults + m->nresults) * sizeof(*v));
	if (!v)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	c->results = v;
	memcpy(v + c->nresults, m->results, m->nresults * sizeof(*v));
	c->nresults += m->nresults;
	c->total_schedules += m->total_schedules;
	free(m->results);
	m->results = NULL;
	m->nresults = 0;
	return 0;
}

/* The progress of all workers on job `job` of njobs, as the driver would
 * report it. */
static void report_progress(const struct pv_drive_config *cfg, const struct pv_job *j,
                            size_t job, size_t njobs, const struct slot *slots, unsigned n,
                            double start, double before)
{
	if (!cfg->progress)
		return;
	struct pv_progress p = {.job = job, .njobs = njobs, .schedules = cfg->schedules,
	                        .engine = j->engine->name, .scenario = j->scenario};
	for (unsigned w = 0; w < n; w++) {
		p.done += slots[w].done;
		p.violating += slots[w].violating;
	}
	if (p.done > p.schedules)
		p.done = p.schedules;
	p.campaign_schedules = cfg->schedules * njobs;
	p.campaign_done = cfg->schedules * job + p.done;
	p.seconds = before + pv_now_s() - start;
	cfg->progress(cfg->progress_ctx, &p);
}

/* One job in nworkers processes, its joined result appended to c. */
static int one_job(const struct pv_drive_config *cfg, unsigned nworkers, const char *base,
                   const struct pv_job *job, size_t index, size_t njobs, struct pv_campaign *c,
                   struct pv_error *err)
{
	struct slot *slots = mmap(NULL, nworkers * sizeof(*slots), PROT_READ | PROT_WRITE,
	                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t *pids = calloc(nworkers, sizeof(*pids));
	if (slots == MAP_FAILED || !pids) {
		free(pids);
		if (slots != MAP_FAILED)
			munmap(slots, nworkers * sizeof(*slots));
		return pv_error_set(err, PV_ENOMEM, "out of memory for %u workers", nworkers);
	}
	memset(slots, 0, nworkers * sizeof(*slots));
	double start = pv_now_s(), before = c->seconds;
	pid_t parent = getpid();
	fflush(NULL);
	int rc = 0;
	unsigned started = 0;
	for (; started < nworkers; started++) {
		pid_t pid = fork();
		if (pid < 0) {
			rc = pv_error_set(err, PV_EIO, "cannot start worker %u: %s", started + 1,
			                  strerror(errno));
			break;
		}
		if (pid == 0) {
			/* A worker never outlives patchvet. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(3);
			char dir[PATH_MAX + 16];
			snprintf(dir, sizeof(dir), "%s/w%u", base, started);
			_exit(worker(cfg, started, nworkers, dir, &slots[started], job, 1));
		}
		pids[started] = pid;
	}
	unsigned running = started;
	int failed = 0;
	while (running) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno != EINTR)
			break;
		if (pid <= 0) {
			report_progress(cfg, job, index, njobs, slots, started, start, before);
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		for (unsigned w = 0; w < started; w++)
			if (pids[w] == pid) {
				running--;
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					failed = failed ? failed : (int)w + 1;
				if (WIFSIGNALED(status))
					fprintf(stderr, "patchvet: worker %u was killed by signal %d\n", w + 1,
					        WTERMSIG(status));
			}
	}
	if (!rc && failed)
		rc = pv_error_set(err, PV_EINTERNAL, "worker %d of %u failed (its message is above); "
		                                     "no results were joined", failed, nworkers);
	struct pv_merge m;
	pv_merge_init(&m, cfg->out_dir);
	for (unsigned w = 0; !rc && w < nworkers; w++) {
		char dir[PATH_MAX + 16], path[PATH_MAX + 32];
		snprintf(dir, sizeof(dir), "%s/w%u", base, w);
		snprintf(path, sizeof(path), "%s/results.json", dir);
		char *text = NULL;
		size_t len = 0;
		struct pv_campaign part;
		rc = pv_file_read(path, 1u << 30, &text, &len, err);
		if (!rc)
			rc = pv_report_json_read(text, len, path, &part, err);
		free(text);
		if (!rc) {
			rc = pv_merge_add(&m, &part, dir, path, err);
			pv_campaign_free(&part);
		}
	}
	if (!rc) {
		uint64_t missing;
		pv_merge_finish(&m, &missing);
		c->seconds = before + pv_now_s() - start;
		rc = adopt(c, &m.out, err);
		if (!rc && cfg->progress) {
			const struct pv_result *r = &c->results[c->nresults - 1];
			struct pv_progress p = {.job = index, .njobs = njobs, .engine = r->engine,
			                        .scenario = r->scenario, .done = r->schedules,
			                        .schedules = cfg->schedules, .seconds = c->seconds,
			                        .job_finished = true, .result = r};
			cfg->progress(cfg->progress_ctx, &p);
		}
	}
	pv_merge_free(&m);
	pv_remove_tree(base);
	munmap(slots, nworkers * sizeof(*slots));
	free(pids);
	return rc;
}

int pv_drive_jobs(const struct pv_drive_config *cfg, unsigned nworkers,
                  const struct pv_job *jobs, size_t njobs, struct pv_campaign *c,
                  struct pv_error *err)
{
	if (nworkers <= 1 || njobs == 0)
		return pv_drive(cfg, jobs, njobs, c, err);
	char base[PATH_MAX];
	if (snprintf(base, sizeof(base), "%s/.jobs-%ld", cfg->out_dir ? cfg->out_dir : "/tmp",
	             (long)getpid()) >= (int)sizeof(base))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", cfg->out_dir);
	const struct pv_explorer_info *xi = pv_explorer_row(cfg->explorers, cfg->explorer.kind);
	if (!xi)
		return pv_error_set(err, PV_EINVAL, "pv_drive_jobs: explorer %u is not in the table",
		                    cfg->explorer.kind);
	pv_explorer_to_campaign(xi, &cfg->explorer, c);
	c->time_budget = cfg->time_budget;
	c->schedules = cfg->schedules;
	c->shard_index = cfg->part.count ? cfg->part.index : 0;
	c->shard_count = cfg->part.count ? cfg->part.count : 1;
	int rc = 0;
	for (size_t i = 0; !rc && i < njobs; i++) {
		if (cfg->finished && cfg->finished[i]) {
			rc = pv_drive_adopt(cfg, i, njobs, cfg->finished[i], c, err);
			continue;
		}
		rc = pv_mkdir_p(base, err);
		if (!rc)
			rc = one_job(cfg, nworkers, base, &jobs[i], i, njobs, c, err);
		if (!rc && cfg->job_done)
			rc = cfg->job_done(cfg->job_done_ctx, i, &c->results[c->nresults - 1], err);
	}
	return rc;
}
