/* Shared by the Criterion suites: where the build put things, and running
 * the real patchvet binary for end-to-end tests. */
#ifndef PV_TESTS_HELPERS_H
#define PV_TESTS_HELPERS_H

#include <stddef.h>
#include <stdio.h>

#ifndef PV_BUILD_DIR
#error "PV_BUILD_DIR must be defined by the Makefile"
#endif

#define PV_CORPUS_TARGET(name) PV_BUILD_DIR "/corpora/targets/" name
#define PV_CORPUS_PATCH(name) PV_BUILD_DIR "/corpora/patches/" name ".so"
#define PV_DATA_DIR PV_BUILD_DIR "/corpora"

/* The output of one child process. */
struct pv_test_output {
	int status;     /* exit status, or 128+signal when killed */
	char *out;      /* stdout, NUL-terminated, malloc'd */
	char *err;      /* stderr, NUL-terminated, malloc'd */
};

/* Runs argv (argv[0] is a path), capturing stdout and stderr, waiting at
 * most timeout_s seconds (then SIGKILL, status 128+9). Returns 0, or -1
 * when the process could not be started. */
int pv_test_run(char *const argv[], unsigned timeout_s, struct pv_test_output *o);
void pv_test_output_free(struct pv_test_output *o);

/* Runs a shell command line (printf-style) that must succeed, as a Criterion
 * assertion; returns its stdout (free()). */
char *pv_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The whole file (asserting it exists), NUL-terminated; *n receives its
 * size. free() it. */
unsigned char *pv_test_slurp(const char *path, size_t *n);

/* Writes buf to path, asserting success. */
void pv_test_spill(const char *path, const void *buf, size_t n);

/* A fresh directory /tmp/pv-test-TAG-XXXXXX (free() the name, or pass it to
 * pv_test_rmdir_all, which removes the directory and frees the name). */
char *pv_test_tmpdir(const char *tag);
void pv_test_rmdir_all(char *dir);

/* Number of lines in s (a final line without '\n' counts). */
size_t pv_test_count_lines(const char *s);

/* Compares DIR/results.json with tests/data/behaviour/NAME.json, both
 * normalized (no timing, hashes or build paths; ptrace results only by whether
 * they were as expected), as a Criterion expectation; PV_BEHAVIOUR_UPDATE=1 writes
 * the golden file instead (tests/test_behaviour.c says when). */
void pv_test_behaviour_compare(const char *dir, const char *name);

#endif
