#include "registry.h"

#include <stdio.h>
#include <string.h>

#include "../../emulator/emu.h"
#include "../../engines/catalogue.h"
#include "../ptrace/ptrace.h"

static const struct pv_backend_info backends[] = {
	{PV_BACKEND_EMU, &pv_backend_emu_ops, true},
	{PV_BACKEND_PTRACE, &pv_backend_ptrace_ops, false},
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
		if (!strcmp(pv_backend_name(backends[i].bit), name))
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

const char *pv_backend_names_joined(char *buf, size_t len, const char *last)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NBACKENDS && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s%s%s", i == 0 ? "" : i + 1 < NBACKENDS ? ", " : " ",
		                      i > 0 && i + 1 == NBACKENDS ? last : "",
		                      i > 0 && i + 1 == NBACKENDS ? " " : "", pv_backend_name(backends[i].bit));
	return buf;
}
