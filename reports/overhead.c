/* Overhead figures as every report shows them: the verdict word and colour,
 * and the plot of intervals against their thresholds (inline SVG), shared
 * by bench's page and by run's and certify's HTML. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "report.h"

const char *pv_report_claim_colour(const struct pv_overhead_figure *g)
{
	if (!g->measured)
		return "#8a8f98";
	return g->claim == PV_CLAIM_SUPPORTED ? "#1a7f37"
	       : g->claim == PV_CLAIM_REFUTED ? "#cf222e"
	                                      : "#9a6700";
}

const char *pv_report_claim_word(const struct pv_overhead_figure *g)
{
	return g->measured ? pv_claim_name(g->claim) : "not measured";
}

const char *pv_report_figure_where(const struct pv_overhead_figure *g)
{
	return !strcmp(g->name, "cpu") || !strcmp(g->name, "memory-growth") ? "native" : "emu";
}

bool pv_report_figure_exact(const struct pv_overhead_figure *g)
{
	return g->lo == g->est && g->hi == g->est;
}

void pv_report_figure_line(const struct pv_overhead_figure *g, char *buf, size_t len)
{
	if (!g->measured)
		snprintf(buf, len, "not measured: %s", g->note);
	else if (pv_report_figure_exact(g))
		snprintf(buf, len, "%s: %+.2f %s (exact) vs threshold %.2f %s", pv_claim_name(g->claim),
		         g->est, g->unit, g->threshold, g->unit);
	else
		snprintf(buf, len, "%s: %+.2f %s, 95%% interval [%+.2f, %+.2f] vs threshold %.2f %s",
		         pv_claim_name(g->claim), g->est, g->unit, g->lo, g->hi, g->threshold, g->unit);
}

/* One row per figure: the interval as a bar, the estimate as a dot, the
 * threshold as a dashed line, on a common axis (callers group rows of one
 * unit). The label column grows with the longest label. */
