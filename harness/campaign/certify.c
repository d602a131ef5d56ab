/* Certificates (`patchvet certify`): making one (the hashes of what runs,
 * the certified campaign, the overhead as `patchvet bench` measures it,
 * the files) and verifying one (the files hash as certified, the campaign
 * re-run gives the same verdicts, the overhead holds). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../engines/catalogue.h"
#include "../../engines/plugin.h"
#include "../../reports/certificate.h"
#include "../../reports/registry.h"
#include "../../reports/report.h"
#include "../bench/bench.h"
#include "../exec/adapter.h"
#include "../load/scenario.h"
#include "../model/campaign.h"
#include "../model/version.h"
#include "../util/exit.h"
#include "../util/files.h"
#include "../util/hash.h"
#include "certify.h"
#include "run.h"

#define CERT_CYCLES 20
#define CERT_THRESHOLD_PCT 2.0

/* Single-quotes s for a shell when it holds anything but [A-Za-z0-9_./:=,+-]. */
static void shell_quote(const char *s, char *buf, size_t len)
{
	bool plain = *s != '\0';
	for (const char *p = s; *p; p++)
		plain &= strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+-",
		                *p) != NULL;
	if (plain) {
		snprintf(buf, len, "%s", s);
		return;
	}
	size_t n = 0;
	if (n + 1 < len)
		buf[n++] = '\'';
	for (; *s && n + 5 < len; s++) {
		if (*s == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			buf[n++] = *s;
		}
	}
	if (n + 1 < len)
		buf[n++] = '\'';
	buf[n] = '\0';
}

/* Appends " WORD" (quoted) to cmd. */
static void append_arg(char *cmd, size_t len, const char *word)
{
	char q[PATH_MAX + 64];
	shell_quote(word, q, sizeof(q));
	size_t n = strlen(cmd);
	snprintf(cmd + n, len - n, "%s%s", n ? " " : "", q);
}

static int self_exe(char *buf, size_t len, struct pv_error *err)
{
	char tmp[PATH_MAX];
	if (!realpath("/proc/self/exe", tmp) || strlen(tmp) >= len)
		return pv_error_set(err, PV_EIO, "cannot find the patchvet binary (/proc/self/exe)");
	snprintf(buf, len, "%s", tmp);
	return 0;
}

/* The engine's file and kind: a plugin's .so, an exec engine's file, or,
 * for a built-in engine, the patchvet binary that holds it. arg becomes the
 * absolute form --engine takes. */
static int engine_file(const char *engine, struct pv_certificate *cert, struct pv_error *err)
{
	char abs[PATH_MAX];
	const char *file = NULL;
	if (pv_exec_is_spec(engine)) {
		snprintf(cert->engine_kind, sizeof(cert->engine_kind), "exec");
		file = strchr(engine, ':') + 1;
	} else if (pv_plugin_is_path(engine)) {
		snprintf(cert->engine_kind, sizeof(cert->engine_kind), "plugin");
		file = engine;
	} else {
		snprintf(cert->engine_kind, sizeof(cert->engine_kind), "built-in");
		snprintf(cert->engine_arg, sizeof(cert->engine_arg), "%s", engine);
		return self_exe(cert->engine.path, sizeof(cert->engine.path), err);
	}
	if (!realpath(file, abs))
		return pv_error_set(err, PV_ENOENT, "engine %s: %s", file, strerror(errno));
	snprintf(cert->engine.path, sizeof(cert->engine.path), "%s", abs);
	snprintf(cert->engine_arg, sizeof(cert->engine_arg), "%s%s",
	         strcmp(cert->engine_kind, "exec") ? "" : "exec:", abs);
	return 0;
}

