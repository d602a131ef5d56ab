#include "run.h"

#include <string.h>

#include <patchvet/error.h>

static const char *const mem_model_names[] = {[PV_MEM_BYTE] = "byte",
                                              [PV_MEM_WORD8] = "word8"};

const char *pv_mem_model_name(enum pv_mem_model m)
{
	return (unsigned)m < 2 ? mem_model_names[m] : NULL;
}

int pv_mem_model_parse(const char *name, enum pv_mem_model *m)
{
	for (unsigned i = 0; name && i < 2; i++)
		if (!strcmp(name, mem_model_names[i])) {
			*m = (enum pv_mem_model)i;
			return 0;
		}
	return PV_EINVAL;
}
