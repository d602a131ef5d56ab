/* perf/explore: how fast each explorer catches each mutant. For every
 * mutant with an UNSAFE emu line in corpora/expected, runs
 *
 *     patchvet run --backend emu --engine M --scenario S --explore X
 *                  --seed N --schedules CAP --stop-at-first
 *
 * for TRIALS seeds (bounded is deterministic: one trial) and prints, as a
 * Markdown table, the median time spent running schedules (results.json's
 * elapsed_seconds: emulator start-up excluded) and the median number of
 * schedules to the first violation, per explorer.
 *
 *     explore PATCHVET EXPECTED [TRIALS [CAP]]
 */
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/catalogue.h"
#include "../harness/campaign/expected.h"

struct explorer {
	const char *label, *args;
	unsigned trials; /* 0: TRIALS */
};

static const struct explorer explorers[] = {
	{"random", "--explore random", 0},
	{"pct d=2", "--explore pct --depth 2", 0},
	{"pct d=3", "--explore pct --depth 3", 0},
	{"bounded K=1", "--explore bounded --preemptions 1", 1},
	{"bounded K=2", "--explore bounded --preemptions 2", 1},
};
#define NEXPLORERS (sizeof(explorers) / sizeof(explorers[0]))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One campaign; *seconds and *schedules of the first violation, or -1
 * schedules when none was found within the cap. */
static int one(const char *bin, const char *engine, const char *scenario, const char *args,
               unsigned seed, unsigned cap, double *seconds, double *schedules)
{
	char dir[] = "/tmp/pv-bench-explore-XXXXXX", cmd[1024], path[256];
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd),
	         "%s run --backend emu --engine %s --scenario %s %s --seed %u --schedules %u "
	         "--stop-at-first --format json --out %s >/dev/null 2>&1",
	         bin, engine, scenario, args, seed, cap, dir);
	int st = system(cmd);
	snprintf(path, sizeof(path), "%s/results.json", dir);
	struct json_object *j = json_object_from_file(path);
	int rc = -1;
	if (j && st != -1) {
		struct json_object *rs, *r, *v, *e, *n;
		if (json_object_object_get_ex(j, "results", &rs) &&
		    (r = json_object_array_get_idx(rs, 0)) &&
		    json_object_object_get_ex(r, "violations", &v) &&
		    json_object_object_get_ex(r, "schedules", &n) &&
		    json_object_object_get_ex(j, "elapsed_seconds", &e)) {
			*seconds = json_object_get_double(e);
			*schedules = json_object_array_length(v) ? (double)json_object_get_int64(n) : -1;
			rc = 0;
		}
	}
	json_object_put(j);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "perf/explore: could not remove %s\n", dir);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: explore PATCHVET EXPECTED [TRIALS [CAP]]\n");
		return 2;
	}
	unsigned trials = argc > 3 ? (unsigned)atoi(argv[3]) : 9;
	unsigned cap = argc > 4 ? (unsigned)atoi(argv[4]) : 20000;
	if (trials < 1 || trials > 99 || cap < 1) {
		fprintf(stderr, "perf/explore: TRIALS 1..99, CAP >= 1\n");
		return 2;
	}
	struct pv_expected *ex = NULL;
	struct pv_error err = {0};
	if (pv_expected_load(argv[2], NULL, &ex, &err)) {
		fprintf(stderr, "perf/explore: %s\n", err.msg);
		return 2;
	}
	printf("Median time running schedules (s) and median schedules to the first violation, "
	       "%u seeds (bounded: 1, deterministic), at most %u schedules; `-` = not caught "
	       "within the cap in most trials.\n\n", trials, cap);
	printf("| mutant | scenario |");
	for (size_t k = 0; k < NEXPLORERS; k++)
		printf(" %s |", explorers[k].label);
	printf(" best |\n|---|---|");
	for (size_t k = 0; k < NEXPLORERS; k++)
		printf("---|");
	printf("---|\n");
	for (size_t i = 0; i < ex->count; i++) {
		const struct pv_expectation *x = &ex->items[i];
		if (strcmp(x->kind, "verdict") || strcmp(x->backend, "emu") ||
		    x->verdict != PV_VERDICT_UNSAFE)
			continue;
		const struct pv_engine_entry *en = pv_engine_find(x->engine);
		if (!en || !en->mutant)
			continue;
		printf("| %s | %s |", x->engine, x->scenario);
		double best = -1;
		const char *best_label = "-";
		for (size_t k = 0; k < NEXPLORERS; k++) {
			unsigned n = explorers[k].trials ? explorers[k].trials : trials;
			double secs[99], scheds[99];
			unsigned caught = 0;
			for (unsigned t = 0; t < n; t++) {
				double s = 0, c = -1;
				if (one(argv[1], x->engine, x->scenario, explorers[k].args, t + 1, cap, &s,
				        &c)) {
					fprintf(stderr, "perf/explore: %s on %s with %s failed\n", x->engine,
					        x->scenario, explorers[k].label);
					return 3;
				}
				/* not caught: counts as slower than every catch */
				secs[t] = c < 0 ? 1e9 : s;
				scheds[t] = c < 0 ? 1e18 : c;
				caught += c >= 0;
			}
			qsort(secs, n, sizeof(double), cmp_double);
			qsort(scheds, n, sizeof(double), cmp_double);
			double ms = secs[n / 2], mc = scheds[n / 2];
			if (2 * caught <= n || ms >= 1e9) {
				printf(" - |");
				continue;
			}
			printf(" %.3f (%.0f) |", ms, mc);
			if (best < 0 || ms < best) {
				best = ms;
				best_label = explorers[k].label;
			}
		}
		printf(" %s |\n", best_label);
		fflush(stdout);
	}
	pv_expected_free(ex);
	return 0;
}