void pv_report_overhead_plot(const struct pv_plot_row *rows, size_t n, FILE *f)
{
	double lo = 0, hi = 0;
	size_t longest = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pv_overhead_figure *g = rows[i].fig;
		size_t l = strlen(rows[i].label);
		longest = l > longest ? l : longest;
		if (!g->measured || !isfinite(g->lo) || !isfinite(g->hi))
			continue;
		lo = fmin(lo, fmin(g->lo, g->threshold));
		hi = fmax(hi, fmax(g->hi, g->threshold));
	}
	double pad = (hi - lo) * 0.08 + 0.5;
	lo -= pad;
	hi += pad;
	/* A campaign's many rows closer together; the estimate then goes on
	 * the verdict's line. */
	bool compact = n > 16;
	const double width = 560, row = compact ? 26 : 44;
	double left = fmin(fmax(200, 20 + 7.2 * (double)longest), 460);
	double h = 40 + row * (double)n;
	fprintf(f, "<svg class=\"overhead-plot\" xmlns=\"http://www.w3.org/2000/svg\" "
	           "width=\"%.0f\" height=\"%.0f\" role=\"img\" "
	           "aria-label=\"intervals against thresholds\">\n",
	        left + width + (compact ? 200 : 150), h);
	double zero = left + width * (0 - lo) / (hi - lo);
	fprintf(f, "<line x1=\"%.1f\" y1=\"10\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#d0d7de\"/>\n",
	        zero, zero, h - 20);
	fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\" "
	           "fill=\"#57606a\">0</text>\n", zero, h - 6);
	for (size_t i = 0; i < n; i++) {
		const struct pv_overhead_figure *g = rows[i].fig;
		double y = 30 + row * (double)i;
		fprintf(f, "<text x=\"10\" y=\"%.1f\" font-size=\"13\" fill=\"#24292f\">", y + 4);
		pv_xml_escape(f, rows[i].label);
		fputs("</text>\n", f);
		if (!g->measured) {
			fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"12\" fill=\"#8a8f98\">not "
			           "measured</text>\n", left, y + 4);
			continue;
		}
		char tip[PV_ERROR_MSG_MAX + 160];
		pv_report_figure_line(g, tip, sizeof(tip));
		fputs("<g><title>", f);
		pv_xml_escape(f, tip);
		fputs("</title>\n", f);
		double x = left + width * (g->threshold - lo) / (hi - lo);
		fprintf(f, "<line class=\"threshold\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		           "y2=\"%.1f\" stroke=\"#24292f\" stroke-dasharray=\"4 3\"/>\n",
		        x, y - row / 3, x, y + row / 3);
		double x0 = left + width * (g->lo - lo) / (hi - lo);
		double x1 = left + width * (g->hi - lo) / (hi - lo);
		double xe = left + width * (g->est - lo) / (hi - lo);
		fprintf(f, "<rect class=\"interval\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		           "height=\"8\" rx=\"3\" fill=\"%s\" opacity=\"0.35\"/>\n",
		        x0, y - 4, fmax(x1 - x0, 2), pv_report_claim_colour(g));
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n", xe, y,
		        pv_report_claim_colour(g));
		fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\" "
		           "fill=\"%s\">%s</text>\n", left + width + 12, y + 4,
		        pv_report_claim_colour(g), pv_report_claim_word(g));
		fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" fill=\"#57606a\">"
		           "%+.2f %s</text>\n</g>\n", left + width + (compact ? 100 : 12),
		        y + (compact ? 4 : 17), g->est, g->unit);
	}
	/* The thresholds on the axis, once each. */
	for (size_t i = 0; i < n; i++) {
		const struct pv_overhead_figure *g = rows[i].fig;
		bool seen = !g->measured;
		for (size_t k = 0; k < i && !seen; k++)
			seen = rows[k].fig->measured && rows[k].fig->threshold == g->threshold;
		if (seen || g->threshold == 0 ||
		    fabs(width * g->threshold / (hi - lo)) < 24) /* it would cover the 0 */
			continue;
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\" "
		           "fill=\"#24292f\">%g %s</text>\n",
		        left + width * (g->threshold - lo) / (hi - lo), h - 6, g->threshold, g->unit);
	}
	fputs("</svg>\n", f);
}

/* Few figures (certify, a small run): each on its own line; many (the
 * default campaign): a count per figure and verdict, the figures
 * themselves being in the JSON and HTML. */
void pv_report_overhead_text(const struct pv_campaign *c, FILE *f)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nresults; i++)
		n += c->results[i].noverhead;
	if (!n)
		return;
	if (n <= 8) {
		for (size_t i = 0; i < c->nresults; i++) {
			const struct pv_result *r = &c->results[i];
			for (size_t k = 0; k < r->noverhead; k++) {
				char line[PV_ERROR_MSG_MAX + 160];
				pv_report_figure_line(&r->overhead[k], line, sizeof(line));
				bool note = r->overhead[k].measured && r->overhead[k].note[0];
				fprintf(f, "%s on %s: overhead %s %s%s%s\n", r->engine, r->scenario,
				        r->overhead[k].name, line, note ? "; " : "",
				        note ? r->overhead[k].note : "");
			}
		}
		return;
	}
	/* name x {SUPPORTED, REFUTED, INCONCLUSIVE, not measured} */
	const char *names[8];
	size_t counts[8][4] = {{0}}, nn = 0;
	for (size_t i = 0; i < c->nresults; i++)
		for (size_t k = 0; k < c->results[i].noverhead; k++) {
			const struct pv_overhead_figure *g = &c->results[i].overhead[k];
			size_t x = 0;
			while (x < nn && strcmp(names[x], g->name))
				x++;
			if (x == nn) {
				if (nn == 8)
					continue;
				names[nn++] = g->name;
			}
			counts[x][g->measured ? (size_t)g->claim : 3]++;
		}
	fputs("overhead (every figure is in the JSON and HTML reports):", f);
	for (size_t x = 0; x < nn; x++)
		fprintf(f, "%s %s %zu SUPPORTED, %zu REFUTED, %zu INCONCLUSIVE, %zu not measured",
		        x ? ";" : "", names[x], counts[x][PV_CLAIM_SUPPORTED],
		        counts[x][PV_CLAIM_REFUTED], counts[x][PV_CLAIM_INCONCLUSIVE], counts[x][3]);
	fputc('\n', f);
}

