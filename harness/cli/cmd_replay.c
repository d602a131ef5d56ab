/* patchvet replay REPRO [--trace]: runs a reproducer's decision stream again
 * on the binaries it was recorded with, and says whether the same check
 * fails. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/report.h"
#include "cli.h"
#include "options.h"
#include "../../emulator/emu.h"
#include "../explore/explore.h"
#include "../explore/registry.h"
#include "../campaign/rerun.h"

/* Events of a --trace story at most: a story is for reading. */
#define TRACE_EVENTS_MAX 20000

static const char replay_help[] =
	"usage: patchvet replay REPRO [--trace] [--engine SPEC]\n"
	"\n"
	"Runs the decision stream stored in REPRO (a .pvr file that `patchvet run`\n"
	"or `patchvet minimize` wrote) with the same engine, scenario, binaries and\n"
	"workload, and prints the violation it finds. The binaries must be the ones\n"
	"the reproducer was recorded with (their SHA-256 is checked), and patchvet\n"
	"the version that recorded it.\n"
	"\n"
	"--trace prints the story of the run: every instruction a thread executed\n"
	"inside a hot window while apply or revert ran (symbol and disassembly),\n"
	"every engine operation and code write unit, every preemption, and the\n"
	"violation where it happened; then the target's output and the run's\n"
	"counters.\n"
	"\n"
	"A plugin or exec engine is loaded again from the file the reproducer names\n"
	"(engine-spec); when that file changed since (its SHA-256 differs), replay\n"
	"refuses. --engine SPEC (a built-in name, a plugin's path or exec:FILE, as\n"
	"for run) replays the stream with that engine instead, unchecked.\n"
	"\n"
	"A ptrace reproducer runs the native target again with the same stream: the\n"
	"same delays, steered thread, stop order and signals. The kernel's scheduling\n"
	"is not in the stream, so whether the violation shows again is timing-dependent\n"
	"(--trace prints the run's counters and violations, there is no story).\n"
	"\n"
	"exit status: 1 the recorded check fails again (or another one does),\n"
	"             0 the run is clean (the violation did not reproduce),\n"
	"             2 a bad or foreign reproducer, 3 internal error\n";

static void print_violation(const char *prefix, const struct pv_violation *v)
{
	printf("%s%s", prefix, v->check);
	if (v->thread >= 0)
		printf(", thread %d", v->thread);
	if (v->address)
		printf(" at 0x%" PRIx64, v->address);
	printf(" (decision %" PRIu64 "): %s\n", v->step, v->detail[0] ? v->detail : "(no detail)");
}

/* Prints whether res shows the recorded check again; the exit status. */
static int verdict(const struct pv_session *s, const struct pv_run_result *res)
{
	const struct pv_reproducer *r = s->repro;
	const struct pv_violation *same = pv_session_same(s, res);
	if (same) {
		print_violation("reproduced: ", same);
		if (!s->native && (same->thread != r->thread || same->address != r->address))
			printf("note: the recorded thread or address differs; are the engine or "
			       "emulator sources the same as when it was recorded?\n");
		return PV_EXIT_VIOLATION;
	}
	if (res->nviolations) {
		printf("did not reproduce %s, but the run has other violations:\n", r->check);
		for (size_t i = 0; i < res->nviolations && i < PV_RUN_MAX_VIOLATIONS; i++)
			print_violation("  ", &res->violations[i]);
		return PV_EXIT_VIOLATION;
	}
	printf("did not reproduce: the run is clean (no %s, no other violation)%s\n", r->check,
	       s->native ? "; timing-dependent: another replay may show it" : "");
	return PV_EXIT_OK;
}

static void print_counters(const struct pv_run_result *res)
{
	printf("run: apply %d (%s), revert %d (%s), verify %d, %" PRIu64 " decisions, %" PRIu64
	       " preemptions, %" PRIu64 " instructions, %zu violation%s\n",
	       res->apply_rc, pv_strerror(res->apply_rc), res->revert_rc,
	       res->revert_rc == 1 ? "not called" : pv_strerror(res->revert_rc),
	       res->verify_status, res->decisions, res->preemptions, res->instructions,
	       res->nviolations, res->nviolations == 1 ? "" : "s");
	for (size_t i = 0; i < res->nviolations && i < PV_RUN_MAX_VIOLATIONS; i++)
		print_violation("  violation: ", &res->violations[i]);
	if (res->engine_error[0])
		printf("  engine error: %s\n", res->engine_error);
	if (res->space_error[0])
		printf("  space error: %s\n", res->space_error);
	if (res->info[0])
		printf("  information: %s\n", res->info);
}

