/* Suite `registry_ext`: an explorer and a report format are each one file
 * plus one registry row. Here the "file" is a few functions of this test
 * and the row is added to a copy of the built-in table: the driver runs the
 * new explorer's schedules on emu, --format parsing accepts the new format
 * and the writers' dispatch writes it. Also: the built-in rows agree with
 * the constants callers use, with docs/patchvet.1, and the help texts made
 * from the rows are the ones written by hand before. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/catalogue.h"
#include "../harness/backend/registry.h"
#include "../harness/campaign/driver.h"
#include "../harness/explore/registry.h"
#include "../harness/model/campaign.h"
#include "../reports/registry.h"
#include "../reports/report.h"
#include "helpers.h"

#define EMU_TARGET(name) PV_BUILD_DIR "/corpora/emu/" name

/* ------------------------------------------------------------ a new explorer */

/* "constant": schedule i is a stream of `bytes` bytes, all i. Its one
 * parameter, --bytes, takes slot 2 (pct and bounded have 0 and 1). */
struct constant_state {
	uint64_t next, limit;
	unsigned bytes;
};

static unsigned constant_starts; /* runs the driver started, for the test */

static int constant_open(void **state, const struct pv_explore_job *job, struct pv_error *err)
{
	struct constant_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	s->limit = job->limit;
	s->bytes = job->x->param[2];
	*state = s;
	return 0;
}

static bool constant_next(void *state, uint64_t *index, bool *counted)
{
	struct constant_state *s = state;
	if (s->next >= s->limit)
		return false;
	*index = s->next++;
	*counted = true;
	return true;
}

static int constant_start(void *state, uint64_t index, struct pv_explore_run *run,
                          struct pv_error *err)
{
	struct constant_state *s = state;
	if (run->cap < s->bytes)
		return pv_error_set(err, PV_ERANGE, "stream buffer too small");
	memset(run->stream, (int)(index & 0xff), s->bytes);
	run->len = s->bytes;
	run->chooser.choose = NULL;
	constant_starts++;
	return 0;
}

static void constant_close(void *state, uint64_t runs, struct pv_guarantee *g)
{
	(void)runs;
	(void)g;
	free(state);
}

static const struct pv_explorer_ops constant_ops = {
	.open = constant_open,
	.next = constant_next,
	.start = constant_start,
	.close = constant_close,
};

static const struct pv_explorer_param constant_params[] = {
	{.name = "bytes", .metavar = "B", .slot = 2, .min = 1, .max = PV_EXPLORE_STREAM_LEN, .def = 64,
	 .wants = "a stream length from "},
};

/* The built-in rows and the new one. */
static struct pv_explorer_info explorer_rows[8];

static struct pv_explorer_table explorers_with_constant(void)
{
	const struct pv_explorer_table *b = pv_explorers_builtin();
	cr_assert_lt(b->n, 8);
	memcpy(explorer_rows, b->rows, b->n * sizeof(*b->rows));
	explorer_rows[b->n] = (struct pv_explorer_info){
		"constant", "every schedule one byte, repeated.", false, false, 0, constant_params,
		1, &constant_ops};
	return (struct pv_explorer_table){explorer_rows, b->n + 1};
}

Test(registry_ext, new_explorer_is_found_and_its_parameter_parsed)
{
	struct pv_explorer_table t = explorers_with_constant();
	unsigned kind = 0;
	const struct pv_explorer_info *xi = pv_explorer_find(&t, "constant", &kind);
	cr_assert_not_null(xi);
	cr_expect_eq(kind, t.n - 1);
	cr_expect_null(pv_explorer_find(NULL, "constant", NULL), "the built-in table grew");
	char names[128];
	pv_explorer_names(&t, ", ", " or ", names, sizeof(names));
	cr_expect_str_eq(names, "random, pct, bounded or constant");

	const struct pv_explorer_param *params[PV_EXPLORER_PARAMS];
	size_t np = pv_explorer_params(&t, params, PV_EXPLORER_PARAMS);
	cr_assert_eq(np, 3);
	cr_expect_str_eq(params[2]->name, "bytes");
	struct pv_explorer x = {.kind = kind};
	pv_explorer_defaults(&t, &x);
	cr_expect_eq(x.depth, 3);
	cr_expect_eq(x.preemptions, 1);
	cr_expect_eq(x.param[2], 64);
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(pv_explorer_param_parse(params[2], "300", &x.param[2], &err), PV_EINVAL);
	cr_expect_str_eq(err.msg, "--bytes wants a stream length from 1 to 256, not '300'");
	cr_expect_eq(pv_explorer_param_parse(params[2], "32", &x.param[2], &err), 0);
	cr_expect_eq(x.param[2], 32);
}

