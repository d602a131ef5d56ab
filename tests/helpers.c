/* Implementation of tests/helpers.h (compiled into every test binary). */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdarg.h>

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
