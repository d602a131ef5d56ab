/* One self-contained HTML file: inline CSS and SVG, no script, no font, no
 * image fetched from anywhere, so it opens from a CI artifact or a mail.
 * Sections: the verdict matrix per backend, each violation with its story
 * as a timeline, the explorer's guarantee and hot-window coverage, and the
 * overhead figures results carry, drawn against their thresholds with the
 * plot bench's page uses (reports/overhead.c). */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/model/version.h"
#include "internal.h"

#define esc pv_xml_escape

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;"
	"margin:0;background:#f6f7f9}"
	"main{max-width:1320px;margin:0 auto;padding:24px 28px 48px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:32px 0 10px;"
	"border-bottom:1px solid #d8dce3;padding-bottom:4px}h3{font-size:15px;margin:18px 0 8px}.card h3{margin-top:0}"
	".sub{color:#5b6475;margin:0 0 14px}"
	".badges span{display:inline-block;padding:3px 10px;border-radius:12px;margin-right:6px;"
	"font-weight:600;font-size:13px}"
	"table{border-collapse:collapse;background:#fff}"
	"td,th{border:1px solid #d8dce3;padding:6px 9px;text-align:left;vertical-align:top}"
	"th{background:#eef0f4;font-weight:600}"
	".wide{overflow-x:auto;max-width:100%}"
	"table.matrix td,table.matrix th{padding:5px 8px;font-size:13px}"
	"table.matrix th{white-space:nowrap}"
	".v{font-weight:700;letter-spacing:.02em}"
	".chk{font:12px ui-monospace,Menlo,Consolas,monospace;display:block;margin-top:2px;white-space:nowrap}"
	".n{color:#5b6475;font-size:12px;display:block}"
	".SAFE{background:#e3f4e5;color:#1b5e20}.UNSAFE{background:#fde4e4;color:#b71c1c}"
	".REFUSED{background:#e7ecf0;color:#455a64}.ERROR{background:#fff0db;color:#b45309}"
	"td.unexpected{outline:3px solid #d81b60;outline-offset:-3px}"
	".none{background:#fafafa;color:#aab}"
	".facts td:first-child{color:#5b6475;white-space:nowrap}"
	".facts td{font:12.5px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}"
	".card{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:14px 16px;"
	"margin:0 0 16px}"
	".viol{border-left:4px solid #c62828;padding:2px 0 2px 12px;margin:12px 0}"
	"code{font:12.5px ui-monospace,Menlo,Consolas,monospace;background:#eef0f4;"
	"padding:1px 5px;border-radius:4px}"
	".tl{overflow-x:auto;border:1px solid #e3e6ec;border-radius:6px;background:#fcfcfd;"
	"margin-top:8px}"
	".cov{display:inline-block;width:220px;height:12px;background:#e7ecf0;border-radius:6px;"
	"vertical-align:middle;margin-right:8px;overflow:hidden}"
	".cov i{display:block;height:100%;background:#2e7d32}"
	"details{margin-top:6px}summary{cursor:pointer;color:#37474f}"
	".legend{color:#5b6475;font-size:12.5px;margin-top:8px}";

static const char *verdict_class(const struct pv_result *r)
{
	return pv_verdict_name(r->verdict);
}

static void header(const struct pv_campaign *c, const struct pv_report_info *info, FILE *f)
{
	size_t n[4], unexpected;
	bool compared;
	pv_report_counts(c, n, &unexpected, &compared);
	const char *title = info && info->title ? info->title : "patchvet campaign";
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
	esc(f, title);
	fprintf(f, "</title>\n<style>%s</style></head>\n<body><main>\n<h1>", css);
	esc(f, title);
	fprintf(f, "</h1>\n<p class=\"sub\">%zu result%s &middot; %" PRIu64
	           " schedules &middot; %s explorer, seed %" PRIu64 " &middot; %.1f s</p>\n",
	        c->nresults, c->nresults == 1 ? "" : "s", c->total_schedules,
	        c->explorer ? c->explorer : "?", c->seed, c->seconds);
	fputs("<p class=\"badges\">", f);
	for (int v = 0; v < 4; v++)
		fprintf(f, "<span class=\"%s\">%zu %s</span>", pv_verdict_name((enum pv_verdict)v),
		        n[v], pv_verdict_name((enum pv_verdict)v));
	if (compared)
		fprintf(f, "<span class=\"%s\">%zu unexpected</span>",
		        unexpected ? "UNSAFE" : "SAFE", unexpected);
	fputs("</p>\n", f);
	if (info && info->nfacts) {
		fputs("<table class=\"facts\">\n", f);
		for (size_t k = 0; k < info->nfacts; k++) {
			fputs("<tr><td>", f);
			esc(f, info->facts[k].name);
			fputs("</td><td>", f);
			esc(f, info->facts[k].value);
			fputs("</td></tr>\n", f);
		}
		fputs("</table>\n", f);
	}
}

