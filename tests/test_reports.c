/* Suite `reports`: every format written from a campaign built by hand
 * (with a story, a guarantee and coverage, as the explorers fill them),
 * read back by a real parser or a real browser; and `run --format`. */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../reports/report.h"
#include "../harness/model/campaign.h"
#include "helpers.h"

/* ---------------------------------------------------------------- fixture */

static struct pv_story *make_story(void)
{
	static const struct pv_story_event ev[] = {
		{10, 0, PV_STORY_INSN, 0x401100, "bump+0", "push rbp"},
		{11, 0, PV_STORY_INSN, 0x401101, "bump+1", "mov rbp, rsp"},
		{12, -1, PV_STORY_ENGINE, 0x401100, "bump", "write 5 bytes at bump (jmp bump_v2)"},
		{13, -1, PV_STORY_WRITE, 0x401100, "bump+0", "byte e9"},
		{14, 1, PV_STORY_PREEMPT, 0, "", "switch to thread 1"},
		{15, 1, PV_STORY_INSN, 0x401100, "bump+0", "jmp 0x401d2c (torn)"},
		{16, 0, PV_STORY_PREEMPT, 0, "", "switch to thread 0"},
		{17, 0, PV_STORY_INSN, 0x401104, "bump+4", "mov eax, dword ptr [rip + 0x2f1a]"},
		{18, -1, PV_STORY_WRITE, 0x401101, "bump+1", "byte 27"},
		{19, -1, PV_STORY_WRITE, 0x401102, "bump+2", "byte 0c"},
		{20, 1, PV_STORY_INSN, 0x401d2c, "", "(bad) <&>"},
		{20, 1, PV_STORY_VIOLATION, 0x401d2c, "", "torn-exec: thread 1 ran bytes of two code versions"},
	};
	struct pv_story *s = calloc(1, sizeof(*s));
	cr_assert_not_null(s);
	s->threads = 2;
	s->preemptions = 2;
	s->nevents = sizeof(ev) / sizeof(ev[0]);
	s->events = malloc(sizeof(ev));
	cr_assert_not_null(s->events);
	memcpy(s->events, ev, sizeof(ev));
	return s;
}

/* naive-write UNSAFE (two checks, one with a story), stw-jmp SAFE, stw-jmp
 * REFUSED on tiny, all on emu; on ptrace clobber UNSAFE and an ERROR. */
