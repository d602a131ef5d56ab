/* patchvet replay REPRO [--trace]: runs a reproducer's decision stream again
 * on the binaries it was recorded with, and says whether the same check
 * fails. */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engines/catalogue.h"
#include "backend.h"
#include "cli.h"
#include "files.h"
#include "reproducer.h"
#include "scenario.h"

static const char replay_help[] =
	"usage: patchvet replay REPRO [--trace]\n"
	"\n"
	"Runs the decision stream stored in REPRO (a .pvr file that `patchvet run`\n"
	"wrote) with the same engine, scenario, binaries and workload, and prints the\n"
	"violation it finds. The binaries must be the ones the reproducer was recorded\n"
	"with (their SHA-256 is checked). --trace also prints the emulator's trace (every\n"
	"decision, space operation, engine note and violation), the target's output,\n"
	"the run's counters and every violation.\n"
	"\n"
	"A ptrace reproducer runs the native target again with the same stream: the\n"
	"same delays, steered thread, stop order and signals. The kernel's scheduling\n"
	"is not in the stream, so whether the violation shows again is timing-dependent\n"
	"(--trace prints the run's counters and violations, there is no trace).\n"
	"\n"
	"exit status: 1 the recorded check fails again (or another one does),\n"
	"             0 the run is clean (the violation did not reproduce),\n"
	"             2 a bad or foreign reproducer, 3 internal error\n";

static int exists(const char *path)
{
	return path[0] && access(path, R_OK) == 0;
}

/* The target and patch to run: the recorded paths when they exist; else
 * the scenario's, resolved in today's data directory (a reproducer copied
 * to another checkout of the same build): the native build for a ptrace
 * reproducer, the emulator build otherwise. */
static int resolve_binaries(const struct pv_reproducer *r, bool native, char *target,
                            char *patch, size_t len, struct pv_error *err)
{
	if (exists(r->target) && exists(r->patch)) {
		snprintf(target, len, "%s", r->target);
		snprintf(patch, len, "%s", r->patch);
		return 0;
	}
	char data[PATH_MAX];
	struct pv_scenario *sc = NULL;
	unsigned flavour = 0;
	for (unsigned b = 1; b <= PV_FLAVOUR_ALL; b <<= 1)
		if (!strcmp(r->flavour, pv_flavour_name(b)))
			flavour = b;
	if (!flavour)
		return pv_error_set(err, PV_EFORMAT, "reproducer names an unknown flavour '%s'",
		                    r->flavour);
	struct pv_error ignored;
	int rc = pv_data_dir(data, sizeof(data), &ignored);
	const char *which = exists(r->scenario_file) ? r->scenario_file : r->scenario;
	if (!rc)
		rc = pv_scenario_load(which, data, &sc, &ignored);
	if (!rc)
		rc = native ? pv_scenario_target_path(sc, data, flavour, target, len, &ignored)
		            : pv_scenario_emu_target_path(sc, data, flavour, target, len, &ignored);
	if (!rc)
		rc = pv_scenario_patch_path(sc, data, patch, len, &ignored);
	pv_scenario_free(sc);
	if (rc || !exists(target) || !exists(patch))
		return pv_error_set(err, PV_ENOENT, "the reproducer's binaries are gone: %s and %s "
		                                    "(and scenario %s does not lead to others)",
		                    r->target, r->patch, r->scenario);
	return 0;
}

static void print_violation(const char *prefix, const struct pv_violation *v)
{
	printf("%s%s", prefix, v->check);
	if (v->thread >= 0)
		printf(", thread %d", v->thread);
	if (v->address)
		printf(" at 0x%" PRIx64, v->address);
	printf(" (decision %" PRIu64 "): %s\n", v->step, v->detail[0] ? v->detail : "(no detail)");
}

/* Prints whether res shows r's check again; the exit status that says so. */
static int verdict(const struct pv_reproducer *r, const struct pv_run_result *res, bool native)
{
	const struct pv_violation *same = NULL;
	for (size_t i = 0; i < res->nviolations && i < PV_RUN_MAX_VIOLATIONS; i++)
		if (!strcmp(res->violations[i].check, r->check))
			same = &res->violations[i];
	if (same) {
		print_violation("reproduced: ", same);
		if (!native && (same->thread != r->thread || same->address != r->address))
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
	       native ? "; timing-dependent: another replay may show it" : "");
	return PV_EXIT_OK;
}

static void print_counters(const struct pv_run_result *res)
{
	printf("run: apply %d (%s), revert %d (%s), verify %d, %" PRIu64 " decisions, %" PRIu64
	       " instructions, %zu violation%s\n",
	       res->apply_rc, pv_strerror(res->apply_rc), res->revert_rc,
	       res->revert_rc == 1 ? "not called" : pv_strerror(res->revert_rc),
	       res->verify_status, res->decisions, res->instructions, res->nviolations,
	       res->nviolations == 1 ? "" : "s");
	for (size_t i = 0; i < res->nviolations && i < PV_RUN_MAX_VIOLATIONS; i++)
		print_violation("  violation: ", &res->violations[i]);
	if (res->engine_error[0])
		printf("  engine error: %s\n", res->engine_error);
	if (res->space_error[0])
		printf("  space error: %s\n", res->space_error);
}

