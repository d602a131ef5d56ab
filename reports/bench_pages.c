/* `patchvet bench` as Markdown, JUnit XML and a self-contained HTML page with
 * every figure's interval drawn against its threshold (inline SVG). They see
 * only the bench result (harness/bench.h). */
#include "bench_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static const char *colour(const struct pv_bench_figure *g)
{
	if (!g->measured)
		return "#8a8f98";
	return g->claim == PV_CLAIM_SUPPORTED ? "#1a7f37"
	       : g->claim == PV_CLAIM_REFUTED ? "#cf222e"
	                                      : "#9a6700";
}

static const char *verdict(const struct pv_bench_figure *g)
{
	return g->measured ? pv_claim_name(g->claim) : "not measured";
}

void pv_report_bench_md(const struct pv_bench_result *r, FILE *f)
{
	fprintf(f, "## patchvet bench: %s on %s (%s)\n\n", r->engine, r->scenario, r->flavour);
	fprintf(f, "Threshold %.2f%%; hardware counters: %s.\n\n", r->threshold_pct,
	        r->hw_counters);
	fprintf(f, "| figure | verdict | estimate | 95%% interval | threshold |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < r->nfigures; i++) {
		const struct pv_bench_figure *g = &r->figures[i];
		if (!g->measured) {
			fprintf(f, "| %s | not measured | | | %s |\n", g->name, g->note);
			continue;
		}
		fprintf(f, "| %s | **%s** | %+.2f %s | [%+.2f, %+.2f] | %.2f %s |\n", g->name,
		        verdict(g), g->est, g->unit, g->lo, g->hi, g->threshold, g->unit);
	}
}

void pv_report_bench_junit(const struct pv_bench_result *r, FILE *f)
{
	size_t failures = 0, skipped = 0;
	for (size_t i = 0; i < r->nfigures; i++) {
		failures += r->figures[i].measured && r->figures[i].claim == PV_CLAIM_REFUTED;
		skipped += !r->figures[i].measured;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
	fprintf(f, "  <testsuite name=\"patchvet bench ");
	pv_xml_escape(f, r->engine);
	fputs(" on ", f);
	pv_xml_escape(f, r->scenario);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", r->nfigures, failures,
	        skipped);
	for (size_t i = 0; i < r->nfigures; i++) {
		const struct pv_bench_figure *g = &r->figures[i];
		fprintf(f, "    <testcase classname=\"bench\" name=\"");
		pv_xml_escape(f, g->name);
		fputs("\">\n", f);
		char line[512];
		snprintf(line, sizeof(line), "%s: %+.2f %s, 95%% interval [%+.2f, %+.2f], threshold "
		                             "%.2f %s",
		         verdict(g), g->est, g->unit, g->lo, g->hi, g->threshold, g->unit);
		if (!g->measured) {
			fputs("      <skipped message=\"", f);
			pv_xml_escape(f, g->note);
			fputs("\"/>\n", f);
		} else if (g->claim == PV_CLAIM_REFUTED) {
			fputs("      <failure type=\"REFUTED\" message=\"", f);
			pv_xml_escape(f, line);
			fputs("\"/>\n", f);
		} else {
			fputs("      <system-out>", f);
			pv_xml_escape(f, line);
			fputs("</system-out>\n", f);
		}
		fputs("    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
}

/* One row per figure: the interval as a bar, the estimate as a dot, the
 * threshold as a dashed line, on a common axis in the figure's unit. */
static void plot(const struct pv_bench_result *r, FILE *f)
{
	double lo = 0, hi = 0;
	for (size_t i = 0; i < r->nfigures; i++) {
		const struct pv_bench_figure *g = &r->figures[i];
		if (!g->measured || !isfinite(g->lo) || !isfinite(g->hi))
			continue;
		lo = fmin(lo, fmin(g->lo, g->threshold));
		hi = fmax(hi, fmax(g->hi, g->threshold));
	}
	double pad = (hi - lo) * 0.08 + 0.5;
	lo -= pad;
	hi += pad;
	const double left = 200, width = 560, row = 44;
	double h = 40 + row * (double)r->nfigures;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	           "role=\"img\" aria-label=\"intervals against thresholds\">\n",
	        left + width + 150, h);
	double zero = left + width * (0 - lo) / (hi - lo);
	fprintf(f, "<line x1=\"%.1f\" y1=\"10\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#d0d7de\"/>\n",
	        zero, zero, h - 20);
	fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\" "
	           "fill=\"#57606a\">0</text>\n", zero, h - 6);
	for (size_t i = 0; i < r->nfigures; i++) {
		const struct pv_bench_figure *g = &r->figures[i];
		double y = 30 + row * (double)i;
		fprintf(f, "<text x=\"10\" y=\"%.1f\" font-size=\"13\" fill=\"#24292f\">", y + 4);
		pv_xml_escape(f, g->name);
		fprintf(f, " (%s)</text>\n", g->unit);
		if (!g->measured) {
			fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"12\" fill=\"#8a8f98\">not "
			           "measured</text>\n", left, y + 4);
			continue;
		}
		double x = left + width * (g->threshold - lo) / (hi - lo);
		fprintf(f, "<line class=\"threshold\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		           "y2=\"%.1f\" stroke=\"#24292f\" stroke-dasharray=\"4 3\"/>\n",
		        x, y - 14, x, y + 14);
		double x0 = left + width * (g->lo - lo) / (hi - lo);
		double x1 = left + width * (g->hi - lo) / (hi - lo);
		double xe = left + width * (g->est - lo) / (hi - lo);
		fprintf(f, "<rect class=\"interval\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		           "height=\"8\" rx=\"3\" fill=\"%s\" opacity=\"0.35\"/>\n",
		        x0, y - 4, fmax(x1 - x0, 2), colour(g));
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n", xe, y,
		        colour(g));
		fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\" "
		           "fill=\"%s\">%s</text>\n", left + width + 12, y + 4, colour(g), verdict(g));
	}
	fputs("</svg>\n", f);
}

