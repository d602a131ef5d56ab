/* Suite `explore`: the explorers (pct, bounded, partitions), the emulator's
 * recording of adaptive runs, merging parts of a campaign, and results.json
 * read back. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../emulator/emu.h"
#include "../engines/catalogue.h"
#include "../reports/report.h"
#include "../harness/explore/explore.h"
#include "helpers.h"
#include "../harness/campaign/merge.h"

#define EMU_TARGET(name) PV_BUILD_DIR "/corpora/emu/" name

static struct pv_emu *open_counter(void)
{
	struct pv_emu_config cfg = {.target_path = EMU_TARGET("counter-plain"),
	                            .patch_path = PV_CORPUS_PATCH("counter-fix"),
	                            .workload = {.workers = 2, .iterations = 40}};
	struct pv_emu *e = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_emu_open(&cfg, &e, &err), 0, "%s", err.msg);
	return e;
}

static const struct pv_engine *engine(const char *name)
{
	const struct pv_engine_entry *en = pv_engine_find(name);
	cr_assert_not_null(en, "no engine %s", name);
	return en->engine;
}

Test(explore, pct_bound_is_one_over_n_k_to_the_d_minus_1)
{
	cr_expect_float_eq(pv_pct_bound(3, 100, 1), 1.0 / 3, 1e-12);
	cr_expect_float_eq(pv_pct_bound(3, 100, 2), 1.0 / 300, 1e-12);
	cr_expect_float_eq(pv_pct_bound(2, 10, 3), 1.0 / 200, 1e-12);
	struct pv_guarantee g = {.depth = 2, .threads = 3, .steps = 100};
	pv_guarantee_update(&g, 300);
	cr_expect_float_eq(g.per_run, 1.0 / 300, 1e-12);
	cr_expect_float_eq(g.overall, 1 - pow(1 - 1.0 / 300, 300), 1e-9);
}

/* pct: distinct priorities, change points below them, a pure function of
 * (seed, index). */
Test(explore, pct_priorities_and_change_points)
{
	struct pv_explorer x = {.kind = PV_EXPLORE_PCT, .seed = 5, .depth = 3};
	struct pv_pct a, b;
	pv_pct_start(&a, &x, 7, 4, 1000);
	pv_pct_start(&b, &x, 7, 4, 1000);
	cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0, "not a function of (seed, index)");
	cr_expect_eq(a.nchange, 2);
	bool seen[16] = {false};
	for (unsigned i = 0; i < 5; i++) {
		cr_expect_geq(a.prio[i], 3);
		cr_expect_lt(a.prio[i], 8);
		cr_expect_not(seen[a.prio[i]], "priority %u twice", a.prio[i]);
		seen[a.prio[i]] = true;
	}
	for (unsigned i = 0; i < a.nchange; i++)
		cr_expect_lt(a.change[i], 1000);
	/* The running thread loses its priority at a change point and the
	 * engine (or another thread) takes over. */
	unsigned runnable[4] = {0, 1, 2, 3};
	a.current = 0;
	a.prio[0] = 100; /* thread 0 outranks everything */
	struct pv_choice c = {.kind = PV_CHOICE_PREEMPT, .index = a.change[0], .thread = 0,
	                      .runnable = runnable, .nrunnable = 4};
	cr_expect_eq(pv_pct_choose(&a, &c), PV_CHOICE_PREEMPT_YES);
	cr_expect_eq(a.prio[0], 2, "first change point gives d-1");
	c.index = a.change[0] + 1000000; /* no change point: the top thread runs on */
	unsigned top = 0;
	for (unsigned i = 1; i < 5; i++)
		if (a.prio[i] > a.prio[top])
			top = i;
	c.thread = top < 4 ? (int)top : 1;
	a.current = c.thread;
	if (top < 4)
		cr_expect_eq(pv_pct_choose(&a, &c), PV_CHOICE_PREEMPT_NO);
}

/* pct: the engine outranks the workers while it works, but waiting for
 * them (advance) it is not enabled: the top worker runs, not nobody. */
Test(explore, pct_engine_waiting_for_workers_lets_the_top_worker_run)
{
	struct pv_explorer x = {.kind = PV_EXPLORE_PCT, .seed = 5, .depth = 1};
	struct pv_pct p;
	pv_pct_start(&p, &x, 0, 2, 100);
	p.prio[2] = 10; /* the engine (thread `workers`) */
	p.prio[0] = 3;
	p.prio[1] = 4;
	unsigned runnable[2] = {0, 1};
	struct pv_choice c = {.kind = PV_CHOICE_SLICE, .index = 1, .runnable = runnable,
	                      .nrunnable = 2, .engine_waits = true, .in_op = true};
	cr_expect_eq(pv_pct_choose(&p, &c), PV_CHOICE_NOBODY, "working, the engine goes on");
	c.engine_yields = true;
	cr_expect_eq(pv_pct_choose(&p, &c), PV_CHOICE_SLICE_BYTE(1),
	             "waiting, the engine let nobody run instead of worker 1");
	cr_expect_eq(p.current, 1);
}

