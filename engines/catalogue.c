/* The built-in engines: reference engines first, then the mutants, each with
 * the one defect it carries and the check that must catch it. */
#include "catalogue.h"

#include <string.h>

#include "jmp.h"

static const struct pv_engine_entry catalogue[] = {
	{&pv_engine_stw_jmp, 0, NULL},
	{&pv_engine_naive_write, 1,
	 "never stops the threads and writes the jmp one byte per write, so a thread can "
	 "execute a half-written jmp (caught by torn-exec or crash)"},
	{&pv_engine_no_quiesce, 1,
	 "never checks where the stopped threads are, so one paused inside the first 5 bytes "
	 "or inside the old function resumes in the middle of the new jmp or in old code "
	 "after the switch (caught by torn-exec, crash or consistency)"},
};

const struct pv_engine_entry *pv_engine_catalogue(size_t *count)
{
	*count = sizeof(catalogue) / sizeof(catalogue[0]);
	return catalogue;
}

const struct pv_engine_entry *pv_engine_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(catalogue) / sizeof(catalogue[0]); i++)
		if (!strcmp(catalogue[i].engine->name, name))
			return &catalogue[i];
	return NULL;
}
