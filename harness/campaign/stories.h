/* The stories of a campaign's violations, for the reports that draw them
 * (HTML timelines): each emu reproducer minimized, then run once more with
 * its story recorded. */
#ifndef PV_HARNESS_STORIES_H
#define PV_HARNESS_STORIES_H

#include <patchvet/error.h>

#include "../model/campaign.h"

/* Events kept per story. */
#define PV_STORY_EVENTS_MAX 5000

/* Fills v->story for every violation of c with an emu reproducer under
 * out_dir. A reproducer that cannot be re-run (or no longer shows its check)
 * keeps no story, with a note on stderr; only running out of memory fails. */
int pv_campaign_stories(struct pv_campaign *c, const char *out_dir, struct pv_error *err);

#endif