/* A refusal's reason ends, by convention, with the hazard id in
 * parentheses ("... (too-short)"): that id fits a matrix cell; the whole
 * sentence is the cell's tooltip and in the table of refusals. */
static bool short_reason(const char *reason, char *buf, size_t len)
{
	size_t n = reason ? strlen(reason) : 0;
	if (n < 3 || reason[n - 1] != ')')
		return false;
	const char *open = strrchr(reason, '(');
	size_t k = (size_t)(reason + n - 1 - (open ? open + 1 : reason));
	if (!open || k == 0 || k >= len || memchr(open + 1, ' ', k))
		return false;
	snprintf(buf, len, "%.*s", (int)k, open + 1);
	return true;
}

static void matrix(const struct pv_campaign *c, const char *backend, FILE *f)
{
	const char **engines = calloc(c->nresults + 1, sizeof(*engines));
	const char **scens = calloc(c->nresults + 1, sizeof(*scens));
	if (!engines || !scens) {
		free(engines);
		free(scens);
		return;
	}
	size_t ne = pv_report_axis(c, backend, PV_AXIS_ENGINE, engines);
	size_t ns = pv_report_axis(c, backend, PV_AXIS_SCENARIO, scens);
	fputs("<h3>", f);
	esc(f, backend);
	fputs(" backend</h3>\n<div class=\"wide\"><table class=\"matrix\" id=\"matrix-", f);
	esc(f, backend);
	fputs("\"><tr><th>engine \\ scenario</th>", f);
	for (size_t s = 0; s < ns; s++) {
		fputs("<th>", f);
		esc(f, scens[s]);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t e = 0; e < ne; e++) {
		fputs("<tr><th class=\"eng\">", f);
		esc(f, engines[e]);
		fputs("</th>", f);
		for (size_t s = 0; s < ns; s++) {
			const struct pv_result *r = pv_report_cell(c, backend, engines[e], scens[s]);
			if (!r) {
				fputs("<td class=\"none\">&ndash;</td>", f);
				continue;
			}
			fprintf(f, "<td class=\"%s%s\"", verdict_class(r),
			        r->as_expected == 0 ? " unexpected" : "");
			if (r->reason) {
				fputs(" title=\"", f);
				esc(f, r->reason);
				fputc('"', f);
			}
			fprintf(f, "><span class=\"v\">%s</span>", pv_verdict_name(r->verdict));
			for (size_t k = 0; k < r->nviolations; k++)
				fprintf(f, "<span class=\"chk\">%s &times;%" PRIu64 "</span>",
				        r->violations[k].check, r->violations[k].count);
			char why[40];
			if (r->verdict == PV_VERDICT_REFUSED && short_reason(r->reason, why, sizeof(why))) {
				fputs("<span class=\"n\">", f);
				esc(f, why);
				fputs("</span>", f);
			} else if (r->verdict != PV_VERDICT_REFUSED) {
				fprintf(f, "<span class=\"n\">%" PRIu64 " schedules%s</span>", r->schedules,
				        r->as_expected == 1 ? " &middot; as expected" : "");
			}
			if (r->as_expected == 0) {
				fputs("<span class=\"n\"><b>expected ", f);
				esc(f, r->expected ? r->expected : "no result");
				fputs("</b></span>", f);
			}
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table></div>\n", f);
	free(engines);
	free(scens);
}

/* ------------------------------------------------------------- timeline */

#define TL_LEFT 92      /* lane labels */
#define TL_TOP 116      /* engine operation labels, slanted (24 characters) */
#define TL_LANE 34
#define TL_MAX_EVENTS 400

static const char *const lane_colours[] = {"#1e88e5", "#8e24aa", "#00897b", "#6d4c41",
                                           "#3949ab", "#c0ca33", "#5e35b1", "#00acc1"};

static double lane_y(const struct pv_story *s, int thread)
{
	int lane = thread < 0 || (unsigned)thread >= s->threads ? 0 : thread + 1;
	return TL_TOP + TL_LANE * lane + TL_LANE / 2.0;
}

static void event_title(const struct pv_story_event *e, FILE *f)
{
	fprintf(f, "<title>step %" PRIu64 " &#183; %s", e->step, pv_report_story_kind(e->kind));
	if (e->thread >= 0)
		fprintf(f, " &#183; thread %d", e->thread);
	if (e->address)
		fprintf(f, " &#183; 0x%" PRIx64, e->address);
	if (e->symbol[0]) {
		fputs(" ", f);
		esc(f, e->symbol);
	}
	if (e->text[0]) {
		fputs(": ", f);
		esc(f, e->text);
	}
	fputs("</title>", f);
}

/* Short label: at most max characters of s, with an ellipsis. */
static void label(FILE *f, const char *s, size_t max)
{
	char buf[128];
	size_t n = strlen(s);
	snprintf(buf, sizeof(buf), "%.*s", (int)(n > max ? max - 1 : n), s);
	esc(f, buf);
	if (n > max)
		fputs("&#8230;", f);
}

static void timeline(const struct pv_story *s, const char *check, FILE *f)
{
	/* The window shown: this check's violation (its event text starts
	 * "CHECK: "; else the first violation) and what led to it. */
	size_t viol = s->nevents, clen = check ? strlen(check) : 0;
	for (size_t i = 0; i < s->nevents; i++) {
		const struct pv_story_event *e = &s->events[i];
		if (e->kind != PV_STORY_VIOLATION)
			continue;
		if (viol == s->nevents)
			viol = i;
		if (clen && !strncmp(e->text, check, clen) && e->text[clen] == ':') {
			viol = i;
			break;
		}
	}
	size_t lo = 0, hi = s->nevents;
	if (hi - lo > TL_MAX_EVENTS) {
		size_t anchor = viol < s->nevents ? viol : s->nevents - 1;
		hi = anchor + 40 < s->nevents ? anchor + 40 : s->nevents;
		lo = hi > TL_MAX_EVENTS ? hi - TL_MAX_EVENTS : 0;
		hi = lo + TL_MAX_EVENTS;
	}
	/* The violating instruction: the violation's own address on its thread,
	 * else the last instruction that thread ran before it. */
	size_t culprit = s->nevents;
	if (viol < s->nevents) {
		const struct pv_story_event *v = &s->events[viol];
		size_t last = s->nevents;
		for (size_t i = viol; i-- > lo;) {
			const struct pv_story_event *e = &s->events[i];
			if (e->kind != PV_STORY_INSN || e->thread != v->thread)
				continue;
			if (last == s->nevents)
				last = i;
			if (v->address && e->address == v->address) {
				culprit = i;
				break;
			}
		}
		if (culprit == s->nevents)
			culprit = last;
	}
	size_t n = hi - lo;
	double dx = n < 24 ? 40 : n < 60 ? 24 : 15;
	unsigned lanes = s->threads + 1;
	double width = TL_LEFT + dx * (double)n + 160;
	double height = TL_TOP + TL_LANE * lanes + 44;
	double x0 = TL_LEFT + dx / 2;
	fprintf(f, "<div class=\"tl\"><svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
	           "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	           "font-family=\"ui-monospace,Menlo,Consolas,monospace\" font-size=\"11\">\n",
	        width, height, width, height);
	/* Lanes. */
	for (unsigned l = 0; l < lanes; l++) {
		double y = TL_TOP + TL_LANE * l;
		fprintf(f, "<rect x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%d\" fill=\"%s\"/>", y,
		        width, TL_LANE, l == 0 ? "#eef1f7" : l % 2 ? "#ffffff" : "#f7f8fa");
		fprintf(f, "<text x=\"10\" y=\"%.1f\" font-family=\"system-ui,sans-serif\" "
		           "font-size=\"12\" font-weight=\"600\" fill=\"%s\">",
		        y + TL_LANE / 2.0 + 4, l == 0 ? "#263238" : lane_colours[(l - 1) % 8]);
		if (l == 0)
			fputs("engine</text>\n", f);
		else
			fprintf(f, "thread %u</text>\n", l - 1);
	}
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.0f\" stroke=\"#cfd5de\"/>\n",
	        TL_LEFT - 4, TL_TOP, TL_LEFT - 4, TL_TOP + (double)TL_LANE * lanes);
	/* The violation's column first, so marks draw over it. */
	/* The violation's columns, from the violating instruction on. */
	if (viol >= lo && viol < hi) {
		size_t from = culprit >= lo && culprit < viol ? culprit : viol;
		fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%u\" fill=\"#e53935\" "
		           "fill-opacity=\".13\"/>\n",
		        x0 + dx * (double)(from - lo) - dx / 2, TL_TOP - 6, dx * (double)(viol - from + 1),
		        TL_LANE * lanes + 12);
	}
	/* Runs: a bar under each instruction, in its thread's colour. */
	for (size_t i = lo; i < hi; i++) {
		const struct pv_story_event *e = &s->events[i];
		if (e->kind != PV_STORY_INSN || e->thread < 0)
			continue;
		double x = x0 + dx * (double)(i - lo);
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"6\" fill=\"%s\" "
		           "fill-opacity=\".35\"/>",
		        x - dx / 2, lane_y(s, e->thread) - 3, dx, lane_colours[(unsigned)e->thread % 8]);
	}
	fputc('\n', f);
	for (size_t i = lo; i < hi; i++) {
		const struct pv_story_event *e = &s->events[i];
		double x = x0 + dx * (double)(i - lo), y = lane_y(s, e->thread);
		fputs("<g>", f);
		switch (e->kind) {
		case PV_STORY_INSN:
			if (i == culprit)
				fprintf(f, "<circle class=\"culprit\" cx=\"%.1f\" cy=\"%.1f\" r=\"8\" "
				           "fill=\"#e53935\" stroke=\"#7f0000\" stroke-width=\"2\"/>",
				        x, y);
			else
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.6\" fill=\"%s\"/>", x, y,
				        lane_colours[(unsigned)(e->thread < 0 ? 0 : e->thread) % 8]);
			break;
		case PV_STORY_ENGINE:
			fprintf(f, "<path d=\"M%.1f %.1f l7 7 l-7 7 l-7 -7 z\" fill=\"#263238\"/>", x,
			        y - 7);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
			           "stroke=\"#263238\" stroke-opacity=\".35\"/>",
			        x, TL_TOP - 4, x, y - 7);
			fprintf(f, "<text transform=\"translate(%.1f %d) rotate(-38)\" fill=\"#263238\">",
			        x + 3, TL_TOP - 8);
			label(f, e->text[0] ? e->text : e->symbol, 24);
			fputs("</text>", f);
			break;
		case PV_STORY_WRITE:
			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#fb8c00\" "
			           "stroke-width=\"1.5\" stroke-opacity=\".55\"/>",
			        x, TL_TOP, x, TL_TOP + (double)TL_LANE * lanes);
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" rx=\"2\" "
			           "fill=\"#fb8c00\"/>",
			        x - 5, lane_y(s, -1) - 5);
			break;
		case PV_STORY_PREEMPT:
			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#78909c\" "
			           "stroke-dasharray=\"3 3\"/>",
			        x, TL_TOP + TL_LANE, x, TL_TOP + (double)TL_LANE * lanes);
			fprintf(f, "<path d=\"M%.1f %.1f l5 -8 l-10 0 z\" fill=\"#78909c\"/>", x, y - 6);
			break;
		case PV_STORY_VIOLATION:
			fprintf(f, "<path d=\"M%.1f %.1f l12 12 m0 -12 l-12 12\" stroke=\"#b71c1c\" "
			           "stroke-width=\"3\"/>",
			        x - 6, y - 6);
			fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" fill=\"#b71c1c\" font-weight=\"700\" "
			           "font-family=\"system-ui,sans-serif\" font-size=\"12\">",
			        x + 12, TL_TOP + (double)TL_LANE * lanes + 18);
			esc(f, check);
			fputs("</text>", f);
			break;
		}
		event_title(e, f);
		fputs("</g>\n", f);
	}
	if (culprit < hi && culprit >= lo) {
		const struct pv_story_event *e = &s->events[culprit];
		double x = x0 + dx * (double)(culprit - lo);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#7f0000\" font-weight=\"700\" "
		           "font-size=\"12\">", x + 12,
		        lane_y(s, e->thread) - 9);
		if (e->symbol[0])
			label(f, e->symbol, 28);
		else
			fprintf(f, "0x%" PRIx64, e->address);
		if (e->text[0]) {
			fputs("  ", f);
			label(f, e->text, 36);
		}
		fputs("</text>\n", f);
	}
	/* Steps along the bottom, about every 80 pixels. */
	size_t every = (size_t)(80 / dx) + 1;
	for (size_t i = lo; i < hi; i += every)
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" fill=\"#78909c\" text-anchor=\"middle\">%"
		           PRIu64 "</text>",
		        x0 + dx * (double)(i - lo), TL_TOP + (double)TL_LANE * lanes + 34,
		        s->events[i].step);
	fprintf(f, "<text x=\"10\" y=\"%.0f\" fill=\"#78909c\" font-family=\"system-ui,sans-serif\">"
	           "step</text>\n</svg></div>\n",
	        TL_TOP + (double)TL_LANE * lanes + 34);
	fprintf(f, "<p class=\"legend\">&#9670; engine operation &nbsp; "
	           "<span style=\"color:#fb8c00\">&#9632;</span> code write landed &nbsp; "
	           "&#9660; preemption &nbsp; &#9679; instruction in a hot window &nbsp; "
	           "<span style=\"color:#e53935\">&#11044;</span> the violating instruction "
	           "&nbsp; %" PRIu64 " preemption%s in the stream",
	        s->preemptions, s->preemptions == 1 ? "" : "s");
	if (lo > 0 || hi < s->nevents)
		fprintf(f, " &nbsp; (events %zu to %zu of %zu shown)", lo + 1, hi, s->nevents);
	fputs("</p>\n<details><summary>events</summary><table>"
	      "<tr><th>step</th><th>thread</th><th>kind</th><th>address</th><th>where</th>"
	      "<th>what</th></tr>\n",
	      f);
	for (size_t i = 0; i < s->nevents; i++) {
		const struct pv_story_event *e = &s->events[i];
		fprintf(f, "<tr%s><td>%" PRIu64 "</td><td>", i == culprit || i == viol
		                                                 ? " class=\"UNSAFE\"" : "",
		        e->step);
		if (e->thread >= 0)
			fprintf(f, "%d", e->thread);
		else
			fputs("engine", f);
		fprintf(f, "</td><td>%s</td><td>", pv_report_story_kind(e->kind));
		if (e->address)
			fprintf(f, "0x%" PRIx64, e->address);
		fputs("</td><td>", f);
		esc(f, e->symbol);
		fputs("</td><td>", f);
		esc(f, e->text);
		fputs("</td></tr>\n", f);
	}
	fputs("</table></details>\n", f);
}