void pv_report_overhead_md(const struct pv_campaign *c, FILE *f)
{
	bool head = false;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		for (size_t k = 0; k < r->noverhead; k++) {
			const struct pv_overhead_figure *g = &r->overhead[k];
			if (!head)
				fputs("\n### Overhead\n\n| engine | scenario | measured on | figure | verdict | "
				      "estimate | interval | threshold |\n|---|---|---|---|---|---|---|---|\n",
				      f);
			head = true;
			fprintf(f, "| %s | %s | %s | %s | ", r->engine, r->scenario,
			        pv_report_figure_where(g), g->name);
			if (!g->measured) {
				/* a note may hold a '|' */
				fputs("not measured | | | |\n", f);
				continue;
			}
			fprintf(f, "**%s** | %+.2f %s | ", pv_claim_name(g->claim), g->est, g->unit);
			if (pv_report_figure_exact(g))
				fputs("exact | ", f);
			else
				fprintf(f, "[%+.2f, %+.2f] | ", g->lo, g->hi);
			fprintf(f, "%.2f %s |\n", g->threshold, g->unit);
		}
	}
}

void pv_report_overhead_junit_counts(const struct pv_campaign *c, size_t counts[3])
{
	counts[0] = counts[1] = counts[2] = 0;
	for (size_t i = 0; i < c->nresults; i++)
		for (size_t k = 0; k < c->results[i].noverhead; k++) {
			const struct pv_overhead_figure *g = &c->results[i].overhead[k];
			counts[0]++;
			counts[1] += g->measured && g->claim == PV_CLAIM_REFUTED;
			counts[2] += !g->measured;
		}
}

void pv_report_overhead_junit(const struct pv_campaign *c, FILE *f)
{
	size_t n[3];
	pv_report_overhead_junit_counts(c, n);
	fprintf(f, "  <testsuite name=\"patchvet.overhead\" tests=\"%zu\" failures=\"%zu\" "
	           "errors=\"0\" skipped=\"%zu\">\n", n[0], n[1], n[2]);
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		for (size_t k = 0; k < r->noverhead; k++) {
			const struct pv_overhead_figure *g = &r->overhead[k];
			char line[PV_ERROR_MSG_MAX + 160];
			pv_report_figure_line(g, line, sizeof(line));
			fputs("    <testcase classname=\"patchvet.overhead.", f);
			pv_xml_escape(f, r->engine);
			fputs("\" name=\"", f);
			pv_xml_escape(f, r->engine);
			fputs(" on ", f);
			pv_xml_escape(f, r->scenario);
			fprintf(f, ": %s (%s)\">\n", g->name, pv_report_figure_where(g));
			if (!g->measured) {
				fputs("      <skipped message=\"", f);
				pv_xml_escape(f, g->note);
				fputs("\"/>\n", f);
			} else if (g->claim == PV_CLAIM_REFUTED) {
				fputs("      <failure type=\"REFUTED\" message=\"", f);
				pv_xml_escape(f, line);
				fputs("\">", f);
				pv_xml_escape(f, g->note);
				fputs("</failure>\n", f);
			} else {
				fputs("      <system-out>", f);
				pv_xml_escape(f, line);
				fputs("</system-out>\n", f);
			}
			fputs("    </testcase>\n", f);
		}
	}
	fputs("  </testsuite>\n", f);
}
