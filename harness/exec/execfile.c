/* Exec files (execfile.h): strict, so a typo is an error with its line
 * rather than a command that silently never runs. */
#include "execfile.h"

#include "../load/ini.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXECFILE_MAX_BYTES (64 * 1024)
#define TIMEOUT_MAX_MS 600000u

static const char *const cmd_names[PV_EXEC_NCMDS] = {"prepare", "apply", "revert", "status"};

const char *pv_exec_cmd_name(enum pv_exec_cmd c)
{
	return (unsigned)c < PV_EXEC_NCMDS ? cmd_names[c] : "?";
}

struct parse {
	const char *file;
	int line;        /* the line of the key being checked */
	int rc;
	struct pv_error *err;
	struct pv_execfile *x;
	int seen[PV_EXEC_NCMDS][3]; /* line of command, timeout, applied */
	int engine_seen[3];         /* name, description, consistency */
};

__attribute__((format(printf, 3, 4))) static int fail(struct parse *p, int line,
                                                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = pv_ini_vfail(&p->rc, p->err, p->file, PV_EFORMAT, line, fmt, ap);
	va_end(ap);
	return rc;
}

static const char *const section_names[] = {"engine", "target", "prepare", "apply", "revert",
                                            "status"};

/* "10s", "500ms", "2" (seconds). */
static int parse_timeout(struct parse *p, const char *v, unsigned *ms)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	double scale = 1000;
	if (!strcmp(end, "ms"))
		scale = 1;
	else if (strcmp(end, "s") && *end)
		end = NULL;
	if (!end || end == v || errno || !(d > 0) || d * scale > TIMEOUT_MAX_MS ||
	    d * scale < 1)
		return fail(p, p->line, "bad timeout '%s' (a duration like 500ms or 10s, from 1ms to "
		                        "%us)", v, TIMEOUT_MAX_MS / 1000);
	*ms = (unsigned)(d * scale);
	return 0;
}

/* Splits a command line into words: blanks separate, quotes group. */
static int split(struct parse *p, const char *v, struct pv_exec_command *c)
{
	c->words = calloc(PV_EXEC_MAX_WORDS + 1, sizeof(*c->words));
	char *buf = malloc(strlen(v) + 1);
	if (!c->words || !buf) {
		free(buf);
		return p->rc = pv_error_set(p->err, PV_ENOMEM, "out of memory");
	}
	const char *s = v;
	int rc = 0;
	while (!rc) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		size_t n = 0;
		char quote = 0;
		for (; *s && (quote || (*s != ' ' && *s != '\t')); s++) {
			if (quote && *s == quote)
				quote = 0;
			else if (!quote && (*s == '\'' || *s == '"'))
				quote = *s;
			else
				buf[n++] = *s;
		}
		if (quote)
			rc = fail(p, p->line, "unterminated %c quote in the command", quote);
		else if (c->nwords == PV_EXEC_MAX_WORDS)
			rc = fail(p, p->line, "more than %d words in the command", PV_EXEC_MAX_WORDS);
		else if (!(c->words[c->nwords] = strndup(buf, n)))
			rc = p->rc = pv_error_set(p->err, PV_ENOMEM, "out of memory");
		else
			c->nwords++;
	}
	free(buf);
	if (!rc && !c->nwords)
		rc = fail(p, p->line, "empty command");
	return rc;
}

static bool good_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static int set_string(struct parse *p, char **dst, const char *v)
{
	free(*dst);
	if (!(*dst = strdup(v)))
		return p->rc = pv_error_set(p->err, PV_ENOMEM, "out of memory");
	return 0;
}

static int duplicate(struct parse *p, int *seen, const char *key, const char *section)
{
	if (*seen)
		return fail(p, p->line, "duplicate key '%s' in [%s] (first set on line %d)", key,
		            section, *seen);
	*seen = p->line;
	return 0;
}

