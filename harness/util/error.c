#include <patchvet/error.h>

#include <stdarg.h>
#include <stdio.h>

const char *pv_strerror(int code)
{
	switch (code) {
	case PV_OK: return "success";
	case PV_EINVAL: return "invalid argument";
	case PV_ENOMEM: return "out of memory";
	case PV_EIO: return "input/output error";
	case PV_EFORMAT: return "malformed input";
	case PV_EUNSUPPORTED: return "unsupported input";
	case PV_ENOENT: return "not found";
	case PV_ERANGE: return "value out of range";
	case PV_EREFUSED: return "refused by the engine";
	case PV_EBUSY: return "busy, try again";
	case PV_ETIMEDOUT: return "timed out";
	case PV_EFAULT: return "target memory access failed";
	case PV_EABI: return "incompatible ABI or format version";
	case PV_ESTATE: return "not valid in the current state";
	case PV_EINTERNAL: return "internal error";
	default: return "unknown error";
	}
}

int pv_error_set(struct pv_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void pv_error_clear(struct pv_error *err)
{
	if (err) {
		err->code = PV_OK;
		err->msg[0] = '\0';
	}
}
