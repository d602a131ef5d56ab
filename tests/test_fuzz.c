/* Suite `fuzz`: what schedule fuzzing rests on. The emulator's block hook
 * sees the emulated blocks (fuzz/afl_edges.c feeds them to AFL), a fuzz job
 * runs a stream as `run` would, and `patchvet import-crashes` turns crash
 * inputs into reproducers that `patchvet replay` runs to the same check. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/explore/explore.h"
#include "../harness/campaign/fuzzjob.h"
#include "helpers.h"

struct blocks {
	uint64_t n;
	uint64_t threads; /* bit per thread index seen */
	uint64_t lo, hi;  /* range of the addresses seen */
};

static void count_block(void *ctx, uint64_t address, int thread)
{
	struct blocks *b = ctx;
	if (!b->n || address < b->lo)
		b->lo = address;
	if (address > b->hi)
		b->hi = address;
	b->n++;
	if (thread >= 0 && thread < 64)
		b->threads |= 1ull << thread;
}

static void data_env(void)
{
	setenv("PATCHVET_DATA", PV_DATA_DIR, 1);
}

/* A stream of the random explorer (seed 1) that makes naive-write violate. */
static size_t violating_stream(struct pv_fuzzjob *j, uint8_t *buf, size_t cap)
{
	struct pv_explorer x = {.kind = PV_EXPLORE_RANDOM, .seed = 1};
	struct pv_run_result res;
	struct pv_error err;
	for (uint64_t i = 0; i < 100; i++) {
		size_t len;
		cr_assert_eq(pv_explore_stream(&x, i, buf, cap, &len, &err), 0, "%s", err.msg);
		cr_assert_eq(pv_fuzzjob_run(j, buf, len, &res, &err), 0, "%s", err.msg);
		if (res.nviolations)
			return len;
	}
	cr_assert_fail("no violating stream among 100 for naive-write on counter");
	return 0;
}

