#include "rerun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../engines/catalogue.h"
#include "../backend/registry.h"
#include "../model/version.h"
#include "engine_load.h"
#include "../exec/adapter.h"
#include "../util/files.h"
#include "../load/scenario.h"

static bool exists(const char *path)
{
	return path[0] && access(path, R_OK) == 0;
}

/* The target and patch to run: the recorded paths when they exist; else
 * the scenario's, resolved in today's data directory (a reproducer copied
 * to another checkout of the same build): the native build for a ptrace
 * reproducer, the emulator build otherwise. */
static int resolve_binaries(struct pv_session *s, struct pv_error *err)
{
	const struct pv_reproducer *r = s->repro;
	size_t len = sizeof(s->target);
	if (exists(r->target) && exists(r->patch)) {
		snprintf(s->target, len, "%s", r->target);
		snprintf(s->patch, len, "%s", r->patch);
		return 0;
	}
	char data[PATH_MAX];
	struct pv_scenario *sc = NULL;
	unsigned flavour = 0;
	for (unsigned b = 1; b <= PV_FLAVOUR_ALL; b <<= 1)
		if (!strcmp(r->flavour, pv_flavour_name(b)))
			flavour = b;
	if (!flavour)
		return pv_error_set(err, PV_EFORMAT, "reproducer names an unknown flavour '%s'",
		                    r->flavour);
	struct pv_error ignored;
	int rc = pv_data_dir(data, sizeof(data), &ignored);
	const char *which = exists(r->scenario_file) ? r->scenario_file : r->scenario;
	if (!rc)
		rc = pv_scenario_load(which, data, &sc, &ignored);
	if (!rc)
		rc = s->native
		         ? pv_scenario_target_path(sc, data, flavour, s->target, len, &ignored)
		         : pv_scenario_emu_target_path(sc, data, flavour, s->target, len, &ignored);
	if (!rc)
		rc = pv_scenario_patch_path(sc, data, s->patch, len, &ignored);
	pv_scenario_free(sc);
	if (rc || !exists(s->target) || !exists(s->patch))
		return pv_error_set(err, PV_ENOENT, "the reproducer's binaries are gone: %s and %s "
		                                    "(and scenario %s does not lead to others)",
		                    r->target, r->patch, r->scenario);
	return 0;
}

/* A lifecycle reproducer's sequence (its other patches into cfg) or
 * fault. The patches are the recorded ones, checked by
 * pv_reproducer_check_binaries. */
static int open_lifecycle(struct pv_session *s, const char *file,
                          struct pv_backend_config *cfg, struct pv_error *err)
{
	const struct pv_reproducer *r = s->repro;
	cfg->fault = (enum pv_fault)pv_fault_parse(r->fault, strlen(r->fault));
	if (!r->sequence[0])
		return 0;
	if (!(s->seq = calloc(1, sizeof(*s->seq))))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	struct pv_error serr;
	pv_error_clear(&serr);
	if (pv_sequence_parse(r->sequence, s->seq, &serr)) {
		free(s->seq);
		s->seq = NULL;
		return pv_error_set(err, PV_EFORMAT, "%s: sequence: %s", file, serr.msg);
	}
	for (size_t i = 0; i + 1 < s->seq->npatches && i < PV_REPRO_EXTRA_MAX; i++)
		s->extra[i] = r->extra_patch[i];
	cfg->extra_patches = s->extra;
	cfg->nextra = s->seq->npatches - 1;
	return 0;
}

/* The engine of the reproducer: `override` (--engine) when given; else the
 * file it recorded (engine-spec), refused when its SHA-256 changed (checked
 * before the file is loaded: a changed plugin is not even dlopened); else
 * the built-in engine of that name. */
