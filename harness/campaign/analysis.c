/* The patchability analysis campaign of the default `patchvet run`: every
 * scenario in every flavour it is built in, analysed and compared with the
 * analysis lines of corpora/expected. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../reports/analysis.h"
#include "../../reports/report.h"
#include "../load/analysis.h"
#include "../load/objects.h"
#include "../load/image.h"
#include "../load/patchfile.h"
#include "../load/scenario.h"
#include "../model/version.h"
#include "../util/exit.h"
#include "../util/files.h"
#include "analysis.h"
#include "expected.h"
#include "run.h"

struct run_totals {
	size_t results, as_expected, unexpected;
};



/* Analyses one scenario in one flavour and appends the result to `results`
 * and a line to `text`. Returns 0 or an input error (already in err). */
static int run_one(const struct pv_scenario *sc, unsigned flavour, const char *data,
                   const struct pv_expected *expected, struct json_object *results,
                   FILE *text, struct run_totals *t, struct pv_error *err)
{
	char target_path[PATH_MAX], patch_path[PATH_MAX];
	struct pv_image *target = NULL;
	struct pv_patch *patch = NULL;
	struct pv_analysis *a = NULL;
	int e = pv_scenario_target_path(sc, data, flavour, target_path, sizeof(target_path), err);
	if (!e && sc->patch)
		e = pv_scenario_patch_path(sc, data, patch_path, sizeof(patch_path), err);
	if (!e)
		e = pv_image_open(target_path, &target, err);
	if (!e && sc->patch)
		e = pv_patch_open(patch_path, &patch, err);
	struct pv_objects objs = {0};
	if (!e && patch && !(e = pv_objects_from_files(&objs, target, err)))
		e = pv_analyze_in(&objs, patch, &a, err);
	else if (!e)
		e = pv_analyze(target, patch, NULL, 0, &a, err);
	pv_objects_free(&objs);
	if (e)
		goto out;

	unsigned hazards = a->patch ? a->patch->hazards : 0;
	for (size_t i = 0; i < a->nfunctions; i++)
		hazards |= a->functions[i].hazards;
	const char *fl = pv_flavour_name(flavour);
	const struct pv_expectation *x = pv_expected_analysis(expected, sc->name, fl);
	bool ok = x && x->hazards == hazards;
	t->results++;
	if (ok)
		t->as_expected++;
	else
		t->unexpected++;

	char got[128], want[128];
	pv_hazards_format(hazards, got, sizeof(got));
	if (x)
		pv_hazards_format(x->hazards, want, sizeof(want));
	else
		snprintf(want, sizeof(want), "(no line)");
	fprintf(text, "%-22s %-7s %-34s %-34s %s\n", sc->name, fl, got, want,
	        ok ? "as expected" : "UNEXPECTED");

	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "scenario", json_object_new_string(sc->name));
	json_object_object_add(r, "flavour", json_object_new_string(fl));
	json_object_object_add(r, "hazards", pv_hazards_to_json(hazards));
	json_object_object_add(r, "expected",
	                       x ? pv_hazards_to_json(x->hazards) : json_object_new_null());
	json_object_object_add(r, "as_expected", json_object_new_boolean(ok));
	json_object_object_add(r, "analysis", pv_analysis_to_json(a));
	json_object_array_add(results, r);
out:
	pv_analysis_free(a);
	pv_patch_close(patch);
	pv_image_close(target);
	return e;
}

static int write_reports(const struct pv_run_options *o, struct json_object *root,
                         const char *text, size_t text_len, struct pv_error *err)
{
	char path[PATH_MAX];
	int e = pv_mkdir_p(o->out_dir, err);
	if (!e && (o->formats & PV_FORMAT_JSON)) {
		if (snprintf(path, sizeof(path), "%s/report.json", o->out_dir) >= (int)sizeof(path))
			return pv_error_set(err, PV_ERANGE, "%s: path too long", o->out_dir);
		const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
		                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
		e = pv_file_write_atomic(path, s, strlen(s), err);
	}
	if (!e && (o->formats & PV_FORMAT_TEXT)) {
		if (snprintf(path, sizeof(path), "%s/report.txt", o->out_dir) >= (int)sizeof(path))
			return pv_error_set(err, PV_ERANGE, "%s: path too long", o->out_dir);
		e = pv_file_write_atomic(path, text, text_len, err);
	}
	return e;
}

int pv_run_analysis(const struct pv_run_options *o, const char *data,
                    const struct pv_expected *expected, int *exit_code, struct pv_error *err)
{
	const char *expected_path = expected->path;
	char **names = NULL;
	size_t nnames = 0;
	char *text = NULL;
	size_t text_len = 0;
	FILE *tf = NULL;
	struct json_object *root = json_object_new_object();
	struct json_object *results = json_object_new_array();
	struct run_totals t = {0};
	int e = 0;
	if (o->nscenarios == 0)
		e = pv_scenario_list(data, &names, &nnames, err);
	if (e)
		goto out;
	tf = open_memstream(&text, &text_len);
	if (!tf) {
		e = pv_error_set(err, PV_ENOMEM, "out of memory");
		goto out;
	}
	fprintf(tf, "patchvet %s campaign: patchability analysis against %s\n\n", PV_VERSION,
	        expected_path);
	fprintf(tf, "%-22s %-7s %-34s %-34s %s\n", "SCENARIO", "FLAVOUR", "HAZARDS", "EXPECTED",
	        "RESULT");
	size_t count = o->nscenarios ? o->nscenarios : nnames;
	for (size_t i = 0; !e && i < count; i++) {
		struct pv_scenario *sc = NULL;
		e = pv_scenario_load(o->nscenarios ? o->scenarios[i] : names[i], data, &sc, err);
		for (unsigned fl = 1; !e && fl <= PV_FLAVOUR_ALL; fl <<= 1)
			if (sc->flavours & fl)
				e = run_one(sc, fl, data, expected, results, tf, &t, err);
		pv_scenario_free(sc);
	}
	if (e)
		goto out;
	fprintf(tf, "\n%zu results: %zu as expected, %zu unexpected\n", t.results, t.as_expected,
	        t.unexpected);
	fclose(tf);
	tf = NULL;

	json_object_object_add(root, "patchvet_version", json_object_new_string(PV_VERSION));
	json_object_object_add(root, "kind", json_object_new_string("analysis-campaign"));
	json_object_object_add(root, "expected_file", json_object_new_string(expected_path));
	json_object_object_add(root, "results", json_object_get(results));
	struct json_object *sum = json_object_new_object();
	json_object_object_add(sum, "results", json_object_new_uint64(t.results));
	json_object_object_add(sum, "as_expected", json_object_new_uint64(t.as_expected));
	json_object_object_add(sum, "unexpected", json_object_new_uint64(t.unexpected));
	json_object_object_add(root, "summary", sum);

	fwrite(text, 1, text_len, stdout);
	e = write_reports(o, root, text, text_len, err);
	if (!e) {
		if (o->formats & PV_FORMAT_TEXT)
			printf("report: %s/report.txt\n", o->out_dir);
		if (o->formats & PV_FORMAT_JSON)
			printf("report: %s/report.json\n", o->out_dir);
		*exit_code = t.unexpected ? PV_EXIT_VIOLATION : PV_EXIT_OK;
	}
out:
	if (tf)
		fclose(tf);
	free(text);
	json_object_put(results);
	json_object_put(root);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return e;
}