/* An adaptive run records a stream that replays it exactly. */
Test(explore, recorded_streams_replay_adaptive_runs)
{
	struct pv_emu *e = open_counter();
	const struct pv_engine *en = engine("no-quiesce");
	struct pv_error err;
	pv_error_clear(&err);
	void *state = NULL;
	cr_assert_eq(en->plan(pv_emu_patch(e), &state, &err), 0, "%s", err.msg);
	struct pv_explorer x = {.kind = PV_EXPLORE_PCT, .seed = 3, .depth = 2};
	uint8_t *rec = malloc(PV_EXPLORE_RECORD_MAX);
	unsigned violating = 0;
	for (uint64_t i = 0; i < 40; i++) {
		struct pv_pct p;
		pv_pct_start(&p, &x, i, 2, 166);
		struct pv_chooser ch = {.choose = pv_pct_choose, .ctx = &p};
		struct pv_run_result a, b;
		size_t len = 0;
		cr_assert_eq(pv_emu_run_chosen(e, en, state, &ch, rec, PV_EXPLORE_RECORD_MAX, &len,
		                               &a, &err), 0, "%s", err.msg);
		cr_assert_eq(pv_emu_run(e, en, state, rec, len, &b, &err), 0, "%s", err.msg);
		cr_expect_eq(a.decisions, b.decisions, "schedule %llu", (unsigned long long)i);
		cr_expect_eq(a.instructions, b.instructions, "schedule %llu", (unsigned long long)i);
		cr_expect_eq(a.preemptions, b.preemptions);
		cr_expect_eq(a.nviolations, b.nviolations);
		for (size_t k = 0; k < a.nviolations && k < b.nviolations; k++) {
			cr_expect_str_eq(a.violations[k].check, b.violations[k].check);
			cr_expect_eq(a.violations[k].step, b.violations[k].step);
		}
		violating += a.nviolations > 0;
	}
	cr_expect_gt(violating, 0, "pct found nothing in no-quiesce in 40 runs");
	free(rec);
	en->release(state);
	pv_emu_close(e);
}

/* The bounded tree: K=1 is the baseline plus one schedule per preemption
 * point of the baseline; partitions split it without overlap. */
static uint64_t walk(unsigned k, struct pv_partition part, uint64_t *ids, size_t cap,
                     size_t *nids, bool *exhausted, size_t max_runs)
{
	struct pv_emu *e = open_counter();
	const struct pv_engine *en = engine("stw-jmp");
	struct pv_error err;
	pv_error_clear(&err);
	void *state = NULL;
	cr_assert_eq(en->plan(pv_emu_patch(e), &state, &err), 0, "%s", err.msg);
	struct pv_bounded b;
	cr_assert_eq(pv_bounded_open(&b, k, part, &err), 0, "%s", err.msg);
	uint8_t *rec = malloc(PV_EXPLORE_RECORD_MAX);
	bool counted;
	uint64_t id, first_points = 0;
	*nids = 0;
	size_t runs = 0;
	while (runs++ < max_runs && pv_bounded_next(&b, &counted, &id)) {
		struct pv_chooser ch = {.choose = pv_bounded_choose, .ctx = &b};
		struct pv_run_result res;
		size_t len;
		cr_assert_eq(pv_emu_run_chosen(e, en, state, &ch, rec, PV_EXPLORE_RECORD_MAX, &len,
		                               &res, &err), 0, "%s", err.msg);
		if (b.cur.npoints == 0)
			first_points = b.seen;
		/* A preemption cuts a worker off (counted by the run) or runs one
		 * in the engine's place (not a preempt choice). */
		cr_expect_leq(res.preemptions, b.cur.npoints, "schedule %llx",
		              (unsigned long long)id);
		cr_assert_eq(pv_bounded_done(&b, &err), 0);
		if (counted && *nids < cap)
			ids[(*nids)++] = id;
	}
	*exhausted = b.nstack == 0;
	if (*exhausted)
		cr_expect_eq(b.ran, b.space);
	pv_bounded_close(&b);
	free(rec);
	en->release(state);
	pv_emu_close(e);
	return first_points;
}