Test(fuzz, block_hook_sees_every_worker_in_the_target, .init = data_env)
{
	struct blocks b = {0};
	struct pv_fuzzjob *j = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_fuzzjob_open("stw-jmp", "counter", NULL, count_block, &b, &j, &err), 0,
	             "%s", err.msg);
	cr_expect_eq(pv_emu_set_block_hook(j->emu, count_block, &b, &err), PV_EINVAL,
	             "a second hook was accepted");
	struct pv_run_result res;
	cr_assert_eq(pv_fuzzjob_run(j, NULL, 0, &res, &err), 0, "%s", err.msg);
	cr_expect_eq(res.nviolations, 0);
	cr_expect_gt(b.n, 100, "only %llu blocks", (unsigned long long)b.n);
	cr_expect_eq(b.threads & 3, 3, "threads seen: %llx", (unsigned long long)b.threads);
	cr_expect(b.lo >= 0x400000 && b.lo < 0x500000, "lowest block at %llx",
	          (unsigned long long)b.lo);
	/* The same stream gives the same blocks: AFL's stability. */
	uint64_t first = b.n;
	b.n = 0;
	cr_assert_eq(pv_fuzzjob_run(j, NULL, 0, &res, &err), 0, "%s", err.msg);
	cr_expect_eq(b.n, first);
	pv_fuzzjob_close(j);

	/* After a run, a hook would miss the blocks already translated. */
	cr_assert_eq(pv_fuzzjob_open("stw-jmp", "counter", NULL, NULL, NULL, &j, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(pv_fuzzjob_run(j, NULL, 0, &res, &err), 0, "%s", err.msg);
	cr_expect_eq(pv_emu_set_block_hook(j->emu, count_block, &b, &err), PV_EINVAL);
	cr_expect(strstr(err.msg, "before the first run") != NULL, "%s", err.msg);
	pv_fuzzjob_close(j);
}

Test(fuzz, refusing_engine_and_unknown_names, .init = data_env)
{
	struct pv_fuzzjob *j = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_expect_eq(pv_fuzzjob_open("no-such-engine", "counter", NULL, NULL, NULL, &j, &err),
	             PV_ENOENT);
	cr_expect(strstr(err.msg, "no-such-engine") != NULL, "%s", err.msg);
	cr_expect_eq(pv_fuzzjob_open("stw-jmp", "tiny", NULL, NULL, NULL, &j, &err), PV_EREFUSED,
	             "%s", err.msg);
	cr_expect_eq(pv_fuzzjob_open("stw-jmp", "counter", "mauve", NULL, NULL, &j, &err),
	             PV_EINVAL);
	cr_expect_null(j);
}

Test(fuzz, imported_crash_replays_to_the_same_check, .init = data_env, .timeout = 60)
{
	struct pv_fuzzjob *j = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	cr_assert_eq(pv_fuzzjob_open("naive-write", "counter", NULL, NULL, NULL, &j, &err), 0,
	             "%s", err.msg);
	uint8_t stream[PV_EXPLORE_STREAM_LEN];
	size_t len = violating_stream(j, stream, sizeof(stream));
	struct pv_run_result res;
	cr_assert_eq(pv_fuzzjob_run(j, stream, len, &res, &err), 0, "%s", err.msg);
	pv_fuzzjob_close(j);

	char *dir = pv_test_tmpdir("import");
	char path[4096], out[4096];
	snprintf(path, sizeof(path), "%s/default/crashes", dir);
	free(pv_test_sh("mkdir -p '%s'", path));
	/* Twice under two names, and AFL's README: one reproducer per (check,
	 * address), the README skipped. */
	snprintf(path, sizeof(path), "%s/default/crashes/id:000007,sig:06,time:12", dir);
	pv_test_spill(path, stream, len);
	snprintf(path, sizeof(path), "%s/default/crashes/id:000009,sig:06,time:15", dir);
	pv_test_spill(path, stream, len);
	snprintf(path, sizeof(path), "%s/default/crashes/README.txt", dir);
	pv_test_spill(path, "afl", 3);
	snprintf(out, sizeof(out), "%s/repro", dir);
	char *argv[] = {PV_PATCHVET_BIN, "import-crashes", dir, "--engine", "naive-write",
	                "--scenario", "counter", "--out", out, NULL};
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 60, &o), 0);
	cr_expect_eq(o.status, 1, "exit %d: %s%s", o.status, o.out, o.err);
	cr_expect(strstr(o.out, "2 crash inputs") != NULL, "%s", o.out);
	size_t written = 0;
	char first[4400] = "";
	DIR *d = opendir(out);
	cr_assert_not_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".pvr")) {
			written++;
			snprintf(first, sizeof(first), "%s/%s", out, de->d_name);
		}
	closedir(d);
	cr_expect_eq(written, res.nviolations, "%zu reproducers for %zu violations", written,
	             res.nviolations);
	cr_expect(strstr(first, "naive-write--counter--") != NULL, "%s", first);
	char *head = pv_test_sh("grep -E '^(explorer|schedule|check) ' '%s' | tr '\\n' ' '", first);
	cr_expect(strstr(head, "explorer afl") && strstr(head, "schedule 7"), "%s", head);
	const char *check = strstr(head, "check ") + 6;
	pv_test_output_free(&o);

	char *rargv[] = {PV_PATCHVET_BIN, "replay", first, NULL};
	cr_assert_eq(pv_test_run(rargv, 60, &o), 0);
	cr_expect_eq(o.status, 1, "replay exit %d: %s%s", o.status, o.out, o.err);
	char want[64];
	snprintf(want, sizeof(want), "reproduced: %.*s", (int)strcspn(check, " "), check);
	cr_expect(strstr(o.out, want) != NULL, "'%s' not in: %s", want, o.out);
	pv_test_output_free(&o);
	free(head);
	pv_test_rmdir_all(dir);
}

Test(fuzz, import_usage_errors)
{
	char *argv[] = {PV_PATCHVET_BIN, "import-crashes", "/nonexistent", NULL};
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 30, &o), 0);
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "--engine") != NULL, "%s", o.err);
	pv_test_output_free(&o);
	char *argv2[] = {PV_PATCHVET_BIN, "import-crashes", "/nonexistent", "--engine", "stw-jmp",
	                 "--scenario", "counter", NULL};
	cr_assert_eq(pv_test_run(argv2, 30, &o), 0);
	cr_expect_eq(o.status, 2, "%s", o.err);
	cr_expect(strstr(o.err, "/nonexistent") != NULL, "%s", o.err);
	pv_test_output_free(&o);
}