static int on_engine(struct parse *p, const char *name, const char *value)
{
	struct pv_execfile *x = p->x;
	if (!strcmp(name, "name")) {
		if (duplicate(p, &p->engine_seen[0], name, "engine"))
			return p->rc;
		if (!good_name(value))
			return fail(p, p->line, "engine name '%s' is not [a-z0-9-]+", value);
		return set_string(p, &x->name, value);
	}
	if (!strcmp(name, "description"))
		return duplicate(p, &p->engine_seen[1], name, "engine") ||
		       set_string(p, &x->description, value);
	if (!strcmp(name, "consistency")) {
		static const char *const v[] = {[PV_CONSISTENCY_NONE] = "none",
		                                [PV_CONSISTENCY_GLOBAL] = "global",
		                                [PV_CONSISTENCY_THREAD] = "thread",
		                                [PV_CONSISTENCY_CALL] = "call"};
		if (duplicate(p, &p->engine_seen[2], name, "engine"))
			return p->rc;
		for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			if (v[i] && !strcmp(v[i], value)) {
				x->consistency = (enum pv_consistency)i;
				return 0;
			}
		return fail(p, p->line, "bad consistency '%s' (global, thread, call or none)", value);
	}
	return fail(p, p->line, "unknown key '%s' in [engine] (expected one of: name, "
	                        "description, consistency)", name);
}

static int on_target(struct parse *p, const char *name, const char *value)
{
	struct pv_execfile *x = p->x;
	if (strcmp(name, "env"))
		return fail(p, p->line, "unknown key '%s' in [target] (expected: env)", name);
	const char *eq = strchr(value, '=');
	if (!eq || eq == value || strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	                                        "vwxyz0123456789_") != (size_t)(eq - value))
		return fail(p, p->line, "env '%s' is not NAME=VALUE", value);
	if (x->nenv == PV_EXEC_MAX_ENV)
		return fail(p, p->line, "more than %d env entries", PV_EXEC_MAX_ENV);
	return set_string(p, &x->env[x->nenv++], value);
}

static int on_command(struct parse *p, enum pv_exec_cmd c, const char *name, const char *value)
{
	struct pv_exec_command *cmd = &p->x->cmds[c];
	const char *sec = cmd_names[c];
	if (!strcmp(name, "command")) {
		if (duplicate(p, &p->seen[c][0], name, sec))
			return p->rc;
		cmd->line = p->line;
		return split(p, value, cmd);
	}
	if (!strcmp(name, "timeout"))
		return duplicate(p, &p->seen[c][1], name, sec) ||
		       parse_timeout(p, value, &cmd->timeout_ms);
	if (c == PV_EXEC_STATUS && !strcmp(name, "applied")) {
		if (duplicate(p, &p->seen[c][2], name, sec))
			return p->rc;
		if (!*value || strpbrk(value, " \t"))
			return fail(p, p->line, "applied must be one word, not '%s'", value);
		return set_string(p, &p->x->applied_word, value);
	}
	return fail(p, p->line, "unknown key '%s' in [%s] (expected one of: command, timeout%s)",
	            name, sec, c == PV_EXEC_STATUS ? ", applied" : "");
}

/* One key of the file (pv_ini_key_fn); the reader lets known sections only
 * through. */
static int on_key(void *user, const char *section, const char *name, const char *value,
                  int line)
{
	struct parse *p = user;
	p->line = line;
	/* The on_* handlers answer non-zero on an error they reported: its
	 * code is p->rc. */
	int bad = 0;
	if (!strcmp(section, "engine"))
		bad = on_engine(p, name, value);
	else if (!strcmp(section, "target"))
		bad = on_target(p, name, value);
	else {
		unsigned c = 0;
		while (c < PV_EXEC_NCMDS && strcmp(section, cmd_names[c]))
			c++;
		bad = c < PV_EXEC_NCMDS ? on_command(p, (enum pv_exec_cmd)c, name, value)
		                        : fail(p, p->line, "key in unknown section [%s]", section);
	}
	return bad ? (p->rc ? p->rc : PV_EFORMAT) : 0;
}

void pv_execfile_free(struct pv_execfile *x)
{
	if (!x)
		return;
	free(x->path);
	free(x->dir);
	free(x->name);
	free(x->description);
	for (unsigned c = 0; c < PV_EXEC_NCMDS; c++)
		pv_exec_argv_free(x->cmds[c].words);
	for (size_t i = 0; i < x->nenv; i++)
		free(x->env[i]);
	free(x->applied_word);
	free(x);
}

