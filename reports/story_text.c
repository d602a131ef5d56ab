/* The story of a violating run as text: one line per event, in the order
 * they happened, with who acted, where (symbol+offset) and what. A thread's
 * long run of instructions (a loop through the hot window) is cut to its
 * first and last lines and a count, so a story fits on a screen. */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>

#define RUN_HEAD 3
#define RUN_TAIL 2

static void line(const struct pv_story_event *e, FILE *f)
{
	char who[24], where[80];
	if (e->thread < 0)
		snprintf(who, sizeof(who), "engine");
	else
		snprintf(who, sizeof(who), "thread %d", e->thread);
	if (e->symbol[0])
		snprintf(where, sizeof(where), "%s", e->symbol);
	else if (e->address)
		snprintf(where, sizeof(where), "0x%" PRIx64, e->address);
	else
		where[0] = '\0';
	const char *mark = e->kind == PV_STORY_VIOLATION ? "!! "
	                   : e->kind == PV_STORY_PREEMPT ? "-- "
	                   : e->kind == PV_STORY_WRITE   ? "=> "
	                                                 : "";
	fprintf(f, "%8" PRIu64 "  %-9s  %-18s  %s%s\n", e->step, who, where, mark, e->text);
}

void pv_report_story(const struct pv_story *s, FILE *f)
{
	fprintf(f, "%8s  %-9s  %-18s  %s\n", "decision", "who", "where", "what");
	for (size_t i = 0; i < s->nevents;) {
		const struct pv_story_event *e = &s->events[i];
		size_t j = i;
		while (j < s->nevents && s->events[j].kind == PV_STORY_INSN &&
		       s->events[j].thread == e->thread)
			j++;
		size_t run = j - i;
		if (run <= RUN_HEAD + RUN_TAIL + 1) {
			for (size_t k = i; k < (run ? j : i + 1); k++)
				line(&s->events[k], f);
			i = run ? j : i + 1;
			continue;
		}
		uint64_t lo = UINT64_MAX, hi = 0;
		for (size_t k = i + RUN_HEAD; k < j - RUN_TAIL; k++) {
			lo = s->events[k].address < lo ? s->events[k].address : lo;
			hi = s->events[k].address > hi ? s->events[k].address : hi;
		}
		for (size_t k = i; k < i + RUN_HEAD; k++)
			line(&s->events[k], f);
		fprintf(f, "%8s  %-9s  %-18s  ... %zu more instructions in 0x%" PRIx64 "..0x%" PRIx64
		           "\n", "", "", "", run - RUN_HEAD - RUN_TAIL, lo, hi);
		for (size_t k = j - RUN_TAIL; k < j; k++)
			line(&s->events[k], f);
		i = j;
	}
}
