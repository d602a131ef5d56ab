/* The driver's side of patch lifecycles: opening a backend with
 * every patch of a sequence and planning each, falling back to another
 * flavour of the scenario when the engine refuses the one not asked for,
 * and folding each run's steps and information line into the result. Kept
 * apart from driver.c, which calls these at three points. */
#ifndef PV_HARNESS_LIFECYCLE_H
#define PV_HARNESS_LIFECYCLE_H

#include "driver.h"

/* Opens the backend for job (bc filled from it) and plans: states[0] for a
 * plain job, states[i] for patch i of a sequence. A sequence job that
 * stacks (max_depth > 1) with an engine without PV_ENGINE_STACKS is
 * refused ("engine does not stack patches"). When the engine refuses and
 * the job has alternative flavours, each is tried in turn and r's flavour
 * and target follow the one that plans. Returns 0, PV_EREFUSED (reason in
 * err; *h may be open) or another code (err filled). */
int pv_lifecycle_open(const struct pv_backend_ops *ops, enum pv_mem_model mem,
                      const struct pv_job *job, struct pv_result *r, void **h,
                      void *states[PV_SEQ_MAX_PATCHES], struct pv_error *err);

/* Releases what pv_lifecycle_open planned and closes the backend. */
void pv_lifecycle_close(const struct pv_backend_ops *ops, const struct pv_job *job, void *h,
                        void *states[PV_SEQ_MAX_PATCHES]);

/* One run of the job into r: its steps (counted, the live versions of the
 * first run that ran each) and its information line (the first one).
 * PV_ENOMEM or 0. */
int pv_lifecycle_record(struct pv_result *r, const struct pv_job *job,
                        const struct pv_run_result *res);

/* A reproducer's lifecycle keys from job: its sequence (the steps and the
 * patches after the first, with their SHA-256) or its fault; and the
 * flavour and target res ran in when it fell back from the job's. */
struct pv_reproducer;
int pv_repro_lifecycle(struct pv_reproducer *r, const struct pv_job *job,
                       const struct pv_result *res, struct pv_error *err);

#endif
