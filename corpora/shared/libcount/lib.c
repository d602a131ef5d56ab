/* libpvcount: the counter of corpora/targets/counter moved into a shared
 * library, so that the replaced function lives in an object other than the
 * executable. lib_bump is exported and reached through the program's PLT;
 * its state is the library's own. */
#include <pthread.h>

pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
long lib_total_a;
long lib_total_b;

__attribute__((noipa)) void lib_bump(void)
{
	pthread_mutex_lock(&lib_lock);
	lib_total_a += 1;
	lib_total_b += 1;
	pthread_mutex_unlock(&lib_lock);
}

long lib_totals(long *b)
{
	*b = lib_total_b;
	return lib_total_a;
}
