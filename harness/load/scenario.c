/* Scenario files (harness/load/scenario.h), read by the strict INI reader
 * (ini.h); the handler here checks every section, key and value. */
#include "scenario.h"
#include "../model/sequence.h"
#include "ini.h"

#include <math.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A scenario file is a few hundred bytes; anything near this is not one. */
#define SCENARIO_MAX_BYTES (1L << 20)
#define QUOTE_MAX PV_INI_QUOTE_MAX

enum key_id {
	K_DESCRIPTION,
	K_TARGET,
	K_PATCH,
	K_FLAVOURS,
	K_BACKENDS,
	K_WORKERS,
	K_ITERATIONS,
	K_PARAM,
	K_PATCHES,
	K_SEQUENCE,
	K_COMMAND,
	K_ENV,
	K_CWD,
	K_STDIN,
	K_STDOUT,
	K_TIMEOUT,
	K_READY,
	K_LOAD,
	K_VERIFY,
	K_STOP,
	K_WINDOW,
	K_COUNT
};

static const struct key_spec {
	const char *section;
	const char *name;
} key_specs[K_COUNT] = {
	[K_DESCRIPTION] = {"scenario", "description"},
	[K_TARGET] = {"scenario", "target"},
	[K_PATCH] = {"scenario", "patch"},
	[K_FLAVOURS] = {"scenario", "flavours"},
	[K_BACKENDS] = {"scenario", "backends"},
	[K_WORKERS] = {"workload", "workers"},
	[K_ITERATIONS] = {"workload", "iterations"},
	[K_PARAM] = {"workload", "param"},
	[K_PATCHES] = {"scenario", "patches"},
	[K_SEQUENCE] = {"scenario", "sequence"},
	[K_COMMAND] = {"program", "command"},
	[K_ENV] = {"program", "env"},
	[K_CWD] = {"program", "cwd"},
	[K_STDIN] = {"program", "stdin"},
	[K_STDOUT] = {"program", "stdout"},
	[K_TIMEOUT] = {"program", "timeout"},
	[K_READY] = {"program", "ready"},
	[K_LOAD] = {"program", "load"},
	[K_VERIFY] = {"program", "verify"},
	[K_STOP] = {"program", "stop"},
	[K_WINDOW] = {"program", "window"},
};

static const char *const section_names[] = {"scenario", "workload", "program"};
#define SECTION_PROGRAM 2
#define SECTION_COUNT (sizeof(section_names) / sizeof(section_names[0]))

static const char *const flavour_names[] = {"plain", "pad", "fentry", "cet"};

/* State of one parse: the reader and the handler share it. */
struct parse {
	const char *file;            /* for messages */
	int line;                    /* the line of the key being checked */
	int rc;                      /* first error, 0 when none */
	struct pv_error *err;
	struct pv_scenario *sc;
	int key_line[K_COUNT];       /* where each key was set, 0 when not */
	int section_line[SECTION_COUNT];
};

