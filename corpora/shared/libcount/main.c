/* libcount: every worker calls lib_bump(), which lives in the shared library
 * libpvcount, `iterations` times. With param 1, worker 0 also starts a
 * thread late that loads and unloads another library (libpvplug) in a loop
 * while the others work: mappings and threads the target makes itself,
 * which no check may blame on the engine. With param 2, pv_verify fails
 * when some call ran the replacement: how a test sees that it ran. */
#include <dlfcn.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <patchvet/target.h>

void lib_bump(void);
long lib_totals(long *b);

static unsigned long calls[PV_MAX_WORKERS];
static volatile int churning;
static unsigned long loads;

/* The plug-in library sits next to the program (same flavour suffix). */
static void *churn(void *arg)
{
	const char *path = arg;
	while (churning) {
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (h) {
			int (*f)(int) = (int (*)(int))dlsym(h, "plug_twice");
			if (f && f(21) == 42)
				__atomic_add_fetch(&loads, 1, __ATOMIC_RELAXED);
			dlclose(h);
		}
	}
	return NULL;
}

static char plug_path[4200];

void pv_worker(unsigned index, const struct pv_workload *w)
{
	pthread_t t;
	int late = index == 0 && w->param == 1;
	unsigned long n = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		if (late && i == w->iterations / 8) {
			churning = 1;
			if (pthread_create(&t, NULL, churn, plug_path))
				late = 0;
		}
		lib_bump();
		n++;
	}
	if (late) {
		/* The late thread has loaded the library at least once, or
		 * had two seconds to. */
		for (int k = 0; k < 20000 && !__atomic_load_n(&loads, __ATOMIC_RELAXED); k++)
			usleep(100);
		churning = 0;
		pthread_join(t, NULL);
	}
	calls[index] = n;
}

int pv_verify(const struct pv_workload *w)
{
	unsigned long sum = 0;
	long b, a = lib_totals(&b);
	for (unsigned i = 0; i < w->workers; i++)
		sum += calls[i];
	if (sum != (unsigned long)w->workers * w->iterations) {
		fprintf(stderr, "libcount: a worker did not finish its calls\n");
		return 1;
	}
	if (a != b) {
		fprintf(stderr, "libcount: lib_total_a != lib_total_b (a call mixed old and new "
		                "code)\n");
		return 1;
	}
	if (a < (long)sum || a > 2 * (long)sum) {
		fprintf(stderr, "libcount: %ld for %lu calls: calls were lost or doubled\n", a, sum);
		return 1;
	}
	/* param 2: a test's proof that a patch ran, the one way a target can
	 * tell (a call added 2). */
	if (w->param == 2 && a > (long)sum) {
		fprintf(stderr, "libcount: the replacement ran (%ld for %lu calls)\n", a, sum);
		return 1;
	}
	if (w->param == 1 && !loads) {
		fprintf(stderr, "libcount: the late thread never loaded libpvplug\n");
		return 1;
	}
	return 0;
}

__attribute__((constructor)) static void find_plug(void)
{
	char self[4000];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	char *dash = strrchr(self, '-');
	char *slash = strrchr(self, '/');
	if (!dash || !slash || dash < slash)
		return;
	*slash = '\0';
	snprintf(plug_path, sizeof(plug_path), "%s/libpvplug-%s.so", self, dash + 1);
}
