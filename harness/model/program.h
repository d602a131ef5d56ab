/* A real program as a target: the `[program]` section of a scenario
 * (harness/load/scenario.c reads it, harness/ptrace/program.c runs it).
 * How it is started (command, env, cwd, stdin, stdout), when it is ready,
 * what load drives it, how it ends and which oracle judges it. Command lines
 * are argv, never a shell line: words split on blanks, "double quotes"
 * group words, and the placeholders {target} {dir} {workdir} {port} are
 * replaced inside each word after the split (so a path holding blanks stays
 * one word). */
#ifndef PV_MODEL_PROGRAM_H
#define PV_MODEL_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include <patchvet/error.h>

#include "../util/must_check.h"

#define PV_PROGRAM_TIMEOUT_S 60.0  /* a whole run, when `timeout` is absent */
#define PV_PROGRAM_WINDOW_S 0.3    /* `window`, when absent */
#define PV_PROGRAM_ARGS_MAX 256    /* words of one command line */

enum pv_ready {
	PV_READY_DELAY,   /* `delay SECONDS` (the default: delay 0) */
	PV_READY_PORT,    /* `port N`: a TCP connect to 127.0.0.1:N succeeds */
	PV_READY_FILE,    /* `file PATH` exists */
	PV_READY_OUTPUT,  /* `output TEXT` appears on the program's stderr */
};

enum pv_verify {
	PV_VERIFY_EXIT,    /* the program's own exit status (needs stop = exit) */
	PV_VERIFY_LOAD,    /* the load driver's exit status */
	PV_VERIFY_COMMAND, /* a command run after the program ended: exit 0 */
};

enum pv_stop {
	PV_STOP_EXIT,      /* the program ends by itself */
	PV_STOP_SIGNAL,    /* patchvet sends stop_signal, waits stop_wait seconds */
};

struct pv_program {
	char *command;          /* as written (placeholders kept), owned */
	char *env;              /* NAME=VALUE words, NULL: none; owned */
	char *cwd;              /* a path with placeholders; owned ("{workdir}") */
	char *stdin_path;       /* NULL: /dev/null; owned */
	char *stdout_path;      /* NULL: discarded; owned */
	double timeout;         /* seconds a whole run may take */
	enum pv_ready ready;
	char *ready_arg;        /* port (a number or {port}), path, text; owned */
	double ready_delay;     /* seconds, for PV_READY_DELAY */
	char *load;             /* driver command, NULL: none; owned */
	enum pv_verify verify;
	char *verify_command;   /* PV_VERIFY_COMMAND; owned */
	enum pv_stop stop;
	int stop_signal;        /* PV_STOP_SIGNAL */
	double stop_wait;       /* seconds */
	double window;          /* seconds */
	char *dir;              /* the scenario's directory, absolute, for {dir}; owned */
};

/* What the placeholders stand for in one run. */
struct pv_program_vars {
	const char *target;     /* {target} */
	const char *dir;        /* {dir} */
	const char *workdir;    /* {workdir} */
	unsigned port;          /* {port} */
};

void pv_program_free(struct pv_program *pg);

/* Splits line into words (blanks separate them, "double quotes" group
 * them and are removed) and replaces the placeholders of vars in each:
 * *argv (NULL-terminated) and its strings are the caller's (pv_argv_free).
 * PV_EFORMAT with a sentence for an unterminated quote, an unknown
 * placeholder, no word at all or more than PV_PROGRAM_ARGS_MAX words. */
PV_MUST_CHECK int pv_program_split(const char *line, const struct pv_program_vars *vars,
                                   char ***argv, struct pv_error *err);
/* One path or text (no split): the placeholders replaced; *out malloc'd. */
PV_MUST_CHECK int pv_program_expand(const char *text, const struct pv_program_vars *vars,
                                    char **out, struct pv_error *err);
void pv_argv_free(char **argv);

/* "TERM", "SIGTERM" or a number: the signal, 0 when it is none. */
int pv_signal_from_name(const char *name);

#endif
