/* Parser harness: a reproducer (harness/load/reproducer.c). What parses must
 * format and parse again to the same stream: a reproducer `replay` cannot
 * read back is a finding too (abort). */
#include "../harness/load/reproducer.h"
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
	struct pv_reproducer *r = NULL, *again = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	if (pv_reproducer_parse("input", (const char *)buf, len, &r, &err))
		return;
	char *text = NULL;
	size_t tlen = 0;
	if (pv_reproducer_format(r, &text, &tlen, &err) ||
	    pv_reproducer_parse("formatted", text, tlen, &again, &err)) {
		fprintf(stderr, "parse_repro: a parsed reproducer does not read back: %s\n", err.msg);
		abort();
	}
	if (again->stream_len != r->stream_len ||
	    memcmp(again->stream, r->stream, r->stream_len) || strcmp(again->check, r->check)) {
		fprintf(stderr, "parse_repro: the stream or check changed on a round trip\n");
		abort();
	}
	free(text);
	pv_reproducer_free(again);
	pv_reproducer_free(r);
}

#include "parser_main.h"