Test(registry_ext, new_explorer_drives_emu_schedules, .timeout = 120)
{
	struct pv_explorer_table t = explorers_with_constant();
	unsigned kind = 0;
	cr_assert_not_null(pv_explorer_find(&t, "constant", &kind));
	const struct pv_backend_info *emu = pv_backend_find("emu");
	const struct pv_engine_entry *stw = pv_engine_find("stw-jmp");
	cr_assert(emu && stw);
	struct pv_job job = {.engine = stw->engine, .scenario = "counter",
	                     .scenario_file = "counter/scenario.ini", .flavour = "plain",
	                     .target = EMU_TARGET("counter-plain"),
	                     .patch = PV_CORPUS_PATCH("counter-fix"),
	                     .workload = {.workers = 2, .iterations = 40}};
	struct pv_drive_config cfg = {.backend = emu->ops, .explorers = &t,
	                              .explorer = {.kind = kind, .seed = 1}, .schedules = 6,
	                              .mem_model = PV_MEM_BYTE};
	cfg.explorer.param[2] = 32;
	struct pv_campaign c;
	pv_campaign_init(&c);
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_drive(&cfg, &job, 1, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.nresults, 1);
	const struct pv_result *r = &c.results[0];
	cr_expect_eq(r->verdict, PV_VERDICT_SAFE, "%s: %s", pv_verdict_name(r->verdict),
	             r->reason ? r->reason : "");
	cr_expect_eq(r->schedules, 6);
	cr_expect_eq(r->applied + r->gave_up, 6);
	cr_expect_eq(constant_starts, 6);
	cr_expect_str_eq(c.explorer, "constant");
	cr_expect_eq(c.stream_len, PV_EXPLORE_STREAM_LEN, "a stream explorer's buffer");
	cr_expect_eq(c.param[2], 32);
	cr_expect_eq(c.depth, 0);
	cr_expect_eq(c.preemptions, 0);
	pv_campaign_free(&c);
}

/* ------------------------------------------------------------ a new report format */

/* "csv": one line per result. */
static int csv_campaign(const struct pv_campaign *c, const struct pv_report_info *info,
                        const char *dir, FILE *f, struct pv_error *err)
{
	(void)info;
	(void)dir;
	(void)err;
	fputs("engine,scenario,backend,verdict,schedules\n", f);
	for (size_t i = 0; i < c->nresults; i++) {
		const struct pv_result *r = &c->results[i];
		fprintf(f, "%s,%s,%s,%s,%llu\n", r->engine, r->scenario, r->backend,
		        pv_verdict_name(r->verdict), (unsigned long long)r->schedules);
	}
	return 0;
}

static struct pv_report_format_info format_rows[8];

static struct pv_report_format_table formats_with_csv(void)
{
	const struct pv_report_format_table *b = pv_report_formats_builtin();
	cr_assert_lt(b->n, 8);
	memcpy(format_rows, b->rows, b->n * sizeof(*b->rows));
	format_rows[b->n] = (struct pv_report_format_info){
		"csv", "csv", "one line per result", NULL, false, csv_campaign, NULL};
	return (struct pv_report_format_table){format_rows, b->n + 1};
}

Test(registry_ext, new_format_is_parsed_and_written)
{
	struct pv_report_format_table t = formats_with_csv();
	unsigned csv = 1u << (t.n - 1), set = 0;
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_report_formats_parse_in(&t, "json,csv", PV_FORMAT_ALL, &set, &err), 0,
	             "%s", err.msg);
	cr_expect_eq(set, PV_FORMAT_JSON | csv);
	cr_expect_eq(pv_report_formats_parse_in(&t, "pdf", PV_FORMAT_ALL, &set, &err), PV_EINVAL);
	cr_expect_str_eq(err.msg, "unknown format 'pdf' (there are text, json, junit, md, html "
	                          "and csv)");
	cr_expect_eq(pv_report_formats_parse_in(NULL, "csv", PV_FORMAT_ALL, &set, &err), PV_EINVAL,
	             "the built-in table grew");

	struct pv_campaign c;
	pv_campaign_init(&c);
	size_t ri;
	cr_assert_eq(pv_campaign_add(&c, "stw-jmp", "counter", "emu", "plain", &ri, &err), 0);
	c.results[ri].schedules = 12;
	pv_result_judge(&c.results[ri]);
	char *dir = pv_test_tmpdir("regext");
	unsigned written = 0;
	cr_assert_eq(pv_report_write_in(&t, &c, NULL, dir, "results", PV_FORMAT_JSON | csv,
	                                &written, &err), 0, "%s", err.msg);
	cr_expect_eq(written, PV_FORMAT_JSON | csv);
	char path[512];
	size_t n;
	snprintf(path, sizeof(path), "%s/results.csv", dir);
	char *text = (char *)pv_test_slurp(path, &n);
	cr_expect_str_eq(text, "engine,scenario,backend,verdict,schedules\n"
	                       "stw-jmp,counter,emu,SAFE,12\n");
	free(text);
	snprintf(path, sizeof(path), "%s/results.json", dir);
	text = (char *)pv_test_slurp(path, &n);
	cr_expect(strstr(text, "\"schema\":\"patchvet-results/1\"") ||
	          strstr(text, "\"schema\": \"patchvet-results/1\""), "%s", text);
	free(text);
	pv_test_rmdir_all(dir);
	pv_campaign_free(&c);
}