static int open_engine(const char *file, const char *override, struct pv_session *s,
                       struct pv_error *err)
{
	const struct pv_reproducer *r = s->repro;
	const char *spec = override ? override : r->engine_spec[0] ? r->engine_spec : NULL;
	if (!spec) {
		const struct pv_engine_entry *entry = pv_engine_find(r->engine);
		if (!entry)
			return pv_error_set(err, PV_ENOENT, "%s: recorded with engine '%s', which is not "
			                                    "built into patchvet %s; name its plugin or "
			                                    "exec file with --engine SPEC",
			                    file, r->engine, PV_VERSION);
		s->engine = entry->engine;
		return 0;
	}
	char msg[PV_ERROR_MSG_MAX];
	if (!override) {
		const char *path = spec + (pv_exec_is_spec(spec) ? strlen(PV_EXEC_PREFIX) : 0);
		char now[PV_SHA256_HEX_LEN + 1];
		int rc = pv_sha256_file(path, now, err);
		if (rc) {
			snprintf(msg, sizeof(msg), "%s", err->msg);
			return pv_error_set(err, rc, "%s: recorded with engine %s, which cannot be read "
			                             "(%s); name another with --engine SPEC",
			                    file, spec, msg);
		}
		if (strcmp(now, r->engine_sha256))
			return pv_error_set(err, PV_EABI, "%s: engine %s changed since it was recorded "
			                                  "(sha256 %.12s..., now %.12s...); replay with "
			                                  "the file it was recorded with, or name one "
			                                  "with --engine SPEC",
			                    file, spec, r->engine_sha256, now);
	}
	if (!(s->loaded = calloc(1, sizeof(*s->loaded))))
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = pv_engine_load(spec, s->loaded, err);
	if (rc) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return pv_error_set(err, rc, "%s: %s", file, msg);
	}
	s->engine = s->loaded->engine;
	if (s->loaded->exec) {
		if (!s->native)
			return pv_error_set(err, PV_EINVAL, "%s: recorded on %s; exec engines run only "
			                                    "on ptrace", file, r->backend);
		s->ops = &pv_backend_exec_ops;
	}
	return 0;
}

/* A reproducer of a program scenario runs the program as its scenario
 * says: the recorded scenario file is read again for its [program]. */
static int open_program(struct pv_session *s, const char *file, struct pv_backend_config *cfg,
                        struct pv_error *err)
{
	const struct pv_reproducer *r = s->repro;
	if (!s->native || !r->scenario_file[0] || access(r->scenario_file, R_OK))
		return 0;
	struct pv_error serr;
	pv_error_clear(&serr);
	if (pv_scenario_load(r->scenario_file, NULL, &s->scenario, &serr) || !s->scenario->program)
		return 0; /* a corpus scenario, or one that changed: as recorded */
	char *slash = strrchr(file, '/');
	if (!slash)
		snprintf(s->work_dir, sizeof(s->work_dir), ".");
	else if (snprintf(s->work_dir, sizeof(s->work_dir), "%.*s", (int)(slash - file), file) >=
	         (int)sizeof(s->work_dir))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", file);
	if (!s->work_dir[0])
		snprintf(s->work_dir, sizeof(s->work_dir), "/");
	cfg->program = s->scenario->program;
	cfg->work_dir = s->work_dir;
	return 0;
}

