#include "report.h"
#include "internal.h"

#include <inttypes.h>
#include <string.h>

/* "torn-exec 412, crash 37" or "-". */
static void violations_cell(const struct pv_result *r, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->nviolations && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s %" PRIu64, i ? ", " : "",
		                 r->violations[i].check, r->violations[i].count);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (!r->nviolations)
		snprintf(buf, len, "-");
}

void pv_report_text(const struct pv_campaign *c, const char *out_dir, FILE *f)
{
	bool compared = false;
	for (size_t i = 0; i < c->nresults; i++)
		compared |= c->results[i].as_expected >= 0;
	fprintf(f, "%-12s %-18s %-7s %-8s %9s %8s  %s%s\n", "ENGINE", "SCENARIO", "BACKEND",
	        "VERDICT", "SCHEDULES", "APPLIED", "VIOLATIONS", compared ? "  (RESULT)" : "");
	size_t counts[4] = {0}, unexpected = 0;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		char cell[512];
		violations_cell(r, cell, sizeof(cell));
		char result[160] = "";
		if (r->as_expected == 1)
			snprintf(result, sizeof(result), "  (as expected)");
		else if (r->as_expected == 0)
			snprintf(result, sizeof(result), "  (UNEXPECTED: expected %s)",
			         r->expected ? r->expected : "no result");
		fprintf(f, "%-12s %-18s %-7s %-8s %9" PRIu64 " %8" PRIu64 "  %s%s\n", r->engine,
		        r->scenario, r->backend, pv_verdict_name(r->verdict), r->schedules,
		        r->applied, cell, result);
		if ((unsigned)r->verdict < 4)
			counts[r->verdict]++;
		unexpected += r->as_expected == 0;
	}
	bool notes = false;
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		char g[512];
		pv_report_guarantee(c, r, g, sizeof(g));
		if (r->reason || r->nviolations || g[0] || r->info || r->nsteps) {
			if (!notes)
				fputc('\n', f);
			notes = true;
		}
		if (r->reason)
			fprintf(f, "%s on %s: %s: %s\n", r->engine, r->scenario,
			        pv_verdict_name(r->verdict), r->reason);
		for (size_t k = 0; k < r->nviolations; k++) {
			const struct pv_violation_stat *v = &r->violations[k];
			fprintf(f, "%s on %s: %s, first in schedule %" PRIu64, r->engine, r->scenario,
			        v->check, v->first_schedule);
			if (v->thread >= 0)
				fprintf(f, ", thread %d", v->thread);
			if (v->address)
				fprintf(f, " at 0x%" PRIx64, v->address);
			fprintf(f, ": %s\n", v->detail[0] ? v->detail : "(no detail)");
			if (v->reproducer)
				fprintf(f, "    replay: patchvet replay %s%s%s\n", out_dir ? out_dir : "",
				        out_dir ? "/" : "", v->reproducer);
		}
		/* Lifecycles: information, and each step's live versions. */
		if (r->info)
			fprintf(f, "%s on %s: information: %s\n", r->engine, r->scenario, r->info);
		for (size_t k = 0; k < r->nsteps; k++)
			fprintf(f, "%s on %s: step %zu %s: live %s (%" PRIu64 " run%s, %" PRIu64
			           " refused)\n", r->engine, r->scenario, k + 1, r->steps[k].step,
			        r->steps[k].live ? r->steps[k].live : "-", r->steps[k].ran,
			        r->steps[k].ran == 1 ? "" : "s", r->steps[k].refused);
		if (g[0])
			fprintf(f, "%s on %s: explorer: %s\n", r->engine, r->scenario, g);
		/* Coverage beside a guarantee; random campaigns keep it in the
		 * JSON and HTML, or the table would drown in it. */
		if (r->coverage.pairs && g[0])
			fprintf(f, "%s on %s: hot-window coverage: %" PRIu64 " of %" PRIu64
			           " (instruction, thread) pairs reached (%.1f%%)\n",
			        r->engine, r->scenario, r->coverage.reached, r->coverage.pairs,
			        100.0 * (double)r->coverage.reached / (double)r->coverage.pairs);
	}
	pv_report_overhead_text(c, f);
	fprintf(f, "\n%zu result%s: %zu SAFE, %zu UNSAFE, %zu REFUSED, %zu ERROR", c->nresults,
	        c->nresults == 1 ? "" : "s", counts[PV_VERDICT_SAFE], counts[PV_VERDICT_UNSAFE],
	        counts[PV_VERDICT_REFUSED], counts[PV_VERDICT_ERROR]);
	if (compared)
		fprintf(f, "; %zu unexpected", unexpected);
	fprintf(f, "\n%" PRIu64 " schedules (%s explorer, seed %" PRIu64 ") in %.2f s: %.0f "
	           "schedules/s\n",
	        c->total_schedules, c->explorer ? c->explorer : "?", c->seed, c->seconds,
	        pv_campaign_rate(c));
}
