/* patchvet certify: one engine on one scenario, run as an engine campaign,
 * written as a certificate another party can check (`--verify`): the hashes
 * of what ran, the settings, every verdict, the command that re-runs it. */
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engines/catalogue.h"
#include "../engines/plugin.h"
#include "../reports/certificate.h"
#include "../reports/report.h"
#include "campaign.h"
#include "cli.h"
#include "exec_adapter.h"
#include "files.h"
#include "hash.h"
#include "run.h"
#include "scenario.h"

static const char certify_help[] =
	"usage: patchvet certify --engine E --scenario S [--backend emu|ptrace]\n"
	"                        [--schedules N] [--seed N] [--flavour F] [--out DIR]\n"
	"                        [--format json,md,html]\n"
	"       patchvet certify --verify CERT [--out DIR]\n"
	"\n"
	"Runs engine E on scenario S (N schedules, default 1000 on emu and 20 on\n"
	"ptrace; random explorer seeded with --seed, default 1) and writes\n"
	"DIR/certificate.json (default DIR: out): the SHA-256 of the target, the patch\n"
	"and the engine (a plugin's .so; for a built-in engine, the patchvet binary),\n"
	"the patchvet version, seed, schedules, explorer and its guarantee, every\n"
	"verdict and the exact command that re-runs it; certificate.md and .html too\n"
	"when --format names them. Reproducers go to DIR/repro/.\n"
	"\n"
	"--verify CERT hashes the certified files again (a changed file: exit 2, one\n"
	"line naming it with both hashes), re-runs the campaign with the same\n"
	"settings (reproducers and results under DIR, default CERT's directory/verify)\n"
	"and compares the verdicts: exit 0 and `confirmed`, or exit 1 and `refuted`\n"
	"with the verdicts that differ.\n"
	"\n"
	"exit status (certify): 0 every verdict SAFE or REFUSED, 1 UNSAFE, 2 bad input,\n"
	"3 an ERROR verdict; the certificate is written in every case but 2.\n";

#define CERT_FORMATS (PV_FORMAT_JSON | PV_FORMAT_MD | PV_FORMAT_HTML)

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
                              size_t *n, char *buf, size_t len)
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
	*n = k;
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
	if (rc || !(formats & (PV_FORMAT_MD | PV_FORMAT_HTML)))
		return rc;
	struct pv_report_fact facts[16];
	char engine[PATH_MAX + 32];
	struct pv_report_info info = {.title = "patchvet certificate", .out_dir = out_dir,
	                              .facts = facts};
	certificate_facts(cert, facts, &info.nfacts, engine, sizeof(engine));
	unsigned written = 0;
	rc = pv_report_write(c, &info, out_dir, "certificate", formats & ~PV_FORMAT_JSON, &written,
	                     err);
	for (unsigned bit = 1; bit <= PV_FORMAT_ALL; bit <<= 1)
		if (written & bit)
			printf("certificate: %s/certificate.%s\n", out_dir, pv_report_format_ext(bit));
	return rc;
}

struct args {
	const char *engine, *scenario, *backend, *out_dir, *verify;
	uint64_t schedules, seed;
	bool schedules_given;
	const char *flavour;
	unsigned formats;
};

static int flavour_bit(const char *name, unsigned *bit)
{
	for (unsigned b = 1; b <= PV_FLAVOUR_ALL; b <<= 1)
		if (!strcmp(name, pv_flavour_name(b))) {
			*bit = b;
			return 0;
		}
	return -1;
}

/* Runs the campaign of a certificate's settings into c. */
static int run_certified(const char *engine, const char *scenario, const char *backend,
                         const char *flavour, uint64_t schedules, uint64_t seed,
                         const char *out_dir, struct pv_campaign *c, struct pv_error *err)
{
	char data[PATH_MAX];
	int rc = pv_data_dir(data, sizeof(data), err);
	if (rc)
		return rc;
	const char *engines[1] = {engine}, *scenarios[1] = {scenario};
	struct pv_run_options o = {.engines = engines, .nengines = 1, .scenarios = scenarios,
	                           .nscenarios = 1, .backend = backend,
	                           .flavour = PV_FLAVOUR_PLAIN, .schedules = schedules,
	                           .seed = seed, .out_dir = out_dir};
	if (flavour) {
		if (flavour_bit(flavour, &o.flavour))
			return pv_error_set(err, PV_EINVAL, "unknown flavour '%s'", flavour);
		o.flavour_given = true;
	}
	return pv_run_engines_campaign(&o, data, c, err);
}

