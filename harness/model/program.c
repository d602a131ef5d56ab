/* Command lines of a program scenario (program.h): split, placeholders. */
#include "program.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pv_program_free(struct pv_program *pg)
{
	if (!pg)
		return;
	free(pg->command);
	free(pg->env);
	free(pg->cwd);
	free(pg->stdin_path);
	free(pg->stdout_path);
	free(pg->ready_arg);
	free(pg->load);
	free(pg->verify_command);
	free(pg->dir);
	free(pg);
}

void pv_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* A growing string. */
struct buf {
	char *s;
	size_t len, cap;
};

static int put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *ns = realloc(b->s, cap);
		if (!ns)
			return PV_ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int pv_program_expand(const char *text, const struct pv_program_vars *vars, char **out,
                      struct pv_error *err)
{
	struct buf b = {0};
	int rc = put(&b, "", 0);
	for (const char *s = text; !rc && *s;) {
		if (*s != '{') {
			size_t n = strcspn(s, "{");
			rc = put(&b, s, n);
			s += n;
			continue;
		}
		size_t n = strcspn(s + 1, "{} \t");
		if (s[1 + n] != '}') {
			/* Not a placeholder: a literal brace. */
			rc = put(&b, s, 1);
			s++;
			continue;
		}
		char port[16];
		const char *v = NULL;
		if (n == 6 && !strncmp(s + 1, "target", 6))
			v = vars->target;
		else if (n == 3 && !strncmp(s + 1, "dir", 3))
			v = vars->dir;
		else if (n == 7 && !strncmp(s + 1, "workdir", 7))
			v = vars->workdir;
		else if (n == 4 && !strncmp(s + 1, "port", 4)) {
			snprintf(port, sizeof(port), "%u", vars->port);
			v = port;
		} else {
			free(b.s);
			return pv_error_set(err, PV_EFORMAT, "unknown placeholder {%.*s} (expected "
			                                     "{target}, {dir}, {workdir} or {port})",
			                    (int)(n < 32 ? n : 32), s + 1);
		}
		rc = put(&b, v ? v : "", v ? strlen(v) : 0);
		s += n + 2;
	}
	if (rc) {
		free(b.s);
		return pv_error_set(err, rc, "out of memory");
	}
	*out = b.s;
	return 0;
}

int pv_program_split(const char *line, const struct pv_program_vars *vars, char ***argv,
                     struct pv_error *err)
{
	*argv = NULL;
	char **v = calloc(PV_PROGRAM_ARGS_MAX + 1, sizeof(*v));
	if (!v)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	size_t n = 0;
	int rc = 0;
	const char *s = line;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == PV_PROGRAM_ARGS_MAX) {
			rc = pv_error_set(err, PV_EFORMAT, "more than %d words", PV_PROGRAM_ARGS_MAX);
			break;
		}
		struct buf w = {0};
		bool quoted = false;
		rc = put(&w, "", 0) ? PV_ENOMEM : 0;
		for (; !rc && *s && (quoted || (*s != ' ' && *s != '\t')); s++)
			if (*s == '"')
				quoted = !quoted;
			else
				rc = put(&w, s, 1);
		if (rc == PV_ENOMEM)
			rc = pv_error_set(err, PV_ENOMEM, "out of memory");
		else if (quoted)
			rc = pv_error_set(err, PV_EFORMAT, "a double quote is not closed");
		if (!rc)
			rc = pv_program_expand(w.s, vars, &v[n], err);
		free(w.s);
		if (rc)
			break;
		n++;
	}
	if (!rc && !n)
		rc = pv_error_set(err, PV_EFORMAT, "no command (the value has no word)");
	if (rc) {
		pv_argv_free(v);
		return rc;
	}
	*argv = v;
	return 0;
}

int pv_signal_from_name(const char *name)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {{"TERM", SIGTERM}, {"INT", SIGINT}, {"HUP", SIGHUP},  {"QUIT", SIGQUIT},
	            {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"KILL", SIGKILL},
	            {"WINCH", SIGWINCH}};
	if (!strncmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(name, sigs[i].name))
			return sigs[i].sig;
	char *end;
	long v = strtol(name, &end, 10);
	return *name && !*end && v > 0 && v < 65 ? (int)v : 0;
}
