/* Suite `bench_pages`: bench results as Markdown, JUnit XML and HTML (the
 * intervals drawn against their thresholds), from a result made by hand. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reports/bench_report.h"

static void result(struct pv_bench_result *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->engine, sizeof(r->engine), "slow<call>");
	snprintf(r->scenario, sizeof(r->scenario), "counter");
	r->threshold_pct = 2;
	snprintf(r->hw_counters, sizeof(r->hw_counters), "unavailable (test)");
	struct pv_overhead_figure *g = r->figures;
	g[0] = (struct pv_overhead_figure){.name = "cpu", .measured = true, .est = 0.3, .lo = -0.2,
	                                .hi = 0.9, .threshold = 2, .unit = "%",
	                                .claim = PV_CLAIM_SUPPORTED};
	g[1] = (struct pv_overhead_figure){.name = "instructions", .measured = true, .est = 12,
	                                .lo = 12, .hi = 12, .threshold = 2, .unit = "%",
	                                .claim = PV_CLAIM_REFUTED};
	g[2] = (struct pv_overhead_figure){.name = "memory-growth", .measured = false,
	                                .unit = "KiB/cycle", .note = "leaky runs on emu only"};
	r->nfigures = 3;
}

static char *render(void (*fn)(const struct pv_bench_result *, FILE *))
{
	struct pv_bench_result r;
	result(&r);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	fn(&r, f);
	fclose(f);
	return text;
}

Test(bench_pages, junit_fails_refuted_figures_and_skips_unmeasured_ones)
{
	char *x = render(pv_report_bench_junit);
	cr_expect(strstr(x, "tests=\"3\" failures=\"1\" skipped=\"1\""), "%s", x);
	cr_expect(strstr(x, "<failure type=\"REFUTED\" message=\"REFUTED: +12.00 %"), "%s", x);
	cr_expect(strstr(x, "<skipped message=\"leaky runs on emu only\"/>"), "%s", x);
	cr_expect(strstr(x, "slow&lt;call&gt;"), "the engine name is not escaped: %s", x);
	free(x);
}

Test(bench_pages, html_draws_every_interval_against_its_threshold)
{
	char *h = render(pv_report_bench_html);
	size_t intervals = 0, thresholds = 0;
	for (const char *p = h; (p = strstr(p, "class=\"interval\"")); p++)
		intervals++;
	for (const char *p = h; (p = strstr(p, "class=\"threshold\"")); p++)
		thresholds++;
	cr_expect_eq(intervals, 2, "%s", h);
	cr_expect_eq(thresholds, 2);
	cr_expect(strstr(h, "not measured"));
	cr_expect(strstr(h, "<svg"));
	cr_expect_null(strstr(h, "<script"), "the page must be self-contained");
	cr_expect_null(strstr(h, "http://") && !strstr(h, "xmlns=\"http://www.w3.org/2000/svg\"")
	                   ? h
	                   : NULL);
	free(h);
}

Test(bench_pages, markdown_has_one_row_per_figure)
{
	char *m = render(pv_report_bench_md);
	cr_expect(strstr(m, "| cpu | **SUPPORTED** | +0.30 % | [-0.20, +0.90] | 2.00 % |"), "%s",
	          m);
	cr_expect(strstr(m, "| instructions | **REFUTED** |"), "%s", m);
	cr_expect(strstr(m, "| memory-growth | not measured |"), "%s", m);
	free(m);
}
