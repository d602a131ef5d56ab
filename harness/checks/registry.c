/* The built-in checks, one row each: the id, the property a run must keep,
 * and the events its judge needs. The sentence a violation carries is worded
 * in the check's own file (torn_exec.c, liveness.c, ...). */
#include "registry.h"

#include <stdio.h>
#include <string.h>

#define WRITE PV_CHECK_ON_WRITE
#define INSN PV_CHECK_ON_INSN
#define PAUSE PV_CHECK_ON_PAUSE
#define END PV_CHECK_AT_END

static const struct pv_check builtin[] = {
	[PV_CHECK_CRASH] = {"crash", "no thread faults, executes an invalid instruction, or dies",
	                    INSN | END},
	[PV_CHECK_TORN_EXEC] = {"torn-exec", "no thread executes an instruction whose bytes mix "
	                                     "old and new code, or starts at a byte that is not "
	                                     "an instruction boundary of the code version it sees",
	                        WRITE | INSN | PAUSE | END},
	[PV_CHECK_XMC_UNSYNCED] = {"xmc-unsynced", "code changed while other threads run is made "
	                                           "visible by a serializing protocol (int3 first, "
	                                           "sync_core)",
	                           WRITE | INSN | PAUSE},
	[PV_CHECK_CONSISTENCY] = {"consistency", "the engine's declared consistency "
	                                         "(global/thread/call) holds",
	                          WRITE | INSN},
	[PV_CHECK_INEFFECTIVE] = {"ineffective", "after apply completes, no call path still "
	                                         "reaches the old code",
	                          INSN | END},
	[PV_CHECK_STATE_MEM] = {"state-mem", "target data changes only by the target's own "
	                                     "execution",
	                        PAUSE},
	[PV_CHECK_STATE_REGS] = {"state-regs", "every thread's full register state is unchanged "
	                                       "across every pause the engine causes",
	                         PAUSE},
	[PV_CHECK_STATE_OS] = {"state-os", "file descriptors, mappings, signal masks/handlers, "
	                                   "pending signals unchanged",
	                       PAUSE},
	[PV_CHECK_SYSCALL_DISRUPTED] = {"syscall-disrupted", "a thread blocked in a syscall sees "
	                                                     "no spurious EINTR or lost data "
	                                                     "because of the engine",
	                                PAUSE},
	[PV_CHECK_ROLLBACK_BYTES] = {"rollback-bytes", "after revert, every changed code byte "
	                                               "equals the original ELF's byte",
	                             END},
	[PV_CHECK_ROLLBACK_LEAK] = {"rollback-leak", "after revert, the engine's mappings and "
	                                             "memory are released; repeated apply/revert "
	                                             "does not grow memory",
	                            END},
	[PV_CHECK_USE_AFTER_REVERT] = {"use-after-revert", "no thread executes in memory that "
	                                                   "the engine released",
	                               INSN},
	[PV_CHECK_LIVENESS] = {"liveness", "apply and revert finish (or refuse) within their "
	                                   "bound; the target keeps making progress",
	                       PAUSE | END},
	[PV_CHECK_TARGET_VERIFY] = {"target-verify", "the target's own self-check of its results "
	                                             "passes",
	                            END},
};

_Static_assert(sizeof(builtin) / sizeof(builtin[0]) == PV_CHECK_NBUILTIN,
               "every enum pv_check_id has its row");

const struct pv_check *pv_check_of(enum pv_check_id id)
{
	return &builtin[id];
}

const char *pv_check_name(enum pv_check_id id)
{
	return builtin[id].id;
}

size_t pv_check_count(const struct pv_check_registry *reg)
{
	return PV_CHECK_NBUILTIN + (reg ? reg->nextra : 0);
}

const struct pv_check *pv_check_at(const struct pv_check_registry *reg, size_t i)
{
	if (i < PV_CHECK_NBUILTIN)
		return &builtin[i];
	i -= PV_CHECK_NBUILTIN;
	return reg && i < reg->nextra ? &reg->extra[i] : NULL;
}

const struct pv_check *pv_check_find(const struct pv_check_registry *reg, const char *id)
{
	const struct pv_check *c;
	for (size_t i = 0; id && (c = pv_check_at(reg, i)); i++)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

int pv_check_registry_validate(const struct pv_check_registry *reg, struct pv_error *err)
{
	for (size_t i = 0; reg && i < reg->nextra; i++) {
		const struct pv_check *c = &reg->extra[i];
		if (!c->id || !c->id[0] || !c->property || !c->property[0])
			return pv_error_set(err, PV_EINVAL, "extra check %zu needs an id and a property",
			                    i);
		if (strlen(c->id) >= sizeof(((struct pv_violation *)0)->check))
			return pv_error_set(err, PV_EINVAL, "check id '%s' is longer than %zu characters",
			                    c->id, sizeof(((struct pv_violation *)0)->check) - 1);
		if (pv_check_find(reg, c->id) != c)
			return pv_error_set(err, PV_EINVAL, "check id '%s' is taken by another check",
			                    c->id);
	}
	return 0;
}

size_t pv_checks_at_end(const struct pv_check_registry *reg, struct pv_run_result *res)
{
	size_t added = 0;
	const struct pv_check *c;
	for (size_t i = 0; (c = pv_check_at(reg, i)); i++) {
		if (!c->at_end || res->nviolations == PV_RUN_MAX_VIOLATIONS)
			continue;
		bool seen = false;
		for (size_t k = 0; k < res->nviolations; k++)
			seen |= !strcmp(res->violations[k].check, c->id);
		struct pv_check_finding f = {.thread = -1};
		if (seen || c->at_end(res, &f) != 1)
			continue;
		struct pv_violation *v = &res->violations[res->nviolations++];
		snprintf(v->check, sizeof(v->check), "%s", c->id);
		v->thread = f.thread;
		v->address = f.address;
		v->step = res->decisions;
		snprintf(v->detail, sizeof(v->detail), "%s", f.detail);
		added++;
	}
	return added;
}