/* One run of the recorded stream on the ptrace backend. */
static int replay_native(const struct pv_reproducer *r, const struct pv_engine *engine,
                         const struct pv_backend_config *cfg, bool trace,
                         struct pv_error *err, int *exit_code)
{
	const struct pv_backend_ops *ops = &pv_backend_ptrace_ops;
	void *h = NULL, *state = NULL;
	int rc = ops->open(cfg, &h, err);
	if (rc)
		return rc;
	struct pv_error perr;
	pv_error_clear(&perr);
	rc = engine->plan(ops->patch(h), &state, &perr);
	if (rc == PV_EREFUSED) {
		printf("did not reproduce: the engine now refuses the patch: %s\n", perr.msg);
		*exit_code = PV_EXIT_OK;
		ops->close(h);
		return 0;
	}
	if (rc) {
		ops->close(h);
		return pv_error_set(err, rc, "%s: plan failed: %s", engine->name,
		                    perr.msg[0] ? perr.msg : pv_strerror(rc));
	}
	struct pv_run_result *res = calloc(1, sizeof(*res));
	if (!res)
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!rc)
		rc = ops->run(h, engine, state, r->stream, r->stream_len, res, err);
	if (!rc) {
		if (trace)
			print_counters(res);
		*exit_code = verdict(r, res, true);
	}
	free(res);
	if (state && engine->release)
		engine->release(state);
	ops->close(h);
	return rc;
}

static int replay(const char *file, bool trace, struct pv_error *err, int *exit_code)
{
	struct pv_reproducer *r = NULL;
	struct pv_emu *emu = NULL;
	void *state = NULL;
	const struct pv_engine *engine = NULL;
	char target[PATH_MAX], patch[PATH_MAX];
	int rc = pv_reproducer_load(file, &r, err);
	if (rc)
		return rc;
	enum pv_mem_model mm = PV_MEM_BYTE;
	const struct pv_engine_entry *entry = pv_engine_find(r->engine);
	bool native = !strcmp(r->backend, pv_backend_ptrace_ops.name);
	if (strcmp(r->backend, "emu") && !native)
		rc = pv_error_set(err, PV_EUNSUPPORTED, "%s: recorded on backend '%s', which patchvet "
		                                        "%s cannot replay (it has emu and ptrace)",
		                  file, r->backend, PV_VERSION);
	else if (!entry)
		rc = pv_error_set(err, PV_ENOENT, "%s: recorded with engine '%s', which is not built "
		                                  "into patchvet %s", file, r->engine, PV_VERSION);
	else if (pv_mem_model_parse(r->mem_model, &mm))
		rc = pv_error_set(err, PV_EFORMAT, "%s: unknown memory model '%s'", file,
		                  r->mem_model);
	if (!rc)
		rc = resolve_binaries(r, native, target, patch, sizeof(target), err);
	if (!rc && (rc = pv_reproducer_check_binaries(r, target, patch, err))) {
		char msg[PV_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		pv_error_set(err, rc, "%s: %s", file, msg);
	}
	if (rc)
		goto out;
	engine = entry->engine;

	printf("replaying %s: %s on %s (%s, flavour %s), schedule %" PRIu64 " of seed %" PRIu64
	       "\n",
	       file, r->engine, r->scenario, r->backend, r->flavour, r->schedule, r->seed);
	struct pv_violation rec;
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.check, sizeof(rec.check), "%s", r->check);
	rec.thread = r->thread;
	rec.address = r->address;
	rec.step = r->step;
	snprintf(rec.detail, sizeof(rec.detail), "%s", r->detail);
	print_violation("recorded:   ", &rec);
	if (native)
		printf("note: on ptrace the stream fixes patchvet's choices (delays, the steered "
		       "thread, stop order, signals), not the kernel's timing: whether the "
		       "violation shows again is timing-dependent\n");
	fflush(stdout);

	struct pv_backend_config bcfg = {
		.target_path = target,
		.patch_path = patch,
		.workload = {.workers = r->workers, .iterations = r->iterations, .param = r->param},
		.mem_model = mm,
	};
	if (native) {
		rc = replay_native(r, engine, &bcfg, trace, err, exit_code);
		goto out;
	}
	struct pv_emu_config cfg = {
		.target_path = target,
		.patch_path = patch,
		.workload = {.workers = r->workers, .iterations = r->iterations, .param = r->param},
		.mem_model = mm,
	};
	if ((rc = pv_emu_open(&cfg, &emu, err)))
		goto out;
	struct pv_error perr;
	pv_error_clear(&perr);
	rc = engine->plan(pv_emu_patch(emu), &state, &perr);
	if (rc == PV_EREFUSED) {
		printf("did not reproduce: the engine now refuses the patch: %s\n", perr.msg);
		*exit_code = PV_EXIT_OK;
		rc = 0;
		goto out;
	}
	if (rc) {
		rc = pv_error_set(err, rc, "%s: plan failed: %s", engine->name,
		                  perr.msg[0] ? perr.msg : pv_strerror(rc));
		goto out;
	}
	struct pv_run_result res;
	memset(&res, 0, sizeof(res));
	if (trace) {
		printf("trace:\n");
		fflush(stdout);
		pv_emu_set_trace(emu, stdout);
	}
	rc = pv_emu_run(emu, engine, state, r->stream, r->stream_len, &res, err);
	if (trace) {
		fflush(stdout);
		pv_emu_set_trace(emu, NULL);
	}
	if (rc)
		goto out;
	if (trace) {
		const char *output = pv_emu_output(emu);
		if (output && *output)
			printf("target output:\n%s%s", output,
			       output[strlen(output) - 1] == '\n' ? "" : "\n");
		print_counters(&res);
	}
	*exit_code = verdict(r, &res, false);
out:
	if (state && engine && engine->release)
		engine->release(state);
	if (emu)
		pv_emu_close(emu);
	pv_reproducer_free(r);
	return rc;
}

int pv_cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trace", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	bool trace = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "th", opts, NULL)) != -1) {
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
	if (replay(argv[optind], trace, &err, &rc))
		return pv_cli_fail(&err);
	return rc;
}