static void fixture(struct pv_campaign *c)
{
	struct pv_error err;
	size_t i;
	bool first;
	pv_campaign_init(c);
	c->explorer = "pct";
	c->seed = 7;
	c->schedules = 500;
	c->stream_len = 256;
	c->total_schedules = 1520;
	c->seconds = 1.5;

	cr_assert_eq(pv_campaign_add(c, "naive-write", "counter", "emu", "plain", &i, &err), 0);
	struct pv_result *r = &c->results[i];
	r->schedules = r->applied = 500;
	struct pv_violation_stat *v =
		pv_result_violation(r, "torn-exec", 17, 0, 1, 0x401d2c, "thread 1 ran bytes <mixed> & torn", &first);
	cr_assert_not_null(v);
	v->count = 412;
	v->reproducer = strdup("repro/naive-write--counter--torn-exec.pvr");
	v->story = make_story();
	v = pv_result_violation(r, "crash", 30, 1, 0, 0x401104, "thread 0 faulted", &first);
	cr_assert_not_null(v);
	v->reproducer = strdup("repro/naive-write--counter--crash.pvr");
	r->guarantee = (struct pv_guarantee){.depth = 2, .threads = 3, .steps = 180,
	                                     .per_run = 1.0 / 540, .overall = 0.6043};
	r->coverage.pairs = 40;
	r->coverage.reached = 31;
	r->coverage.nmissed = 2;
	r->coverage.missed = calloc(2, sizeof(*r->coverage.missed));
	cr_assert_not_null(r->coverage.missed);
	r->coverage.missed[0] = (struct pv_coverage_pair){0x401102, 1, "bump+2"};
	r->coverage.missed[1] = (struct pv_coverage_pair){0x401103, 0, "bump+3"};
	pv_result_judge(r);

	cr_assert_eq(pv_campaign_add(c, "stw-jmp", "counter", "emu", "plain", &i, &err), 0);
	r = &c->results[i];
	r->schedules = r->applied = 500;
	r->guarantee = (struct pv_guarantee){.depth = 2, .threads = 3, .steps = 150,
	                                     .per_run = 1.0 / 450, .overall = 0.67};
	r->coverage.pairs = 40;
	r->coverage.reached = 40;
	/* Overhead: an exact figure over the threshold, one under it, and an
	 * interval that holds it. */
	r->overhead[0] = (struct pv_overhead_figure){"instructions", true, 39.71, 39.71, 39.71, 2,
	                                             "%", PV_CLAIM_REFUTED, "exact <counts>"};
	r->overhead[1] = (struct pv_overhead_figure){"memory-growth-emu", true, 0, 0, 0, 0,
	                                             "KiB/cycle", PV_CLAIM_SUPPORTED, ""};
	r->overhead[2] = (struct pv_overhead_figure){"cpu", true, 0.7, -1.2, 2.6, 2, "%",
	                                             PV_CLAIM_INCONCLUSIVE, ""};
	r->noverhead = 3;
	pv_result_judge(r);

	cr_assert_eq(pv_campaign_add(c, "stw-jmp", "tiny", "emu", "plain", &i, &err), 0);
	r = &c->results[i];
	r->refused = true;
	cr_assert_eq(pv_result_reason(r, "stw-jmp: tiny_zero is too short for a 5-byte jmp "
	                                 "(too-short)"), 0);
	pv_result_judge(r);

	cr_assert_eq(pv_campaign_add(c, "clobber", "fpu", "ptrace", "plain", &i, &err), 0);
	r = &c->results[i];
	r->schedules = r->applied = 20;
	v = pv_result_violation(r, "state-regs", 3, 0, 0, 0, "xmm3 changed across the pause", &first);
	cr_assert_not_null(v);
	pv_result_judge(r);

	cr_assert_eq(pv_campaign_add(c, "stw-jmp", "signals", "ptrace", "plain", &i, &err), 0);
	r = &c->results[i];
	r->failed = true;
	cr_assert_eq(pv_result_reason(r, "the target exited with status 1 before apply"), 0);
	pv_result_judge(r);
}

static char *write_fixture(unsigned formats)
{
	struct pv_campaign c;
	fixture(&c);
	char *dir = pv_test_tmpdir("reports");
	struct pv_report_info info = {.out_dir = "out", .title = "patchvet campaign"};
	struct pv_error err;
	pv_error_clear(&err);
	unsigned written = 0;
	cr_assert_eq(pv_report_write(&c, &info, dir, "results", formats, &written, &err), 0, "%s",
	             err.msg);
	cr_expect_eq(written, formats);
	pv_campaign_free(&c);
	return dir;
}

static char *slurp_str(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	size_t n;
	unsigned char *b = pv_test_slurp(path, &n);
	char *s = realloc(b, n + 1);
	cr_assert_not_null(s);
	s[n] = '\0';
	return s;
}

/* ---------------------------------------------------------------- formats */

Test(reports, format_lists_parse_and_name_the_bad_word)
{
	unsigned set = 0;
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(pv_report_formats_parse("json,junit,md,html", PV_FORMAT_ALL, &set, &err), 0);
	cr_expect_eq(set, PV_FORMAT_JSON | PV_FORMAT_JUNIT | PV_FORMAT_MD | PV_FORMAT_HTML);
	cr_expect_eq(pv_report_formats_parse("text", PV_FORMAT_ALL, &set, &err), 0);
	cr_expect_eq(set, PV_FORMAT_TEXT);
	cr_expect_eq(pv_report_formats_parse("json,pdf", PV_FORMAT_ALL, &set, &err), PV_EINVAL);
	cr_expect(strstr(err.msg, "'pdf'") && strstr(err.msg, "junit"), "%s", err.msg);
	cr_expect_eq(pv_report_formats_parse(",", PV_FORMAT_ALL, &set, &err), PV_EINVAL);
	cr_expect_eq(pv_report_formats_parse("junit", PV_FORMAT_JSON | PV_FORMAT_MD, &set, &err),
	             PV_EINVAL, "a command limits the formats it writes");
	cr_expect_str_eq(pv_report_format_ext(PV_FORMAT_JUNIT), "xml");
}

