/* JUnit XML, the format CI systems (GitLab, Jenkins, GitHub actions that
 * publish test results) read: a testsuite per backend, a testcase per
 * engine x scenario. Counts in testsuite attributes count testcases (one
 * testcase with two violated checks is one failure, with two <failure>
 * elements). */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum outcome { PASS, FAIL, ERR, SKIP };

static enum outcome outcome_of(const struct pv_result *r)
{
	if (r->verdict == PV_VERDICT_ERROR)
		return ERR;
	if (r->as_expected == 0)
		return FAIL;
	if (r->verdict == PV_VERDICT_REFUSED)
		return SKIP;
	if (r->as_expected < 0 && r->verdict == PV_VERDICT_UNSAFE)
		return FAIL;
	return PASS;
}

static void violation_body(const struct pv_violation_stat *v, const char *out_dir, FILE *f)
{
	fprintf(f, "%s: first in schedule %" PRIu64, v->check, v->first_schedule);
	if (v->thread >= 0)
		fprintf(f, ", thread %d", v->thread);
	if (v->address)
		fprintf(f, " at 0x%" PRIx64, v->address);
	fputs(": ", f);
	pv_xml_escape(f, v->detail[0] ? v->detail : "(no detail)");
	fputc('\n', f);
	if (v->reproducer) {
		char replay[4200];
		pv_report_replay(out_dir, v->reproducer, replay, sizeof(replay));
		fputs("reproducer: ", f);
		pv_xml_escape(f, out_dir ? out_dir : "");
		fputs(out_dir ? "/" : "", f);
		pv_xml_escape(f, v->reproducer);
		fputs("\nreplay: ", f);
		pv_xml_escape(f, replay);
		fputc('\n', f);
	}
}

static void failure(const struct pv_result *r, const struct pv_violation_stat *v,
                    const char *out_dir, FILE *f)
{
	fprintf(f, "      <failure type=\"%s\" message=\"%s failed in %" PRIu64 " of %" PRIu64
	           " schedules: ",
	        v->check, v->check, v->count, r->schedules);
	pv_xml_escape(f, v->detail);
	fputs("\">", f);
	violation_body(v, out_dir, f);
	fputs("</failure>\n", f);
}

static void testcase(const struct pv_campaign *c, const struct pv_result *r,
                     const char *out_dir, FILE *f)
{
	fputs("    <testcase classname=\"patchvet.", f);
	pv_xml_escape(f, r->backend);
	fputc('.', f);
	pv_xml_escape(f, r->engine);
	fputs("\" name=\"", f);
	pv_xml_escape(f, r->engine);
	fputs(" on ", f);
	pv_xml_escape(f, r->scenario);
	fputs("\">\n", f);
	enum outcome o = outcome_of(r);
	if (o == ERR) {
		fputs("      <error type=\"ERROR\" message=\"", f);
		pv_xml_escape(f, r->reason ? r->reason : "the backend or the engine failed");
		fputs("\"/>\n", f);
	} else if (o == SKIP) {
		fputs("      <skipped message=\"REFUSED: ", f);
		pv_xml_escape(f, r->reason ? r->reason : "(no reason given)");
		fputs("\"/>\n", f);
	} else if (o == FAIL && r->as_expected == 0) {
		fprintf(f, "      <failure type=\"unexpected\" message=\"expected ");
		pv_xml_escape(f, r->expected ? r->expected : "no result");
		fprintf(f, ", got %s\">", pv_verdict_name(r->verdict));
		if (r->reason)
			pv_xml_escape(f, r->reason), fputc('\n', f);
		for (size_t i = 0; i < r->nviolations; i++)
			violation_body(&r->violations[i], out_dir, f);
		fputs("</failure>\n", f);
	} else if (o == FAIL) {
		for (size_t i = 0; i < r->nviolations; i++)
			failure(r, &r->violations[i], out_dir, f);
	}
	/* What a passing or skipped case still has to say. */
	char g[512];
	pv_report_guarantee(c, r, g, sizeof(g));
	fprintf(f, "      <system-out>%s: %" PRIu64 " schedules, %" PRIu64 " applied",
	        pv_verdict_name(r->verdict), r->schedules, r->applied);
	if (r->expected) {
		fputs(", expected ", f);
		pv_xml_escape(f, r->expected);
	}
	fputc('\n', f);
	if (o == PASS)
		for (size_t i = 0; i < r->nviolations; i++)
			violation_body(&r->violations[i], out_dir, f);
	if (g[0]) {
		fputs("explorer: ", f);
		pv_xml_escape(f, g);
		fputc('\n', f);
	}
	if (r->coverage.pairs)
		fprintf(f, "hot-window coverage: %" PRIu64 " of %" PRIu64 " pairs\n",
		        r->coverage.reached, r->coverage.pairs);
	fputs("</system-out>\n    </testcase>\n", f);
}

static void property(const char *name, const char *value, FILE *f)
{
	fputs("      <property name=\"", f);
	pv_xml_escape(f, name);
	fputs("\" value=\"", f);
	pv_xml_escape(f, value);
	fputs("\"/>\n", f);
}

void pv_report_junit(const struct pv_campaign *c, const struct pv_report_info *info, FILE *f)
{
	const char *out_dir = info ? info->out_dir : NULL;
	size_t total[4] = {0};
	for (size_t i = 0; i < c->nresults; i++)
		total[outcome_of(&c->results[i])]++;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fputs("<testsuites name=\"", f);
	pv_xml_escape(f, info && info->title ? info->title : "patchvet");
	size_t ov[3] = {0}; /* overhead test cases, failures, skipped */
	if (info && info->overhead_cases)
		pv_report_overhead_junit_counts(c, ov);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
	           "time=\"%.3f\">\n",
	        c->nresults + ov[0], total[FAIL] + ov[1], total[ERR], total[SKIP] + ov[2],
	        c->seconds);
	const char **backends = calloc(c->nresults + 1, sizeof(*backends));
	size_t nb = backends ? pv_report_axis(c, NULL, PV_AXIS_BACKEND, backends) : 0;
	for (size_t b = 0; b < nb; b++) {
		size_t n[4] = {0}, tests = 0;
		for (size_t i = 0; i < c->nresults; i++)
			if (!strcmp(c->results[i].backend, backends[b])) {
				n[outcome_of(&c->results[i])]++;
				tests++;
			}
		fputs("  <testsuite name=\"patchvet.", f);
		pv_xml_escape(f, backends[b]);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n",
		        tests, n[FAIL], n[ERR], n[SKIP]);
		fputs("    <properties>\n", f);
		char num[32];
		property("explorer", c->explorer ? c->explorer : "", f);
		snprintf(num, sizeof(num), "%" PRIu64, c->seed);
		property("seed", num, f);
		for (size_t k = 0; info && k < info->nfacts; k++)
			if (info->facts[k].name && info->facts[k].value)
				property(info->facts[k].name, info->facts[k].value, f);
		fputs("    </properties>\n", f);
		for (size_t i = 0; i < c->nresults; i++)
			if (!strcmp(c->results[i].backend, backends[b]))
				testcase(c, &c->results[i], out_dir, f);
		fputs("  </testsuite>\n", f);
	}
	free(backends);
	if (ov[0])
		pv_report_overhead_junit(c, f);
	fputs("</testsuites>\n", f);
}
