/* Suite `campaign`: the explorer, the driver against a mock backend, the
 * result model, the report writers and the verdict lines of corpora/expected. */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../reports/report.h"
#include "../harness/model/campaign.h"
#include "../harness/campaign/driver.h"
#include "../harness/campaign/expected.h"
#include "../harness/explore/explore.h"
#include "../harness/load/reproducer.h"

/* ---------------------------------------------------------------- explorer */

Test(campaign, random_streams_are_fixed_functions_of_seed_and_index)
{
	struct pv_explorer x = {.kind = PV_EXPLORE_RANDOM, .seed = 1};
	uint8_t a[PV_EXPLORE_STREAM_LEN], b[PV_EXPLORE_STREAM_LEN];
	size_t la, lb;
	struct pv_error err;
	cr_assert_eq(pv_explore_stream(&x, 0, a, sizeof(a), &la, &err), 0);
	cr_assert_eq(pv_explore_stream(&x, 0, b, sizeof(b), &lb, &err), 0);
	cr_expect_eq(la, PV_EXPLORE_STREAM_LEN);
	cr_expect_eq(memcmp(a, b, la), 0, "same seed and index, different streams");
	cr_assert_eq(pv_explore_stream(&x, 1, b, sizeof(b), &lb, &err), 0);
	cr_expect_neq(memcmp(a, b, la), 0, "schedules 0 and 1 share a stream");
	x.seed = 2;
	cr_assert_eq(pv_explore_stream(&x, 0, b, sizeof(b), &lb, &err), 0);
	cr_expect_neq(memcmp(a, b, la), 0, "seeds 1 and 2 share a stream");
	/* pinned, so a change of the generator is a deliberate one */
	x.seed = 1;
	cr_assert_eq(pv_explore_stream(&x, 0, a, sizeof(a), &la, &err), 0);
	char hex[17];
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", a[i]);
	cr_expect_str_eq(hex, "ac5ca35e0a1200d3");
	/* roughly uniform: every byte value turns up over 64 streams */
	unsigned seen[256] = {0};
	for (uint64_t i = 0; i < 64; i++) {
		cr_assert_eq(pv_explore_stream(&x, i, a, sizeof(a), &la, &err), 0);
		for (size_t k = 0; k < la; k++)
			seen[a[k]]++;
	}
	for (int v = 0; v < 256; v++)
		cr_expect_gt(seen[v], 20, "byte %d seen %u times in 16384", v, seen[v]);
	cr_expect_eq(pv_explore_stream(&x, 0, a, 10, &la, &err), PV_ERANGE);
}

/* ----------------------------------------------------------- mock backend */

#define BUMP 0x401100u

/* What the mock does: violations come from the stream, so they are as
 * deterministic as the real thing. */
struct mock_cfg {
	int open_rc;
	int fail_run_at;     /* run returns an error at this schedule (1-based), 0 never */
	int apply_rc_at;     /* apply returns PV_EFAULT at this schedule (1-based), 0 never */
	unsigned busy_mod;   /* apply gives up (PV_EBUSY) when stream[3] % busy_mod == 0 */
	unsigned torn_below; /* torn-exec when stream[0] < torn_below */
	unsigned crash_below;/* crash when stream[1] < crash_below */
};

struct mock {
	const struct mock_cfg *cfg;
	struct pv_patch_func func;
	struct pv_patch_desc desc;
	uint64_t runs;
};

static struct mock_cfg current; /* tests set it before driving; read by mock_open */

static int mock_open(const struct pv_backend_config *bc, void **handle, struct pv_error *err)
{
	if (current.open_rc)
		return pv_error_set(err, current.open_rc, "%s: cannot load", bc->target_path);
	struct mock *m = calloc(1, sizeof(*m));
	m->cfg = &current;
	m->func = (struct pv_patch_func){.old_name = "bump", .old_addr = BUMP, .old_size = 64,
	                                 .new_addr = BUMP + 0x100000, .new_size = 32};
	m->desc = (struct pv_patch_desc){.sz = sizeof(m->desc), .path = bc->patch_path,
	                                 .funcs = &m->func, .nfuncs = 1};
	*handle = m;
	return 0;
}

static const struct pv_patch_desc *mock_patch(void *h)
{
	return &((struct mock *)h)->desc;
}

