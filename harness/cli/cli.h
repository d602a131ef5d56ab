/* The patchvet command line: one function per command, and the exit codes
 * of DESIGN.md. */
#ifndef PV_HARNESS_CLI_H
#define PV_HARNESS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <patchvet/error.h>

#include "../checks/registry.h"
#include "../model/version.h"
#include "../util/exit.h"

/* Parses a whole decimal number in [min, max] into *out: 0, or -1 for
 * anything else (a sign, a suffix, an overflow). */
int pv_cli_parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Writes text to f greedily wrapped at `width` columns: the first line
 * starts with `first`, the others with `hang`; ends with a newline. Help
 * paragraphs built from a registry go through it, so a new row rewraps
 * them the way their authors wrapped them by hand. */
void pv_cli_wrap(FILE *f, const char *first, const char *hang, const char *text,
                 unsigned width);

/* Prints "patchvet: MESSAGE" on one line of stderr and returns the exit status. */
int pv_cli_fail(const struct pv_error *err);

/* Prints "patchvet CMD: MESSAGE (see patchvet CMD --help)" and returns 2. */
int pv_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int pv_cmd_analyze(int argc, char **argv);
int pv_cmd_bench(int argc, char **argv);
int pv_cmd_import(int argc, char **argv);
int pv_cmd_list(int argc, char **argv);
/* `patchvet list checks`: one line per check of reg (NULL: the built-in ones). */
void pv_cli_list_checks(FILE *f, const struct pv_check_registry *reg);
int pv_cmd_run(int argc, char **argv);
int pv_cmd_replay(int argc, char **argv);
int pv_cmd_merge(int argc, char **argv);
int pv_cmd_minimize(int argc, char **argv);

int pv_cmd_certify(int argc, char **argv);

#endif