__attribute__((format(printf, 4, 5))) static int fail(struct parse *p, int code, int line,
                                                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = pv_ini_vfail(&p->rc, p->err, p->file, code, line, fmt, ap);
	va_end(ap);
	return rc;
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Built-in names are single path components: no '/', no leading '.', so a
 * name can never leave data_dir. */
static bool valid_builtin_name(const char *s)
{
	if (!*s || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* ---------------------------------------------------------------- values */

static int set_string(struct parse *p, char **field, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return fail(p, PV_ENOMEM, p->line, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

/* A hint for the most likely mistake: inih only knows ';' comments. */
static const char *hash_hint(const char *value)
{
	return strchr(value, '#') ? " (only ';' starts a comment after a value)" : "";
}

static int parse_unsigned(struct parse *p, const char *key, const char *value,
                          unsigned long min, unsigned long max, unsigned long *out)
{
	char q[QUOTE_MAX + 4];
	const char *s = value;
	while (*s >= '0' && *s <= '9')
		s++;
	if (s == value || *s)
		return fail(p, PV_EFORMAT, p->line, "%s = '%s' is not a whole number%s", key,
		            pv_ini_quote(q, sizeof(q), value), hash_hint(value));
	errno = 0;
	unsigned long v = strtoul(value, NULL, 10);
	if (errno == ERANGE || v < min || v > max)
		return fail(p, PV_EFORMAT, p->line, "%s = %s is out of range (%lu to %lu)", key,
		            pv_ini_quote(q, sizeof(q), value), min, max);
	*out = v;
	return 0;
}

static int parse_signed(struct parse *p, const char *key, const char *value, long *out)
{
	char q[QUOTE_MAX + 4];
	const char *digits = value + (*value == '-' || *value == '+');
	const char *s = digits;
	while (*s >= '0' && *s <= '9')
		s++;
	if (s == digits || *s)
		return fail(p, PV_EFORMAT, p->line, "%s = '%s' is not a whole number%s", key,
		            pv_ini_quote(q, sizeof(q), value), hash_hint(value));
	errno = 0;
	long v = strtol(value, NULL, 10);
	if (errno == ERANGE)
		return fail(p, PV_EFORMAT, p->line, "%s = %s is out of range (%ld to %ld)", key,
		            pv_ini_quote(q, sizeof(q), value), LONG_MIN, LONG_MAX);
	*out = v;
	return 0;
}

/* A list of words from `names` separated by blanks or commas, as bits. */
static int parse_words(struct parse *p, const char *key, const char *value,
                       const char *const *names, size_t count, const char *what,
                       unsigned *out)
{
	char q[QUOTE_MAX + 4];
	unsigned bits = 0;
	const char *s = value;
	for (;;) {
		while (is_blank(*s) || *s == ',')
			s++;
		if (!*s)
			break;
		size_t len = strcspn(s, " \t\r\f\v,");
		size_t i = 0;
		while (i < count && (strlen(names[i]) != len || strncmp(names[i], s, len)))
			i++;
		char word[QUOTE_MAX + 4];
		snprintf(word, sizeof(word), "%.*s", (int)(len < QUOTE_MAX ? len : QUOTE_MAX), s);
		if (i == count) {
			char expected[64] = "";
			for (size_t j = 0; j < count; j++)
				snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected),
				         "%s%s", j ? ", " : "", names[j]);
			return fail(p, PV_EFORMAT, p->line, "unknown %s '%s' in %s (expected %s)%s",
			            what, pv_ini_quote(q, sizeof(q), word), key, expected,
			            hash_hint(value));
		}
		if (bits & (1u << i))
			return fail(p, PV_EFORMAT, p->line, "%s lists '%s' twice", key, word);
		bits |= 1u << i;
		s += len;
	}
	if (!bits)
		return fail(p, PV_EFORMAT, p->line, "%s lists no %s; leave the key out for all of them",
		            key, what);
	*out = bits;
	return 0;
}

/* target and patch: a built-in name, or a path when it holds a '/'. */
static int parse_reference(struct parse *p, const char *key, const char *value, char **field)
{
	char q[QUOTE_MAX + 4];
	if (!*value)
		return fail(p, PV_EFORMAT, p->line, "%s is empty%s", key,
		            strcmp(key, "patch") ? "" : "; leave the key out for no patch");
	if (!strchr(value, '/') && !valid_builtin_name(value))
		return fail(p, PV_EFORMAT, p->line,
		            "%s = '%s' is neither a built-in name (letters, digits, '.', '_', "
		            "'-') nor a path (containing '/')%s",
		            key, pv_ini_quote(q, sizeof(q), value), hash_hint(value));
	return set_string(p, field, value);
}

/* ---------------------------------------------------------------- [program] */

/* Placeholders a load-time check expands (any values do). */
static const struct pv_program_vars check_vars = {
	.target = "/t", .dir = "/d", .workdir = "/w", .port = 1};

/* A command line: splits and expands as a run will. */
static int check_command(struct parse *p, const char *key, const char *value)
{
	char q[QUOTE_MAX + 4];
	char **argv = NULL;
	struct pv_error e;
	pv_error_clear(&e);
	int rc = pv_program_split(value, &check_vars, &argv, &e);
	pv_argv_free(argv);
	if (rc)
		return fail(p, rc, p->line, "%s = '%s': %s", key, pv_ini_quote(q, sizeof(q), value),
		            e.msg);
	return 0;
}

/* A path or a text: non-empty, its placeholders known. */
static int check_text(struct parse *p, const char *key, const char *value)
{
	char q[QUOTE_MAX + 4];
	if (!*value)
		return fail(p, PV_EFORMAT, p->line, "%s is empty; leave the key out for its default",
		            key);
	char *out = NULL;
	struct pv_error e;
	pv_error_clear(&e);
	int rc = pv_program_expand(value, &check_vars, &out, &e);
	free(out);
	if (rc)
		return fail(p, rc, p->line, "%s = '%s': %s", key, pv_ini_quote(q, sizeof(q), value),
		            e.msg);
	return 0;
}

/* Seconds: a decimal number in [min, max] (min excluded when open). */
static int parse_seconds(struct parse *p, const char *key, const char *value, double min,
                         bool open, double max, double *out)
{
	char q[QUOTE_MAX + 4];
	const char *s = value;
	size_t digits = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	double v = !digits || *s ? NAN : strtod(value, NULL);
	if (isnan(v))
		return fail(p, PV_EFORMAT, p->line, "%s = '%s' is not a number of seconds (like 0.5)%s",
		            key, pv_ini_quote(q, sizeof(q), value), hash_hint(value));
	if (v < min || (open && v == min) || v > max)
		return fail(p, PV_EFORMAT, p->line, "%s = %s is out of range (%s%g to %g seconds)", key,
		            pv_ini_quote(q, sizeof(q), value), open ? "more than " : "", min, max);
	*out = v;
	return 0;
}

static int parse_ready(struct parse *p, struct pv_program *pg, const char *value)
{
	char q[QUOTE_MAX + 4];
	size_t n = strcspn(value, " \t");
	const char *arg = value + n;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	static const char *const kinds[] = {"delay", "port", "file", "output"};
	size_t k = 0;
	while (k < 4 && (strlen(kinds[k]) != n || strncmp(value, kinds[k], n)))
		k++;
	if (k == 4)
		return fail(p, PV_EFORMAT, p->line, "ready = '%s': expected `port N`, `file PATH`, "
		                                    "`output TEXT` or `delay SECONDS`",
		            pv_ini_quote(q, sizeof(q), value));
	if (!*arg)
		return fail(p, PV_EFORMAT, p->line, "ready = %s needs %s", kinds[k],
		            k == 0 ? "a number of seconds" : k == 1 ? "a port (a number or {port})"
		            : k == 2 ? "a path" : "a text");
	pg->ready = (enum pv_ready)k;
	if (k == PV_READY_DELAY)
		return parse_seconds(p, "ready = delay", arg, 0, false, 3600, &pg->ready_delay);
	if (k == PV_READY_PORT && strcmp(arg, "{port}")) {
		unsigned long port;
		if (parse_unsigned(p, "ready = port", arg, 1, 65535, &port))
			return p->rc;
	}
	if (k == PV_READY_FILE && check_text(p, "ready = file", arg))
		return p->rc;
	return set_string(p, &pg->ready_arg, arg);
}

static int parse_verify(struct parse *p, struct pv_program *pg, const char *value)
{
	if (!strcmp(value, "exit"))
		pg->verify = PV_VERIFY_EXIT;
	else if (!strcmp(value, "load"))
		pg->verify = PV_VERIFY_LOAD;
	else if (check_command(p, "verify", value))
		return p->rc;
	else
		pg->verify = PV_VERIFY_COMMAND;
	return pg->verify == PV_VERIFY_COMMAND ? set_string(p, &pg->verify_command, value) : 0;
}

static int parse_stop(struct parse *p, struct pv_program *pg, const char *value)
{
	char q[QUOTE_MAX + 4];
	if (!strcmp(value, "exit")) {
		pg->stop = PV_STOP_EXIT;
		return 0;
	}
	char word[16], sig[16], secs[32], extra[2];
	int n = sscanf(value, "%15s %15s %31s %1s", word, sig, secs, extra);
	if (n < 1 || strcmp(word, "signal") || n == 4)
		return fail(p, PV_EFORMAT, p->line, "stop = '%s': expected `exit` or `signal NAME "
		                                    "SECONDS` (like `signal TERM 5`)",
		            pv_ini_quote(q, sizeof(q), value));
	if (n < 3)
		return fail(p, PV_EFORMAT, p->line, "stop = '%s': `signal` needs a signal name and "
		                                    "the seconds to wait for the exit (like "
		                                    "`signal TERM 5`)", pv_ini_quote(q, sizeof(q), value));
	if (!(pg->stop_signal = pv_signal_from_name(sig)))
		return fail(p, PV_EFORMAT, p->line, "stop = '%s': unknown signal '%s' (TERM, INT, HUP, "
		                                    "QUIT, USR1, USR2, KILL, WINCH or a number)",
		            pv_ini_quote(q, sizeof(q), value), sig);
	pg->stop = PV_STOP_SIGNAL;
	return parse_seconds(p, "stop = signal", secs, 0, true, 3600, &pg->stop_wait);
}

static int parse_env(struct parse *p, const char *value)
{
	char q[QUOTE_MAX + 4];
	if (check_command(p, "env", value))
		return p->rc;
	char **argv = NULL;
	struct pv_error e;
	pv_error_clear(&e);
	if (pv_program_split(value, &check_vars, &argv, &e))
		return fail(p, PV_EFORMAT, p->line, "env: %s", e.msg);
	int rc = 0;
	for (size_t i = 0; !rc && argv[i]; i++) {
		const char *w = argv[i];
		size_t n = strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789");
		if (!n || w[n] != '=' || (w[0] >= '0' && w[0] <= '9'))
			rc = fail(p, PV_EFORMAT, p->line, "env: '%s' is not NAME=VALUE",
			          pv_ini_quote(q, sizeof(q), w));
	}
	pv_argv_free(argv);
	return rc;
}

static int set_program_key(struct parse *p, enum key_id id, const char *value)
{
	struct pv_scenario *sc = p->sc;
	if (!sc->program) {
		if (!(sc->program = calloc(1, sizeof(*sc->program))))
			return fail(p, PV_ENOMEM, p->line, "out of memory");
		sc->program->timeout = PV_PROGRAM_TIMEOUT_S;
		sc->program->window = PV_PROGRAM_WINDOW_S;
	}
	struct pv_program *pg = sc->program;
	const char *key = key_specs[id].name;
	switch (id) {
	case K_COMMAND:
		return check_command(p, key, value) ? p->rc : set_string(p, &pg->command, value);
	case K_ENV:
		return parse_env(p, value) ? p->rc : set_string(p, &pg->env, value);
	case K_CWD:
		return check_text(p, key, value) ? p->rc : set_string(p, &pg->cwd, value);
	case K_STDIN:
		return check_text(p, key, value) ? p->rc : set_string(p, &pg->stdin_path, value);
	case K_STDOUT:
		if (check_text(p, key, value))
			return p->rc;
		if (strncmp(value, "{workdir}/", 10) || !value[10])
			return fail(p, PV_EFORMAT, p->line, "stdout = '%s' is not a file under {workdir} "
			                                    "(patchvet writes nothing outside its --out "
			                                    "directory); write stdout = {workdir}/NAME",
			            value);
		return set_string(p, &pg->stdout_path, value);
	case K_TIMEOUT:
		return parse_seconds(p, key, value, 0, true, 86400, &pg->timeout);
	case K_READY:
		return parse_ready(p, pg, value);
	case K_LOAD:
		return check_command(p, key, value) ? p->rc : set_string(p, &pg->load, value);
	case K_VERIFY:
		return parse_verify(p, pg, value);
	case K_STOP:
		return parse_stop(p, pg, value);
	case K_WINDOW:
		return parse_seconds(p, key, value, 0, true, 3600, &pg->window);
	default:
		break;
	}
	return fail(p, PV_EINTERNAL, p->line, "unhandled key %s", key);
}

/* The keys of [program] together. */
static int check_program(struct parse *p)
{
	const struct pv_program *pg = p->sc->program;
	int at = p->section_line[SECTION_PROGRAM];
	if (!pg || !pg->command)
		return fail(p, PV_EFORMAT, at, "missing key 'command' in [program]");
	if (pg->verify == PV_VERIFY_EXIT && pg->stop != PV_STOP_EXIT)
		return fail(p, PV_EFORMAT, p->key_line[K_VERIFY] ? p->key_line[K_VERIFY] : at,
		            "verify = exit needs stop = exit (a program stopped by a signal has no "
		            "exit status of its own to judge); give verify = load or a command");
	if (pg->verify == PV_VERIFY_LOAD && !pg->load)
		return fail(p, PV_EFORMAT, p->key_line[K_VERIFY], "verify = load needs a `load` command");
	if (!p->sc->program->cwd && !(p->sc->program->cwd = strdup("{workdir}")))
		return fail(p, PV_ENOMEM, at, "out of memory");
	return 0;
}

static int set_key(struct parse *p, enum key_id id, const char *value)
{
	struct pv_scenario *sc = p->sc;
	const char *key = key_specs[id].name;
	unsigned long ul;
	switch (id) {
	case K_DESCRIPTION:
		return set_string(p, &sc->description, value);
	case K_TARGET:
		return parse_reference(p, key, value, &sc->target);
	case K_PATCH:
		return parse_reference(p, key, value, &sc->patch);
	case K_FLAVOURS:
		return parse_words(p, key, value, flavour_names, 4, "flavour", &sc->flavours);
	case K_BACKENDS:
		return parse_words(p, key, value, pv_backend_names, PV_BACKEND_COUNT, "backend",
		                   &sc->backends);
	case K_WORKERS:
		if (parse_unsigned(p, key, value, 1, 64, &ul))
			return p->rc;
		sc->workers = (unsigned)ul;
		return 0;
	case K_ITERATIONS:
		return parse_unsigned(p, key, value, 1, ULONG_MAX, &sc->iterations);
	case K_PARAM:
		return parse_signed(p, key, value, &sc->param);
	case K_PATCHES: {
		/* Words, each a built-in name or a path, as `patch` takes. */
		if (!*value)
			return fail(p, PV_EFORMAT, p->line, "patches is empty; leave the key out");
		char *copy = strdup(value), *save = NULL;
		if (!copy)
			return fail(p, PV_ENOMEM, 0, "out of memory");
		int rc = 0;
		for (char *w = strtok_r(copy, " \t", &save); !rc && w; w = strtok_r(NULL, " \t", &save)) {
			char *scratch = NULL;
			rc = parse_reference(p, "patches", w, &scratch);
			free(scratch);
		}
		free(copy);
		return rc ? rc : set_string(p, &sc->patches, value);
	}
	case K_SEQUENCE: {
		struct pv_sequence seq;
		struct pv_error serr;
		pv_error_clear(&serr);
		if (pv_sequence_parse(value, &seq, &serr))
			return fail(p, PV_EFORMAT, p->line, "%s", serr.msg);
		pv_sequence_free(&seq);
		return set_string(p, &sc->sequence, value);
	}
	case K_COMMAND:
	case K_ENV:
	case K_CWD:
	case K_STDIN:
	case K_STDOUT:
	case K_TIMEOUT:
	case K_READY:
	case K_LOAD:
	case K_VERIFY:
	case K_STOP:
	case K_WINDOW:
		return set_program_key(p, id, value);
	case K_COUNT:
		break;
	}
	return fail(p, PV_EINTERNAL, p->line, "unhandled key %s", key);
}

/* One key of the file (pv_ini_key_fn). */
static int on_key(void *user, const char *section, const char *name, const char *value,
                  int line)
{
	struct parse *p = user;
	char q[QUOTE_MAX + 4];
	p->line = line;
	const char *known = NULL;
	for (int id = 0; id < K_COUNT; id++) {
		if (strcmp(key_specs[id].section, section))
			continue;
		known = known ? known : key_specs[id].name;
		if (strcmp(key_specs[id].name, name))
			continue;
		if (p->key_line[id])
			return fail(p, PV_EFORMAT, p->line,
			             "duplicate key '%s' in [%s] (first set on line %d)", name,
			             section, p->key_line[id]);
		p->key_line[id] = p->line;
		return set_key(p, (enum key_id)id, value);
	}
	/* The reader only lets known sections through. */
	if (!known)
		return fail(p, PV_EINTERNAL, p->line, "key in unchecked section [%s]", section);
	char expected[128] = "";
	for (int id = 0; id < K_COUNT; id++)
		if (!strcmp(key_specs[id].section, section))
			snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s%s",
			         *expected ? ", " : "", key_specs[id].name);
	return fail(p, PV_EFORMAT, p->line, "unknown key '%s' in [%s] (expected one of: %s)",
	             pv_ini_quote(q, sizeof(q), name), section, expected);
}

/* ---------------------------------------------------------------- files */

static int parse_file(const char *file, struct pv_scenario *sc, struct pv_error *err)
{
	static const struct pv_ini_format format = {
		.what = "scenario file",
		.max_bytes = SCENARIO_MAX_BYTES,
		.sections = section_names,
		.nsections = SECTION_COUNT,
		.expected = "[scenario], [workload] or [program]",
		.unique_sections = true,
	};
	struct parse p = {.file = file, .err = err, .sc = sc};
	int rc = pv_ini_parse(file, &format, on_key, &p, p.section_line, err);
	if (rc)
		return rc;
	if (!p.key_line[K_TARGET])
		return fail(&p, PV_EFORMAT, 0,
		            p.section_line[0] ? "missing key 'target' in [scenario]"
		                              : "no [scenario] section (it must name a target)");
	if (p.section_line[SECTION_PROGRAM])
		return check_program(&p);
	return 0;
}

/* Returns a malloc'd "a/b" (or "b" when a is NULL), NULL when out of memory. */
static char *join(const char *a, const char *b)
{
	char *s = NULL;
	if (a ? asprintf(&s, "%s/%s", a, b) < 0 : !(s = strdup(b)))
		return NULL;
	return s;
}

/* Directory part of path: "." when there is none. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Last component of path, trailing slashes ignored. */
static char *base_of(const char *path)
{
	size_t end = strlen(path);
	while (end > 1 && path[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	return strndup(path + start, end - start);
}

/* A directory's name for a scenario: its last component, looked up with
 * realpath when that is ".", ".." or "/", and "scenario" as a last resort. */
static char *name_of_dir(const char *dir)
{
	char *name = base_of(dir);
	if (name && strcmp(name, ".") && strcmp(name, "..") && strcmp(name, "/"))
		return name;
	free(name);
	char *real = realpath(dir, NULL);
	name = real ? base_of(real) : NULL;
	free(real);
	if (name && strcmp(name, "/"))
		return name;
	free(name);
	return strdup("scenario");
}

/* The scenario's name when it is given by path: the directory's name for
 * DIR/scenario.ini, else the file name without ".ini". */
static char *name_of_file(const char *file, const char *dir)
{
	char *base = base_of(file);
	if (!base)
		return NULL;
	if (!strcmp(base, "scenario.ini")) {
		free(base);
		return name_of_dir(dir);
	}
	size_t len = strlen(base);
	if (len > 4 && !strcmp(base + len - 4, ".ini"))
		base[len - 4] = '\0';
	return base;
}

static bool is_path(const char *s)
{
	size_t len = strlen(s);
	return strchr(s, '/') || (len > 4 && !strcmp(s + len - 4, ".ini"));
}

/* Fills file and name for a built-in name or a path. */
static int locate(const char *what, const char *data_dir, char **file, char **name,
                  struct pv_error *err)
{
	struct stat st;
	if (!is_path(what)) {
		if (!valid_builtin_name(what))
			return pv_error_set(err, PV_EINVAL,
			                    "'%s' is neither a built-in scenario name nor a path "
			                    "(paths contain '/' or end in .ini)",
			                    what);
		if (!data_dir)
			return pv_error_set(err, PV_EINVAL,
			                    "no data directory to look up built-in scenario '%s' in",
			                    what);
		if (asprintf(file, "%s/scenarios/%s/scenario.ini", data_dir, what) < 0) {
			*file = NULL;
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		}
		if (stat(*file, &st) || !S_ISREG(st.st_mode))
			return pv_error_set(err, PV_ENOENT,
			                    "no built-in scenario '%s' (looked for %s; "
			                    "`patchvet list scenarios` lists them)",
			                    what, *file);
		*name = strdup(what);
		return *name ? 0 : pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	if (stat(what, &st))
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s: %s", what,
		                    strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		char *dir = strdup(what);
		size_t len = dir ? strlen(dir) : 0;
		while (len > 1 && dir[len - 1] == '/')
			dir[--len] = '\0';
		*file = dir ? join(dir, "scenario.ini") : NULL;
		free(dir);
		if (!*file)
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		if (stat(*file, &st) || !S_ISREG(st.st_mode))
			return pv_error_set(err, PV_ENOENT,
			                    "%s: directory holds no scenario.ini (looked for %s)", what,
			                    *file);
		*name = name_of_dir(what);
	} else {
		if (!(*file = strdup(what)))
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		char *dir = dir_of(what);
		*name = dir ? name_of_file(what, dir) : NULL;
		free(dir);
	}
	return *name ? 0 : pv_error_set(err, PV_ENOMEM, "out of memory");
}

void pv_scenario_free(struct pv_scenario *sc)
{
	if (!sc)
		return;
	free(sc->name);
	free(sc->file);
	free(sc->dir);
	free(sc->description);
	free(sc->target);
	free(sc->patch);
	free(sc->patches);
	free(sc->sequence);
	pv_program_free(sc->program);
	free(sc);
}

int pv_scenario_load(const char *name_or_path, const char *data_dir,
                     struct pv_scenario **out, struct pv_error *err)
{
	if (!out)
		return pv_error_set(err, PV_EINVAL, "pv_scenario_load: no place for the result");
	*out = NULL;
	if (!name_or_path || !*name_or_path)
		return pv_error_set(err, PV_EINVAL, "no scenario name or path given");
	struct pv_scenario *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	sc->flavours = PV_FLAVOUR_ALL;
	sc->backends = PV_BACKEND_ALL;
	sc->workers = 2;
	sc->iterations = 1000;
	int rc = locate(name_or_path, data_dir, &sc->file, &sc->name, err);
	if (!rc && !(sc->dir = dir_of(sc->file)))
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!rc)
		rc = parse_file(sc->file, sc, err);
	if (!rc && sc->program && !(sc->program->dir = realpath(sc->dir, NULL)))
		rc = pv_error_set(err, PV_EIO, "%s: %s", sc->dir, strerror(errno));
	if (!rc && !sc->description && !(sc->description = strdup("")))
		rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	if (rc) {
		pv_scenario_free(sc);
		return rc;
	}
	*out = sc;
	return 0;
}

/* ---------------------------------------------------------------- paths */

static int put_path(char *buf, size_t len, struct pv_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int put_path(char *buf, size_t len, struct pv_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return pv_error_set(err, PV_ERANGE, "path is longer than %zu bytes", len - 1);
	}
	return 0;
}

/* A path from the file, relative to the scenario's directory. */
static int resolve(const struct pv_scenario *sc, const char *path, char *buf, size_t len,
                   struct pv_error *err)
{
	if (path[0] == '/')
		return put_path(buf, len, err, "%s", path);
	return put_path(buf, len, err, "%s/%s", sc->dir, path);
}

/* A built-in target lives in data_dir/KIND/NAME-FLAVOUR ("targets" for
 * native builds, "emu" for emulator builds); a path is resolved as is. */
static int target_path(const struct pv_scenario *sc, const char *data_dir, const char *kind,
                       unsigned flavour, char *buf, size_t len, struct pv_error *err)
{
	if (!sc || !buf || !len)
		return pv_error_set(err, PV_EINVAL, "pv_scenario_target_path: no scenario or buffer");
	const char *fl = pv_flavour_name(flavour);
	if (!fl)
		return pv_error_set(err, PV_EINVAL, "%s: 0x%x is not a single flavour", sc->name,
		                    flavour);
	if (strchr(sc->target, '/'))
		return resolve(sc, sc->target, buf, len, err);
	if (!data_dir)
		return pv_error_set(err, PV_EINVAL,
		                    "%s: no data directory to find built-in target '%s' in", sc->name,
		                    sc->target);
	return put_path(buf, len, err, "%s/%s/%s-%s", data_dir, kind, sc->target, fl);
}

int pv_scenario_target_path(const struct pv_scenario *sc, const char *data_dir,
                            unsigned flavour, char *buf, size_t len, struct pv_error *err)
{
	return target_path(sc, data_dir, "targets", flavour, buf, len, err);
}

int pv_scenario_emu_target_path(const struct pv_scenario *sc, const char *data_dir,
                                unsigned flavour, char *buf, size_t len,
                                struct pv_error *err)
{
	return target_path(sc, data_dir, "emu", flavour, buf, len, err);
}

int pv_scenario_named_patch_path(const struct pv_scenario *sc, const char *data_dir,
                                 const char *name, char *buf, size_t len, struct pv_error *err)
{
	if (sc->patches) {
		/* Listed under `patches`: a word of it, whole. */
		size_t n = strlen(name);
		bool listed = false;
		for (const char *w = sc->patches; *w && !listed;) {
			w += strspn(w, " \t");
			size_t k = strcspn(w, " \t");
			listed = k == n && !strncmp(w, name, n);
			w += k;
		}
		if (!listed)
			return pv_error_set(err, PV_EINVAL, "%s: patch '%s' of the sequence is not among "
			                                    "its patches (%s)", sc->file, name, sc->patches);
	}
	if (strchr(name, '/'))
		return resolve(sc, name, buf, len, err);
	if (!data_dir)
		return pv_error_set(err, PV_EINVAL,
		                    "%s: no data directory to find built-in patch '%s' in", sc->name,
		                    name);
	return put_path(buf, len, err, "%s/patches/%s.so", data_dir, name);
}

int pv_scenario_patch_path(const struct pv_scenario *sc, const char *data_dir, char *buf,
                           size_t len, struct pv_error *err)
{
	if (!sc || !buf || !len)
		return pv_error_set(err, PV_EINVAL, "pv_scenario_patch_path: no scenario or buffer");
	if (!sc->patch)
		return pv_error_set(err, PV_ENOENT, "%s: the scenario has no patch", sc->file);
	if (strchr(sc->patch, '/'))
		return resolve(sc, sc->patch, buf, len, err);
	if (!data_dir)
		return pv_error_set(err, PV_EINVAL,
		                    "%s: no data directory to find built-in patch '%s' in", sc->name,
		                    sc->patch);
	return put_path(buf, len, err, "%s/patches/%s.so", data_dir, sc->patch);
}

/* ---------------------------------------------------------------- list */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pv_scenario_list(const char *data_dir, char ***names, size_t *count, struct pv_error *err)
{
	if (!names || !count)
		return pv_error_set(err, PV_EINVAL, "pv_scenario_list: no place for the result");
	*names = NULL;
	*count = 0;
	if (!data_dir)
		return pv_error_set(err, PV_EINVAL, "no data directory to list scenarios in");
	char *dir = join(data_dir, "scenarios");
	if (!dir)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	DIR *d = opendir(dir);
	if (!d) {
		int e = errno;
		int rc = pv_error_set(err, e == ENOENT ? PV_ENOENT : PV_EIO,
		                      "%s: cannot list the built-in scenarios: %s", dir,
		                      strerror(e));
		free(dir);
		return rc;
	}
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		/* Only names that pv_scenario_load accepts as built-in. */
		if (!valid_builtin_name(de->d_name))
			continue;
		char *file = NULL;
		struct stat st;
		if (asprintf(&file, "%s/%s/scenario.ini", dir, de->d_name) < 0) {
			rc = pv_error_set(err, PV_ENOMEM, "out of memory");
			break;
		}
		bool found = !stat(file, &st) && S_ISREG(st.st_mode);
		free(file);
		if (!found)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				rc = pv_error_set(err, PV_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = ncap;
		}
		if (!(v[n] = strdup(de->d_name)))
			rc = pv_error_set(err, PV_ENOMEM, "out of memory");
		else
			n++;
	}
	closedir(d);
	free(dir);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
}

const char *pv_flavour_name(unsigned flavour)
{
	for (unsigned i = 0; i < 4; i++)
		if (flavour == 1u << i)
			return flavour_names[i];
	return NULL;
}

unsigned pv_flavour_from_name(const char *name)
{
	for (unsigned i = 0; name && i < 4; i++)
		if (!strcmp(name, flavour_names[i]))
			return 1u << i;
	return 0;
}
