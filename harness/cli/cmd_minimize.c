/* patchvet minimize REPRO -o OUT: the reproducer with the fewest choices
 * (preemptions, thread switches, short slices) that still show its check. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "../campaign/minimize.h"

static const char minimize_help[] =
	"usage: patchvet minimize REPRO -o OUT [--runs N] [--engine SPEC]\n"
	"\n"
	"Delta debugging on the decision stream of REPRO (an emu reproducer): the\n"
	"fewest choices that differ from the scheduler's default (preemptions inside\n"
	"hot windows, other threads, shorter slices) with which the run still shows\n"
	"the same check, within N test runs (default 20000). OUT is a reproducer of\n"
	"that run, with no more preemptions than REPRO; `patchvet replay OUT\n"
	"--trace` tells its story. A plugin engine is loaded again from the file\n"
	"REPRO names (refused when it changed); --engine SPEC names another.\n"
	"\n"
	"exit status: 0 written, 2 a bad, foreign or ptrace reproducer, or one whose\n"
	"             check no longer shows, 3 internal error\n";

static int minimize(const char *in, const char *out, const char *engine, uint64_t runs,
                    struct pv_error *err)
{
	struct pv_session *s = NULL;
	int rc = pv_session_open_engine(in, engine, &s, err);
	if (rc == PV_EREFUSED) {
		char msg[PV_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return pv_error_set(err, PV_ESTATE, "%s: the engine now refuses the patch (%s): "
		                                    "nothing to minimize", in, msg);
	}
	if (rc)
		return rc;
	struct pv_minimize_result m;
	rc = pv_minimize(s, runs, &m, err);
	if (!rc) {
		struct pv_reproducer r = *s->repro;
		/* The engine that ran (--engine may have named another). */
		snprintf(r.engine, sizeof(r.engine), "%s", s->engine->name);
		snprintf(r.engine_spec, sizeof(r.engine_spec), "%s", s->loaded ? s->loaded->spec : "");
		snprintf(r.engine_sha256, sizeof(r.engine_sha256), "%s",
		         s->loaded ? s->loaded->sha256 : "");
		const struct pv_violation *v = pv_session_same(s, &m.run);
		r.thread = v->thread;
		r.address = v->address;
		r.step = v->step;
		snprintf(r.detail, sizeof(r.detail), "%s", v->detail);
		snprintf(r.explorer, sizeof(r.explorer), "minimized");
		r.stream = m.stream;
		r.stream_len = m.len;
		rc = pv_reproducer_save(out, &r, err);
	}
	if (!rc) {
		printf("minimized %s: %" PRIu64 " choices differing from the default -> %" PRIu64
		       ", %" PRIu64 " preemptions -> %" PRIu64 " (%" PRIu64 " test runs)\n",
		       in, m.choices_before, m.choices_after, m.preemptions_before,
		       m.preemptions_after, m.runs);
		printf("wrote %s: replays to %s; `patchvet replay %s --trace` tells its story\n", out,
		       s->repro->check, out);
	}
	free(m.stream);
	pv_session_close(s);
	return rc;
}

int pv_cmd_minimize(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"runs", required_argument, NULL, 'r'},
		{"engine", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct pv_cli_options so = {.cmd = "minimize", .takes = pv_cli_options_takes(opts)};
	const char *out = NULL;
	uint64_t runs = 20000;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:r:e:h", opts, NULL)) != -1) {
		int taken = pv_cli_options_take(&so, c, optarg);
		if (taken > 0)
			return taken;
		if (taken == 0)
			continue;
		switch (c) {
		case 'o': out = optarg; break;
		case 'r':
			if (pv_cli_parse_count(optarg, 1, 100000000, &runs))
				return pv_cli_usage("minimize", "--runs wants 1 to 100000000, not '%s'",
				                    optarg);
			break;
		case 'h': fputs(minimize_help, stdout); return PV_EXIT_OK;
		default:
			return pv_cli_usage("minimize", "unknown or incomplete option '%s'",
			                    argv[optind - 1]);
		}
	}
	if (optind == argc)
		return pv_cli_usage("minimize", "say which reproducer (REPRO) to minimize");
	if (optind != argc - 1)
		return pv_cli_usage("minimize", "one REPRO at a time, not '%s'", argv[argc - 1]);
	if (!out)
		return pv_cli_usage("minimize", "say where the minimized reproducer goes (-o OUT)");
	struct pv_error err;
	pv_error_clear(&err);
	if (minimize(argv[optind], out, so.engine, runs, &err))
		return pv_cli_fail(&err);
	return PV_EXIT_OK;
}
