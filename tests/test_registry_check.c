/* Suite `registry_check`: the check registry is the one place a check is
 * declared. A check added as one row of an extension table (its judge and
 * its sentence in this file, as a built-in has them in its own file under
 * harness/checks/) is listed, may be named in a verdict line of
 * corpora/expected, is judged on every run of a campaign and reaches the
 * reports, with no other code changed. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../reports/report.h"
#include "../harness/campaign/driver.h"
#include "../harness/campaign/expected.h"
#include "../harness/checks/registry.h"
#include "../harness/cli/cli.h"

/* ------------------------------------------------- the trivial new check */

/* `apply-gave-up`: apply does not give up (PV_EBUSY). Judged from the
 * finished run alone, so it needs no backend event but the end. */
static int gave_up_at_end(const struct pv_run_result *res, struct pv_check_finding *f)
{
	if (res->apply_rc != PV_EBUSY)
		return 0;
	snprintf(f->detail, sizeof(f->detail), "apply gave up (PV_EBUSY) after %llu decisions",
	         (unsigned long long)res->decisions);
	return 1;
}

static const struct pv_check extra[] = {
	{"apply-gave-up", "apply does not give up", PV_CHECK_AT_END, gave_up_at_end},
};

static const struct pv_check_registry with_extra = {extra, 1};

/* ------------------------------------------------------------ enumeration */

Test(registry_check, builtin_rows_keep_the_design_ids_in_order)
{
	static const char *const ids[] = {
		"crash", "torn-exec", "xmc-unsynced", "consistency", "ineffective",
		"state-mem", "state-regs", "state-os", "syscall-disrupted", "rollback-bytes",
		"rollback-leak", "use-after-revert", "liveness", "target-verify"};
	cr_assert_eq(pv_check_count(NULL), sizeof(ids) / sizeof(ids[0]));
	for (size_t i = 0; i < PV_CHECK_NBUILTIN; i++) {
		cr_expect_str_eq(pv_check_name((enum pv_check_id)i), ids[i]);
		cr_expect_eq(pv_check_at(NULL, i), pv_check_of((enum pv_check_id)i));
		cr_expect_eq(pv_check_find(NULL, ids[i]), pv_check_of((enum pv_check_id)i));
		cr_expect_neq(pv_check_of((enum pv_check_id)i)->hooks, 0u, "%s needs no event", ids[i]);
		cr_expect_lt(strlen(ids[i]), PV_CHECK_DETAIL_LEN);
	}
	cr_expect_null(pv_check_at(NULL, PV_CHECK_NBUILTIN));
	cr_expect_null(pv_check_find(NULL, "apply-gave-up"));
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(pv_check_registry_validate(NULL, &err), 0);
}

Test(registry_check, an_extension_row_is_listed_and_found)
{
	cr_assert_eq(pv_check_count(&with_extra), PV_CHECK_NBUILTIN + 1);
	cr_expect_eq(pv_check_at(&with_extra, PV_CHECK_NBUILTIN), &extra[0]);
	cr_expect_eq(pv_check_find(&with_extra, "apply-gave-up"), &extra[0]);
	cr_expect_eq(pv_check_find(&with_extra, "torn-exec"), pv_check_of(PV_CHECK_TORN_EXEC));
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(pv_check_registry_validate(&with_extra, &err), 0, "%s", err.msg);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	pv_cli_list_checks(f, &with_extra);
	fclose(f);
	cr_expect(strstr(text, "apply-gave-up      apply does not give up\n") != NULL, "%s", text);
	cr_expect(strstr(text, "torn-exec ") != NULL);
	size_t lines = 0;
	for (const char *c = text; *c; c++)
		lines += *c == '\n';
	cr_expect_eq(lines, PV_CHECK_NBUILTIN + 1);
	free(text);
}

Test(registry_check, bad_extension_rows_are_refused)
{
	static const struct pv_check taken[] = {{"crash", "again", PV_CHECK_AT_END, NULL}};
	static const struct pv_check twice[] = {{"x", "one", PV_CHECK_AT_END, NULL},
	                                        {"x", "two", PV_CHECK_AT_END, NULL}};
	static const struct pv_check longid[] = {
		{"a-check-id-longer-than-a-violation-holds", "p", PV_CHECK_AT_END, NULL}};
	static const struct pv_check noprop[] = {{"p", "", PV_CHECK_AT_END, NULL}};
	const struct pv_check_registry bad[] = {{taken, 1}, {twice, 2}, {longid, 1}, {noprop, 1}};
	const char *const says[] = {"taken", "taken", "longer", "needs an id and a property"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pv_error err;
		pv_error_clear(&err);
		cr_expect_eq(pv_check_registry_validate(&bad[i], &err), PV_EINVAL, "row set %zu", i);
		cr_expect(strstr(err.msg, says[i]) != NULL, "%zu: %s", i, err.msg);
	}
}

/* ---------------------------------------------------------- expected lines */

static int load(const char *text, const struct pv_check_registry *reg,
                struct pv_expected **out, struct pv_error *err)
{
	char path[] = "/tmp/pvregexp.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = pv_expected_load(path, reg, out, err);
	unlink(path);
	return rc;
}

Test(registry_check, a_verdict_line_may_name_the_extension)
{
	const char *line = "verdict counter okay emu UNSAFE apply-gave-up crash\n";
	struct pv_expected *e = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(load(line, NULL, &e, &err), PV_EFORMAT, "built-ins alone know no such check");
	cr_expect(strstr(err.msg, "unknown check 'apply-gave-up'") != NULL, "%s", err.msg);
	cr_expect_null(e);
	pv_error_clear(&err);
	cr_assert_eq(load(line, &with_extra, &e, &err), 0, "%s", err.msg);
	const struct pv_expectation *x = pv_expected_verdict(e, "counter", "okay", "emu");
	cr_assert_not_null(x);
	cr_assert_eq(x->nchecks, 2);
	cr_expect_str_eq(x->checks[0], "apply-gave-up");
	pv_expected_free(e);
}

