/* Seeds for schedule fuzzing: streams of the random explorer
 * (harness/explore/explore.h) that run clean on ENGINE x SCENARIO. AFL skips seeds
 * that crash, and gives up when all of them do; violating streams are
 * already findings, so only clean ones are worth mutating.
 *
 *     seeds ENGINE SCENARIO DIR [COUNT [SEED]]     (COUNT default 16, SEED 1)
 *
 * Writes DIR/random-INDEX for the first COUNT clean streams among the first
 * 100 * COUNT. When none is clean (the engine violates on every stream
 * tried, nothing for AFL to search), it writes the first COUNT violating
 * ones instead, as crash inputs for `patchvet import-crashes`, and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/explore/explore.h"
#include "../harness/util/files.h"
#include "../harness/campaign/fuzzjob.h"

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: seeds ENGINE SCENARIO DIR [COUNT [SEED]]\n");
		return 2;
	}
	unsigned long count = argc > 4 ? strtoul(argv[4], NULL, 0) : 16;
	struct pv_explorer x = {.kind = PV_EXPLORE_RANDOM,
	                        .seed = argc > 5 ? strtoull(argv[5], NULL, 0) : 1};
	struct pv_error err;
	pv_error_clear(&err);
	struct pv_fuzzjob *job = NULL;
	size_t cap = pv_explore_stream_len(&x);
	uint8_t *stream = malloc(cap);
	struct pv_run_result *res = malloc(sizeof(*res));
	int rc = stream && res ? 0 : pv_error_set(&err, PV_ENOMEM, "out of memory");
	if (!rc)
		rc = pv_fuzzjob_open(argv[1], argv[2], getenv("PATCHVET_FLAVOUR"), NULL, NULL, &job,
		                     &err);
	if (!rc)
		rc = pv_mkdir_p(argv[3], &err);
	unsigned long kept = 0, tried = 0;
	for (uint64_t i = 0; !rc && kept < count && i < 100 * count; i++, tried++) {
		size_t len;
		if ((rc = pv_explore_stream(&x, i, stream, cap, &len, &err)) ||
		    (rc = pv_fuzzjob_run(job, stream, len, res, &err)))
			break;
		if (res->nviolations)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/random-%llu", argv[3], (unsigned long long)i);
		if (!(rc = pv_file_write_atomic(path, stream, len, &err)))
			kept++;
	}
	/* Every stream violates: keep the first ones as findings. */
	unsigned long violating = 0;
	for (uint64_t i = 0; !rc && !kept && i < count; i++, violating++) {
		size_t len;
		char path[4096];
		snprintf(path, sizeof(path), "%s/id:%06llu,random", argv[3], (unsigned long long)i);
		if (!(rc = pv_explore_stream(&x, i, stream, cap, &len, &err)))
			rc = pv_file_write_atomic(path, stream, len, &err);
	}
	pv_fuzzjob_close(job);
	free(stream);
	free(res);
	if (rc) {
		fprintf(stderr, "seeds: %s\n", err.msg);
		return rc == PV_ENOMEM ? 3 : 2;
	}
	printf("seeds: %lu clean streams of %lu tried in %s\n", kept, tried, argv[3]);
	if (!kept) {
		fprintf(stderr, "seeds: every random stream tried violates a check (nothing for "
		                "AFL to search); the first %lu are in %s as crash inputs\n", violating,
		        argv[3]);
		return 1;
	}
	return 0;
}
