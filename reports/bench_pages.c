/* `patchvet bench` as Markdown, JUnit XML and a self-contained HTML page with
 * every figure's interval drawn against its threshold (inline SVG). They see
 * only the bench result (harness/bench/bench.h). */
#include "bench_report.h"

#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define colour pv_report_claim_colour
#define verdict pv_report_claim_word

void pv_report_bench_md(const struct pv_bench_result *r, FILE *f)
{
	fprintf(f, "## patchvet bench: %s on %s (%s)\n\n", r->engine, r->scenario, r->flavour);
	fprintf(f, "Threshold %.2f%%; hardware counters: %s.\n\n", r->threshold_pct,
	        r->hw_counters);
	fprintf(f, "| figure | verdict | estimate | 95%% interval | threshold |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < r->nfigures; i++) {
		const struct pv_overhead_figure *g = &r->figures[i];
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
		const struct pv_overhead_figure *g = &r->figures[i];
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

/* Every figure on one axis, labelled "name (unit)". */
static void plot(const struct pv_bench_result *r, FILE *f)
{
	struct pv_plot_row rows[PV_BENCH_MAX_FIGURES];
	char labels[PV_BENCH_MAX_FIGURES][48];
	for (size_t i = 0; i < r->nfigures; i++) {
		snprintf(labels[i], sizeof(labels[i]), "%s (%s)", r->figures[i].name,
		         r->figures[i].unit);
		rows[i] = (struct pv_plot_row){labels[i], &r->figures[i]};
	}
	pv_report_overhead_plot(rows, r->nfigures, f);
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
		const struct pv_overhead_figure *g = &r->figures[i];
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