/* ------------------------------------------------------------------- json */

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "key '%s' missing", key);
	return v;
}

Test(reports, json_has_the_schema_story_guarantee_and_coverage)
{
	char *dir = write_fixture(PV_FORMAT_JSON);
	char *text = slurp_str(dir, "results.json");
	struct json_object *j = json_tokener_parse(text);
	cr_assert_not_null(j);
	cr_expect_str_eq(json_object_get_string(get(j, "schema")), PV_REPORT_SCHEMA);
	struct json_object *r0 = json_object_array_get_idx(get(j, "results"), 0);
	struct json_object *v0 = json_object_array_get_idx(get(r0, "violations"), 0);
	struct json_object *story = get(v0, "story");
	cr_expect_eq(json_object_get_int(get(story, "threads")), 2);
	struct json_object *evs = get(story, "events");
	cr_expect_eq(json_object_array_length(evs), 12);
	struct json_object *last = json_object_array_get_idx(evs, 11);
	cr_expect_str_eq(json_object_get_string(get(last, "kind")), "violation");
	cr_expect_str_eq(json_object_get_string(get(last, "address")), "0x401d2c");
	struct json_object *v1 = json_object_array_get_idx(get(r0, "violations"), 1);
	cr_expect(json_object_is_type(get(v1, "story"), json_type_null), "no story: null");
	struct json_object *g = get(r0, "guarantee");
	cr_expect_eq(json_object_get_int(get(g, "depth")), 2);
	cr_expect(strstr(json_object_get_string(get(g, "sentence")), "PCT") != NULL);
	struct json_object *cov = get(r0, "coverage");
	cr_expect_eq(json_object_get_int(get(cov, "pairs")), 40);
	cr_expect_eq(json_object_array_length(get(cov, "missed")), 2);
	struct json_object *r1 = json_object_array_get_idx(get(j, "results"), 1);
	struct json_object *ov = get(r1, "overhead");
	cr_assert_eq(json_object_array_length(ov), 3);
	struct json_object *f0 = json_object_array_get_idx(ov, 0);
	cr_expect_str_eq(json_object_get_string(get(f0, "figure")), "instructions");
	cr_expect_str_eq(json_object_get_string(get(f0, "verdict")), "REFUTED");
	cr_expect_float_eq(json_object_get_double(get(f0, "estimate")), 39.71, 1e-9);
	struct json_object *f2 = json_object_array_get_idx(ov, 2);
	cr_expect_float_eq(json_object_get_double(get(f2, "lo")), -1.2, 1e-9);
	cr_expect_str_eq(json_object_get_string(get(f2, "verdict")), "INCONCLUSIVE");
	cr_expect_eq(json_object_array_length(get(r0, "overhead")), 0, "none measured: []");
	struct json_object *r2 = json_object_array_get_idx(get(j, "results"), 2);
	cr_expect(json_object_is_type(get(r2, "guarantee"), json_type_null));
	cr_expect(json_object_is_type(get(r2, "coverage"), json_type_null));
	json_object_put(j);
	free(text);
	pv_test_rmdir_all(dir);
}

/* ------------------------------------------------------------------ junit */

/* The JUnit file through python3's XML parser: one line per element of
 * interest, so the structure is checked by a real parser, not by grep. */