Test(explore, bounded_enumerates_every_single_preemption_once)
{
	uint64_t all[4096], p1[4096], p2[4096];
	size_t n, n1, n2;
	bool ex;
	struct pv_partition whole = {0, 1};
	uint64_t points = walk(1, whole, all, 4096, &n, &ex, SIZE_MAX);
	cr_expect(ex);
	cr_expect_gt(points, 10, "the baseline offers few preemption points");
	cr_expect_eq(n, 1 + points, "K=1: the baseline and one schedule per point");
	for (size_t i = 1; i < n; i++)
		cr_expect_lt(all[i - 1], all[i], "not in depth-first order at %zu", i);
	walk(1, (struct pv_partition){0, 2}, p1, 4096, &n1, &ex, SIZE_MAX);
	walk(1, (struct pv_partition){1, 2}, p2, 4096, &n2, &ex, SIZE_MAX);
	cr_expect_eq(n1 + n2, n, "the parts do not add up to the whole");
	for (size_t i = 0; i < n2; i++)
		for (size_t j = 0; j < n1; j++)
			cr_expect_neq(p2[i], p1[j], "schedule %llx in both parts",
			              (unsigned long long)p2[i]);
	char buf[96];
	pv_bounded_describe(all[0], buf, sizeof(buf));
	cr_expect_str_eq(buf, "no preemption");
	pv_bounded_describe(all[3], buf, sizeof(buf));
	cr_expect_str_eq(buf, "preemption alternatives 2");
}

/* K=2: below the first point come the schedules that add a second one
 * (the space is large: the first 600 schedules, in depth-first order). */
Test(explore, bounded_k2_grows_the_tree_below_each_point)
{
	static uint64_t ids[600];
	size_t n;
	bool ex;
	walk(2, (struct pv_partition){0, 1}, ids, 600, &n, &ex, 600);
	cr_expect_not(ex);
	cr_assert_eq(n, 600);
	size_t two = 0;
	for (size_t i = 1; i < n; i++) {
		cr_expect_lt(ids[i - 1], ids[i]);
		two += (ids[i] & 0xffff00000000ull) != 0;
	}
	cr_expect_gt(two, 100, "K=2 adds schedules with two preemptions");
	/* depth first: [p] is followed by [p, q] */
	cr_expect_eq(ids[1] >> 48, 1);
	cr_expect_eq(ids[2] >> 48, 1);
	cr_expect_neq(ids[2] & 0xffff00000000ull, 0);
}

/* ------------------------------------------------------------ merge */

static void one_result(struct pv_campaign *c, uint64_t part, uint64_t count, uint64_t sched,
                       uint64_t first, const char *check)
{
	pv_campaign_init(c);
	c->explorer = "random";
	c->seed = 1;
	c->schedules = 100;
	c->shard_index = part;
	c->shard_count = count;
	size_t i;
	cr_assert_eq(pv_campaign_add(c, "e", "s", "emu", "plain", &i, NULL), 0);
	struct pv_result *r = &c->results[i];
	r->schedules = sched;
	r->applied = sched;
	if (check) {
		bool f;
		struct pv_violation_stat *v =
			pv_result_violation(r, check, first, 0, 1, 0x40, "d", &f);
		v->count = 3;
	}
	r->coverage.pairs = 4;
	r->coverage.reached = 2;
	r->coverage.missed = calloc(2, sizeof(*r->coverage.missed));
	r->coverage.nmissed = 2;
	r->coverage.missed[0] = (struct pv_coverage_pair){.address = 1, .thread = 0};
	r->coverage.missed[1] = (struct pv_coverage_pair){.address = part ? 2 : 3, .thread = 0};
	pv_result_judge(r);
}

Test(explore, merge_adds_up_and_keeps_the_earliest_violation)
{
	struct pv_campaign a, b, other;
	one_result(&a, 0, 2, 50, 9, "crash");
	one_result(&b, 1, 2, 50, 4, "crash");
	struct pv_merge m;
	pv_merge_init(&m, NULL);
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_merge_add(&m, &a, ".", "a", &err), 0, "%s", err.msg);
	cr_expect_eq(pv_merge_add(&m, &a, ".", "a", &err), PV_EINVAL, "a part twice");
	cr_expect(strstr(err.msg, "merged already"), "%s", err.msg);
	one_result(&other, 1, 2, 50, 4, "crash");
	other.seed = 2;
	cr_expect_eq(pv_merge_add(&m, &other, ".", "other", &err), PV_EINVAL);
	cr_expect(strstr(err.msg, "not a part of the same campaign"), "%s", err.msg);
	cr_assert_eq(pv_merge_add(&m, &b, ".", "b", &err), 0, "%s", err.msg);
	uint64_t missing;
	pv_merge_finish(&m, &missing);
	cr_expect_eq(missing, 0);
	cr_expect_eq(m.out.shard_count, 1);
	cr_assert_eq(m.out.nresults, 1);
	const struct pv_result *r = &m.out.results[0];
	cr_expect_eq(r->schedules, 100);
	cr_expect_eq(r->verdict, PV_VERDICT_UNSAFE);
	cr_assert_eq(r->nviolations, 1);
	cr_expect_eq(r->violations[0].count, 6);
	cr_expect_eq(r->violations[0].first_schedule, 4);
	/* missed by both parts: only address 1 */
	cr_expect_eq(r->coverage.nmissed, 1);
	cr_expect_eq(r->coverage.reached, 3);
	pv_merge_free(&m);
	pv_campaign_free(&a);
	pv_campaign_free(&b);
	pv_campaign_free(&other);
}

