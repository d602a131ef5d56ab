/* Parser harness: results.json as `patchvet merge` and `--jobs` read it
 * (reports/json_read.c). What reads must write and read back to the same
 * document: a part that merge cannot pass on unchanged is a finding too
 * (abort). */
#include <stdlib.h>

#include "../reports/report.h"
#include "parser.h"

struct fuzz_ctx {
	int unused;
};

static int fuzz_setup(struct fuzz_ctx *c)
{
	(void)c;
	return 0;
}

static void fuzz_teardown(struct fuzz_ctx *c)
{
	(void)c;
}

static void fuzz_one(struct fuzz_ctx *c, const struct pv_fuzz_file *f, const uint8_t *buf,
                     size_t len)
{
	(void)c;
	(void)f;
	struct pv_campaign a, b;
	struct pv_error err;
	pv_error_clear(&err);
	if (pv_report_json_read((const char *)buf, len, "input", &a, &err))
		return;
	char *t1 = NULL, *t2 = NULL;
	size_t l1 = 0, l2 = 0;
	if (pv_report_json(&a, &t1, &l1, &err) ||
	    pv_report_json_read(t1, l1, "written", &b, &err)) {
		fprintf(stderr, "parse_results: a results.json that reads does not read back: %s\n",
		        err.msg);
		abort();
	}
	if (pv_report_json(&b, &t2, &l2, &err) || l1 != l2 || memcmp(t1, t2, l1)) {
		fprintf(stderr, "parse_results: writing what was read changes it\n");
		abort();
	}
	free(t1);
	free(t2);
	pv_campaign_free(&a);
	pv_campaign_free(&b);
}

#include "parser_main.h"