static const char junit_py[] =
	"import sys, xml.etree.ElementTree as ET\n"
	"root = ET.parse(sys.argv[1]).getroot()\n"
	"assert root.tag == 'testsuites', root.tag\n"
	"print('testsuites', *(root.get(k) for k in ('tests','failures','errors','skipped')))\n"
	"for s in root.findall('testsuite'):\n"
	"    print('testsuite', s.get('name'), *(s.get(k) for k in "
	"('tests','failures','errors','skipped')), len(s.findall('testcase')))\n"
	"    for c in s.findall('testcase'):\n"
	"        print('testcase', c.get('classname'), repr(c.get('name')),\n"
	"              len(c.findall('failure')), len(c.findall('error')), len(c.findall('skipped')))\n"
	"        for f in c.findall('failure'):\n"
	"            print('failure', f.get('type'), repr(f.get('message')), repr(f.text))\n"
	"        for f in c.findall('skipped'):\n"
	"            print('skipped', repr(f.get('message')))\n";

Test(reports, junit_parses_with_a_case_per_result_and_a_failure_per_check)
{
	char *dir = write_fixture(PV_FORMAT_JUNIT);
	char path[512];
	snprintf(path, sizeof(path), "%s/results.xml", dir);
	free(pv_test_sh("xmllint --noout '%s'", path));
	char py[512];
	snprintf(py, sizeof(py), "%s/junit.py", dir);
	pv_test_spill(py, junit_py, strlen(junit_py));
	char *out = pv_test_sh("python3 '%s' '%s'", py, path);
	cr_expect(strstr(out, "testsuites 5 2 1 1\n") != NULL, "%s", out);
	cr_expect(strstr(out, "testsuite patchvet.emu 3 1 0 1 3\n") != NULL, "%s", out);
	cr_expect(strstr(out, "testsuite patchvet.ptrace 2 1 1 0 2\n") != NULL, "%s", out);
	cr_expect(strstr(out, "testcase patchvet.emu.naive-write 'naive-write on counter' 2 0 0\n") !=
	          NULL, "%s", out);
	cr_expect(strstr(out, "testcase patchvet.emu.stw-jmp 'stw-jmp on counter' 0 0 0\n") != NULL,
	          "%s", out);
	cr_expect(strstr(out, "testcase patchvet.emu.stw-jmp 'stw-jmp on tiny' 0 0 1\n") != NULL,
	          "%s", out);
	cr_expect(strstr(out, "testcase patchvet.ptrace.stw-jmp 'stw-jmp on signals' 0 1 0\n") !=
	          NULL, "%s", out);
	/* the failure: check, counts, escaped detail, reproducer and replay */
	cr_expect(strstr(out, "failure torn-exec 'torn-exec failed in 412 of 500 schedules: "
	                      "thread 1 ran bytes <mixed> & torn'") != NULL, "%s", out);
	cr_expect(strstr(out, "reproducer: out/repro/naive-write--counter--torn-exec.pvr\\n"
	                      "replay: patchvet replay out/repro/naive-write--counter--torn-exec.pvr")
	          != NULL, "%s", out);
	cr_expect(strstr(out, "skipped 'REFUSED: stw-jmp: tiny_zero is too short") != NULL, "%s",
	          out);
	free(out);
	pv_test_rmdir_all(dir);
}

/* ------------------------------------------------------------------- text */

Test(reports, text_and_markdown_carry_guarantee_coverage_and_replay)
{
	char *dir = write_fixture(PV_FORMAT_TEXT | PV_FORMAT_MD);
	char *txt = slurp_str(dir, "results.txt");
	cr_expect(strstr(txt, "naive-write on counter: explorer: PCT, bug depth 2") != NULL, "%s",
	          txt);
	cr_expect(strstr(txt, "hot-window coverage: 31 of 40") != NULL, "%s", txt);
	char *md = slurp_str(dir, "results.md");
	cr_expect(strstr(md, "## patchvet campaign: 1 SAFE, 2 UNSAFE, 1 REFUSED, 1 ERROR\n") == md,
	          "%s", md);
	cr_expect(strstr(md, "| engine / scenario | counter | tiny |\n|---|---|---|\n") != NULL,
	          "%s", md);
	cr_expect(strstr(md, "`patchvet replay out/repro/naive-write--counter--torn-exec.pvr`") !=
	          NULL, "%s", md);
	cr_expect(strstr(md, "Hot-window coverage 31 of 40 pairs (77.5%)") != NULL, "%s", md);
	cr_expect(strstr(txt, "stw-jmp on counter: overhead instructions REFUTED: +39.71 % (exact) "
	                      "vs threshold 2.00 %; exact <counts>\n") != NULL, "%s", txt);
	cr_expect(strstr(txt, "overhead cpu INCONCLUSIVE: +0.70 %, 95% interval [-1.20, +2.60]") !=
	          NULL, "%s", txt);
	cr_expect(strstr(md, "| stw-jmp | counter | emu | instructions | **REFUTED** | +39.71 % | "
	                     "exact | 2.00 % |\n") != NULL, "%s", md);
	free(txt);
	free(md);
	pv_test_rmdir_all(dir);
}