/* ------------------------------------------------------------ the built-in rows */

Test(registry_ext, builtin_rows_agree_with_constants_and_man_page)
{
	const struct pv_explorer_table *xt = pv_explorers_builtin();
	cr_assert_geq(xt->n, 3);
	cr_expect_str_eq(pv_explorer_row(NULL, PV_EXPLORE_RANDOM)->name, "random");
	cr_expect_str_eq(pv_explorer_row(NULL, PV_EXPLORE_PCT)->name, "pct");
	cr_expect_str_eq(pv_explorer_row(NULL, PV_EXPLORE_BOUNDED)->name, "bounded");
	cr_expect(!pv_explorer_row(NULL, 0)->adaptive, "the default explorer must take streams");
	size_t man_len;
	char *man = (char *)pv_test_slurp(PV_SOURCE_DIR "/docs/patchvet.1", &man_len);
	unsigned slots = 0;
	for (size_t i = 0; i < xt->n; i++) {
		const struct pv_explorer_info *xi = &xt->rows[i];
		cr_expect(xi->ops && xi->ops->open && xi->ops->next && xi->ops->start &&
		          xi->ops->close, "%s: an operation is missing", xi->name);
		cr_expect(strstr(man, xi->name), "explorer %s is not in docs/patchvet.1", xi->name);
		for (size_t k = 0; k < xi->nparams; k++) {
			const struct pv_explorer_param *p = &xi->params[k];
			cr_expect_lt(p->slot, PV_EXPLORER_PARAMS, "%s", p->name);
			cr_expect(!(slots & (1u << p->slot)), "slot %u used twice", p->slot);
			slots |= 1u << p->slot;
			cr_expect(p->min <= p->def && p->def <= p->max, "%s", p->name);
			char opt[64];
			snprintf(opt, sizeof(opt), "\\-\\-%s", p->name);
			cr_expect(strstr(man, opt), "option --%s is not in docs/patchvet.1", p->name);
		}
	}
	const struct pv_report_format_table *ft = pv_report_formats_builtin();
	static const unsigned bits[] = {PV_FORMAT_TEXT, PV_FORMAT_JSON, PV_FORMAT_JUNIT,
	                                PV_FORMAT_MD, PV_FORMAT_HTML};
	static const char *const names[] = {"text", "json", "junit", "md", "html"};
	for (size_t i = 0; i < 5; i++)
		cr_expect_str_eq(pv_report_format_row(ft, bits[i])->name, names[i]);
	for (size_t i = 0; i < ft->n; i++) {
		cr_expect(ft->rows[i].campaign, "%s has no campaign writer", ft->rows[i].name);
		char b[64];
		snprintf(b, sizeof(b), ".B %s", ft->rows[i].name);
		cr_expect(strstr(man, b), "format %s is not in docs/patchvet.1", ft->rows[i].name);
	}
	free(man);
}

/* The help paragraphs made from the rows read as they did when written by
 * hand (tests/data/help/ holds those). */
Test(registry_ext, help_texts_made_from_the_rows_are_unchanged)
{
	static const char *const cmds[] = {"run", "merge", "bench", "certify"};
	for (size_t i = 0; i < 4; i++) {
		struct pv_test_output o;
		char *argv[] = {PV_PATCHVET_BIN, (char *)cmds[i], "--help", NULL};
		cr_assert_eq(pv_test_run(argv, 30, &o), 0);
		cr_expect_eq(o.status, 0, "%s --help", cmds[i]);
		char path[512];
		size_t n;
		snprintf(path, sizeof(path), PV_SOURCE_DIR "/tests/data/help/%s.txt", cmds[i]);
		char *want = (char *)pv_test_slurp(path, &n);
		cr_expect_str_eq(o.out, want, "%s --help differs from %s", cmds[i], path);
		free(want);
		pv_test_output_free(&o);
	}
}
