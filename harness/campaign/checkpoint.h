/* What lets an interrupted campaign be resumed (`patchvet run --resume
 * DIR`): OUT/.checkpoint/ holds the command line of the run and the result
 * of every engine x scenario x backend as soon as it is final, each file
 * written atomically. A SIGINT, a SIGTERM or a lost machine loses at most
 * the results still running; the directory goes once the reports are
 * written. */
#ifndef PV_HARNESS_CHECKPOINT_H
#define PV_HARNESS_CHECKPOINT_H

#include <stddef.h>

#include <patchvet/error.h>

#include "../model/campaign.h"
#include "driver.h"

/* Starts a checkpoint for a run with arguments argv[0..argc) (those after
 * `run`) writing to out_dir: the command file, unless resuming. */
int pv_checkpoint_begin(const char *out_dir, int argc, char *const argv[], int resuming,
                        struct pv_error *err);

/* Keeps result r of job `job` (0-based, over the whole plan). */
int pv_checkpoint_save(const char *out_dir, size_t job, const struct pv_campaign *settings,
                       const struct pv_result *r, struct pv_error *err);

/* The results kept for jobs[0..njobs): loaded into *kept (initialised
 * here), finished[i] pointing into it, NULL for a job not finished.
 * PV_EFORMAT when a kept result is not the job's (another plan). */
int pv_checkpoint_load(const char *out_dir, const struct pv_job *jobs, size_t njobs,
                       struct pv_campaign *kept, const struct pv_result **finished,
                       struct pv_error *err);

/* The arguments of the run interrupted in dir: *argv (malloc'd, one
 * allocation with the strings) and *argc. PV_ENOENT when there is none. */
int pv_checkpoint_command(const char *dir, int *argc, char ***argv, struct pv_error *err);

/* Removes the checkpoint (after the reports are written). */
void pv_checkpoint_end(const char *out_dir);

#endif