static void violations(const struct pv_campaign *c, const char *out_dir, FILE *f)
{
	bool any = false;
	for (size_t i = 0; i < c->nresults; i++)
		any |= c->results[i].nviolations > 0;
	if (!any)
		return;
	fputs("<h2>Violations</h2>\n", f);
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		if (!r->nviolations)
			continue;
		fputs("<div class=\"card\"><h3>", f);
		esc(f, r->engine);
		fputs(" on ", f);
		esc(f, r->scenario);
		fputs(" <span class=\"n\" style=\"display:inline\">(", f);
		esc(f, r->backend);
		fprintf(f, ", %" PRIu64 " schedules)</span></h3>\n", r->schedules);
		for (size_t k = 0; k < r->nviolations; k++) {
			const struct pv_violation_stat *v = &r->violations[k];
			fprintf(f, "<div class=\"viol\"><b>%s</b> in %" PRIu64 " of %" PRIu64
			           " schedules, first in schedule %" PRIu64,
			        v->check, v->count, r->schedules, v->first_schedule);
			if (v->thread >= 0)
				fprintf(f, ", thread %d", v->thread);
			if (v->address)
				fprintf(f, " at <code>0x%" PRIx64 "</code>", v->address);
			fputs(": ", f);
			esc(f, v->detail[0] ? v->detail : "(no detail)");
			if (v->reproducer) {
				char replay[4200];
				pv_report_replay(out_dir, v->reproducer, replay, sizeof(replay));
				fputs("<br>replay: <code>", f);
				esc(f, replay);
				fputs("</code>", f);
			}
			if (v->story && v->story->nevents)
				timeline(v->story, v->check, f);
			fputs("</div>\n", f);
		}
		fputs("</div>\n", f);
	}
}