static int replay(const char *file, const char *engine, bool trace, struct pv_error *err,
                  int *exit_code)
{
	struct pv_session *s = NULL;
	int rc = pv_session_open_engine(file, engine, &s, err);
	if (rc == PV_EREFUSED) {
		printf("did not reproduce: the engine now refuses the patch: %s\n", err->msg);
		*exit_code = PV_EXIT_OK;
		return 0;
	}
	if (rc)
		return rc;
	const struct pv_reproducer *r = s->repro;
	char which[96];
	const struct pv_explorer_info *xi = pv_explorer_find(NULL, r->explorer, NULL);
	if (xi && xi->ops->describe)
		xi->ops->describe(r->schedule, which, sizeof(which));
	else
		snprintf(which, sizeof(which), "schedule %" PRIu64 " of seed %" PRIu64, r->schedule,
		         r->seed);
	printf("replaying %s: %s on %s (%s, flavour %s), %s (%s explorer)\n", file, s->engine->name,
	       r->scenario, r->backend, r->flavour, which, r->explorer);
	if (r->sequence[0])
		printf("sequence: %s\n", r->sequence);
	if (r->fault[0])
		printf("fault: a %s injected after apply\n", r->fault);
	struct pv_violation rec = {.thread = r->thread, .address = r->address, .step = r->step};
	snprintf(rec.check, sizeof(rec.check), "%s", r->check);
	snprintf(rec.detail, sizeof(rec.detail), "%s", r->detail);
	print_violation("recorded:   ", &rec);
	if (s->native)
		printf("note: on ptrace the stream fixes patchvet's choices (delays, the steered "
		       "thread, stop order, signals), not the kernel's timing: whether the "
		       "violation shows again is timing-dependent\n");
	fflush(stdout);
	struct pv_run_result res;
	struct pv_story *story = NULL;
	if (trace && !s->native) {
		rc = pv_session_story(s, NULL, 0, TRACE_EVENTS_MAX, &story, &res, err);
		if (!rc) {
			printf("story (%zu events%s):\n", story->nevents,
			       story->nevents >= TRACE_EVENTS_MAX ? ", cut short" : "");
			pv_report_story(story, stdout);
		}
		pv_story_free(story);
	} else {
		rc = pv_session_run(s, NULL, 0, &res, err);
	}
	if (!rc && trace) {
		const char *output = s->native ? NULL : pv_emu_output(s->handle);
		if (output && *output)
			printf("target output:\n%s%s", output,
			       output[strlen(output) - 1] == '\n' ? "" : "\n");
		print_counters(&res);
	}
	if (!rc)
		*exit_code = verdict(s, &res);
	pv_session_close(s);
	return rc;
}

int pv_cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trace", no_argument, NULL, 't'},
		{"engine", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct pv_cli_options so = {.cmd = "replay", .takes = pv_cli_options_takes(opts)};
	bool trace = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "te:h", opts, NULL)) != -1) {
		int taken = pv_cli_options_take(&so, c, optarg);
		if (taken > 0)
			return taken;
		if (taken == 0)
			continue;
		switch (c) {
		case 't': trace = true; break;
		case 'h': fputs(replay_help, stdout); return PV_EXIT_OK;
		default:
			return pv_cli_usage("replay", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return pv_cli_usage("replay", "say which reproducer (REPRO) to replay");
	if (optind != argc - 1)
		return pv_cli_usage("replay", "one REPRO at a time, not '%s'", argv[argc - 1]);
	struct pv_error err;
	pv_error_clear(&err);
	int rc = PV_EXIT_INTERNAL;
	if (replay(argv[optind], so.engine, trace, &err, &rc))
		return pv_cli_fail(&err);
	return rc;
}