/* ------------------------------------------------------------------- html */

Test(reports, html_renders_in_chromium_with_matrix_and_timeline, .timeout = 120)
{
	char *dir = write_fixture(PV_FORMAT_HTML);
	char *html = slurp_str(dir, "results.html");
	/* self-contained: nothing fetched, no script */
	cr_expect(strstr(html, "http://") == NULL || !strstr(strstr(html, "http://"), "src="));
	cr_expect(strstr(html, "<script") == NULL);
	cr_expect(strstr(html, " src=") == NULL && strstr(html, "<link") == NULL);
	cr_expect(strstr(html, "&lt;mixed&gt; &amp; torn") != NULL, "details are escaped");
	free(html);
	char path[512];
	snprintf(path, sizeof(path), "%s/results.html", dir);
	/* What the browser built from the file, after parsing. */
	char *dom = pv_test_sh("chromium --headless --no-sandbox --disable-gpu --dump-dom "
	                       "'file://%s' 2>/dev/null",
	                       path);
	cr_expect(strstr(dom, "<table class=\"matrix\" id=\"matrix-emu\">") != NULL);
	cr_expect(strstr(dom, "id=\"matrix-ptrace\"") != NULL);
	cr_expect(strstr(dom, "<svg class=\"timeline\"") != NULL, "a violation's timeline");
	cr_expect(strstr(dom, "class=\"culprit\"") != NULL, "the violating instruction marked");
	cr_expect(strstr(dom, "thread 1</text>") != NULL && strstr(dom, "engine</text>") != NULL,
	          "a lane per thread and one for the engine");
	cr_expect(strstr(dom, "PCT, bug depth 2") != NULL);
	cr_expect(strstr(dom, "31 of 40 (instruction, thread) pairs") != NULL);
	/* The overhead plot: a row per figure, the threshold dashed, the
	 * verdict beside it; one plot per unit. */
	const char *plot = strstr(dom, "<svg class=\"overhead-plot\"");
	cr_assert_not_null(plot, "no overhead plot");
	cr_expect(strstr(plot, "stw-jmp on counter: instructions (emu)</text>") != NULL);
	cr_expect(strstr(plot, "class=\"threshold\"") && strstr(plot, "class=\"interval\""));
	cr_expect(strstr(plot, ">REFUTED</text>") && strstr(plot, ">INCONCLUSIVE</text>"));
	cr_expect(strstr(plot + 10, "<svg class=\"overhead-plot\"") != NULL,
	          "KiB/cycle figures get a plot of their own");
	cr_expect(strstr(dom, "exact &lt;counts&gt;") != NULL, "notes are escaped");
	free(dom);
	/* And the picture, kept under build/ for people to look at. */
	const char *png = PV_BUILD_DIR "/tests/reports-fixture.png";
	remove(png);
	free(pv_test_sh("chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
	                "--screenshot='%s' --window-size=1400,2400 'file://%s' >/dev/null 2>&1",
	                png, path));
	struct stat st;
	cr_assert_eq(stat(png, &st), 0, "no screenshot");
	cr_expect_gt(st.st_size, 20000, "a blank page is smaller");
	pv_test_rmdir_all(dir);
}