static int open_session(const char *file, const char *engine, struct pv_session *s,
                        struct pv_error *err)
{
	int rc = pv_reproducer_load(file, &s->repro, err);
	if (rc)
		return rc;
	const struct pv_reproducer *r = s->repro;
	enum pv_mem_model mm = PV_MEM_BYTE;
	const struct pv_backend_info *b = pv_backend_find(r->backend);
	s->native = b && b->bit == PV_BACKEND_PTRACE;
	s->ops = s->native ? b->ops : pv_backend_of(PV_BACKEND_EMU)->ops;
	if (strcmp(r->patchvet_version, PV_VERSION))
		return pv_error_set(err, PV_EABI, "%s: recorded by patchvet %s; this is %s, whose "
		                                  "engines and checks may differ: replay it with "
		                                  "patchvet %s",
		                    file, r->patchvet_version, PV_VERSION, r->patchvet_version);
	char names[64];
	if (!b)
		return pv_error_set(err, PV_EUNSUPPORTED, "%s: recorded on backend '%s', which "
		                                          "patchvet %s cannot replay (it has %s)",
		                    file, r->backend, PV_VERSION,
		                    pv_backend_names_joined(names, sizeof(names), "and"));
	if ((rc = open_engine(file, engine, s, err)))
		return rc;
	if (pv_mem_model_parse(r->mem_model, &mm))
		return pv_error_set(err, PV_EFORMAT, "%s: unknown memory model '%s'", file,
		                    r->mem_model);
	if ((rc = resolve_binaries(s, err)))
		return rc;
	if ((rc = pv_reproducer_check_binaries(r, s->target, s->patch, err))) {
		char msg[PV_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return pv_error_set(err, rc, "%s: %s", file, msg);
	}
	struct pv_backend_config cfg = {
		.target_path = s->target,
		.patch_path = s->patch,
		.workload = {.workers = r->workers, .iterations = r->iterations, .param = r->param},
		.mem_model = mm,
	};
	if ((rc = open_lifecycle(s, file, &cfg, err)) || (rc = open_program(s, file, &cfg, err)))
		return rc;
	if ((rc = s->ops->open(&cfg, &s->handle, err)))
		return rc;
	size_t n = s->seq ? s->seq->npatches : 1;
	for (size_t i = 0; i < n; i++) {
		struct pv_error perr;
		pv_error_clear(&perr);
		const struct pv_patch_desc *d = s->seq ? s->ops->patch_at(s->handle, i)
		                                       : s->ops->patch(s->handle);
		rc = d ? s->engine->plan(d, &s->states[i], &perr) : PV_EINTERNAL;
		if (rc == PV_EREFUSED)
			return pv_error_set(err, PV_EREFUSED, "%s", perr.msg);
		if (rc)
			return pv_error_set(err, rc, "%s: plan failed: %s", s->engine->name,
			                    perr.msg[0] ? perr.msg : pv_strerror(rc));
	}
	s->state = s->states[0];
	return 0;
}

int pv_session_open(const char *file, struct pv_session **out, struct pv_error *err)
{
	return pv_session_open_engine(file, NULL, out, err);
}

int pv_session_open_engine(const char *file, const char *engine, struct pv_session **out,
                           struct pv_error *err)
{
	*out = NULL;
	struct pv_session *s = calloc(1, sizeof(*s));
	if (!s)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = open_session(file, engine, s, err);
	if (rc) {
		pv_session_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

int pv_session_run(struct pv_session *s, const uint8_t *stream, size_t len,
                   struct pv_run_result *res, struct pv_error *err)
{
	if (!stream) {
		stream = s->repro->stream;
		len = s->repro->stream_len;
	}
	memset(res, 0, sizeof(*res));
	if (s->seq)
		return s->ops->run_sequence(s->handle, s->engine, s->states, s->seq, stream, len, res,
		                            err);
	return s->ops->run(s->handle, s->engine, s->state, stream, len, res, err);
}

const struct pv_violation *pv_session_same(const struct pv_session *s,
                                           const struct pv_run_result *res)
{
	for (size_t i = 0; i < res->nviolations && i < PV_RUN_MAX_VIOLATIONS; i++)
		if (!strcmp(res->violations[i].check, s->repro->check))
			return &res->violations[i];
	return NULL;
}

int pv_session_story(struct pv_session *s, const uint8_t *stream, size_t len, size_t max,
                     struct pv_story **out, struct pv_run_result *res, struct pv_error *err)
{
	*out = NULL;
	if (!s->ops->story)
		return pv_error_set(err, PV_EUNSUPPORTED, "backend %s records no story of a run",
		                    s->ops->name);
	struct pv_story *story = calloc(1, sizeof(*story));
	if (!story)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	s->ops->story(s->handle, &story->events, &story->nevents, max);
	int rc = pv_session_run(s, stream, len, res, err);
	s->ops->story(s->handle, NULL, NULL, 0);
	if (rc) {
		pv_story_free(story);
		return rc;
	}
	story->threads = s->repro->workers;
	story->preemptions = res->preemptions;
	*out = story;
	return 0;
}

void pv_session_close(struct pv_session *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < PV_SEQ_MAX_PATCHES; i++)
		if (s->states[i] && s->engine && s->engine->release)
			s->engine->release(s->states[i]);
	if (s->seq)
		pv_sequence_free(s->seq);
	free(s->seq);
	if (s->handle)
		s->ops->close(s->handle);
	pv_engine_unload(s->loaded);
	free(s->loaded);
	pv_reproducer_free(s->repro);
	pv_scenario_free(s->scenario);
	free(s);
}