/* The facts the Markdown and HTML certificates show above the results. */
static void certificate_facts(const struct pv_certificate *cert, struct pv_report_fact *f,
                              size_t *n, char *buf, size_t len, const char *overhead)
{
	size_t k = 0;
	snprintf(buf, len, "%s (%s)", cert->engine_arg, cert->engine_kind);
	f[k++] = (struct pv_report_fact){"engine", buf};
	f[k++] = (struct pv_report_fact){"engine file", cert->engine.path};
	f[k++] = (struct pv_report_fact){"engine SHA-256", cert->engine.sha256};
	f[k++] = (struct pv_report_fact){"target", cert->target.path};
	f[k++] = (struct pv_report_fact){"target SHA-256", cert->target.sha256};
	f[k++] = (struct pv_report_fact){"patch", cert->patch.path};
	f[k++] = (struct pv_report_fact){"patch SHA-256", cert->patch.sha256};
	f[k++] = (struct pv_report_fact){"patchvet version", cert->patchvet_version};
	f[k++] = (struct pv_report_fact){"created", cert->created};
	f[k++] = (struct pv_report_fact){"re-run", cert->command};
	f[k++] = (struct pv_report_fact){"verify", cert->verify_command};
	if (cert->overhead.present)
		f[k++] = (struct pv_report_fact){"overhead verdict", overhead};
	*n = k;
}


/* "REFUTED (judged by instructions: +39.71 % (exact) ...)" */
static void overhead_sentence(const struct pv_cert_overhead *o, char *buf, size_t len)
{
	const struct pv_overhead_figure *by = NULL;
	for (size_t i = 0; i < o->nfigures; i++)
		if (!strcmp(o->figures[i].name, o->judged_by))
			by = &o->figures[i];
	char line[PV_ERROR_MSG_MAX + 160] = "";
	if (by)
		pv_report_figure_line(by, line, sizeof(line));
	if (!o->judged)
		snprintf(buf, len, "not measured: %.400s", o->note);
	else
		snprintf(buf, len, "%s against %.2f%% (CPU claim judged by %s%s%.300s)%s%.200s",
		         pv_claim_name(o->verdict), o->threshold_pct, by ? by->name : "no figure",
		         by ? ": " : "", line, o->note[0] ? "; " : "", o->note);
}

/* pv_bench_run; when native figures were asked for and they fail as a
 * whole (no ptrace where this runs), the emu ones alone, with the reason
 * in why. */
static int bench_native_or_emu(struct pv_bench_config *cfg, struct pv_bench_result *r,
                               char *why, size_t len, struct pv_error *err)
{
	int rc = pv_bench_run(cfg, r, err);
	if (!rc || !cfg->native)
		return rc;
	snprintf(why, len, "%s", err->msg);
	pv_bench_result_free(r);
	pv_error_clear(err);
	cfg->native = false;
	return pv_bench_run(cfg, r, err);
}

/* Measures the overhead of the certified engine on its scenario and
 * flavour with `patchvet bench`'s code (harness/bench/bench.h). Never fails:
 * what could not be measured says why in o->note or a figure's note. */
