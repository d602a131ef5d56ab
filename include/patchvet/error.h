/* patchvet error codes: every fallible call returns 0 or a negative PV_E* code.
 * The detail a user needs ("patch.so: no .patchvet.funcs section") goes into a
 * caller-owned struct pv_error, so no function keeps hidden state. */
#ifndef PATCHVET_ERROR_H
#define PATCHVET_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pv_err {
	PV_OK = 0,
	PV_EINVAL = -1,       /* an argument or an input value is not acceptable */
	PV_ENOMEM = -2,       /* an allocation failed */
	PV_EIO = -3,          /* a file or process could not be read or written */
	PV_EFORMAT = -4,      /* a file is malformed (not ELF, truncated, bad syntax) */
	PV_EUNSUPPORTED = -5, /* well-formed but not something patchvet handles (32-bit, not x86-64) */
	PV_ENOENT = -6,       /* a named thing (file, symbol, function, section) does not exist */
	PV_ERANGE = -7,       /* a value does not fit (relocation overflow, address out of reach) */
	PV_EREFUSED = -8,     /* an engine declines the patch, with a reason */
	PV_EBUSY = -9,        /* not possible now (a thread inside a replaced function); may be retried */
	PV_ETIMEDOUT = -10,   /* a bound on time or steps was reached */
	PV_EFAULT = -11,      /* an access to target memory failed */
	PV_EABI = -12,        /* a plugin or file was built for another ABI or format version */
	PV_ESTATE = -13,      /* the call is not valid in the current state (revert before apply) */
	PV_EINTERNAL = -14,   /* a bug in patchvet; please report it */
};

#define PV_ERROR_MSG_MAX 512

/* Caller-owned error detail: a code and a sentence a user can act on. */
struct pv_error {
	int code;
	char msg[PV_ERROR_MSG_MAX];
};

/* A short, static description of a code ("malformed file"). */
const char *pv_strerror(int code);

/* Records code and a printf-style message in err (err may be NULL); returns code,
 * so a failing path can end with `return pv_error_set(err, PV_EIO, "...")`. */
int pv_error_set(struct pv_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clears err to PV_OK and an empty message. */
void pv_error_clear(struct pv_error *err);

#ifdef __cplusplus
}
#endif
#endif
