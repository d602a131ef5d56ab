/* Whatever happens to patchvet, no target survives it: a ptrace campaign is
 * killed (SIGKILL 20 times, SIGTERM and SIGINT twice each) at random
 * moments, and afterwards no process of its target remains, stopped, traced
 * or orphaned. The test process is a child subreaper, so every orphan of the
 * killed patchvet comes to it, where it is seen and reaped. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Processes whose parent is this test (orphans come here) and whose name is
 * comm; their pid and /proc state letter go to the message. */
static int survivors(const char *comm, char *msg, size_t len)
{
	DIR *d = opendir("/proc");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t k = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[k] = '\0';
		char *open = strchr(buf, '('), *close = strrchr(buf, ')');
		if (!open || !close)
			continue;
		*close = '\0';
		char state = close[2];
		int ppid = atoi(close + 4);
		if (strcmp(open + 1, comm) || ppid != getpid())
			continue;
		size_t used = strlen(msg);
		snprintf(msg + used, len - used, " %d(%c)", pid, state);
		n++;
	}
	closedir(d);
	return n;
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
}

Test(ptrace_kill, no_target_survives_patchvet, .timeout = 240)
{
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	char out[] = "/tmp/pv-kill-XXXXXX";
	cr_assert_not_null(mkdtemp(out));
	/* counter with long runs (seconds), so a target that outlived patchvet
	 * would still be there when looked for, not finished on its own. */
	char scen[64];
	snprintf(scen, sizeof(scen), "%s/long.ini", out);
	static const char ini[] = "[scenario]\n"
	                          "description = counter, with runs of seconds\n"
	                          "target = counter\n"
	                          "patch = counter-fix\n"
	                          "backends = ptrace\n"
	                          "[workload]\n"
	                          "workers = 2\n"
	                          "iterations = 100000\n";
	pv_test_spill(scen, ini, sizeof(ini) - 1);
	srand((unsigned)time(NULL));
	static const int sigs[] = {SIGKILL, SIGKILL, SIGKILL, SIGKILL, SIGKILL, SIGTERM,
	                           SIGKILL, SIGKILL, SIGKILL, SIGKILL, SIGKILL, SIGINT,
	                           SIGKILL, SIGKILL, SIGKILL, SIGKILL, SIGKILL, SIGTERM,
	                           SIGKILL, SIGKILL, SIGKILL, SIGKILL, SIGKILL, SIGINT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		pid_t pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL); /* not left running if the test times out */
			int null = open("/dev/null", O_RDWR);
			dup2(null, 1);
			dup2(null, 2);
			execl(PV_PATCHVET_BIN, PV_PATCHVET_BIN, "run", "--backend", "ptrace", "--engine",
			      "stw-jmp", "--scenario", scen, "--schedules", "1000", "--out", out,
			      (char *)NULL);
			_exit(127);
		}
		/* From patchvet's start (the dry spawn at open) into its first run. */
		long ms = rand() % 400;
		sleep_ms(ms);
		kill(pid, sigs[i]);
		int st;
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_expect(!WIFEXITED(st) || WEXITSTATUS(st) != 127, "patchvet did not start");
		/* EXITKILL's SIGKILL is sent at the tracer's exit; the targets die
		 * a moment later and come here to be reaped. */
		char msg[512] = "";
		int left = 0;
		for (int tries = 0; tries < 50; tries++) {
			reap();
			msg[0] = '\0';
			if (!(left = survivors("counter-plain", msg, sizeof(msg))))
				break;
			sleep_ms(10);
		}
		cr_expect_eq(left, 0, "after %s at %ld ms, target processes remain:%s",
		             sigabbrev_np(sigs[i]), ms, msg);
	}
	char *rm = pv_test_sh("rm -rf %s", out);
	free(rm);
}
