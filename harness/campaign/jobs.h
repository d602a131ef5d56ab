/* --jobs N: the campaign driver in N worker processes, each with its own
 * backends, each running one deterministic part of every job's schedules
 * (the partition --shard uses, split N ways more). Their results are joined
 * as `patchvet merge` joins shards, so the campaign's results are those of
 * one process: the same verdicts, counts, first violations and reproducers.
 * Processes rather than threads: a crashing backend or engine takes one
 * worker with it, and nothing in the emulator needs to be thread-safe. */
#ifndef PV_HARNESS_JOBS_H
#define PV_HARNESS_JOBS_H

#include "driver.h"

/* pv_drive with nworkers processes (1: pv_drive itself). Workers write
 * under OUT_DIR/.jobs-PID/, removed afterwards. */
int pv_drive_jobs(const struct pv_drive_config *cfg, unsigned nworkers,
                  const struct pv_job *jobs, size_t njobs, struct pv_campaign *c,
                  struct pv_error *err);

#endif