void pv_report_bench_html(const struct pv_bench_result *r, FILE *f)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>patchvet bench</title>\n<style>\n"
	      "body{font-family:system-ui,sans-serif;margin:2em;color:#24292f;"
	      "background:#f6f8fa}\n"
	      "table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d0d7de;"
	      "padding:4px 10px;text-align:left}\n"
	      ".card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1em;"
	      "margin:1em 0}\n</style></head><body>\n", f);
	fputs("<h1>patchvet bench: ", f);
	pv_xml_escape(f, r->engine);
	fputs(" on ", f);
	pv_xml_escape(f, r->scenario);
	fprintf(f, "</h1>\n<p>Threshold %.2f%%. A figure is SUPPORTED when its 95%% interval "
	           "lies below the threshold, REFUTED when it lies above, INCONCLUSIVE when it "
	           "holds it. Hardware counters: ", r->threshold_pct);
	pv_xml_escape(f, r->hw_counters);
	fputs(".</p>\n<div class=\"card\">\n<h2>Intervals against the threshold</h2>\n", f);
	plot(r, f);
	fputs("</div>\n<table>\n<tr><th>figure</th><th>verdict</th><th>estimate</th>"
	      "<th>95% interval</th><th>threshold</th><th>note</th></tr>\n", f);
	for (size_t i = 0; i < r->nfigures; i++) {
		const struct pv_bench_figure *g = &r->figures[i];
		fputs("<tr><td>", f);
		pv_xml_escape(f, g->name);
		fprintf(f, "</td><td style=\"color:%s;font-weight:bold\">%s</td>", colour(g),
		        verdict(g));
		if (g->measured)
			fprintf(f, "<td>%+.2f %s</td><td>[%+.2f, %+.2f]</td><td>%.2f %s</td><td>", g->est,
			        g->unit, g->lo, g->hi, g->threshold, g->unit);
		else
			fputs("<td></td><td></td><td></td><td>", f);
		pv_xml_escape(f, g->note);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<h2>Every figure</h2>\n<pre>", f);
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (m) {
		pv_report_bench_text(r, m);
		fclose(m);
		pv_xml_escape(f, text);
	}
	free(text);
	fputs("</pre>\n</body></html>\n", f);
}
