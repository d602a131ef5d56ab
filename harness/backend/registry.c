#include "registry.h"

#include <string.h>

#include "../../emulator/emu.h"
#include "../../engines/catalogue.h"
#include "../ptrace/ptrace.h"

static const struct pv_backend_info backends[] = {
	{"emu", PV_BACKEND_EMU, &pv_backend_emu_ops},
	{"ptrace", PV_BACKEND_PTRACE, &pv_backend_ptrace_ops},
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

const struct pv_backend_info *pv_backends(size_t *count)
{
	*count = NBACKENDS;
	return backends;
}

const struct pv_backend_info *pv_backend_find(const char *name)
{
	for (size_t i = 0; name && i < NBACKENDS; i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}

const struct pv_backend_info *pv_backend_of(unsigned bit)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (backends[i].bit == bit)
			return &backends[i];
	return NULL;
}
