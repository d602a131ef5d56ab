/* The check registry: one row per check of DESIGN.md (the stable id reports
 * and tests use, the property a run must keep, the events its judge needs
 * from a backend). Backends name a built-in check by its enum pv_check_id,
 * never by a string; campaign, list and expected-line code enumerate checks
 * only through a struct pv_check_registry, which is the built-in rows plus
 * any extension rows a caller adds (a test, a future plugin).
 *
 * A new check is one file under harness/checks/ (its judge and the sentence
 * it words, or only the sentence when a backend judges it) plus one row in
 * registry.c; a built-in one that backends report also names its row in
 * enum pv_check_id. */
#ifndef PV_HARNESS_CHECKS_H
#define PV_HARNESS_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include <patchvet/error.h>

#include "../model/run.h"
#include "../util/must_check.h"

/* The built-in checks, in DESIGN.md order: the index of each one's row. */
enum pv_check_id {
	PV_CHECK_CRASH,
	PV_CHECK_TORN_EXEC,
	PV_CHECK_XMC_UNSYNCED,
	PV_CHECK_CONSISTENCY,
	PV_CHECK_INEFFECTIVE,
	PV_CHECK_STATE_MEM,
	PV_CHECK_STATE_REGS,
	PV_CHECK_STATE_OS,
	PV_CHECK_SYSCALL_DISRUPTED,
	PV_CHECK_ROLLBACK_BYTES,
	PV_CHECK_ROLLBACK_LEAK,
	PV_CHECK_USE_AFTER_REVERT,
	PV_CHECK_LIVENESS,
	PV_CHECK_TARGET_VERIFY,
	PV_CHECK_NBUILTIN
};

/* The room a violation has for its sentence; formatters write into it. */
#define PV_CHECK_DETAIL_LEN sizeof(((struct pv_violation *)0)->detail)

/* The events a check's judge needs from a backend (a backend that cannot
 * deliver them cannot judge the check). */
enum pv_check_hook {
	PV_CHECK_ON_WRITE = 1u << 0, /* every store into code, with the threads' state */
	PV_CHECK_ON_INSN = 1u << 1,  /* every instruction a thread executes in watched code */
	PV_CHECK_ON_PAUSE = 1u << 2, /* every stop and resume the engine causes */
	PV_CHECK_AT_END = 1u << 3,   /* the end of an engine operation, a step or the run */
};

/* A check judged from the finished run alone: 1 and *f (its detail
 * worded by the check) when the run violates it, else 0. */
struct pv_check_finding {
	int thread;          /* -1 when not about one thread */
	uint64_t address;    /* 0 when none */
	char detail[PV_CHECK_DETAIL_LEN];
};
typedef int (*pv_check_end_fn)(const struct pv_run_result *res, struct pv_check_finding *f);

struct pv_check {
	const char *id;          /* "torn-exec": fits pv_violation.check */
	const char *property;    /* one sentence: what a run must keep */
	unsigned hooks;          /* enum pv_check_hook bits */
	pv_check_end_fn at_end;  /* NULL: the backends judge it (hooks say where) */
};

/* The checks one campaign knows: the built-in rows, then extra (may be
 * NULL). A NULL registry is the built-in rows alone. */
struct pv_check_registry {
	const struct pv_check *extra;
	size_t nextra;
};

/* The row of built-in check id. */
const struct pv_check *pv_check_of(enum pv_check_id id);

/* The id of built-in check id ("torn-exec"). */
const char *pv_check_name(enum pv_check_id id);

/* How many checks reg holds, and the i-th (built-in rows first), or NULL
 * beyond them. */
size_t pv_check_count(const struct pv_check_registry *reg);
const struct pv_check *pv_check_at(const struct pv_check_registry *reg, size_t i);

/* The check called id in reg, or NULL. */
const struct pv_check *pv_check_find(const struct pv_check_registry *reg, const char *id);

/* PV_EINVAL with a sentence when an extra row has no id or property, an id
 * too long for a violation, or the id of another row. */
PV_MUST_CHECK int pv_check_registry_validate(const struct pv_check_registry *reg,
                                             struct pv_error *err);

/* Runs the at_end judge of every row of reg that has one on a finished
 * run, appending a violation to res for each that fails (the first one of
 * a check only, as backends do). Returns how many it appended. */
size_t pv_checks_at_end(const struct pv_check_registry *reg, struct pv_run_result *res);

#endif
