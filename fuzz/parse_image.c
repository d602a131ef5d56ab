/* Parser harness: a target ELF, as `patchvet analyze TARGET` and every run
 * read it: pv_image_open (harness/load/image.c), its lookups, then the
 * patchability analysis of every function (harness/load/analysis.c). */
#include <stdbool.h>

#include "../harness/load/analysis.h"
#include "../harness/load/image.h"
#include "parser.h"

struct fuzz_ctx {
	unsigned sink; /* keeps the lookups' reads from being optimised away */
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
	pv_fuzz_file_put(f, buf, len);
	struct pv_image *img = NULL;
	struct pv_error err;
	pv_error_clear(&err);
	if (pv_image_open(f->path, &img, &err))
		return;
	char hex[129];
	pv_image_build_id_hex(img, hex, sizeof(hex));
	for (size_t i = 0; i < img->nsymbols && i < 4096; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		size_t avail = 0;
		const unsigned char *p = pv_image_at(img, s->value, &avail);
		if (p && avail)
			c->sink += p[0] + p[avail - 1];
		c->sink += pv_image_section_at(img, s->value) != NULL;
		bool amb = false;
		c->sink += pv_image_find_symbol(img, s->name, &amb) != NULL;
	}
	for (size_t i = 0; i < img->nsections; i++) {
		const char *str = pv_image_string(img, i, 1);
		c->sink += str ? (unsigned char)str[0] : 0;
		c->sink += pv_image_section(img, img->sections[i].name) != NULL;
	}
	struct pv_analysis *a = NULL;
	if (!pv_analyze(img, NULL, NULL, 0, &a, &err))
		pv_analysis_free(a);
	pv_image_close(img);
}

#define FUZZ_FILE_NAME "target"
#include "parser_main.h"
