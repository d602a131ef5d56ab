/* The options several commands share (--engine, --scenario, --backend,
 * --schedules, --seed, --flavour, --out, --format, --time), parsed and
 * refused the same way by every command that takes them. A command lists
 * them in its getopt_long table like its own and hands each option getopt
 * returns to pv_cli_options_take before its own switch. */
#ifndef PV_CLI_OPTIONS_H
#define PV_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/must_check.h"

enum pv_cli_opt {
	PV_CLI_OPT_ENGINE = 1u << 0,
	PV_CLI_OPT_SCENARIO = 1u << 1,
	PV_CLI_OPT_BACKEND = 1u << 2,   /* a backend of the registry */
	PV_CLI_OPT_SCHEDULES = 1u << 3, /* 1 to 1000000000 */
	PV_CLI_OPT_SEED = 1u << 4,      /* decimal or 0x hex, 64 bits */
	PV_CLI_OPT_FLAVOUR = 1u << 5,
	PV_CLI_OPT_OUT = 1u << 6,
	PV_CLI_OPT_FORMAT = 1u << 7,
	PV_CLI_OPT_TIME = 1u << 8,      /* seconds, 0 < s <= time_max */
};

/* How a command takes --engine or --scenario given more than once. */
enum pv_cli_many {
	PV_CLI_LAST,  /* the last one given */
	PV_CLI_ONCE,  /* a second is a usage error */
	PV_CLI_MANY,  /* each one, in order, into engines[] or scenarios[] */
};

struct pv_cli_options {
	/* Set by the command. */
	const char *cmd;              /* for usage messages: "run" */
	unsigned takes;               /* enum pv_cli_opt bits */
	enum pv_cli_many engine_many, scenario_many;
	const char *engine_once_why;  /* PV_CLI_ONCE: what follows "one --engine only" */
	bool backend_all;             /* --backend all runs every backend */
	unsigned formats_allowed;     /* enum pv_report_format bits --format may name */
	double time_max;
	/* PV_CLI_MANY: arrays with room for every argument, set by the command. */
	const char **engines, **scenarios;
	size_t nengines, nscenarios;

	/* Filled as options are taken; the command sets defaults before. */
	const char *engine, *scenario; /* the last given, NULL when none */
	const char *backend;          /* as given ("all" too), NULL when not */
	uint64_t schedules;
	bool schedules_given;
	uint64_t seed;
	unsigned flavour;             /* one enum pv_flavour bit */
	const char *flavour_name;     /* as given, NULL when not */
	const char *out_dir;
	unsigned formats;
	double time_s;
	bool time_given;
};

/* The shared options a command's getopt_long table names, each with the
 * value pv_cli_options_take knows it by (the letter run and certify take it
 * as: -e, -s, -b, -n, -S, -f, -o, -F, -T): what it sets as o->takes. */
unsigned pv_cli_options_takes(const struct option *opts);

/* Takes one option getopt_long returned (c, with arg): 0 when it was one of
 * o's and is valid, the usage exit status (its one line printed) when it is
 * invalid, -1 when it is not one of o's. */
PV_MUST_CHECK int pv_cli_options_take(struct pv_cli_options *o, int c, const char *arg);

/* Parses a seed: decimal, or hexadecimal after 0x; optional leading blanks
 * and '+'. 0, or -1 for anything else (a sign, a suffix, an overflow). */
PV_MUST_CHECK int pv_cli_parse_seed(const char *s, uint64_t *out);

#endif