/* -------------------------------------------------------- run --format */

Test(reports, run_writes_the_formats_asked_for, .timeout = 120)
{
	char *dir = pv_test_tmpdir("reports-run");
	char *out = pv_test_sh("'%s' run --backend emu --engine naive-write --engine stw-jmp "
	                       "--scenario counter --scenario tiny --schedules 30 --out '%s' "
	                       "--format json,junit,md,html 2>/dev/null; echo status $?",
	                       PV_PATCHVET_BIN, dir);
	cr_expect(strstr(out, "status 1") != NULL, "naive-write is UNSAFE: %s", out);
	cr_expect(strstr(out, "results.xml") && strstr(out, "results.html"), "%s", out);
	free(out);
	const char *names[] = {"results.json", "results.xml", "results.md", "results.html"};
	for (size_t i = 0; i < 4; i++) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		struct stat st;
		cr_expect_eq(stat(p, &st), 0, "%s missing", names[i]);
	}
	char p[512];
	snprintf(p, sizeof(p), "%s/results.txt", dir);
	struct stat st;
	cr_expect_neq(stat(p, &st), 0, "text was not asked for");
	snprintf(p, sizeof(p), "%s/results.xml", dir);
	char py[512];
	snprintf(py, sizeof(py), "%s/junit.py", dir);
	pv_test_spill(py, junit_py, strlen(junit_py));
	char *s = pv_test_sh("python3 '%s' '%s'", py, p);
	cr_expect(strstr(s, "testsuites 4 1 0 2\n") != NULL, "%s", s);
	cr_expect(strstr(s, "replay: patchvet replay ") != NULL, "%s", s);
	free(s);
	/* An unknown format is a usage error before anything runs. */
	s = pv_test_sh("'%s' run --backend emu --format json,pdf 2>&1; echo status $?",
	               PV_PATCHVET_BIN);
	cr_expect(strstr(s, "unknown format 'pdf'") && strstr(s, "status 2"), "%s", s);
	free(s);
	pv_test_rmdir_all(dir);
}

/* ------------------------------------------------------------ the schema */

/* Every key of o (recursively) is documented, as `key`, in doc. */
static void keys_documented(struct json_object *o, const char *doc, const char *where)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			keys_documented(json_object_array_get_idx(o, i), doc, where);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, key, val) {
		char quoted[80];
		snprintf(quoted, sizeof(quoted), "`%s`", key);
		cr_expect(strstr(doc, quoted) != NULL, "%s: key %s is not in docs/report-schema.md",
		          where, quoted);
		keys_documented(val, doc, where);
	}
}

Test(reports, every_json_key_is_in_the_schema_document)
{
	size_t n;
	char *doc = (char *)pv_test_slurp(PV_SOURCE_DIR "/docs/report-schema.md", &n);
	doc = realloc(doc, n + 1);
	cr_assert_not_null(doc);
	doc[n] = '\0';
	char *dir = write_fixture(PV_FORMAT_JSON);
	char *text = slurp_str(dir, "results.json");
	struct json_object *j = json_tokener_parse(text);
	cr_assert_not_null(j);
	keys_documented(j, doc, "results.json");
	cr_expect(strstr(doc, "`" PV_REPORT_SCHEMA "`") || strstr(doc, "`\"" PV_REPORT_SCHEMA "\"`"));
	json_object_put(j);
	free(text);
	free(doc);
	pv_test_rmdir_all(dir);
}

/* ------------------------------------------------------------- progress */

