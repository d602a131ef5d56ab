/* The exit statuses of DESIGN.md, and the one a failed call's code maps to. */
#ifndef PV_UTIL_EXIT_H
#define PV_UTIL_EXIT_H

enum pv_exit {
	PV_EXIT_OK = 0,        /* all verdicts SAFE, or as expected */
	PV_EXIT_VIOLATION = 1, /* a violation, an unexpected result or a refuted claim */
	PV_EXIT_USAGE = 2,     /* usage or input error */
	PV_EXIT_INTERNAL = 3,  /* internal error or inconclusive */
};

/* Exit status for a failed call's code: input problems are 2, the rest 3. */
int pv_exit_for(int code);

#endif