static void refusals(const struct pv_campaign *c, FILE *f)
{
	bool head = false;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		if (!r->reason)
			continue;
		if (!head)
			fputs("<h2>Refusals and errors</h2>\n<table><tr><th>engine</th><th>scenario</th>"
			      "<th>backend</th><th>verdict</th><th>reason</th></tr>\n",
			      f);
		head = true;
		fputs("<tr><td>", f);
		esc(f, r->engine);
		fputs("</td><td>", f);
		esc(f, r->scenario);
		fputs("</td><td>", f);
		esc(f, r->backend);
		fprintf(f, "</td><td class=\"%s\">%s</td><td>", verdict_class(r),
		        pv_verdict_name(r->verdict));
		esc(f, r->reason);
		fputs("</td></tr>\n", f);
	}
	if (head)
		fputs("</table>\n", f);
}

static void exploration(const struct pv_campaign *c, FILE *f)
{
	bool head = false;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		char g[512];
		pv_report_guarantee(c, r, g, sizeof(g));
		if (!g[0] && !r->coverage.pairs)
			continue;
		if (!head)
			fputs("<h2>Exploration: guarantees and hot-window coverage</h2>\n<table>"
			      "<tr><th>engine</th><th>scenario</th><th>backend</th>"
			      "<th>explorer guarantee</th><th>hot-window coverage</th></tr>\n",
			      f);
		head = true;
		fputs("<tr><td>", f);
		esc(f, r->engine);
		fputs("</td><td>", f);
		esc(f, r->scenario);
		fputs("</td><td>", f);
		esc(f, r->backend);
		fputs("</td><td>", f);
		esc(f, g[0] ? g : "none (random sampling)");
		fputs("</td><td>", f);
		const struct pv_coverage *cv = &r->coverage;
		if (cv->pairs) {
			double pc = 100.0 * (double)cv->reached / (double)cv->pairs;
			fprintf(f, "<span class=\"cov\"><i style=\"width:%.1f%%\"></i></span>%" PRIu64
			           " of %" PRIu64 " (instruction, thread) pairs (%.1f%%)",
			        pc, cv->reached, cv->pairs, pc);
			if (cv->nmissed) {
				fprintf(f, "<details><summary>%zu missed</summary>", cv->nmissed);
				for (size_t k = 0; k < cv->nmissed; k++) {
					fprintf(f, "<code>0x%" PRIx64 " ", cv->missed[k].address);
					esc(f, cv->missed[k].symbol);
					fprintf(f, " / thread %d</code> ", cv->missed[k].thread);
				}
				fputs("</details>", f);
			}
		} else {
			fputs("not measured", f);
		}
		fputs("</td></tr>\n", f);
	}
	if (head)
		fputs("</table>\n", f);
}