/* The default name: the file's base name without its extension, kept to
 * [a-z0-9-] so it can name reproducers. */
static int default_name(struct parse *p)
{
	const char *base = strrchr(p->file, '/');
	base = base ? base + 1 : p->file;
	size_t n = strcspn(base, ".");
	char *s = malloc(n + 1);
	if (!s)
		return p->rc = pv_error_set(p->err, PV_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char ch = base[i];
		ch = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
		s[i] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '-';
	}
	s[n] = '\0';
	if (!n) {
		free(s);
		return fail(p, 0, "cannot make an engine name of the file name; set name in "
		                  "[engine]");
	}
	p->x->name = s;
	return 0;
}

int pv_execfile_load(const char *path, struct pv_execfile **out, struct pv_error *err)
{
	*out = NULL;
	static const struct pv_ini_format format = {
		.what = "exec file",
		.max_bytes = EXECFILE_MAX_BYTES,
		.sections = section_names,
		.nsections = sizeof(section_names) / sizeof(section_names[0]),
		.expected = "[engine], [target], [prepare], [apply], [revert] or [status]",
		.unique_sections = false,
	};
	struct pv_execfile *x = calloc(1, sizeof(*x));
	if (!x)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	x->consistency = PV_CONSISTENCY_NONE;
	for (unsigned c = 0; c < PV_EXEC_NCMDS; c++)
		x->cmds[c].timeout_ms = PV_EXEC_DEFAULT_TIMEOUT_MS;
	struct parse p = {.file = path, .err = err, .x = x};
	p.rc = pv_ini_parse(path, &format, on_key, &p, NULL, err);
	for (unsigned c = 0; !p.rc && c < PV_EXEC_NCMDS; c++)
		if ((p.seen[c][1] || p.seen[c][2]) && !p.seen[c][0])
			fail(&p, p.seen[c][1] ? p.seen[c][1] : p.seen[c][2], "[%s] has no command",
			     cmd_names[c]);
	if (!p.rc && !x->cmds[PV_EXEC_APPLY].words)
		fail(&p, 0, "no [apply] command; an exec engine needs at least `[apply]` with "
		            "`command = ...`");
	if (!p.rc && !x->name)
		default_name(&p);
	if (!p.rc && !x->description)
		set_string(&p, &x->description, "");
	if (!p.rc && !(x->path = strdup(path)))
		p.rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	if (!p.rc) {
		const char *slash = strrchr(path, '/');
		x->dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup(".");
		if (!x->dir)
			p.rc = pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	if (p.rc) {
		pv_execfile_free(x);
		return p.rc;
	}
	*out = x;
	return 0;
}

void pv_exec_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* One word with its placeholders replaced; NULL when out of memory. An
 * unknown {name} stays as written. */
static char *expand(const char *w, const struct pv_exec_vars *v)
{
	const struct {
		const char *key, *val;
	} vars[] = {{"{pid}", v->pid},       {"{patch}", v->patch}, {"{target}", v->target},
	            {"{workdir}", v->workdir}, {"{dir}", v->dir}};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	while (*w) {
		bool done = false;
		for (size_t i = 0; !done && i < sizeof(vars) / sizeof(vars[0]); i++) {
			size_t k = strlen(vars[i].key);
			if (!strncmp(w, vars[i].key, k)) {
				fputs(vars[i].val ? vars[i].val : "", f);
				w += k;
				done = true;
			}
		}
		if (!done)
			fputc(*w++, f);
	}
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

int pv_exec_argv(const struct pv_execfile *x, enum pv_exec_cmd c,
                 const struct pv_exec_vars *v, char ***argv, struct pv_error *err)
{
	*argv = NULL;
	const struct pv_exec_command *cmd = &x->cmds[c];
	if (!cmd->words)
		return pv_error_set(err, PV_ENOENT, "%s: no [%s] command", x->path, cmd_names[c]);
	char **a = calloc(cmd->nwords + 1, sizeof(*a));
	if (!a)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	for (size_t i = 0; i < cmd->nwords; i++)
		if (!(a[i] = expand(cmd->words[i], v))) {
			pv_exec_argv_free(a);
			return pv_error_set(err, PV_ENOMEM, "out of memory");
		}
	*argv = a;
	return 0;
}