Test(reports, progress_is_one_redrawn_line_on_a_terminal_and_plain_lines_in_a_log,
     .timeout = 120)
{
	char *dir = pv_test_tmpdir("reports-progress");
	/* A 70-column terminal (script gives the command a pty). */
	char *tty = pv_test_sh("cd '%s' && script -qfec \"stty cols 70; '%s' run --backend emu "
	                       "--engine stw-jmp --scenario counter --schedules 4000 --out '%s' "
	                       ">/dev/null\" /dev/null",
	                       dir, PV_PATCHVET_BIN, dir);
	size_t lines = 0;
	for (char *save = NULL, *seg = strtok_r(tty, "\r\n", &save); seg;
	     seg = strtok_r(NULL, "\r\n", &save)) {
		if (!strncmp(seg, "\033[K", 3))
			seg += 3;
		if (!*seg)
			continue;
		cr_expect_leq(strlen(seg), 69, "a line wider than the terminal wraps: '%s'", seg);
		lines += strstr(seg, "/s ") && strstr(seg, "violating") && strstr(seg, "left");
	}
	cr_expect_geq(lines, 3, "redrawn progress lines: %zu", lines);
	cr_expect(strstr(tty, "\r\033[K") != NULL, "redrawn in place");
	free(tty);
	/* A log: a line per finished engine run, no control characters. */
	char *log = pv_test_sh("'%s' run --backend emu --engine stw-jmp --scenario counter "
	                       "--schedules 200 --out '%s' 2>&1 >/dev/null",
	                       PV_PATCHVET_BIN, dir);
	cr_expect(strstr(log, "patchvet: [1/1] stw-jmp on counter (emu): SAFE after 200 "
	                      "schedules\n") != NULL, "%s", log);
	cr_expect(strchr(log, '\r') == NULL && strchr(log, '\033') == NULL, "%s", log);
	free(log);
	pv_test_rmdir_all(dir);
}

Test(reports, a_long_story_shows_the_events_before_its_violation)
{
	struct pv_campaign c;
	fixture(&c);
	struct pv_story *s = c.results[0].violations[0].story;
	size_t n = 1000;
	struct pv_story_event *ev = calloc(n, sizeof(*ev));
	cr_assert_not_null(ev);
	for (size_t i = 0; i < n; i++)
		ev[i] = (struct pv_story_event){.step = i, .thread = (int)(i / 7 % 2),
		                                .kind = PV_STORY_INSN, .address = 0x401100 + i % 9};
	ev[900].kind = PV_STORY_VIOLATION;
	free(s->events);
	s->events = ev;
	s->nevents = n;
	char *html = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&html, &len);
	cr_assert_not_null(f);
	pv_report_html(&c, NULL, f);
	fclose(f);
	/* 400 events up to 40 after the violation (events 541..940). */
	cr_expect(strstr(html, "(events 541 to 940 of 1000 shown)") != NULL);
	cr_expect(strstr(html, "class=\"culprit\"") != NULL);
	free(html);
	pv_campaign_free(&c);
}

/* ------------------------------------------------------------- overhead */

/* results.json read back (merge, --jobs, --resume) keeps every figure, and
 * a figure that is not one is refused naming it. */
Test(reports, overhead_figures_survive_the_json_round_trip)
{
	struct pv_campaign c, back;
	fixture(&c);
	char *text = NULL;
	size_t len = 0;
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_report_json(&c, &text, &len, &err), 0, "%s", err.msg);
	cr_assert_eq(pv_report_json_read(text, len, "results.json", &back, &err), 0, "%s", err.msg);
	const struct pv_result *a = &c.results[1], *b = &back.results[1];
	cr_assert_eq(b->noverhead, a->noverhead);
	for (size_t i = 0; i < a->noverhead; i++) {
		cr_expect_str_eq(b->overhead[i].name, a->overhead[i].name);
		cr_expect_eq(b->overhead[i].measured, a->overhead[i].measured);
		cr_expect_eq(b->overhead[i].claim, a->overhead[i].claim);
		cr_expect_eq(b->overhead[i].est, a->overhead[i].est, "exact through JSON");
		cr_expect_eq(b->overhead[i].lo, a->overhead[i].lo);
		cr_expect_eq(b->overhead[i].hi, a->overhead[i].hi);
		cr_expect_str_eq(b->overhead[i].unit, a->overhead[i].unit);
		cr_expect_str_eq(b->overhead[i].note, a->overhead[i].note);
	}
	cr_expect_eq(back.results[0].noverhead, 0);
	pv_campaign_free(&back);
	/* A verdict that is not one. */
	char *bad = strstr(text, "\"INCONCLUSIVE\"");
	cr_assert_not_null(bad);
	memcpy(bad, "\"INCONCLUSIVF\"", 14);
	cr_expect_eq(pv_report_json_read(text, len, "r.json", &back, &err), PV_EFORMAT);
	cr_expect(strstr(err.msg, "r.json: results[1]: overhead[2]: key \"verdict\"") != NULL, "%s",
	          err.msg);
	free(text);
	pv_campaign_free(&c);
}