static void add(struct pv_run_result *res, const char *check, int thread, uint64_t addr,
                uint64_t step)
{
	struct pv_violation *v = &res->violations[res->nviolations++];
	snprintf(v->check, sizeof(v->check), "%s", check);
	v->thread = thread;
	v->address = addr;
	v->step = step;
	snprintf(v->detail, sizeof(v->detail), "mock %s", check);
}

static int mock_run(void *h, const struct pv_engine *engine, void *state, const uint8_t *s,
                    size_t len, struct pv_run_result *res, struct pv_error *err)
{
	(void)engine;
	(void)state;
	struct mock *m = h;
	const struct mock_cfg *c = m->cfg;
	m->runs++;
	if (c->fail_run_at && m->runs == (uint64_t)c->fail_run_at)
		return pv_error_set(err, PV_EINTERNAL, "mock: emulation failed");
	cr_assert_geq(len, 4);
	memset(res, 0, sizeof(*res));
	res->revert_rc = 0;
	if (c->apply_rc_at && m->runs == (uint64_t)c->apply_rc_at)
		res->apply_rc = PV_EFAULT;
	else if (c->busy_mod && s[3] % c->busy_mod == 0)
		res->apply_rc = PV_EBUSY, res->revert_rc = 1;
	if (s[0] < c->torn_below)
		add(res, "torn-exec", s[2] & 1, BUMP + s[2] % 5, s[2]);
	if (s[1] < c->crash_below)
		add(res, "crash", 0, 0, s[1]);
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

static int plan_ok(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	(void)err;
	cr_assert_not_null(p);
	*s = malloc(1);
	return 0;
}

static int plan_refuse(const struct pv_patch_desc *p, void **s, struct pv_error *err)
{
	(void)p;
	*s = NULL;
	return pv_error_set(err, PV_EREFUSED, "refuser: bump is too short (too-short)");
}

static void release(void *s)
{
	free(s);
}

static const struct pv_engine eng_ok = {.sz = sizeof(struct pv_engine),
                                        .abi_version = PV_ABI_VERSION, .name = "okay",
                                        .plan = plan_ok, .release = release};
static const struct pv_engine eng_refuse = {.sz = sizeof(struct pv_engine),
                                            .abi_version = PV_ABI_VERSION, .name = "refuser",
                                            .plan = plan_refuse, .release = release};

static struct pv_job job(const struct pv_engine *e, const char *scenario)
{
	struct pv_job j = {.engine = e, .scenario = scenario,
	                   .scenario_file = "/x/scenarios/s/scenario.ini", .flavour = "plain",
	                   .target = "/x/emu/t-plain", .patch = "/x/patches/p.so",
	                   .workload = {.workers = 2, .iterations = 10}};
	memset(j.target_sha256, 'a', 64);
	memset(j.patch_sha256, 'b', 64);
	return j;
}

struct progress_log {
	unsigned calls, finished;
	uint64_t last_done;
};

static void on_progress(void *ctx, const struct pv_progress *p)
{
	struct progress_log *l = ctx;
	l->calls++;
	l->finished += p->job_finished;
	cr_expect_leq(p->campaign_done, p->campaign_schedules);
	l->last_done = p->campaign_done;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static char *temp_dir(void)
{
	char *d = strdup("/tmp/pvcamp.XXXXXX");
	cr_assert_not_null(mkdtemp(d));
	return d;
}

static void drive(const struct pv_job *jobs, size_t n, uint64_t schedules, const char *out,
                  struct pv_campaign *c, struct progress_log *log)
{
	struct pv_drive_config cfg = {.backend = &mock_ops,
	                              .explorer = {.kind = PV_EXPLORE_RANDOM, .seed = 7},
	                              .schedules = schedules, .out_dir = out,
	                              .progress = log ? on_progress : NULL, .progress_ctx = log};
	struct pv_error err;
	pv_error_clear(&err);
	pv_campaign_init(c);
	cr_assert_eq(pv_drive(&cfg, jobs, n, c, &err), 0, "drive: %s", err.msg);
}

Test(campaign, driver_counts_violations_and_writes_reproducers)
{
	current = (struct mock_cfg){.torn_below = 40, .crash_below = 10, .busy_mod = 5};
	char *out = temp_dir();
	struct pv_job jobs[] = {job(&eng_ok, "counter")};
	struct pv_campaign c;
	struct progress_log log = {0};
	drive(jobs, 1, 300, out, &c, &log);
	cr_assert_eq(c.nresults, 1);
	struct pv_result *r = &c.results[0];
	cr_expect_eq(r->verdict, PV_VERDICT_UNSAFE);
	cr_expect_eq(r->schedules, 300);
	cr_expect_eq(c.total_schedules, 300);
	cr_expect_eq(c.seed, 7);
	cr_expect_eq(log.finished, 1);
	cr_expect_eq(log.last_done, 300);

	/* recount from the streams themselves */
	struct pv_explorer x = {.kind = PV_EXPLORE_RANDOM, .seed = 7};
	uint64_t torn = 0, crash = 0, busy = 0, first_torn = UINT64_MAX;
	for (uint64_t i = 0; i < 300; i++) {
		uint8_t s[PV_EXPLORE_STREAM_LEN];
		size_t len;
		pv_explore_stream(&x, i, s, sizeof(s), &len, NULL);
		if (s[0] < 40) {
			torn++;
			if (first_torn == UINT64_MAX)
				first_torn = i;
		}
		crash += s[1] < 10;
		busy += s[3] % 5 == 0;
	}
	cr_assert_gt(torn, 0);
	const struct pv_violation_stat *t = pv_result_find(r, "torn-exec");
	cr_assert_not_null(t);
	cr_expect_eq(t->count, torn);
	cr_expect_eq(t->first_schedule, first_torn);
	cr_expect_eq(pv_result_find(r, "crash") ? pv_result_find(r, "crash")->count : 0, crash);
	cr_expect_eq(r->gave_up, busy);
	cr_expect_eq(r->applied, 300 - busy);
	cr_expect_str_eq(t->reproducer, "repro/okay--counter--torn-exec.pvr");

	/* the reproducer holds exactly that schedule's stream */
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", out, t->reproducer);
	struct pv_reproducer *rep = NULL;
	struct pv_error err;
	cr_assert_eq(pv_reproducer_load(path, &rep, &err), 0, "%s", err.msg);
	uint8_t s[PV_EXPLORE_STREAM_LEN];
	size_t len;
	pv_explore_stream(&x, first_torn, s, sizeof(s), &len, NULL);
	cr_expect_eq(rep->schedule, first_torn);
	cr_expect_eq(rep->seed, 7);
	cr_expect_str_eq(rep->check, "torn-exec");
	cr_expect_str_eq(rep->engine, "okay");
	cr_expect_str_eq(rep->target, "/x/emu/t-plain");
	cr_expect_eq(rep->thread, t->thread);
	cr_expect_eq(rep->address, t->address);
	cr_assert_eq(rep->stream_len, len);
	cr_expect_eq(memcmp(rep->stream, s, len), 0);
	pv_reproducer_free(rep);
	pv_campaign_free(&c);
	nftw(out, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(out);
}

Test(campaign, verdicts_safe_refused_error)
{
	current = (struct mock_cfg){0};
	struct pv_job jobs[] = {job(&eng_ok, "clean"), job(&eng_refuse, "clean")};
	struct pv_campaign c;
	struct progress_log log = {0};
	drive(jobs, 2, 50, NULL, &c, &log);
	cr_assert_eq(c.nresults, 2);
	cr_expect_eq(c.results[0].verdict, PV_VERDICT_SAFE);
	cr_expect_null(c.results[0].reason);
	cr_expect_eq(c.results[0].applied, 50);
	cr_expect_eq(c.results[1].verdict, PV_VERDICT_REFUSED);
	cr_expect_eq(c.results[1].schedules, 0);
	cr_assert_not_null(c.results[1].reason);
	cr_expect(strstr(c.results[1].reason, "too-short") != NULL, "%s", c.results[1].reason);
	cr_expect_eq(pv_campaign_exit_status(&c), 0, "SAFE and REFUSED are both fine");
	cr_expect_eq(log.finished, 2);
	pv_campaign_free(&c);

	current = (struct mock_cfg){.open_rc = PV_EFORMAT};
	drive(jobs, 1, 50, NULL, &c, NULL);
	cr_expect_eq(c.results[0].verdict, PV_VERDICT_ERROR);
	cr_expect(strstr(c.results[0].reason, "cannot load") != NULL);
	cr_expect_eq(pv_campaign_exit_status(&c), 3);
	pv_campaign_free(&c);

	current = (struct mock_cfg){.fail_run_at = 20};
	drive(jobs, 1, 50, NULL, &c, NULL);
	cr_expect_eq(c.results[0].verdict, PV_VERDICT_ERROR);
	cr_expect_eq(c.results[0].schedules, 19);
	cr_expect(strstr(c.results[0].reason, "schedule 19") != NULL, "%s", c.results[0].reason);
	pv_campaign_free(&c);

	current = (struct mock_cfg){.apply_rc_at = 5};
	drive(jobs, 1, 50, NULL, &c, NULL);
	cr_expect_eq(c.results[0].verdict, PV_VERDICT_ERROR);
	cr_expect_eq(c.results[0].schedules, 50, "an engine error does not stop the job");
	cr_expect(strstr(c.results[0].reason, "apply returned") != NULL, "%s",
	          c.results[0].reason);
	pv_campaign_free(&c);

	/* a violation outweighs an engine error */
	current = (struct mock_cfg){.apply_rc_at = 5, .torn_below = 256};
	drive(jobs, 1, 10, NULL, &c, NULL);
	cr_expect_eq(c.results[0].verdict, PV_VERDICT_UNSAFE);
	cr_expect_eq(pv_campaign_exit_status(&c), 1);
	pv_campaign_free(&c);
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "key '%s' missing", key);
	return v;
}

Test(campaign, json_report_has_the_documented_keys_and_is_deterministic)
{
	current = (struct mock_cfg){.torn_below = 30};
	char *out1 = temp_dir(), *out2 = temp_dir();
	struct pv_job jobs[] = {job(&eng_ok, "counter"), job(&eng_refuse, "counter")};
	struct pv_campaign c1, c2;
	drive(jobs, 2, 200, out1, &c1, NULL);
	drive(jobs, 2, 200, out2, &c2, NULL);
	char *t1, *t2;
	size_t l1, l2;
	struct pv_error err;
	cr_assert_eq(pv_report_json(&c1, &t1, &l1, &err), 0);
	cr_assert_eq(pv_report_json(&c2, &t2, &l2, &err), 0);
	struct json_object *j1 = json_tokener_parse(t1), *j2 = json_tokener_parse(t2);
	cr_assert_not_null(j1, "not JSON: %s", t1);
	cr_assert_not_null(j2);
	get(j1, "schedules_per_second");
	struct json_object *res = get(j1, "results");
	cr_assert_eq(json_object_array_length(res), 2);
	struct json_object *r0 = json_object_array_get_idx(res, 0);
	static const char *const keys[] = {"engine", "scenario", "backend", "verdict",
	                                   "schedules", "violations"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		get(r0, keys[i]);
	cr_expect_str_eq(json_object_get_string(get(r0, "verdict")), "UNSAFE");
	struct json_object *v0 = json_object_array_get_idx(get(r0, "violations"), 0);
	static const char *const vkeys[] = {"check", "count", "first_schedule", "reproducer"};
	for (size_t i = 0; i < sizeof(vkeys) / sizeof(vkeys[0]); i++)
		get(v0, vkeys[i]);
	cr_expect_str_eq(json_object_get_string(get(v0, "reproducer")),
	                 "repro/okay--counter--torn-exec.pvr");
	struct json_object *r1 = json_object_array_get_idx(res, 1);
	cr_expect_str_eq(json_object_get_string(get(r1, "verdict")), "REFUSED");
	cr_expect(json_object_get_string(get(r1, "reason")) != NULL);
	/* everything but timing is the same for the same seed */
	json_object_object_del(j1, "schedules_per_second");
	json_object_object_del(j1, "elapsed_seconds");
	json_object_object_del(j2, "schedules_per_second");
	json_object_object_del(j2, "elapsed_seconds");
	cr_expect_str_eq(json_object_to_json_string(j1), json_object_to_json_string(j2));
	/* the text table has the columns and the verdicts */
	char *text = NULL;
	size_t tl = 0;
	FILE *f = open_memstream(&text, &tl);
	pv_report_text(&c1, out1, f);
	fclose(f);
	cr_expect(strstr(text, "ENGINE") && strstr(text, "SCENARIO") && strstr(text, "VERDICT") &&
	          strstr(text, "SCHEDULES") && strstr(text, "VIOLATIONS"), "%s", text);
	cr_expect(strstr(text, "UNSAFE") && strstr(text, "REFUSED") && strstr(text, "torn-exec"),
	          "%s", text);
	cr_expect(strstr(text, "patchvet replay") != NULL, "%s", text);
	free(text);
	json_object_put(j1);
	json_object_put(j2);
	free(t1);
	free(t2);
	pv_campaign_free(&c1);
	pv_campaign_free(&c2);
	nftw(out1, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	nftw(out2, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(out1);
	free(out2);
}

Test(campaign, reproducer_names_are_safe_file_names)
{
	char buf[128];
	cr_assert_eq(pv_repro_name("stw-jmp", "my scenario/../x", "torn-exec", buf, sizeof(buf)),
	             0);
	cr_expect_str_eq(buf, "repro/stw-jmp--my_scenario_.._x--torn-exec.pvr");
	cr_expect_eq(pv_repro_name("a", "b", "c", buf, 10), PV_ERANGE);
}

/* ---------------------------------------------------------------- expected */

static int load_expected(const char *text, struct pv_expected **out, struct pv_error *err)
{
	char path[] = "/tmp/pvexp.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = pv_expected_load(path, NULL, out, err);
	unlink(path);
	return rc;
}

static void expect_bad(const char *text, const char *mention)
{
	struct pv_expected *e = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(load_expected(text, &e, &err), PV_EFORMAT, "accepted: %s", text);
	cr_expect_null(e);
	cr_expect(strstr(err.msg, mention) != NULL, "'%s' not in: %s", mention, err.msg);
	cr_expect(strstr(err.msg, ":1:") != NULL || strstr(err.msg, ":2:") != NULL, "%s",
	          err.msg);
}

Test(campaign, expected_verdict_lines)
{
	struct pv_expected *e = NULL;
	struct pv_error err;
	cr_assert_eq(load_expected("analysis counter * none\n"
	                           "verdict counter stw-jmp emu SAFE   # fine\n"
	                           "verdict counter naive-write emu UNSAFE torn-exec crash\n"
	                           "verdict tiny stw-jmp emu REFUSED\n",
	                           &e, &err),
	             0, "%s", err.msg);
	const struct pv_expectation *x = pv_expected_verdict(e, "counter", "naive-write", "emu");
	cr_assert_not_null(x);
	cr_expect_eq(x->verdict, PV_VERDICT_UNSAFE);
	cr_expect_eq(x->nchecks, 2);
	char buf[64];
	pv_expectation_format(x, buf, sizeof(buf));
	cr_expect_str_eq(buf, "UNSAFE torn-exec|crash");
	cr_expect_null(pv_expected_verdict(e, "counter", "naive-write", "ptrace"));
	cr_expect_not_null(pv_expected_analysis(e, "counter", "plain"));

	/* holds: same verdict and one of the checks */
	struct pv_result r = {.verdict = PV_VERDICT_UNSAFE};
	bool first;
	pv_result_violation(&r, "consistency", 3, 0, 0, 0, "", &first);
	cr_expect(!pv_expected_holds(x, &r), "UNSAFE without torn-exec or crash");
	pv_result_violation(&r, "crash", 4, 0, 0, 0, "", &first);
	cr_expect(pv_expected_holds(x, &r));
	r.verdict = PV_VERDICT_SAFE;
	cr_expect(!pv_expected_holds(x, &r));
	cr_expect(pv_expected_holds(pv_expected_verdict(e, "counter", "stw-jmp", "emu"), &r));
	free(r.violations);
	pv_expected_free(e);

	expect_bad("verdict counter stw-jmp emu\n", "expected 'verdict");
	expect_bad("verdict counter stw-jmp emu FINE\n", "unknown verdict 'FINE'");
	expect_bad("verdict counter stw-jmp qemu SAFE\n", "unknown backend 'qemu'");
	expect_bad("verdict counter stw-jmp emu UNSAFE torn\n", "unknown check 'torn'");
	expect_bad("verdict counter stw-jmp emu SAFE crash\n", "only after UNSAFE");
	expect_bad("verdict c e emu SAFE\nverdict c e emu UNSAFE\n", "second verdict");
	expect_bad("verdicts c e emu SAFE\n", "unknown kind");
}
