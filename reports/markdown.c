/* Markdown for a pull-request comment or a CI step summary
 * ($GITHUB_STEP_SUMMARY): the counts first, a matrix per backend, then what
 * a reader acts on: violations with their replay command, refusals, errors. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Table cells: no pipes, no line breaks. */
static void cell(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

static const char *mark(const struct pv_result *r)
{
	if (r->as_expected == 0)
		return "\u2757"; /* red exclamation: not what was expected */
	switch (r->verdict) {
	case PV_VERDICT_SAFE: return "\u2705";
	case PV_VERDICT_UNSAFE: return "\u274C";
	case PV_VERDICT_REFUSED: return "\u23ED\uFE0F";
	case PV_VERDICT_ERROR: return "\u26A0\uFE0F";
	}
	return "";
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
	fprintf(f, "\n### %s backend\n\n| engine / scenario |", backend);
	for (size_t s = 0; s < ns; s++) {
		fputc(' ', f);
		cell(f, scens[s]);
		fputs(" |", f);
	}
	fputs("\n|---|", f);
	for (size_t s = 0; s < ns; s++)
		fputs("---|", f);
	fputc('\n', f);
	for (size_t e = 0; e < ne; e++) {
		fputs("| **", f);
		cell(f, engines[e]);
		fputs("** |", f);
		for (size_t s = 0; s < ns; s++) {
			const struct pv_result *r = pv_report_cell(c, backend, engines[e], scens[s]);
			if (!r) {
				fputs(" |", f);
				continue;
			}
			fprintf(f, " %s %s", mark(r), pv_verdict_name(r->verdict));
			for (size_t k = 0; k < r->nviolations; k++)
				fprintf(f, "%s`%s`", k ? ", " : ": ", r->violations[k].check);
			if (r->as_expected == 0) {
				fputs(" (expected ", f);
				cell(f, r->expected ? r->expected : "no result");
				fputc(')', f);
			}
			fputs(" |", f);
		}
		fputc('\n', f);
	}
	free(engines);
	free(scens);
}

void pv_report_markdown(const struct pv_campaign *c, const struct pv_report_info *info, FILE *f)
{
	const char *out_dir = info ? info->out_dir : NULL;
	size_t n[4];
	size_t unexpected;
	bool compared;
	pv_report_counts(c, n, &unexpected, &compared);
	fprintf(f, "## %s: %zu SAFE, %zu UNSAFE, %zu REFUSED, %zu ERROR",
	        info && info->title ? info->title : "patchvet campaign", n[PV_VERDICT_SAFE],
	        n[PV_VERDICT_UNSAFE], n[PV_VERDICT_REFUSED], n[PV_VERDICT_ERROR]);
	if (compared)
		fprintf(f, " (%zu unexpected)", unexpected);
	fprintf(f, "\n\n%zu result%s, %" PRIu64 " schedules (%s explorer, seed %" PRIu64
	           ") in %.1f s.\n",
	        c->nresults, c->nresults == 1 ? "" : "s", c->total_schedules,
	        c->explorer ? c->explorer : "?", c->seed, c->seconds);
	if (info && info->nfacts) {
		fputs("\n| | |\n|---|---|\n", f);
		for (size_t k = 0; k < info->nfacts; k++) {
			fputs("| ", f);
			cell(f, info->facts[k].name);
			fputs(" | `", f);
			cell(f, info->facts[k].value);
			fputs("` |\n", f);
		}
	}
	const char **backends = calloc(c->nresults + 1, sizeof(*backends));
	size_t nb = backends ? pv_report_axis(c, NULL, PV_AXIS_BACKEND, backends) : 0;
	for (size_t b = 0; b < nb; b++)
		matrix(c, backends[b], f);
	free(backends);

	bool head = false;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		for (size_t k = 0; k < r->nviolations; k++) {
			const struct pv_violation_stat *v = &r->violations[k];
			if (!head)
				fputs("\n### Violations\n\n", f);
			head = true;
			fprintf(f, "- **%s** on **%s** (%s): `%s` in %" PRIu64 " of %" PRIu64
			           " schedules, first in schedule %" PRIu64,
			        r->engine, r->scenario, r->backend, v->check, v->count, r->schedules,
			        v->first_schedule);
			if (v->thread >= 0)
				fprintf(f, ", thread %d", v->thread);
			if (v->address)
				fprintf(f, " at `0x%" PRIx64 "`", v->address);
			fprintf(f, ": %s\n", v->detail[0] ? v->detail : "(no detail)");
			if (v->reproducer) {
				char replay[4200];
				pv_report_replay(out_dir, v->reproducer, replay, sizeof(replay));
				fprintf(f, "  `%s`\n", replay);
			}
		}
	}
	head = false;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		if (!r->reason)
			continue;
		if (!head)
			fputs("\n### Refusals and errors\n\n", f);
		head = true;
		fprintf(f, "- **%s** on **%s** (%s): %s: %s\n", r->engine, r->scenario, r->backend,
		        pv_verdict_name(r->verdict), r->reason);
	}
	head = false;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		char g[512];
		pv_report_guarantee(c, r, g, sizeof(g));
		if (!g[0] && !r->coverage.pairs)
			continue;
		if (!head)
			fputs("\n### Exploration\n\n", f);
		head = true;
		fprintf(f, "- **%s** on **%s** (%s):", r->engine, r->scenario, r->backend);
		if (g[0])
			fprintf(f, " %s.", g);
		if (r->coverage.pairs)
			fprintf(f, " Hot-window coverage %" PRIu64 " of %" PRIu64 " pairs (%.1f%%).",
			        r->coverage.reached, r->coverage.pairs,
			        100.0 * (double)r->coverage.reached / (double)r->coverage.pairs);
		fputc('\n', f);
	}
	pv_report_overhead_md(c, f);
}