/* run measures the exact emu figures of its results: stw-jmp keeps no
 * memory, leaky leaves 4 KiB a cycle; the HTML draws them, and merge keeps
 * them. */
Test(reports, run_measures_emu_overhead_and_merge_keeps_it, .timeout = 120)
{
	char *dir = pv_test_tmpdir("reports-overhead");
	char *out = pv_test_sh("'%s' run --backend emu --engine stw-jmp --engine leaky "
	                       "--scenario counter --flavour fentry --schedules 20 --out '%s/r' "
	                       "--format json,html 2>&1; echo status $?",
	                       PV_PATCHVET_BIN, dir);
	cr_expect(strstr(out, "status 1") != NULL, "leaky is UNSAFE: %s", out);
	cr_expect(strstr(out, "overhead: exact emu figures of 2 results") != NULL, "%s", out);
	free(out);
	out = pv_test_sh("'%s' merge '%s/r/results.json' --out '%s/m' >/dev/null 2>&1; echo status $?",
	                 PV_PATCHVET_BIN, dir, dir);
	free(out);
	const char *files[] = {"r/results.json", "m/results.json"};
	for (size_t k = 0; k < 2; k++) {
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", dir, files[k]);
		struct json_object *j = json_object_from_file(path);
		cr_assert_not_null(j, "%s", path);
		struct json_object *rs = get(j, "results");
		cr_assert_eq(json_object_array_length(rs), 2);
		for (size_t i = 0; i < 2; i++) {
			struct json_object *r = json_object_array_get_idx(rs, i);
			bool leaky = !strcmp(json_object_get_string(get(r, "engine")), "leaky");
			struct json_object *ov = get(r, "overhead");
			cr_assert_eq(json_object_array_length(ov), 3, "%s", files[k]);
			struct json_object *ins = json_object_array_get_idx(ov, 0),
			                   *red = json_object_array_get_idx(ov, 1),
			                   *mem = json_object_array_get_idx(ov, 2);
			cr_expect_str_eq(json_object_get_string(get(red, "figure")), "redirect");
			cr_expect_lt(json_object_get_double(get(red, "estimate")),
			             json_object_get_double(get(ins, "estimate")),
			             "the engine's share is part of the patched path's cost");
			cr_expect_str_eq(json_object_get_string(get(ins, "figure")), "instructions");
			cr_expect(json_object_get_boolean(get(ins, "measured")));
			cr_expect_gt(json_object_get_double(get(ins, "estimate")), 0,
			             "a patched call costs more instructions than none");
			cr_expect_str_eq(json_object_get_string(get(mem, "figure")), "memory-growth-emu");
			cr_expect_float_eq(json_object_get_double(get(mem, "estimate")), leaky ? 4.0 : 0.0,
			                   1e-9, "%s", files[k]);
			cr_expect_str_eq(json_object_get_string(get(mem, "verdict")),
			                 leaky ? "REFUTED" : "SUPPORTED");
		}
		json_object_put(j);
	}
	char path[600];
	snprintf(path, sizeof(path), "%s/r/results.html", dir);
	size_t n;
	char *html = (char *)pv_test_slurp(path, &n);
	html = realloc(html, n + 1);
	cr_assert_not_null(html);
	html[n] = '\0';
	cr_expect(strstr(html, "<svg class=\"overhead-plot\"") != NULL);
	cr_expect(strstr(html, "leaky on counter: memory-growth-emu (emu)</text>") != NULL);
	free(html);
	pv_test_rmdir_all(dir);
}