/* ------------------------------------------------------------ results.json */

static int read_text(const char *text, struct pv_campaign *c, struct pv_error *err)
{
	return pv_report_json_read(text, strlen(text), "t.json", c, err);
}

Test(explore, results_json_round_trips)
{
	struct pv_campaign a, b;
	one_result(&a, 1, 3, 70, 5, "torn-exec");
	a.results[0].guarantee = (struct pv_guarantee){.depth = 2, .threads = 3, .steps = 10};
	pv_guarantee_update(&a.results[0].guarantee, 70);
	a.total_schedules = 70;
	char *t1 = NULL, *t2 = NULL;
	size_t l1, l2;
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_report_json(&a, &t1, &l1, &err), 0);
	cr_assert_eq(pv_report_json_read(t1, l1, "t1", &b, &err), 0, "%s", err.msg);
	cr_expect_eq(b.shard_index, 1);
	cr_expect_eq(b.shard_count, 3);
	cr_assert_eq(pv_report_json(&b, &t2, &l2, &err), 0);
	cr_expect_str_eq(t1, t2);
	free(t1);
	free(t2);
	pv_campaign_free(&a);
	pv_campaign_free(&b);
}

static void bad_json(const char *text, const char *mention)
{
	struct pv_campaign c;
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(read_text(text, &c, &err), PV_EFORMAT, "accepted: %s", text);
	cr_expect(strstr(err.msg, mention), "'%s' not in: %s", mention, err.msg);
	cr_expect_eq(c.nresults, 0);
}

Test(explore, results_json_is_read_strictly)
{
	bad_json("", "not JSON");
	bad_json("[1]", "should be an object");
	bad_json("{\"kind\":\"campaign\"} x", "data after the JSON document");
	bad_json("{\"kind\":\"bench\"}", "not 'campaign'");
	bad_json("{\"kind\":\"campaign\",\"explorer\":\"dfs\",\"seed\":1,\"schedules\":1,"
	         "\"results\":[]}", "unknown explorer");
	bad_json("{\"kind\":\"campaign\",\"explorer\":\"random\",\"seed\":1,\"schedules\":1,"
	         "\"results\":{}}", "\"results\" should be an array");
	bad_json("{\"kind\":\"campaign\",\"explorer\":\"random\",\"seed\":1,\"schedules\":1,"
	         "\"results\":[{\"engine\":\"e\",\"scenario\":\"s\",\"backend\":\"emu\","
	         "\"flavour\":\"plain\",\"verdict\":\"MAYBE\"}]}", "unknown verdict");
	bad_json("{\"kind\":\"campaign\",\"explorer\":\"random\",\"seed\":1,\"schedules\":1,"
	         "\"results\":[{\"engine\":\"e\",\"scenario\":\"s\",\"backend\":\"emu\","
	         "\"flavour\":\"plain\",\"verdict\":\"SAFE\",\"schedules\":-4,\"applied\":0,"
	         "\"gave_up\":0,\"violations\":[]}]}", "negative");
	bad_json("{\"kind\":\"campaign\",\"explorer\":\"random\",\"seed\":1,\"schedules\":1,"
	         "\"results\":[{\"engine\":\"e\",\"scenario\":\"s\",\"backend\":\"emu\","
	         "\"flavour\":\"plain\",\"verdict\":\"UNSAFE\",\"schedules\":1,\"applied\":0,"
	         "\"gave_up\":0,\"violations\":[{\"check\":\"crash\",\"count\":1,"
	         "\"first_schedule\":0,\"thread\":0,\"address\":\"0x1\",\"detail\":\"\","
	         "\"reproducer\":\"../../etc/passwd\"}]}]}", "inside the results directory");
	bad_json("{\"kind\":\"campaign\",\"explorer\":\"random\",\"seed\":1,\"schedules\":1,"
	         "\"results\":[{\"engine\":\"e\",\"scenario\":\"s\",\"backend\":\"emu\","
	         "\"flavour\":\"plain\",\"verdict\":\"UNSAFE\",\"schedules\":1,\"applied\":0,"
	         "\"gave_up\":0,\"violations\":[]}]}", "does not agree");
}
