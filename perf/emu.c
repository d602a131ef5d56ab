/* perf/emu: schedules per second of the emu backend, the figure DESIGN.md
 * budgets (10,000 per second per core on counter x stw-jmp, 2 threads,
 * about 2,000 instructions a run).
 *
 *     emu TARGET PATCH [ENGINE [ITERATIONS [SECONDS]]]
 *
 * Runs random 64-byte decision streams for SECONDS (default 3) of CPU time
 * on one core and prints schedules/s, instructions per run, and the fixed
 * cost of a run (the same with 0 iterations: reset, thread start, engine,
 * verify). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../emulator/emu.h"
#include "../engines/catalogue.h"

/* CPU time of this thread: the per-core figure, less disturbed than wall
 * time when other work shares the machine. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct figures {
	double per_second, instructions, violations;
};

static int measure(const char *target, const char *patch, const struct pv_engine *engine,
                   unsigned long iterations, double seconds, struct figures *out)
{
	struct pv_emu_config cfg = {
		.target_path = target,
		.patch_path = patch,
		.workload = {.workers = 2, .iterations = iterations},
	};
	struct pv_error err = {0};
	struct pv_emu *emu;
	void *state = NULL;
	if (pv_emu_open(&cfg, &emu, &err) ||
	    engine->plan(pv_emu_patch(emu), &state, &err)) {
		fprintf(stderr, "perf/emu: %s\n", err.msg);
		return 2;
	}
	uint64_t x = 0x9e3779b97f4a7c15ull, runs = 0, insns = 0, bad = 0;
	uint8_t stream[64];
	struct pv_run_result res;
	double start = now(), end = start + seconds, t = start;
	while (t < end) {
		for (int k = 0; k < 100; k++, runs++) {
			for (size_t i = 0; i < sizeof(stream); i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				stream[i] = (uint8_t)(x >> 24);
			}
			if (pv_emu_run(emu, engine, state, stream, sizeof(stream), &res, &err)) {
				fprintf(stderr, "perf/emu: %s\n", err.msg);
				return 3;
			}
			insns += res.instructions;
			bad += res.nviolations > 0;
		}
		t = now();
	}
	out->per_second = (double)runs / (t - start);
	out->instructions = (double)insns / (double)runs;
	out->violations = (double)bad / (double)runs;
	if (engine->release)
		engine->release(state);
	pv_emu_close(emu);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s TARGET PATCH [ENGINE [ITERATIONS [SECONDS]]]\n", argv[0]);
		return 2;
	}
	const char *name = argc > 3 ? argv[3] : "stw-jmp";
	const struct pv_engine_entry *entry = pv_engine_find(name);
	if (!entry) {
		fprintf(stderr, "%s: no engine called %s\n", argv[0], name);
		return 2;
	}
	unsigned long iterations = argc > 4 ? strtoul(argv[4], NULL, 10) : 30;
	double seconds = argc > 5 ? atof(argv[5]) : 3.0;
	struct figures run, fixed;
	int rc = measure(argv[1], argv[2], entry->engine, iterations, seconds, &run);
	if (!rc)
		rc = measure(argv[1], argv[2], entry->engine, 0, seconds / 3, &fixed);
	if (rc)
		return rc;
	printf("emu: %s, %s, 2 threads x %lu iterations: %.0f schedules/s per core, "
	       "%.0f instructions a run (%.0f ns per instruction), %.1f%% of runs with "
	       "violations; fixed cost of a run (0 iterations): %.1f us, %.0f instructions\n",
	       entry->engine->name, argv[1], iterations, run.per_second, run.instructions,
	       1e9 / run.per_second / run.instructions, 100 * run.violations,
	       1e6 / fixed.per_second, fixed.instructions);
	return 0;
}