/* ------------------------------------------------ a campaign and its report */

/* A backend whose apply gives up in every fourth run (by the stream, so
 * the count is known) and that sees no violation of its own. */
struct mock {
	struct pv_patch_func func;
	struct pv_patch_desc desc;
};

static int mock_open(const struct pv_backend_config *bc, void **handle, struct pv_error *err)
{
	(void)err;
	struct mock *m = calloc(1, sizeof(*m));
	cr_assert_not_null(m);
	m->func = (struct pv_patch_func){.old_name = "bump", .old_addr = 0x401100, .old_size = 64,
	                                 .new_addr = 0x501100, .new_size = 32};
	m->desc = (struct pv_patch_desc){.sz = sizeof(m->desc), .path = bc->patch_path,
	                                 .funcs = &m->func, .nfuncs = 1};
	*handle = m;
	return 0;
}

static const struct pv_patch_desc *mock_patch(void *h)
{
	return &((struct mock *)h)->desc;
}

static bool gives_up(const uint8_t *s)
{
	return s[0] % 4 == 0;
}

static int mock_run(void *h, const struct pv_engine *engine, void *state, const uint8_t *s,
                    size_t len, struct pv_run_result *res, struct pv_error *err)
{
	(void)h, (void)engine, (void)state, (void)err;
	cr_assert_geq(len, 1);
	memset(res, 0, sizeof(*res));
	res->decisions = 3;
	if (gives_up(s))
		res->apply_rc = PV_EBUSY, res->revert_rc = 1;
	return 0;
}

static void mock_close(void *h)
{
	free(h);
}

static const struct pv_backend_ops mock_ops = {
	.name = "emu", .open = mock_open, .patch = mock_patch, .run = mock_run,
	.close = mock_close,
};

static int plan(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	(void)p, (void)err;
	*s = malloc(1);
	return 0;
}

static const struct pv_engine eng = {.sz = sizeof(struct pv_engine),
                                     .abi_version = PV_ABI_VERSION, .name = "okay",
                                     .plan = plan, .release = free};

static void drive(const struct pv_check_registry *reg, struct pv_campaign *c)
{
	struct pv_job j = {.engine = &eng, .scenario = "counter",
	                   .scenario_file = "/x/scenarios/counter/scenario.ini",
	                   .flavour = "plain", .target = "/x/emu/t-plain",
	                   .patch = "/x/patches/p.so", .workload = {.workers = 2, .iterations = 10}};
	memset(j.target_sha256, 'a', 64);
	memset(j.patch_sha256, 'b', 64);
	struct pv_drive_config cfg = {.backend = &mock_ops,
	                              .explorer = {.kind = PV_EXPLORE_RANDOM, .seed = 3},
	                              .schedules = 64, .checks = reg};
	struct pv_error err;
	pv_error_clear(&err);
	pv_campaign_init(c);
	cr_assert_eq(pv_drive(&cfg, &j, 1, c, &err), 0, "drive: %s", err.msg);
	cr_assert_eq(c->nresults, 1);
}

Test(registry_check, a_campaign_judges_the_extension_and_reports_it)
{
	struct pv_explorer x = {.kind = PV_EXPLORE_RANDOM, .seed = 3};
	uint64_t expect = 0;
	for (uint64_t i = 0; i < 64; i++) {
		uint8_t s[PV_EXPLORE_STREAM_LEN];
		size_t len;
		cr_assert_eq(pv_explore_stream(&x, i, s, sizeof(s), &len, NULL), 0);
		expect += gives_up(s);
	}
	cr_assert_gt(expect, 0, "seed 3 never gives up: pick another");

	/* The built-ins alone: the same runs are SAFE. */
	struct pv_campaign c;
	drive(NULL, &c);
	cr_expect_eq(c.results[0].verdict, PV_VERDICT_SAFE);
	cr_expect_null(pv_result_find(&c.results[0], "apply-gave-up"));
	pv_campaign_free(&c);

	drive(&with_extra, &c);
	const struct pv_result *r = &c.results[0];
	cr_expect_eq(r->verdict, PV_VERDICT_UNSAFE);
	const struct pv_violation_stat *v = pv_result_find(r, "apply-gave-up");
	cr_assert_not_null(v);
	cr_expect_eq(v->count, expect);
	cr_expect_str_eq(v->detail, "apply gave up (PV_EBUSY) after 3 decisions");

	/* The verdict line naming it holds. */
	struct pv_expected *e = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(load("verdict counter okay emu UNSAFE apply-gave-up\n", &with_extra, &e, &err),
	             0, "%s", err.msg);
	cr_expect(pv_expected_holds(&e->items[0], r));
	pv_expected_free(e);

	/* Both report paths carry it. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	pv_report_text(&c, NULL, f);
	fclose(f);
	cr_expect(strstr(text, "apply-gave-up") != NULL, "%s", text);
	free(text);
	char *json = NULL;
	cr_assert_eq(pv_report_json(&c, &json, &len, &err), 0, "%s", err.msg);
	cr_expect(strstr(json, "\"check\":\"apply-gave-up\"") != NULL ||
	          strstr(json, "\"check\": \"apply-gave-up\"") != NULL, "%s", json);
	free(json);
	pv_campaign_free(&c);
}
