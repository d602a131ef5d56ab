/* The backends patchvet runs targets on, one row each: the name users and
 * reproducers give, the bit engines and scenarios declare, and the table of
 * primitives (harness/model/backend.h). A new backend is its own folder plus
 * one row in registry.c. */
#ifndef PV_BACKEND_REGISTRY_H
#define PV_BACKEND_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "../model/backend.h"

struct pv_backend_info {
	unsigned bit;                      /* enum pv_backend (engines/catalogue.h),
	                                      whose pv_backend_name is its name */
	const struct pv_backend_ops *ops;
	bool deterministic;                /* the same stream gives the same run: its
	                                      reproducers can be minimized and their
	                                      stories drawn */
};

/* Every backend, in the order lists and help texts show them. */
const struct pv_backend_info *pv_backends(size_t *count);

/* The backend called name, or NULL. */
const struct pv_backend_info *pv_backend_find(const char *name);

/* The backend names joined for a message by `last` ("or"): "emu or ptrace". */
const char *pv_backend_names_joined(char *buf, size_t len, const char *last);

/* The backend of one enum pv_backend bit, or NULL. */
const struct pv_backend_info *pv_backend_of(unsigned bit);

#endif
