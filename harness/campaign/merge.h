/* Joining the results of parts of one campaign (`--shard I/N` runs on other
 * machines, or the worker processes of `--jobs`) into the result of the
 * whole, as if it had run at once: runs and violations add up, the first
 * violation of each check is the earliest schedule of any part (with its
 * reproducer), coverage is the union, the explorer's guarantee is restated
 * for the joined runs. */
#ifndef PV_HARNESS_MERGE_H
#define PV_HARNESS_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "../model/campaign.h"

struct pv_merge {
	struct pv_campaign out;   /* the joined campaign */
	const char *out_dir;      /* reproducers are copied under it; NULL: none */
	bool started;
	uint64_t *parts;          /* owned: part indices joined so far */
	size_t nparts;
	double seconds;           /* sum of the parts' running times */
};

void pv_merge_init(struct pv_merge *m, const char *out_dir);
void pv_merge_free(struct pv_merge *m);

/* Adds part c, whose reproducer paths are relative to src_dir. PV_EINVAL
 * when c is not a part of the same campaign (explorer, seed, schedules,
 * depth, preemptions or part count differ) or was added already. c is left
 * as it was. */
int pv_merge_add(struct pv_merge *m, const struct pv_campaign *c, const char *src_dir,
                 const char *what, struct pv_error *err);

/* Finishes m->out: violations in the order one run would have found them,
 * verdicts judged again, and the part it stands for (1/1 when every part of
 * the campaign was joined). *missing receives the number of parts never
 * added. */
void pv_merge_finish(struct pv_merge *m, uint64_t *missing);

#endif