static void measure_overhead(const char *engine_arg, const char *scenario, const char *flavour,
                             enum pv_verdict verdict, uint64_t seed, struct pv_cert_overhead *o)
{
	double threshold = o->threshold_pct, time_s = o->time_s;
	unsigned cycles = o->cycles;
	memset(o, 0, sizeof(*o));
	o->present = true;
	o->threshold_pct = threshold;
	o->time_s = time_s;
	o->cycles = cycles;
	struct pv_error err;
	pv_error_clear(&err);
	struct pv_plugin *plugin = NULL;
	const struct pv_engine *engine = NULL;
	unsigned fbit = 0;
	char data[PATH_MAX];
	if (verdict == PV_VERDICT_REFUSED || verdict == PV_VERDICT_ERROR) {
		snprintf(o->note, sizeof(o->note), "the engine did not run the patch (%s)",
		         pv_verdict_name(verdict));
	} else if (pv_exec_is_spec(engine_arg)) {
		snprintf(o->note, sizeof(o->note), "exec engines are external tools: patchvet bench "
		                                   "cannot apply them before the workers start");
	} else if (pv_plugin_is_path(engine_arg)) {
		if (!pv_plugin_open(engine_arg, &plugin, &err))
			engine = pv_plugin_engine(plugin);
		else
			snprintf(o->note, sizeof(o->note), "%s", err.msg);
	} else {
		const struct pv_engine_entry *e = pv_engine_find(engine_arg);
		engine = e ? e->engine : NULL;
	}
	if (engine && (fbit = pv_flavour_from_name(flavour)) != 0 &&
	    !pv_data_dir(data, sizeof(data), &err)) {
		struct pv_bench_config cfg = {
			.engine = engine, .scenario = scenario, .data_dir = data,
			.native = time_s > 0, .emu = true, .time_s = time_s,
			.threshold_pct = threshold, .cycles = cycles, .seed = seed,
			.progress = stderr, .flavours = fbit,
		};
		struct pv_bench_result *r = calloc(1, sizeof(*r));
		char native_why[PV_ERROR_MSG_MAX] = "";
		if (!r) {
			snprintf(o->note, sizeof(o->note), "out of memory");
		} else if (bench_native_or_emu(&cfg, r, native_why, sizeof(native_why), &err)) {
			snprintf(o->note, sizeof(o->note), "%s", err.msg);
		} else {
			for (size_t i = 0; i < r->nfigures && o->nfigures < PV_OVERHEAD_MAX; i++)
				o->figures[o->nfigures++] = r->figures[i];
			/* bench leaves an emu instruction count that failed out of its
			 * figures (its text says why): a certificate shows it. */
			bool insns = false;
			for (size_t i = 0; i < o->nfigures; i++)
				insns |= !strcmp(o->figures[i].name, "instructions");
			if (!insns && r->emu_note[0] && o->nfigures < PV_OVERHEAD_MAX)
				o->figures[o->nfigures++] = (struct pv_overhead_figure){
					.name = "instructions", .threshold = threshold, .unit = "%",
					.claim = PV_CLAIM_INCONCLUSIVE};
			for (size_t i = 0; i < o->nfigures; i++)
				if (!strcmp(o->figures[i].name, "instructions") && !o->figures[i].measured)
					snprintf(o->figures[i].note, sizeof(o->figures[i].note), "%s",
					         r->emu_note);
			if (native_why[0])
				snprintf(o->note, sizeof(o->note), "native figures not measured: %.400s",
				         native_why);
			else if (time_s <= 0)
				snprintf(o->note, sizeof(o->note), "native CPU time not measured "
				                                   "(--overhead-time 0)");
			else if (!r->native)
				snprintf(o->note, sizeof(o->note), "native figures not measured: the "
				                                   "scenario does not run on ptrace");
		}
		if (r)
			pv_bench_result_free(r);
		free(r);
	} else if (engine && !o->note[0]) {
		snprintf(o->note, sizeof(o->note), "%s", err.msg[0] ? err.msg : "unknown flavour");
	}
	pv_plugin_close(plugin);
	pv_certificate_overhead_judge(o);
}

static int write_certificate(const struct pv_certificate *cert, const struct pv_campaign *c,
                             const char *out_dir, unsigned formats, struct pv_error *err)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	if (snprintf(path, sizeof(path), "%s/certificate.json", out_dir) >= (int)sizeof(path))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", out_dir);
	int rc = pv_certificate_json(cert, c, &text, &len, err);
	if (!rc)
		rc = pv_file_write_atomic(path, text, len, err);
	free(text);
	if (!rc)
		printf("certificate: %s\n", path);
	if (rc || !(formats & ~PV_FORMAT_JSON))
		return rc;
	struct pv_report_fact facts[16];
	char engine[PATH_MAX + 32];
	struct pv_report_info info = {.title = "patchvet certificate", .out_dir = out_dir,
	                              .facts = facts, .overhead_cases = true};
	unsigned written = 0;
	char overhead[PV_ERROR_MSG_MAX + 64];
	overhead_sentence(&cert->overhead, overhead, sizeof(overhead));
	certificate_facts(cert, facts, &info.nfacts, engine, sizeof(engine), overhead);
	rc = pv_report_write(c, &info, out_dir, "certificate", formats & ~PV_FORMAT_JSON, &written,
	                     err);
	pv_report_formats_announce(stdout, "certificate", out_dir, "certificate", written);
	return rc;
}


