/* An ordinary threaded program, not built for patchvet: sums the bytes of
 * the file argv[1] on 4 threads, ROUNDS times (argv[3]), checks that every
 * round gives the same total (a millisecond apart), writes the total to
 * argv[2], exits 0.
 * checksum() is what the tests' patch replaces. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 4

static unsigned char *data;
static size_t size;
static long rounds;
static unsigned long totals[THREADS];
static int bad;

__attribute__((noinline)) unsigned long checksum(const unsigned char *p, size_t n)
{
	unsigned long s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

static void *worker(void *arg)
{
	size_t k = (size_t)arg, lo = size * k / THREADS, hi = size * (k + 1) / THREADS;
	unsigned long first = 0;
	for (long r = 0; r < rounds; r++) {
		unsigned long s = checksum(data + lo, hi - lo);
		if (r == 0)
			first = s;
		else if (s != first)
			__atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
		struct timespec pause = {0, 1000000}; /* a millisecond of other work */
		nanosleep(&pause, NULL);
	}
	totals[k] = first;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: sum INPUT OUTPUT ROUNDS\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	data = malloc(1 << 20);
	size = data ? fread(data, 1, 1 << 20, f) : 0;
	fclose(f);
	rounds = atol(argv[3]);
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	unsigned long total = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += totals[i];
	}
	if (bad) {
		fprintf(stderr, "sum: the rounds disagree\n");
		return 1;
	}
	FILE *o = fopen(argv[2], "w");
	if (!o || fprintf(o, "%lu\n", total) < 0 || fclose(o)) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
