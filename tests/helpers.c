/* Implementation of tests/helpers.h (compiled into every test binary). */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <json-c/json.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sink {
	char *buf;
	size_t len, cap;
};

static void sink_add(struct sink *s, const char *data, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *nb = realloc(s->buf, cap);
		if (!nb)
			abort();
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pv_test_run(char *const argv[], unsigned timeout_s, struct pv_test_output *o)
{
	int po[2], pe[2];
	memset(o, 0, sizeof(*o));
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* A test that times out must not leave patchvet (and so its
		 * targets, traced with PTRACE_O_EXITKILL) running behind it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	struct sink out = {0}, err = {0};
	sink_add(&out, "", 0);
	sink_add(&err, "", 0);
	struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	int open_fds = 2;
	double deadline = now_s() + timeout_s;
	int killed = 0;
	while (open_fds > 0) {
		int left = (int)((deadline - now_s()) * 1000);
		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		if (poll(fds, 2, left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			char buf[4096];
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n > 0) {
				sink_add(i ? &err : &out, buf, (size_t)n);
			} else {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	int st = 0;
	waitpid(pid, &st, 0);
	o->status = killed || WIFSIGNALED(st) ? 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL)
	                                      : WEXITSTATUS(st);
	o->out = out.buf;
	o->err = err.buf;
	return 0;
}

void pv_test_output_free(struct pv_test_output *o)
{
	free(o->out);
	free(o->err);
	o->out = o->err = NULL;
}

size_t pv_test_count_lines(const char *s)
{
	size_t n = 0;
	const char *p = s;
	for (; *p; p++)
		if (*p == '\n')
			n++;
	if (p > s && p[-1] != '\n')
		n++;
	return n;
}

char *pv_test_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 120, &o), 0, "cannot run /bin/sh");
	cr_assert_eq(o.status, 0, "`%s` failed (status %d): %s", cmd, o.status, o.err);
	free(o.err);
	return o.out;
}

unsigned char *pv_test_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s (run `make corpora`)", path);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc((size_t)len + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	buf[len] = '\0'; /* text files are read as strings */
	*n = (size_t)len;
	return buf;
}

void pv_test_spill(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(buf, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

char *pv_test_tmpdir(const char *tag)
{
	char *d = malloc(strlen(tag) + 32);
	cr_assert_not_null(d);
	sprintf(d, "/tmp/pv-test-%s-XXXXXX", tag);
	cr_assert_not_null(mkdtemp(d));
	return d;
}

void pv_test_rmdir_all(char *dir)
{
	free(pv_test_sh("rm -rf '%s'", dir));
	free(dir);
}

#define GOLDEN PV_SOURCE_DIR "/tests/data/behaviour/"

/* Fields that measure time or name where the build lives. */
static int dropped(const char *key)
{
	static const char *const names[] = {"elapsed_seconds", "schedules_per_second",
	                                    "target_sha256", "patch_sha256"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(key, names[i]) == 0)
			return 1;
	return 0;
}

/* A path under the build or output directory, kept as its last component. */
static const char *tail_of(const char *s)
{
	if (s[0] != '/')
		return s;
	const char *b = strrchr(s, '/');
	return b ? b + 1 : s;
}

static struct json_object *normalize(struct json_object *o);

/* ptrace results depend on real timing: only whether they were as expected
 * counts. */
static struct json_object *normalize_ptrace(struct json_object *o)
{
	static const char *const kept[] = {"engine", "scenario", "backend", "flavour",
	                                   "expected", "as_expected"};
	struct json_object *n = json_object_new_object();
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		struct json_object *v;
		if (json_object_object_get_ex(o, kept[i], &v))
			json_object_object_add(n, kept[i], normalize(v));
	}
	return n;
}

static struct json_object *normalize(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_object: {
		struct json_object *b;
		if (json_object_object_get_ex(o, "backend", &b) &&
		    json_object_is_type(b, json_type_string) &&
		    strcmp(json_object_get_string(b), "ptrace") == 0)
			return normalize_ptrace(o);
		struct json_object *n = json_object_new_object();
		json_object_object_foreach(o, k, v)
		{
			if (!dropped(k))
				json_object_object_add(n, k, normalize(v));
		}
		return n;
	}
	case json_type_array: {
		struct json_object *n = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(o); i++)
			json_object_array_add(n, normalize(json_object_array_get_idx(o, i)));
		return n;
	}
	case json_type_string:
		return json_object_new_string(tail_of(json_object_get_string(o)));
	default:
		return json_object_get(o);
	}
}

/* Compares DIR/results.json, normalized, with the golden file NAME. */
void pv_test_behaviour_compare(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/results.json", dir);
	struct json_object *j = json_object_from_file(path);
	cr_assert_not_null(j, "no results at %s", path);
	struct json_object *n = normalize(j);
	const char *got = json_object_to_json_string_ext(n, JSON_C_TO_STRING_PRETTY |
	                                                        JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(path, sizeof(path), GOLDEN "%s.json", name);
	const char *update = getenv("PV_BEHAVIOUR_UPDATE");
	if (update && strcmp(update, "1") == 0) {
		pv_test_spill(path, got, strlen(got));
	} else {
		size_t len;
		unsigned char *want = pv_test_slurp(path, &len);
		if (len != strlen(got) || memcmp(want, got, len) != 0) {
			char diff[1024];
			snprintf(path, sizeof(path), "%s/normalized.json", dir);
			pv_test_spill(path, got, strlen(got));
			snprintf(diff, sizeof(diff), "diff -u " GOLDEN "%s.json %s | head -40 >&2",
			         name, path);
			if (system(diff) < 0)
				perror("diff");
			cr_expect_fail("%s: results.json differs from " GOLDEN "%s.json (diff above)",
			               name, name);
		}
		free(want);
	}
	json_object_put(n);
	json_object_put(j);
}
