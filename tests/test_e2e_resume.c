/* End-to-end: a campaign interrupted with SIGINT (or SIGTERM) and resumed
 * with --resume ends with the results of an uninterrupted one. */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define BIN PV_PATCHVET_BIN

/* Refusals are instant and kept at once, the other results take a second
 * or two: the interruption falls after a kept UNSAFE result (with its
 * reproducers) and while stw-jmp or ksplice runs. */
static char *const campaign_args[] = {
	"--backend", "emu", "--scenario", "counter", "--engine", "pulp", "--engine", "naive-write",
	"--engine", "int3-live", "--engine", "stw-jmp", "--engine", "ksplice", "--engine",
	"no-quiesce", "--schedules", "600", "--seed", "4", NULL};

static void argv_of(char **v, const char *out, const char *jobs)
{
	int n = 0;
	v[n++] = BIN;
	v[n++] = "run";
	for (int i = 0; campaign_args[i]; i++)
		v[n++] = campaign_args[i];
	v[n++] = "--out";
	v[n++] = (char *)out;
	if (jobs) {
		v[n++] = "--jobs";
		v[n++] = (char *)jobs;
	}
	v[n] = NULL;
}

static size_t kept_results(const char *out)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/.checkpoint", out);
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += !strncmp(de->d_name, "job-", 4);
	if (d)
		closedir(d);
	return n;
}

static char *comparable(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/results.json", dir);
	struct json_object *j = json_object_from_file(path);
	cr_assert_not_null(j, "no %s", path);
	json_object_object_del(j, "schedules_per_second");
	json_object_object_del(j, "elapsed_seconds");
	char *s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
	json_object_put(j);
	return s;
}

/* Starts the campaign, interrupts it with sig once `after` results are
 * kept, resumes it, and compares with an uninterrupted run. */
static void interrupted(int sig, const char *jobs)
{
	char *dir = pv_test_tmpdir("resume");
	char whole[256], cut[256];
	snprintf(whole, sizeof(whole), "%s/whole", dir);
	snprintf(cut, sizeof(cut), "%s/cut", dir);
	char *v[64];
	argv_of(v, whole, jobs);
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(v, 300, &o), 0);
	cr_assert_eq(o.status, 1, "%s", o.err);
	pv_test_output_free(&o);

	argv_of(v, cut, jobs);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setpgid(0, 0); /* like a shell's job: the signal goes to the group */
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execv(BIN, v);
		_exit(127);
	}
	setpgid(pid, pid);
	struct timespec ts = {0, 20 * 1000 * 1000};
	for (int i = 0; i < 3000 && kept_results(cut) < 3; i++)
		nanosleep(&ts, NULL);
	size_t kept = kept_results(cut);
	kill(-pid, sig);
	int status;
	waitpid(pid, &status, 0);
	cr_assert_geq(kept, 3, "no result was kept before the interruption");
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig,
	          "the run ended before the signal (status 0x%x): make it longer", status);
	cr_expect_geq(kept_results(cut), kept, "kept results were lost");

	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--resume", cut, NULL}, 300, &o), 0);
	cr_expect_eq(o.status, 1, "resume: exit %d\n%s", o.status, o.err);
	cr_expect(strstr(o.err, "resuming"), "%s", o.err);
	pv_test_output_free(&o);
	char *a = comparable(whole), *b = comparable(cut);
	cr_expect_str_eq(a, b, "the resumed run differs from the uninterrupted one");
	free(a);
	free(b);
	char *d = pv_test_sh("diff -r %s/repro %s/repro && echo same; ls -A %s | grep -c '^\\.' "
	                     "|| true", whole, cut, cut);
	cr_expect(strstr(d, "same"), "reproducers differ: %s", d);
	cr_expect(strstr(d, "same\n0"), "the checkpoint or a worker directory was left: %s", d);
	free(d);
	pv_test_rmdir_all(dir);
}

Test(e2e_resume, sigint_then_resume_gives_the_uninterrupted_results, .timeout = 300)
{
	interrupted(SIGINT, NULL);
}

Test(e2e_resume, sigterm_with_jobs_then_resume, .timeout = 300)
{
	interrupted(SIGTERM, "2");
}

Test(e2e_resume, resume_needs_a_checkpoint_and_no_other_option)
{
	char *dir = pv_test_tmpdir("resume-bad");
	struct pv_test_output o;
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--resume", dir, NULL}, 60, &o), 0);
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "no interrupted run to resume"), "%s", o.err);
	pv_test_output_free(&o);
	cr_assert_eq(pv_test_run((char *[]){BIN, "run", "--resume", dir, "--seed", "2", NULL}, 60,
	                         &o), 0);
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "give no others"), "%s", o.err);
	pv_test_output_free(&o);
	pv_test_rmdir_all(dir);
}
