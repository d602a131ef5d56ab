#include "stories.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/registry.h"
#include "minimize.h"
#include "rerun.h"

/* Test runs per minimization: enough for the mutants' streams (tens to a few
 * thousand), bounded so a campaign's reports stay quick. */
#define STORY_MINIMIZE_RUNS 3000

static int story_of(const char *path, struct pv_story **out, struct pv_error *err)
{
	struct pv_session *s = NULL;
	int rc = pv_session_open(path, &s, err);
	if (rc)
		return rc;
	struct pv_minimize_result m;
	struct pv_run_result res;
	rc = pv_minimize(s, STORY_MINIMIZE_RUNS, &m, err);
	if (!rc) {
		rc = pv_session_story(s, m.stream, m.len, PV_STORY_EVENTS_MAX, out, &res, err);
		free(m.stream);
	}
	pv_session_close(s);
	return rc;
}

int pv_campaign_stories(struct pv_campaign *c, const char *out_dir, struct pv_error *err)
{
	for (size_t i = 0; i < c->nresults; i++) {
		struct pv_result *r = &c->results[i];
		const struct pv_backend_info *b = pv_backend_find(r->backend);
		if (!b || !b->deterministic)
			continue;
		for (size_t k = 0; k < r->nviolations; k++) {
			struct pv_violation_stat *v = &r->violations[k];
			if (!v->reproducer || v->story)
				continue;
			char path[PATH_MAX];
			if (snprintf(path, sizeof(path), "%s/%s", out_dir, v->reproducer) >=
			    (int)sizeof(path))
				continue;
			struct pv_error serr;
			pv_error_clear(&serr);
			int rc = story_of(path, &v->story, &serr);
			if (rc == PV_ENOMEM)
				return pv_error_set(err, PV_ENOMEM, "out of memory");
			if (rc)
				fprintf(stderr, "patchvet: note: no story for %s: %s\n", v->reproducer,
				        serr.msg);
		}
	}
	return 0;
}
