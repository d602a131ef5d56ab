/* Suite `program`: real programs as ptrace targets, end to end through the
 * real patchvet binary. The programs (tests/data/program/) are ordinary C
 * programs with threads, built here with gcc, not for patchvet: sum reads a
 * file and writes a total, echo is a TCP server that never exits by itself
 * and is its own load driver. Their patches replace a function of the
 * executable. Then `run --pid`: a running server is patched, reverted and
 * left running untraced, also when patchvet is killed with SIGKILL. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN
#define SRC PV_SOURCE_DIR "/tests/data/program"

/* A directory with the programs, their patches, an input file and the
 * scenario files the tests write. */
static char *build_programs(void)
{
	char *dir = pv_test_tmpdir("program");
	free(pv_test_sh("cd '%s' && gcc -O2 -g -pthread '%s/sum.c' -o sum && "
	                "gcc -O2 -g -pthread '%s/echo.c' -o echo && "
	                "gcc -std=gnu17 -O2 -I'%s/include' -fPIC -shared -nostdlib "
	                "'%s/sum-patch.c' -o sum-patch.so && "
	                "gcc -std=gnu17 -O2 -I'%s/include' -fPIC -shared -nostdlib "
	                "'%s/echo-patch.c' -o echo-patch.so && "
	                "head -c 200000 /dev/urandom > input.bin && mkdir out",
	                dir, SRC, SRC, PV_SOURCE_DIR, SRC, PV_SOURCE_DIR, SRC));
	return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	pv_test_spill(path, text, strlen(text));
}

static const char sum_head[] = "[scenario]\n"
                               "description = sum: 4 threads sum a file; checksum is replaced\n"
                               "target = ./sum\n"
                               "patch = ./sum-patch.so\n"
                               "backends = ptrace\n"
                               "flavours = plain\n"
                               "[program]\n";

static const char echo_head[] = "[scenario]\n"
                                "description = echo: a TCP server; transform is replaced\n"
                                "target = ./echo\n"
                                "patch = ./echo-patch.so\n"
                                "backends = ptrace\n"
                                "[program]\n"
                                "command = {target} {port}\n";

static void run_scenario(const char *dir, const char *ini, const char *engine,
                         const char *schedules, struct pv_test_output *o)
{
	char scen[512], out[512];
	snprintf(scen, sizeof(scen), "%s/%s", dir, ini);
	snprintf(out, sizeof(out), "%s/out", dir);
	char *argv[] = {BIN, "run", "--engine", (char *)engine, "--scenario", scen, "--backend",
	                "ptrace", "--schedules", (char *)schedules, "--out", out, NULL};
	cr_assert_eq(pv_test_run(argv, 240, o), 0, "cannot start %s", BIN);
}

/* The result line of scenario name: SAFE, with schedules runs of which at
 * least one applied the patch (a loaded machine may delay a run past its
 * program's end: "the target ended before apply"). */
static void expect_safe(const char *out, const char *name, unsigned schedules)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "stw-jmp      %s ", name);
	const char *l = strstr(out, pat);
	cr_assert_not_null(l, "no result line for %s: %s", name, out);
	char verdict[16];
	unsigned n = 0, applied = 0;
	cr_assert_eq(sscanf(l + strlen(pat), " ptrace %15s %u %u", verdict, &n, &applied), 3, "%s",
	             l);
	cr_expect_str_eq(verdict, "SAFE", "%s", out);
	cr_expect_eq(n, schedules, "%s", out);
	cr_expect_geq(applied, 1, "no schedule applied the patch: %s", out);
}

/* Nothing of the runs is left in --out but the reports. */
static void expect_no_workdirs(const char *dir)
{
	char out[512];
	snprintf(out, sizeof(out), "%s/out", dir);
	DIR *d = opendir(out);
	cr_assert_not_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		cr_expect_neq(strncmp(de->d_name, ".work-", 6), 0, "%s/%s was left behind", out,
		              de->d_name);
	closedir(d);
}

