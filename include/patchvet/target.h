/* The small runtime a patchvet corpus target is written against.
 *
 * The same C source runs natively (the runtime starts real pthreads and
 * supplies main) and in the emulator (the same calls are stubs the emulator
 * serves, so it can schedule threads deterministically). A target defines
 * pv_worker and pv_verify and uses only the calls below for anything that
 * involves other threads or the operating system.
 *
 * Native command line of a target built with the runtime:
 *     TARGET [WORKERS [ITERATIONS [PARAM]]]
 * Exit status: 0 when pv_verify accepts the results, 1 when it rejects them,
 * 2 on a bad command line. */
#ifndef PATCHVET_TARGET_H
#define PATCHVET_TARGET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound on workers, so targets can keep per-worker state in arrays. */
#define PV_MAX_WORKERS 64

/* What a run asks of the target; set by the runtime from the command line
 * (native) or from the scenario (emulator). */
struct pv_workload {
	unsigned workers;        /* number of worker threads, 1..PV_MAX_WORKERS */
	unsigned long iterations;/* work items each worker performs */
	long param;              /* scenario-specific argument, 0 when unused */
};

/* A lock usable from both builds: a word the runtime owns (0 = free). Zero
 * initialisation gives an unlocked lock, so `static pv_lock_t l;` is enough. */
typedef struct pv_lock {
	volatile int state;
} pv_lock_t;

/* Defined by the target: the body of worker `index` (0-based). */
void pv_worker(unsigned index, const struct pv_workload *w);

/* Defined by the target: called once after every worker has returned;
 * returns 0 when the results are correct, non-zero otherwise. */
int pv_verify(const struct pv_workload *w);

/* Provided by the runtime. */
void pv_lock(pv_lock_t *lock);
void pv_unlock(pv_lock_t *lock);
void pv_yield(void);
void *pv_alloc(size_t size);             /* zeroed memory, NULL when exhausted */
void pv_free(void *ptr);
long pv_write(int fd, const void *buf, size_t len); /* bytes written or -1 */

/* Optional, for `patchvet bench`: a target may call it when worker `index`
 * finishes one operation. Natively, in bench mode, the runtime records the
 * time between a worker's consecutive calls as that operation's latency;
 * otherwise (and in the emulator) it does nothing. */
void pv_op_done(unsigned index);

#ifdef __cplusplus
}
#endif
#endif