static int certify(const struct args *a)
{
	struct pv_error err;
	pv_error_clear(&err);
	struct pv_certificate cert = {0};
	struct pv_campaign c;
	pv_campaign_init(&c);
	/* exec engines run only on ptrace */
	const char *backend = a->backend ? a->backend : pv_exec_is_spec(a->engine) ? "ptrace" : "emu";
	uint64_t schedules = a->schedules_given ? a->schedules
	                                        : !strcmp(backend, "ptrace") ? 20 : 1000;
	char out_abs[PATH_MAX];
	int rc = engine_file(a->engine, &cert, &err);
	if (!rc)
		rc = pv_mkdir_p(a->out_dir, &err);
	if (!rc && !realpath(a->out_dir, out_abs))
		rc = pv_error_set(&err, PV_EIO, "%s: %s", a->out_dir, strerror(errno));
	if (!rc)
		rc = pv_sha256_file(cert.engine.path, cert.engine.sha256, &err);
	/* A scenario given by path is certified by its absolute path. */
	char scen_abs[PATH_MAX];
	const char *scenario = a->scenario;
	if (!rc && strchr(scenario, '/') && realpath(scenario, scen_abs))
		scenario = scen_abs;
	if (!rc)
		rc = run_certified(cert.engine_arg, scenario, backend, a->flavour, schedules, a->seed,
		                   out_abs, &c, &err);
	if (!rc && c.nresults != 1)
		rc = pv_error_set(&err, PV_EINTERNAL, "certify ran %zu results, not 1", c.nresults);
	if (rc) {
		pv_campaign_free(&c);
		return pv_cli_fail(&err);
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
	rc = self_exe(exe, sizeof(exe), &err);
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
	append_arg(cert.command, sizeof(cert.command), "--out");
	append_arg(cert.command, sizeof(cert.command), out_abs);
	char cert_path[PATH_MAX + 32];
	snprintf(cert_path, sizeof(cert_path), "%s/certificate.json", out_abs);
	append_arg(cert.verify_command, sizeof(cert.verify_command), rc ? "patchvet" : exe);
	append_arg(cert.verify_command, sizeof(cert.verify_command), "certify");
	append_arg(cert.verify_command, sizeof(cert.verify_command), "--verify");
	append_arg(cert.verify_command, sizeof(cert.verify_command), cert_path);
	pv_error_clear(&err);
	rc = pv_certificate_verdicts(&cert, &c, &err);
	if (!rc) {
		pv_report_text(&c, out_abs, stdout);
		rc = write_certificate(&cert, &c, out_abs, a->formats, &err);
	}
	if (!rc)
		printf("verify with: %s\n", cert.verify_command);
	int status = rc ? pv_cli_fail(&err) : pv_campaign_exit_status(&c);
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

static int verify(const struct args *a)
{
	struct pv_error err;
	pv_error_clear(&err);
	struct pv_certificate cert, now = {0};
	if (pv_certificate_load(a->verify, &cert, &err))
		return pv_cli_fail(&err);
	/* The files first: a changed byte is a different patch, and re-running
	 * it would certify something else. */
	char exe[PATH_MAX];
	int changed = 0;
	bool builtin = !strcmp(cert.engine_kind, "built-in");
	if (builtin && self_exe(exe, sizeof(exe), &err)) {
		pv_certificate_free(&cert);
		return pv_cli_fail(&err);
	}
	changed += check_file(a->verify, "target", cert.target.path, cert.target.sha256);
	changed += check_file(a->verify, "patch", cert.patch.path, cert.patch.sha256);
	changed += check_file(a->verify,
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
	if (a->out_dir) {
		snprintf(out, sizeof(out), "%s", a->out_dir);
	} else {
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s", a->verify);
		char *slash = strrchr(copy, '/');
		if (slash)
			*slash = '\0';
		snprintf(out, sizeof(out), "%s/verify", slash ? copy : ".");
	}
	struct pv_campaign c;
	pv_campaign_init(&c);
	int rc = run_certified(cert.engine_arg, cert.scenario_arg, cert.backend, cert.flavour,
	                       cert.schedules, cert.seed, out, &c, &err);
	if (!rc)
		rc = pv_certificate_verdicts(&now, &c, &err);
	if (!rc)
		rc = pv_report_write(&c, &(struct pv_report_info){.out_dir = out}, out, "results",
		                     PV_FORMAT_JSON | PV_FORMAT_TEXT, NULL, &err);
	/* The re-run must have run the very files certified. */
	for (size_t i = 0; !rc && i < c.nresults; i++) {
		const struct pv_result *r = &c.results[i];
		if (strcmp(r->target_sha256, cert.target.sha256) ||
		    strcmp(r->patch_sha256, cert.patch.sha256)) {
			fprintf(stderr, "patchvet: %s: the re-run used target %s (SHA-256 %s) and patch %s "
			                "(SHA-256 %s), not the certified ones\n",
			        a->verify, r->target, r->target_sha256, r->patch, r->patch_sha256);
			pv_campaign_free(&c);
			pv_certificate_free(&cert);
			pv_certificate_free(&now);
			return PV_EXIT_USAGE;
		}
	}
	int status = PV_EXIT_OK;
	if (rc) {
		status = pv_cli_fail(&err);
	} else {
		size_t differ = 0;
		char was[300], is[300];
		for (size_t i = 0; i < cert.nverdicts; i++) {
			const struct pv_cert_verdict *v = &cert.verdicts[i];
			const struct pv_cert_verdict *w = find_verdict(&now, v);
			if (w && w->verdict == v->verdict && !strcmp(w->checks, v->checks))
				continue;
			if (!differ++)
				printf("refuted: %s\n", a->verify);
			verdict_words(v, was, sizeof(was));
			if (w)
				verdict_words(w, is, sizeof(is));
			printf("  %s on %s (%s): certified %s, now %s\n", v->engine, v->scenario,
			       v->backend, was, w ? is : "no result");
		}
		for (size_t i = 0; i < now.nverdicts; i++)
			if (!find_verdict(&cert, &now.verdicts[i])) {
				if (!differ++)
					printf("refuted: %s\n", a->verify);
				verdict_words(&now.verdicts[i], is, sizeof(is));
				printf("  %s on %s (%s): not certified, now %s\n", now.verdicts[i].engine,
				       now.verdicts[i].scenario, now.verdicts[i].backend, is);
			}
		if (differ) {
			status = PV_EXIT_VIOLATION;
		} else {
			verdict_words(&cert.verdicts[0], was, sizeof(was));
			printf("confirmed: %s: %s on %s (%s): %s again, after %" PRIu64
			       " schedules (seed %" PRIu64 "); the target, patch and engine hash as "
			       "certified\n",
			       a->verify, cert.verdicts[0].engine, cert.verdicts[0].scenario,
			       cert.verdicts[0].backend, was, cert.schedules, cert.seed);
		}
	}
	pv_campaign_free(&c);
	pv_certificate_free(&cert);
	pv_certificate_free(&now);
	return status;
}

int pv_cmd_certify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"engine", required_argument, NULL, 'e'},
		{"scenario", required_argument, NULL, 's'},
		{"backend", required_argument, NULL, 'b'},
		{"schedules", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 'S'},
		{"flavour", required_argument, NULL, 'f'},
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'F'},
		{"verify", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct args a = {.seed = 1, .formats = PV_FORMAT_JSON};
	struct pv_error err;
	pv_error_clear(&err);
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+e:s:b:n:S:f:o:F:V:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (a.engine)
				return pv_cli_usage("certify", "one --engine only (a certificate is for one "
				                               "engine and one patch)");
			a.engine = optarg;
			break;
		case 's':
			if (a.scenario)
				return pv_cli_usage("certify", "one --scenario only");
			a.scenario = optarg;
			break;
		case 'b':
			if (strcmp(optarg, "emu") && strcmp(optarg, "ptrace"))
				return pv_cli_usage("certify", "unknown backend '%s' (emu or ptrace)", optarg);
			a.backend = optarg;
			break;
		case 'n':
			if (pv_cli_parse_count(optarg, 1, 1000000000, &a.schedules))
				return pv_cli_usage("certify", "--schedules wants a number from 1 to "
				                               "1000000000, not '%s'", optarg);
			a.schedules_given = true;
			break;
		case 'S':
			if (pv_cli_parse_count(optarg, 0, UINT64_MAX, &a.seed))
				return pv_cli_usage("certify", "--seed wants an unsigned 64-bit number, not "
				                               "'%s'", optarg);
			break;
		case 'f': {
			unsigned bit;
			if (flavour_bit(optarg, &bit))
				return pv_cli_usage("certify", "unknown flavour '%s' (plain, pad, fentry or "
				                               "cet)", optarg);
			a.flavour = optarg;
			break;
		}
		case 'o': a.out_dir = optarg; break;
		case 'F':
			if (pv_report_formats_parse(optarg, CERT_FORMATS, &a.formats, &err))
				return pv_cli_usage("certify", "--format: %s", err.msg);
			a.formats |= PV_FORMAT_JSON;
			break;
		case 'V': a.verify = optarg; break;
		case 'h': fputs(certify_help, stdout); return PV_EXIT_OK;
		default:
			return pv_cli_usage("certify", "unknown or incomplete option '%s'",
			                    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return pv_cli_usage("certify", "unexpected argument '%s'", argv[optind]);
	if (a.verify) {
		if (a.engine || a.scenario || a.backend || a.schedules_given || a.flavour)
			return pv_cli_usage("certify", "--verify takes its settings from the "
			                               "certificate; give only --out with it");
		return verify(&a);
	}
	if (!a.engine || !a.scenario)
		return pv_cli_usage("certify", "--engine and --scenario are both required");
	if (!pv_plugin_is_path(a.engine) && !pv_exec_is_spec(a.engine) && !pv_engine_find(a.engine))
		return pv_cli_usage("certify", "unknown engine '%s'; `patchvet list engines` shows "
		                               "the built-in ones", a.engine);
	if (!a.out_dir)
		a.out_dir = "out";
	return certify(&a);
}
