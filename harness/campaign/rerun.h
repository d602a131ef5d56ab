/* A reproducer made ready to run again: its binaries found and checked
 * (SHA-256), its engine planned on its backend. `patchvet replay`,
 * `patchvet minimize` and the stories of reports all re-run streams
 * through one of these. */
#ifndef PV_HARNESS_SESSION_H
#define PV_HARNESS_SESSION_H

#include <limits.h>
#include <stdbool.h>

#include <patchvet/engine.h>
#include <patchvet/error.h>

#include "../model/backend.h"
#include "engine_load.h"
#include "../load/reproducer.h"
#include "../model/sequence.h"

struct pv_session {
	struct pv_reproducer *repro;      /* owned */
	const struct pv_backend_ops *ops;
	void *handle;
	const struct pv_engine *engine;
	struct pv_loaded_engine *loaded;  /* owned: a plugin or exec engine, or NULL */
	void *state;
	bool native;                      /* ptrace: timing is not in the stream */
	char target[PATH_MAX], patch[PATH_MAX];
	/* A lifecycle reproducer: its sequence (NULL: one apply and
	 * one revert) and the states of its patches after the first. */
	struct pv_sequence *seq;          /* owned */
	void *states[PV_SEQ_MAX_PATCHES]; /* states[0] is state */
	const char *extra[PV_SEQ_MAX_PATCHES]; /* borrowed from repro */
	/* A real program's scenario (its [program]), read again from the
	 * recorded scenario file; its {workdir}s go beside the reproducer
	 * (under the run's --out). NULL: a corpus target. */
	struct pv_scenario *scenario;     /* owned */
	char work_dir[PATH_MAX];
};

/* Loads file and opens its backend. PV_EREFUSED (with the engine's reason
 * in err) when the engine now refuses the patch; PV_EABI for a reproducer
 * recorded by another version of patchvet; PV_EINVAL for binaries whose
 * SHA-256 differs from the recorded ones. */
int pv_session_open(const char *file, struct pv_session **out, struct pv_error *err);

/* pv_session_open with the engine given by engine (an --engine argument:
 * a built-in name, a plugin's path or exec:FILE) instead of the recorded
 * one; NULL: the recorded one, the file of a plugin or exec engine loaded
 * again from its recorded spec and refused (PV_EABI) when its SHA-256
 * changed. */
int pv_session_open_engine(const char *file, const char *engine, struct pv_session **out,
                           struct pv_error *err);

/* One run of stream (the reproducer's own when stream is NULL). */
int pv_session_run(struct pv_session *s, const uint8_t *stream, size_t len,
                   struct pv_run_result *res, struct pv_error *err);

/* The violation of res with the reproducer's check, or NULL. */
const struct pv_violation *pv_session_same(const struct pv_session *s,
                                           const struct pv_run_result *res);

/* The story of one run of stream: every event (at most max), with the
 * preemptions the run made. *out is freed with pv_story_free. PV_EUNSUPPORTED
 * on a backend without stories (ptrace). */
int pv_session_story(struct pv_session *s, const uint8_t *stream, size_t len, size_t max,
                     struct pv_story **out, struct pv_run_result *res, struct pv_error *err);

void pv_session_close(struct pv_session *s);

#endif