Test(program, sum_stw_jmp_safe, .timeout = 240)
{
	char *dir = build_programs();
	write_file(dir, "sum.ini",
	           "[scenario]\n"
	           "target = ./sum\npatch = ./sum-patch.so\nbackends = ptrace\n"
	           "[program]\n"
	           "command = {target} {dir}/input.bin {workdir}/total 1500\n"
	           "env = LC_ALL=C\n"
	           "stdin = {dir}/input.bin\n"
	           "stdout = {workdir}/stdout.txt\n"
	           "ready = delay 0.02\n"
	           "window = 0.2\n"
	           "verify = /bin/sh -c \"test -s {workdir}/total\"\n"
	           "timeout = 30\n");
	struct pv_test_output o;
	run_scenario(dir, "sum.ini", "stw-jmp", "4", &o);
	cr_assert_eq(o.status, 0, "status %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
	expect_safe(o.out, "sum", 4);
	expect_no_workdirs(dir);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(program, sum_exit_oracle_and_mutant, .timeout = 240)
{
	char *dir = build_programs();
	char ini[1024];
	snprintf(ini, sizeof(ini), "%scommand = {target} {dir}/input.bin {workdir}/total 1500\n"
	                           "ready = delay 0.02\nwindow = 0.2\nverify = exit\nstop = exit\n",
	         sum_head);
	write_file(dir, "sum.ini", ini);
	struct pv_test_output o;
	run_scenario(dir, "sum.ini", "stw-jmp", "3", &o);
	cr_assert_eq(o.status, 0, "status %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
	expect_safe(o.out, "sum", 3);
	pv_test_output_free(&o);
	expect_no_workdirs(dir);
	pv_test_rmdir_all(dir);
}

Test(program, echo_server_stw_jmp_safe, .timeout = 240)
{
	char *dir = build_programs();
	char ini[1024];
	snprintf(ini, sizeof(ini), "%sready = port {port}\n"
	                           "load = {target} client {port} 300\n"
	                           "verify = load\nstop = signal TERM 3\nwindow = 0.1\ntimeout = 30\n",
	         echo_head);
	write_file(dir, "echo.ini", ini);
	struct pv_test_output o;
	run_scenario(dir, "echo.ini", "stw-jmp", "3", &o);
	cr_assert_eq(o.status, 0, "status %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
	expect_safe(o.out, "echo", 3);
	expect_no_workdirs(dir);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

/* The one line of a program that does what its scenario did not foresee. */
static void expect_one_line(const struct pv_test_output *o, const char *word)
{
	cr_assert_eq(o->status, 2, "status %d\nstdout: %s\nstderr: %s", o->status, o->out, o->err);
	cr_assert_not_null(strstr(o->err, word), "'%s' not in: %s", word, o->err);
	cr_assert_eq(pv_test_count_lines(o->err), 1, "more than one line: %s", o->err);
}

Test(program, ended_before_ready, .timeout = 120)
{
	char *dir = build_programs();
	char ini[1024];
	snprintf(ini, sizeof(ini), "%scommand = {target} {dir}/input.bin {workdir}/total 1\n"
	                           "ready = file {workdir}/never\ntimeout = 20\n",
	         sum_head);
	write_file(dir, "early.ini", ini);
	struct pv_test_output o;
	run_scenario(dir, "early.ini", "stw-jmp", "2", &o);
	expect_one_line(&o, "the program ended (exit status 0) before it was ready");
	cr_assert_not_null(strstr(o.err, "scenario early"), "%s", o.err);
	expect_no_workdirs(dir);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(program, never_ready, .timeout = 120)
{
	char *dir = build_programs();
	char ini[1024];
	snprintf(ini, sizeof(ini), "%sready = output never printed\nstop = signal TERM 2\n"
	                           "verify = /bin/true\ntimeout = 1\n",
	         echo_head);
	write_file(dir, "never.ini", ini);
	struct pv_test_output o;
	run_scenario(dir, "never.ini", "stw-jmp", "2", &o);
	expect_one_line(&o, "the program was not ready (ready = output never printed) within its "
	                    "timeout of 1 s");
	expect_no_workdirs(dir);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

Test(program, does_not_stop, .timeout = 120)
{
	char *dir = build_programs();
	char ini[1024];
	/* The server ignores nothing, but SIGWINCH's default is to ignore it. */
	snprintf(ini, sizeof(ini), "%sready = port {port}\nstop = signal WINCH 0.5\n"
	                           "verify = /bin/true\ntimeout = 10\n",
	         echo_head);
	write_file(dir, "stuck.ini", ini);
	struct pv_test_output o;
	run_scenario(dir, "stuck.ini", "stw-jmp", "2", &o);
	expect_one_line(&o, "the program did not stop within 0.5 s of SIGWINCH");
	expect_no_workdirs(dir);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}

/* ------------------------------------------------------------ --pid */

static pid_t start_server(const char *dir, unsigned port)
{
	char prog[512], ports[16];
	snprintf(prog, sizeof(prog), "%s/echo", dir);
	snprintf(ports, sizeof(ports), "%u", port);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setsid();
		/* Gone with the test, even when an assertion ends it early. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		freopen("/dev/null", "w", stderr);
		execl(prog, prog, ports, (char *)NULL);
		_exit(127);
	}
	/* Listening: the client gets answers. */
	for (int i = 0; i < 200; i++) {
		char *cmd = NULL;
		cr_assert_geq(asprintf(&cmd, "'%s' client %u 1 2>/dev/null", prog, port), 0);
		int rc = system(cmd), st;
		free(cmd);
		/* Answered by this server, not by another one on the port. */
		cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "the echo server on port %u ended", port);
		if (rc == 0)
			return pid;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	cr_assert_fail("the echo server did not start");
	return -1;
}

/* Running, not stopped, not traced. */
static void expect_running_untraced(pid_t pid)
{
	char path[64], line[256], state = '?';
	int tracer = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	/* The kernel detaches a dead tracer's tracees at once; a moment for
	 * the scheduler. */
	for (int i = 0; i < 50; i++) {
		FILE *f = fopen(path, "re");
		cr_assert_not_null(f, "process %d is gone", (int)pid);
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "State: %c", &state);
			sscanf(line, "TracerPid: %d", &tracer);
		}
		fclose(f);
		if (tracer == 0 && state != 't' && state != 'T')
			break;
		usleep(10000);
	}
	int dead;
	if (state == 'Z' && waitpid(pid, &dead, WNOHANG) == pid)
		cr_assert_fail("process %d died: %s %d", (int)pid,
		               WIFSIGNALED(dead) ? "signal" : "exit status",
		               WIFSIGNALED(dead) ? WTERMSIG(dead) : WEXITSTATUS(dead));
	cr_assert_eq(tracer, 0, "process %d is traced by %d", (int)pid, tracer);
	cr_assert(state != 't' && state != 'T' && state != 'Z', "process %d is in state %c",
	          (int)pid, state);
	int st;
	cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "process %d ended", (int)pid);
}

static void expect_answers(const char *dir, unsigned port)
{
	free(pv_test_sh("'%s/echo' client %u 20", dir, port));
}

/* A free loopback port, as the kernel hands them out (a fixed range would
 * meet the ports of the suite's other servers). */
static unsigned test_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert(s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof(a)) &&
	          !getsockname(s, (struct sockaddr *)&a, &len));
	close(s);
	return ntohs(a.sin_port);
}

Test(program, pid_patched_reverted_left_running, .timeout = 120)
{
	char *dir = build_programs();
	write_file(dir, "pid.ini", "[scenario]\ntarget = ./echo\npatch = ./echo-patch.so\n"
	                           "backends = ptrace\n");
	unsigned port = test_port();
	pid_t server = start_server(dir, port);
	char pids[16], scen[512], out[512];
	snprintf(pids, sizeof(pids), "%d", (int)server);
	snprintf(scen, sizeof(scen), "%s/pid.ini", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	struct pv_test_output o;
	char *argv[] = {BIN, "run", "--pid", pids, "--engine", "stw-jmp", "--scenario", scen,
	                "--schedules", "5", "--out", out, NULL};
	cr_assert_eq(pv_test_run(argv, 60, &o), 0);
	cr_expect_eq(o.status, 0, "status %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
	expect_safe(o.out, "pid", 5);
	cr_expect_not_null(strstr(o.err, "the patch is not applied"), "%s", o.err);
	expect_running_untraced(server);
	expect_answers(dir, port);
	/* Nothing of patchvet's is left mapped in it: only what it had. */
	char *maps = pv_test_sh("grep -c '' /proc/%d/maps", (int)server);
	pv_test_output_free(&o);
	cr_assert_eq(pv_test_run(argv, 60, &o), 0);
	char *again = pv_test_sh("grep -c '' /proc/%d/maps", (int)server);
	cr_expect_str_eq(maps, again, "mappings grew across runs");
	free(maps);
	free(again);
	pv_test_output_free(&o);
	/* A process that is not the scenario's target is refused. */
	char self[16];
	snprintf(self, sizeof(self), "%d", (int)getpid());
	argv[3] = self;
	cr_assert_eq(pv_test_run(argv, 60, &o), 0);
	cr_expect_eq(o.status, 2, "status %d: %s", o.status, o.err);
	cr_expect_not_null(strstr(o.err, "does not run"), "%s", o.err);
	pv_test_output_free(&o);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	pv_test_rmdir_all(dir);
}

/* pid is traced by tracer and none of its threads is stopped. */
static bool traced_running(pid_t pid, pid_t tracer)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	bool ok = d != NULL;
	struct dirent *de;
	while (ok && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char file[512], line[256], state = '?';
		int by = -1;
		snprintf(file, sizeof(file), "%s/%s/status", path, de->d_name);
		FILE *f = fopen(file, "re");
		while (f && fgets(line, sizeof(line), f)) {
			sscanf(line, "State: %c", &state);
			sscanf(line, "TracerPid: %d", &by);
		}
		if (f)
			fclose(f);
		ok = by == tracer && state != 't' && state != 'T';
	}
	if (d)
		closedir(d);
	return ok;
}

Test(program, pid_survives_patchvet_sigkill, .timeout = 180)
{
	char *dir = build_programs();
	write_file(dir, "pid.ini", "[scenario]\ntarget = ./echo\npatch = ./echo-patch.so\n"
	                           "backends = ptrace\n");
	char pids[16], scen[512], out[512];
	snprintf(scen, sizeof(scen), "%s/pid.ini", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	/* A server per round: a kill between apply and revert leaves the
	 * patch applied, which is its own state (the next attach refuses it). */
	for (int round = 0; round < 3; round++) {
		unsigned port = test_port();
		pid_t server = start_server(dir, port);
		snprintf(pids, sizeof(pids), "%d", (int)server);
		pid_t pv = fork();
		cr_assert_geq(pv, 0);
		if (pv == 0) {
			freopen("/dev/null", "w", stdout);
			freopen("/dev/null", "w", stderr);
			execl(BIN, BIN, "run", "--pid", pids, "--engine", "stw-jmp", "--scenario", scen,
			      "--schedules", "100000", "--out", out, (char *)NULL);
			_exit(127);
		}
		/* Mid-run: somewhere in its schedules, while it traces the server
		 * and none of its threads is stopped. (A kill in the middle of an
		 * injected system call, a fraction of a millisecond of each
		 * schedule, would leave a thread with the injection's registers:
		 * see harness/ptrace/pid.c.) */
		struct timespec ts = {0, (300 + 137 * round) * 1000000L};
		nanosleep(&ts, NULL);
		for (int i = 0, calm = 0; i < 5000 && calm < 3; i++) {
			calm = traced_running(server, pv) ? calm + 1 : 0;
			usleep(300);
		}
		int st;
		cr_assert_eq(waitpid(pv, &st, WNOHANG), 0, "patchvet ended early");
		kill(pv, SIGKILL);
		cr_assert_eq(waitpid(pv, &st, 0), pv);
		expect_running_untraced(server);
		expect_answers(dir, port);
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
	}
	pv_test_rmdir_all(dir);
}
