/* Exec files: an external engine (a patcher tool of its own) described by a
 * small INI file a person writes by hand, parsed with inih, for
 * `patchvet run --engine exec:FILE`. docs/exec-adapter.md has the format:
 *
 *     [engine]
 *     name = my-patcher            ; [a-z0-9-]+, default: the file's name
 *     description = One line for `patchvet run` tables.
 *     consistency = global         ; global, thread, call or none (default)
 *
 *     [target]
 *     env = LD_PRELOAD=/opt/my/libruntime.so   ; repeatable
 *
 *     [apply]                      ; required; [prepare], [revert], [status]
 *     command = /opt/my/patcher apply {pid} {patch} {target} {workdir}/state
 *     timeout = 10s                ; ms or s, default 10s
 *
 *     [status]
 *     command = /opt/my/patcher status {pid} {workdir}/state
 *     applied = applied            ; the word its stdout holds when patched
 *
 * A command is split into words at blanks ('...' and "..." quote), no
 * shell; placeholders {pid}, {patch}, {target}, {workdir} and {dir} (the
 * exec file's directory) are replaced inside words. Success is exit
 * status 0. */
#ifndef PV_HARNESS_EXECFILE_H
#define PV_HARNESS_EXECFILE_H

#include <stddef.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>
#include "../util/must_check.h"

enum pv_exec_cmd { PV_EXEC_PREPARE, PV_EXEC_APPLY, PV_EXEC_REVERT, PV_EXEC_STATUS,
                   PV_EXEC_NCMDS };

#define PV_EXEC_MAX_WORDS 64
#define PV_EXEC_MAX_ENV 32
#define PV_EXEC_DEFAULT_TIMEOUT_MS 10000u

struct pv_exec_command {
	char **words;            /* owned, NULL-terminated; NULL: no such command */
	size_t nwords;
	unsigned timeout_ms;
	int line;                /* of its command key, for messages */
};

struct pv_execfile {
	char *path;              /* owned, as given */
	char *dir;               /* owned: the directory holding it */
	char *name;              /* owned */
	char *description;       /* owned, "" when absent */
	enum pv_consistency consistency;
	struct pv_exec_command cmds[PV_EXEC_NCMDS];
	char *env[PV_EXEC_MAX_ENV]; /* owned "KEY=VALUE" */
	size_t nenv;
	char *applied_word;      /* owned, NULL: status's exit status decides */
};

/* Parses path. Malformed files give PV_EFORMAT with "FILE:LINE: " and the
 * key; a missing file PV_ENOENT. */
PV_MUST_CHECK int pv_execfile_load(const char *path, struct pv_execfile **out, struct pv_error *err);
void pv_execfile_free(struct pv_execfile *x);

/* The name of command c ("apply"). */
const char *pv_exec_cmd_name(enum pv_exec_cmd c);

/* Values for the placeholders of one run. */
struct pv_exec_vars {
	const char *pid, *patch, *target, *workdir, *dir;
};

/* argv of command c with its placeholders replaced: *argv is owned by the
 * caller (pv_exec_argv_free). PV_ENOENT when the file has no such command. */
int pv_exec_argv(const struct pv_execfile *x, enum pv_exec_cmd c,
                 const struct pv_exec_vars *v, char ***argv, struct pv_error *err);
void pv_exec_argv_free(char **argv);

#endif