/* Runs the campaign of a certificate's settings into c. */
static int run_certified(const char *engine, const char *scenario, const char *backend,
                         const char *flavour, uint64_t schedules, uint64_t seed,
                         const char *out_dir, const struct pv_run_progress *progress,
                         struct pv_campaign *c, struct pv_error *err)
{
	char data[PATH_MAX];
	int rc = pv_data_dir(data, sizeof(data), err);
	if (rc)
		return rc;
	const char *engines[1] = {engine}, *scenarios[1] = {scenario};
	struct pv_run_options o = {.engines = engines, .nengines = 1, .scenarios = scenarios,
	                           .nscenarios = 1, .backend = backend,
	                           .flavour = PV_FLAVOUR_PLAIN, .schedules = schedules,
	                           .seed = seed, .out_dir = out_dir, .progress = *progress};
	if (flavour) {
		o.flavour = pv_flavour_from_name(flavour);
		if (!o.flavour)
			return pv_error_set(err, PV_EINVAL, "unknown flavour '%s'", flavour);
		o.flavour_given = true;
	}
	return pv_run_engines_campaign(&o, data, c, err);
}

int pv_certify_make(const struct pv_certify_options *a, struct pv_error *err)
{
	struct pv_certificate cert = {0};
	struct pv_campaign c;
	pv_campaign_init(&c);
	/* exec engines run only on ptrace */
	const char *backend = a->backend ? a->backend : pv_exec_is_spec(a->engine) ? "ptrace" : "emu";
	uint64_t schedules = a->schedules_given ? a->schedules
	                                        : !strcmp(backend, "ptrace") ? 20 : 1000;
	char out_abs[PATH_MAX];
	int rc = engine_file(a->engine, &cert, err);
	if (!rc)
		rc = pv_mkdir_p(a->out_dir, err);
	if (!rc && !realpath(a->out_dir, out_abs))
		rc = pv_error_set(err, PV_EIO, "%s: %s", a->out_dir, strerror(errno));
	if (!rc)
		rc = pv_sha256_file(cert.engine.path, cert.engine.sha256, err);
	/* A scenario given by path is certified by its absolute path. */
	char scen_abs[PATH_MAX];
	const char *scenario = a->scenario;
	if (!rc && strchr(scenario, '/') && realpath(scenario, scen_abs))
		scenario = scen_abs;
	if (!rc)
		rc = run_certified(cert.engine_arg, scenario, backend, a->flavour, schedules, a->seed,
		                   out_abs, &a->progress, &c, err);
	if (!rc && c.nresults != 1)
		rc = pv_error_set(err, PV_EINTERNAL, "certify ran %zu results, not 1", c.nresults);
	if (rc) {
		pv_campaign_free(&c);
		return rc;
	}
	const struct pv_result *r = &c.results[0];
	snprintf(cert.patchvet_version, sizeof(cert.patchvet_version), "%s", PV_VERSION);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(cert.created, sizeof(cert.created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(cert.scenario_arg, sizeof(cert.scenario_arg), "%s", scenario);
	snprintf(cert.backend, sizeof(cert.backend), "%s", backend);
	snprintf(cert.flavour, sizeof(cert.flavour), "%s", r->flavour);
	snprintf(cert.explorer, sizeof(cert.explorer), "%s", c.explorer ? c.explorer : "random");
	cert.seed = a->seed;
	cert.schedules = schedules;
	snprintf(cert.target.path, sizeof(cert.target.path), "%s", r->target ? r->target : "");
	snprintf(cert.target.sha256, sizeof(cert.target.sha256), "%s", r->target_sha256);
	snprintf(cert.patch.path, sizeof(cert.patch.path), "%s", r->patch ? r->patch : "");
	snprintf(cert.patch.sha256, sizeof(cert.patch.sha256), "%s", r->patch_sha256);
	char exe[PATH_MAX], num[32];
	rc = self_exe(exe, sizeof(exe), err);
	append_arg(cert.command, sizeof(cert.command), rc ? "patchvet" : exe);
	const char *words[] = {"certify", "--engine", cert.engine_arg, "--scenario", scenario,
	                       "--backend", backend, "--flavour", cert.flavour};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		append_arg(cert.command, sizeof(cert.command), words[i]);
	snprintf(num, sizeof(num), "%" PRIu64, schedules);
	append_arg(cert.command, sizeof(cert.command), "--schedules");
	append_arg(cert.command, sizeof(cert.command), num);
	snprintf(num, sizeof(num), "%" PRIu64, a->seed);
	append_arg(cert.command, sizeof(cert.command), "--seed");
	append_arg(cert.command, sizeof(cert.command), num);
	snprintf(num, sizeof(num), "%g", a->overhead_time);
	append_arg(cert.command, sizeof(cert.command), "--overhead-time");
	append_arg(cert.command, sizeof(cert.command), num);
	append_arg(cert.command, sizeof(cert.command), "--out");
	append_arg(cert.command, sizeof(cert.command), out_abs);
	char cert_path[PATH_MAX + 32];
	snprintf(cert_path, sizeof(cert_path), "%s/certificate.json", out_abs);
	append_arg(cert.verify_command, sizeof(cert.verify_command), rc ? "patchvet" : exe);
	append_arg(cert.verify_command, sizeof(cert.verify_command), "certify");
	append_arg(cert.verify_command, sizeof(cert.verify_command), "--verify");
	append_arg(cert.verify_command, sizeof(cert.verify_command), cert_path);
	pv_error_clear(err);
	rc = pv_certificate_verdicts(&cert, &c, err);
	/* The overhead, into the certificate and its result (so every
	 * rendering of the campaign shows it). */
	cert.overhead.threshold_pct = CERT_THRESHOLD_PCT;
	cert.overhead.time_s = a->overhead_time;
	cert.overhead.cycles = CERT_CYCLES;
	if (!rc) {
		measure_overhead(cert.engine_arg, scenario, cert.flavour, r->verdict, a->seed,
		                 &cert.overhead);
		struct pv_result *w = &c.results[0];
		memcpy(w->overhead, cert.overhead.figures, sizeof(w->overhead));
		w->noverhead = cert.overhead.nfigures;
	}
	if (!rc) {
		pv_report_text(&c, out_abs, stdout);
		char line[PV_ERROR_MSG_MAX + 64];
		overhead_sentence(&cert.overhead, line, sizeof(line));
		printf("overhead: %s\n", line);
		rc = write_certificate(&cert, &c, out_abs, a->formats, err);
	}
	if (!rc)
		printf("verify with: %s\n", cert.verify_command);
	int status = rc ? rc : pv_campaign_exit_status(&c);
	/* A refuted overhead claim fails the certificate as an UNSAFE verdict
	 * does. */
	if (!rc && status != PV_EXIT_VIOLATION && cert.overhead.judged &&
	    cert.overhead.verdict == PV_CLAIM_REFUTED)
		status = PV_EXIT_VIOLATION;
	pv_certificate_free(&cert);
	pv_campaign_free(&c);
	return status;
}

/* 0 when f still hashes to what the certificate says; otherwise one line on
 * stderr and 1 (2 when the file cannot be read at all). */
static int check_file(const char *cert_path, const char *what, const char *path,
                      const char *want)
{
	char now[PV_SHA256_HEX_LEN + 1];
	struct pv_error err;
	pv_error_clear(&err);
	if (pv_sha256_file(path, now, &err)) {
		fprintf(stderr, "patchvet: %s: the certified %s %s cannot be hashed: %s\n", cert_path,
		        what, path, err.msg);
		return 1;
	}
	if (strcmp(now, want)) {
		fprintf(stderr, "patchvet: %s: the certified %s %s has changed: its SHA-256 is now "
		                "%s, the certificate says %s\n",
		        cert_path, what, path, now, want);
		return 1;
	}
	return 0;
}

static const struct pv_cert_verdict *find_verdict(const struct pv_certificate *cert,
                                                  const struct pv_cert_verdict *v)
{
	for (size_t i = 0; i < cert->nverdicts; i++)
		if (!strcmp(cert->verdicts[i].engine, v->engine) &&
		    !strcmp(cert->verdicts[i].scenario, v->scenario) &&
		    !strcmp(cert->verdicts[i].backend, v->backend))
			return &cert->verdicts[i];
	return NULL;
}

static void verdict_words(const struct pv_cert_verdict *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", pv_verdict_name(v->verdict), v->checks[0] ? " (" : "",
	         v->checks, v->checks[0] ? ")" : "");
}

static const struct pv_overhead_figure *find_figure(const struct pv_cert_overhead *o,
                                                    const char *name)
{
	for (size_t i = 0; i < o->nfigures; i++)
		if (!strcmp(o->figures[i].name, name))
			return &o->figures[i];
	return NULL;
}

/* Equal as exact figures are: the same counts give the same double; the
 * margin only absorbs the JSON round trip's last digit. */
static bool same_value(double x, double y)
{
	return fabs(x - y) <= 1e-9 * fmax(1, fmax(fabs(x), fabs(y)));
}

/* Compares the re-measured overhead with the certified one, printing a
 * line per figure that differs; returns how many refute the certificate.
 * Exact figures (a point interval: emu counts, booked mappings) must be
 * equal. A statistical one (native cpu) must keep its verdict; one that
 * moved to or from INCONCLUSIVE is near its threshold and is reported as
 * unsettled, not refuted; so is a native figure (exact or not) that cannot
 * be measured here (no ptrace). words receives a summary for the
 * `confirmed` line. */
static size_t compare_overhead(const char *path, const struct pv_cert_overhead *was,
                               const struct pv_cert_overhead *now, char *words, size_t len)
{
	size_t refuting = 0, unsettled = 0;
	char a[PV_ERROR_MSG_MAX + 160], b[PV_ERROR_MSG_MAX + 160];
	for (size_t i = 0; i < was->nfigures; i++) {
		const struct pv_overhead_figure *v = &was->figures[i];
		const struct pv_overhead_figure *w = find_figure(now, v->name);
		if (!v->measured)
			continue;
		pv_report_figure_line(v, a, sizeof(a));
		if (w)
			pv_report_figure_line(w, b, sizeof(b));
		else
			snprintf(b, sizeof(b), "not measured: %s", now->note);
		bool exact = pv_report_figure_exact(v);
		if (w && w->measured &&
		    (exact ? pv_report_figure_exact(w) && same_value(v->est, w->est) &&
		                 v->claim == w->claim
		           : v->claim == w->claim))
			continue;
		bool native = !strcmp(pv_report_figure_where(v), "native");
		bool gone = !w || !w->measured;
		if ((native && gone) ||
		    (!exact && (gone || v->claim == PV_CLAIM_INCONCLUSIVE ||
		                w->claim == PV_CLAIM_INCONCLUSIVE))) {
			unsettled++;
			printf("unsettled: %s: overhead %s: certified %s, now %s (a statistical figure "
			       "near its threshold or not measurable here: not a refutation)\n",
			       path, v->name, a, b);
			continue;
		}
		if (!refuting++)
			printf("refuted: %s\n", path);
		printf("  overhead %s: certified %s, now %s\n", v->name, a, b);
	}
	if (!refuting && was->judged && now->judged && was->verdict != now->verdict)
		unsettled++;
	snprintf(words, len, ", overhead %s%s", was->judged ? pv_claim_name(was->verdict)
	                                                     : "not measured",
	         unsettled ? " (a figure unsettled, see above)" : " again");
	return refuting;
}

int pv_certify_verify(const char *cert_path, const char *out_dir,
                      const struct pv_run_progress *progress, struct pv_error *err)
{
	struct pv_certificate cert, now = {0};
	int rc = pv_certificate_load(cert_path, &cert, err);
	if (rc)
		return rc;
	/* The files first: a changed byte is a different patch, and re-running
	 * it would certify something else. */
	char exe[PATH_MAX];
	int changed = 0;
	bool builtin = !strcmp(cert.engine_kind, "built-in");
	if (builtin && (rc = self_exe(exe, sizeof(exe), err)) != 0) {
		pv_certificate_free(&cert);
		return rc;
	}
	changed += check_file(cert_path, "target", cert.target.path, cert.target.sha256);
	changed += check_file(cert_path, "patch", cert.patch.path, cert.patch.sha256);
	changed += check_file(cert_path,
	                      builtin ? "engine (built into the patchvet binary)" : "engine",
	                      builtin ? exe : cert.engine.path, cert.engine.sha256);
	if (changed) {
		pv_certificate_free(&cert);
		return PV_EXIT_USAGE;
	}
	if (strcmp(cert.patchvet_version, PV_VERSION))
		fprintf(stderr, "patchvet: note: certified by patchvet %s, verified by %s\n",
		        cert.patchvet_version, PV_VERSION);
	char out[PATH_MAX + 16];
	if (out_dir) {
		snprintf(out, sizeof(out), "%s", out_dir);
	} else {
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s", cert_path);
		char *slash = strrchr(copy, '/');
		if (slash)
			*slash = '\0';
		snprintf(out, sizeof(out), "%s/verify", slash ? copy : ".");
	}
	struct pv_campaign c;
	pv_campaign_init(&c);
	rc = run_certified(cert.engine_arg, cert.scenario_arg, cert.backend, cert.flavour,
	                   cert.schedules, cert.seed, out, progress, &c, err);
	if (!rc)
		rc = pv_certificate_verdicts(&now, &c, err);
	/* The re-run must have run the very files certified. */
	for (size_t i = 0; !rc && i < c.nresults; i++) {
		const struct pv_result *r = &c.results[i];
		if (strcmp(r->target_sha256, cert.target.sha256) ||
		    strcmp(r->patch_sha256, cert.patch.sha256)) {
			fprintf(stderr, "patchvet: %s: the re-run used target %s (SHA-256 %s) and patch %s "
			                "(SHA-256 %s), not the certified ones\n",
			        cert_path, r->target, r->target_sha256, r->patch, r->patch_sha256);
			pv_campaign_free(&c);
			pv_certificate_free(&cert);
			pv_certificate_free(&now);
			return PV_EXIT_USAGE;
		}
	}
	int status = PV_EXIT_OK;
	if (rc) {
		status = rc;
	} else {
		size_t differ = 0;
		char overhead_words[160] = "";
		if (cert.overhead.present) {
			now.overhead = cert.overhead; /* its settings */
			measure_overhead(cert.engine_arg, cert.scenario_arg, cert.flavour,
			                 c.nresults ? c.results[0].verdict : PV_VERDICT_ERROR, cert.seed,
			                 &now.overhead);
			differ += compare_overhead(cert_path, &cert.overhead, &now.overhead,
			                           overhead_words, sizeof(overhead_words));
			if (c.nresults) { /* the re-run's results.json shows them too */
				memcpy(c.results[0].overhead, now.overhead.figures,
				       sizeof(c.results[0].overhead));
				c.results[0].noverhead = now.overhead.nfigures;
			}
		} else {
			snprintf(overhead_words, sizeof(overhead_words), "; the certificate states no "
			                                                 "overhead (made by a patchvet that did not measure it)");
		}
		rc = pv_report_write(&c, &(struct pv_report_info){.out_dir = out}, out, "results",
		                     PV_FORMAT_JSON | PV_FORMAT_TEXT, NULL, err);
		if (rc) {
			status = rc;
			goto out;
		}
		char was[300], is[300];
		for (size_t i = 0; i < cert.nverdicts; i++) {
			const struct pv_cert_verdict *v = &cert.verdicts[i];
			const struct pv_cert_verdict *w = find_verdict(&now, v);
			if (w && w->verdict == v->verdict && !strcmp(w->checks, v->checks))
				continue;
			if (!differ++)
				printf("refuted: %s\n", cert_path);
			verdict_words(v, was, sizeof(was));
			if (w)
				verdict_words(w, is, sizeof(is));
			printf("  %s on %s (%s): certified %s, now %s\n", v->engine, v->scenario,
			       v->backend, was, w ? is : "no result");
		}
		for (size_t i = 0; i < now.nverdicts; i++)
			if (!find_verdict(&cert, &now.verdicts[i])) {
				if (!differ++)
					printf("refuted: %s\n", cert_path);
				verdict_words(&now.verdicts[i], is, sizeof(is));
				printf("  %s on %s (%s): not certified, now %s\n", now.verdicts[i].engine,
				       now.verdicts[i].scenario, now.verdicts[i].backend, is);
			}
		if (differ) {
			status = PV_EXIT_VIOLATION;
		} else {
			verdict_words(&cert.verdicts[0], was, sizeof(was));
			printf("confirmed: %s: %s on %s (%s): %s again, after %" PRIu64
			       " schedules (seed %" PRIu64 ")%s; the target, patch and engine hash as "
			       "certified\n",
			       cert_path, cert.verdicts[0].engine, cert.verdicts[0].scenario,
			       cert.verdicts[0].backend, was, cert.schedules, cert.seed, overhead_words);
		}
	}
out:
	pv_campaign_free(&c);
	pv_certificate_free(&cert);
	pv_certificate_free(&now);
	return status;
}
