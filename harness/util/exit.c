#include "exit.h"

#include <patchvet/error.h>

int pv_exit_for(int code)
{
	switch (code) {
	case PV_EINVAL:
	case PV_EIO:
	case PV_EFORMAT:
	case PV_EUNSUPPORTED:
	case PV_ENOENT:
	case PV_EABI:
	case PV_ERANGE:
		return PV_EXIT_USAGE;
	default:
		return PV_EXIT_INTERNAL;
	}
}
