/* libcount-fix: lib_bump, in the shared library libpvcount, now advances
 * both counters by 2. The patch calls libc (clock_gettime) and pthreads
 * (the library's own mutex), resolved against the target's loaded objects
 * as the dynamic linker would. */
#include <pthread.h>
#include <time.h>

#include <patchvet/patch.h>

extern pthread_mutex_t lib_lock;
extern long lib_total_a;
extern long lib_total_b;

void lib_bump_v2(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&lib_lock);
	lib_total_a += 2;
	lib_total_b += 2;
	pthread_mutex_unlock(&lib_lock);
}

PV_REPLACE(lib_bump, lib_bump_v2);
