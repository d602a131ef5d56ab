/* Wall-clock seconds for progress lines, rates and time budgets. */
#ifndef PV_UTIL_CLOCK_H
#define PV_UTIL_CLOCK_H

/* Seconds on CLOCK_MONOTONIC: differences only. */
double pv_now_s(void);

#endif
