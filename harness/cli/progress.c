/* The progress display of engine campaigns (run, certify): the campaign
 * calls these hooks; what a line says and when it is drawn is decided here. */
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../campaign/driver.h"
#include "../model/campaign.h"
#include "../util/clock.h"
#include "progress.h"

static void fmt_duration(double s, char *buf, size_t len)
{
	if (s < 0 || s > 359999)
		snprintf(buf, len, "?");
	else if (s >= 3600)
		snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, len, "%.0fs", s);
}

/* Columns of the terminal on f; 80 when unknown. */
static int term_width(FILE *f)
{
	struct winsize ws;
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

static void progress_begin(void *ctx, size_t njobs)
{
	struct pv_cli_progress *pr = ctx;
	pr->tty = isatty(fileno(pr->f));
	pr->last = pv_now_s();
	pr->njobs = njobs;
}

static void progress_drive(void *ctx, size_t first_job)
{
	struct pv_cli_progress *pr = ctx;
	pr->job_base = first_job;
	pr->violating_base = pr->violating;
	pr->drive_start = pv_now_s();
}

static void progress_end(void *ctx)
{
	struct pv_cli_progress *pr = ctx;
	if (pr->drawn)
		fputs("\r\033[K", pr->f);
	pr->drawn = false;
	fflush(pr->f);
}

static void on_progress(void *ctx, const struct pv_progress *p)
{
	struct pv_cli_progress *pr = ctx;
	double t = pv_now_s();
	pr->violating = pr->violating_base + p->violating;
	size_t job = pr->job_base + p->job + 1, njobs = pr->njobs ? pr->njobs : p->njobs;
	if (p->job_finished) {
		const struct pv_result *r = p->result;
		if (!pr->tty)
			fprintf(pr->f, "patchvet: [%zu/%zu] %s on %s (%s): %s after %llu schedules\n",
			        job, njobs, r->engine, r->scenario, r->backend,
			        pv_verdict_name(r->verdict), (unsigned long long)r->schedules);
		fflush(pr->f);
		return;
	}
	/* A terminal gets a redrawn line 10 times a second, a log a line every
	 * 10 seconds. */
	if (t - pr->last < (pr->tty ? 0.1 : 10.0))
		return;
	pr->last = t;
	double elapsed = t - pr->drive_start;
	double rate = elapsed > 0 ? (double)p->campaign_done / elapsed : 0;
	char left[32];
	fmt_duration(rate > 0 ? (double)(p->campaign_schedules - p->campaign_done) / rate : -1,
	             left, sizeof(left));
	char counts[160];
	snprintf(counts, sizeof(counts), "%llu/%llu  %.0f/s  %llu violating  %s left",
	         (unsigned long long)p->done, (unsigned long long)p->schedules, rate,
	         (unsigned long long)pr->violating, left);
	if (!pr->tty) {
		fprintf(pr->f, "patchvet: [%zu/%zu] %s on %s: %s\n", job, njobs, p->engine,
		        p->scenario, counts);
		fflush(pr->f);
		return;
	}
	/* Fixed columns first and the names last, so nothing jumps between
	 * redraws; cut to the terminal's width, as a wrapped line cannot be
	 * redrawn with \r. */
	char bar[24];
	int w = 16, fill = p->schedules ? (int)((double)w * (double)p->done / (double)p->schedules)
	                                : 0;
	bar[0] = '[';
	for (int i = 0; i < w; i++)
		bar[1 + i] = i < fill ? '#' : '.';
	bar[1 + w] = ']';
	bar[2 + w] = '\0';
	char line[768];
	snprintf(line, sizeof(line), "[%zu/%zu] %s %s  %s on %s", job, njobs, bar, counts,
	         p->engine, p->scenario);
	fprintf(pr->f, "\r\033[K%.*s", term_width(pr->f) - 1, line);
	fflush(pr->f);
	pr->drawn = true;
}

struct pv_run_progress pv_cli_progress_hooks(struct pv_cli_progress *pr, FILE *f)
{
	*pr = (struct pv_cli_progress){.f = f};
	return (struct pv_run_progress){.begin = progress_begin, .drive = progress_drive,
	                                .update = on_progress, .end = progress_end, .ctx = pr};
}