/* Every result's overhead figures against their thresholds: a plot per
 * unit (an axis in % and one in KiB/cycle), a row per result and figure. */
static void overhead(const struct pv_campaign *c, FILE *f)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nresults; i++)
		n += c->results[i].noverhead;
	if (!n)
		return;
	struct pv_plot_row *rows = calloc(n, sizeof(*rows));
	char (*labels)[200] = calloc(n, sizeof(*labels));
	const char **units = calloc(n, sizeof(*units));
	if (!rows || !labels || !units)
		goto out;
	size_t nunits = 0;
	for (size_t i = 0; i < c->nresults; i++)
		for (size_t k = 0; k < c->results[i].noverhead; k++) {
			const char *u = c->results[i].overhead[k].unit;
			size_t x = 0;
			while (x < nunits && strcmp(units[x], u))
				x++;
			if (x == nunits)
				units[nunits++] = u;
		}
	fputs("<h2 id=\"overhead\">Overhead against the threshold</h2>\n<p class=\"legend\">Per "
	      "result, each figure's interval (a bar; a point for exact figures such as emulated "
	      "instruction counts and the engine's booked mappings), its estimate (a dot) and the "
	      "threshold of the claim (dashed). SUPPORTED: the interval lies under the threshold; "
	      "REFUTED: over it; INCONCLUSIVE: it holds the threshold.</p>\n", f);
	for (size_t u = 0; u < nunits; u++) {
		size_t m = 0;
		for (size_t i = 0; i < c->nresults; i++) {
			const struct pv_result *r = &c->results[i];
			for (size_t k = 0; k < r->noverhead; k++) {
				if (strcmp(r->overhead[k].unit, units[u]))
					continue;
				snprintf(labels[m], sizeof(labels[m]), "%s on %s: %s (%s)", r->engine,
				         r->scenario, r->overhead[k].name,
				         pv_report_figure_where(&r->overhead[k]));
				rows[m] = (struct pv_plot_row){labels[m], &r->overhead[k]};
				m++;
			}
		}
		fputs("<div class=\"card wide\"><h3>", f);
		esc(f, units[u]);
		fputs("</h3>\n", f);
		pv_report_overhead_plot(rows, m, f);
		fputs("</div>\n", f);
	}
	fputs("<details><summary>every figure with its note</summary><table><tr><th>engine</th>"
	      "<th>scenario</th><th>measured on</th><th>figure</th><th>verdict</th><th>figure and "
	      "note</th></tr>\n", f);
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		for (size_t k = 0; k < r->noverhead; k++) {
			const struct pv_overhead_figure *g = &r->overhead[k];
			char line[PV_ERROR_MSG_MAX + 160];
			pv_report_figure_line(g, line, sizeof(line));
			fputs("<tr><td>", f);
			esc(f, r->engine);
			fputs("</td><td>", f);
			esc(f, r->scenario);
			fputs("</td><td>", f);
			esc(f, pv_report_figure_where(g));
			fputs("</td><td>", f);
			esc(f, g->name);
			fprintf(f, "</td><td style=\"color:%s;font-weight:700\">%s</td><td>",
			        pv_report_claim_colour(g), pv_report_claim_word(g));
			esc(f, line);
			if (g->measured && g->note[0]) {
				fputs("; ", f);
				esc(f, g->note);
			}
			fputs("</td></tr>\n", f);
		}
	}
	fputs("</table></details>\n", f);
out:
	free(rows);
	free(labels);
	free(units);
}

void pv_report_html(const struct pv_campaign *c, const struct pv_report_info *info, FILE *f)
{
	header(c, info, f);
	fputs("<h2>Verdicts</h2>\n", f);
	const char **backends = calloc(c->nresults + 1, sizeof(*backends));
	size_t nb = backends ? pv_report_axis(c, NULL, PV_AXIS_BACKEND, backends) : 0;
	for (size_t b = 0; b < nb; b++)
		matrix(c, backends[b], f);
	free(backends);
	fputs("<p class=\"legend\">SAFE: every schedule kept every check. UNSAFE: a violation "
	      "(checks and the schedules they failed in). REFUSED: the engine declined the patch, "
	      "a correct answer. ERROR: the backend or the engine failed. A framed cell differs "
	      "from its expectation.</p>\n",
	      f);
	violations(c, info ? info->out_dir : NULL, f);
	refusals(c, f);
	exploration(c, f);
	overhead(c, f);
	fprintf(f, "<p class=\"legend\" style=\"margin-top:32px\">written by patchvet %s</p>\n",
	        PV_VERSION);
	fputs("</main></body></html>\n", f);
}
