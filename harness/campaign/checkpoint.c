#include "checkpoint.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/report.h"
#include "../util/files.h"

#define COMMAND_MAX (1u << 20)

static int path_of(char *buf, size_t len, const char *out_dir, const char *name)
{
	return snprintf(buf, len, "%s/.checkpoint%s%s", out_dir, name ? "/" : "",
	                name ? name : "") >= (int)len;
}

int pv_checkpoint_begin(const char *out_dir, int argc, char *const argv[], int resuming,
                        struct pv_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (path_of(dir, sizeof(dir), out_dir, NULL) ||
	    path_of(path, sizeof(path), out_dir, "command"))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", out_dir);
	int rc = pv_mkdir_p(dir, err);
	if (rc || resuming)
		return rc;
	/* A fresh run forgets an older interrupted one in the same place. */
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "job-", 4)) {
			char old[PATH_MAX + 256];
			snprintf(old, sizeof(old), "%s/%s", dir, de->d_name);
			remove(old);
		}
	if (d)
		closedir(d);
	/* The arguments, NUL-terminated one after the other. */
	size_t len = 0;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *buf = malloc(len ? len : 1), *p = buf;
	if (!buf)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		memcpy(p, argv[i], n);
		p += n;
	}
	rc = pv_file_write_atomic(path, buf, len, err);
	free(buf);
	return rc;
}

int pv_checkpoint_save(const char *out_dir, size_t job, const struct pv_campaign *settings,
                       const struct pv_result *r, struct pv_error *err)
{
	char name[32], path[PATH_MAX];
	snprintf(name, sizeof(name), "job-%06zu.json", job);
	if (path_of(path, sizeof(path), out_dir, name))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", out_dir);
	struct pv_campaign one = *settings;
	one.results = (struct pv_result *)r; /* read only: one result, borrowed */
	one.nresults = 1;
	one.total_schedules = r->schedules;
	char *text = NULL;
	size_t len = 0;
	int rc = pv_report_json(&one, &text, &len, err);
	if (!rc)
		rc = pv_file_write_atomic(path, text, len, err);
	free(text);
	return rc;
}

int pv_checkpoint_load(const char *out_dir, const struct pv_job *jobs, size_t njobs,
                       struct pv_campaign *kept, const struct pv_result **finished,
                       struct pv_error *err)
{
	pv_campaign_init(kept);
	size_t *index = calloc(njobs ? njobs : 1, sizeof(*index));
	if (!index)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; !rc && i < njobs; i++) {
		finished[i] = NULL;
		char name[32], path[PATH_MAX];
		snprintf(name, sizeof(name), "job-%06zu.json", i);
		if (path_of(path, sizeof(path), out_dir, name)) {
			rc = pv_error_set(err, PV_ERANGE, "%s: path too long", out_dir);
			break;
		}
		char *text = NULL;
		size_t len = 0;
		struct pv_error ferr;
		if (pv_file_read(path, 1u << 30, &text, &len, &ferr))
			continue; /* not finished */
		struct pv_campaign one;
		rc = pv_report_json_read(text, len, path, &one, err);
		free(text);
		if (rc)
			break;
		if (one.nresults != 1 || strcmp(one.results[0].engine, jobs[i].engine->name) ||
		    strcmp(one.results[0].scenario, jobs[i].scenario)) {
			rc = pv_error_set(err, PV_EFORMAT, "%s is not the result of job %zu (%s on %s): "
			                                   "the checkpoint belongs to another campaign",
			                  path, i + 1, jobs[i].engine->name, jobs[i].scenario);
			pv_campaign_free(&one);
			break;
		}
		rc = pv_campaign_add_copy(kept, &one.results[0], err);
		index[i] = kept->nresults;
		pv_campaign_free(&one);
	}
	/* Pointers only now: kept->results moved while it grew. */
	for (size_t i = 0; !rc && i < njobs; i++)
		finished[i] = index[i] ? &kept->results[index[i] - 1] : NULL;
	free(index);
	if (rc)
		pv_campaign_free(kept);
	return rc;
}

int pv_checkpoint_command(const char *dir, int *argc, char ***argv, struct pv_error *err)
{
	char path[PATH_MAX];
	if (path_of(path, sizeof(path), dir, "command"))
		return pv_error_set(err, PV_ERANGE, "%s: path too long", dir);
	char *text = NULL;
	size_t len = 0;
	struct pv_error ferr;
	if (pv_file_read(path, COMMAND_MAX, &text, &len, &ferr))
		return pv_error_set(err, PV_ENOENT, "%s holds no interrupted run to resume (no %s)",
		                    dir, path);
	int n = 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\0';
	if (len && text[len - 1] != '\0') {
		free(text);
		return pv_error_set(err, PV_EFORMAT, "%s: damaged (not NUL-terminated arguments)",
		                    path);
	}
	/* One allocation: the pointer array, then the strings. */
	char **v = malloc((size_t)(n + 1) * sizeof(*v) + len + 1);
	if (!v) {
		free(text);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	char *s = (char *)(v + n + 1);
	memcpy(s, text, len);
	free(text);
	for (int i = 0; i < n; i++) {
		v[i] = s;
		s += strlen(s) + 1;
	}
	v[n] = NULL;
	*argc = n;
	*argv = v;
	return 0;
}

void pv_checkpoint_end(const char *out_dir)
{
	char dir[PATH_MAX];
	if (!path_of(dir, sizeof(dir), out_dir, NULL))
		pv_remove_tree(dir);
}
