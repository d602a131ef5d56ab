/* main() of a parser harness (fuzz/parser.h says how); included last. */
#ifndef PV_FUZZ_PARSER_MAIN_H
#define PV_FUZZ_PARSER_MAIN_H

#include "parser.h"

#ifndef FUZZ_FILE_NAME
#define FUZZ_FILE_NAME "input"
#endif

#ifdef __AFL_COMPILER
__AFL_FUZZ_INIT();
#else
/* Reads path whole and runs it; returns the inputs run (0 or 1). */
static unsigned run_file(struct fuzz_ctx *c, const struct pv_fuzz_file *f, const char *path)
{
	FILE *in = fopen(path, "rb");
	if (!in) {
		fprintf(stderr, "%s: cannot read\n", path);
		exit(2);
	}
	size_t cap = 1 << 16, len = 0, n;
	uint8_t *buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len, in)) > 0)
		if ((len += n) == cap)
			buf = realloc(buf, cap *= 2);
	fclose(in);
	if (!buf)
		exit(3);
	fuzz_one(c, f, buf, len);
	free(buf);
	return 1;
}

static unsigned run_path(struct fuzz_ctx *c, const struct pv_fuzz_file *f, const char *path)
{
	struct stat st;
	if (stat(path, &st)) {
		fprintf(stderr, "%s: no such file or directory\n", path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(c, f, path);
	DIR *d = opendir(path);
	unsigned n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char sub[PATH_MAX];
		if (de->d_name[0] == '.' || snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		                                    (int)sizeof(sub))
			continue;
		if (!stat(sub, &st) && S_ISREG(st.st_mode))
			n += run_file(c, f, sub);
	}
	if (d)
		closedir(d);
	return n;
}
#endif

int main(int argc, char **argv)
{
	struct fuzz_ctx *c = calloc(1, sizeof(struct fuzz_ctx));
	struct pv_fuzz_file file = {{0}, {0}};
	if (!c || fuzz_setup(c)) {
		fprintf(stderr, "%s: set-up failed\n", argv[0]);
		return 2;
	}
#ifdef __AFL_COMPILER
	(void)argc;
	__AFL_INIT();
	if (pv_fuzz_file_open(&file, FUZZ_FILE_NAME))
		return 2;
	const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(100000))
		fuzz_one(c, &file, buf, (size_t)__AFL_FUZZ_TESTCASE_LEN);
#else
	if (pv_fuzz_file_open(&file, FUZZ_FILE_NAME))
		return 2;
	unsigned n = 0;
	for (int i = 1; i < argc; i++)
		n += run_path(c, &file, argv[i]);
	printf("%s: %u inputs, no crash\n", argv[0], n);
#endif
	pv_fuzz_file_close(&file);
	fuzz_teardown(c);
	free(c);
	return 0;
}

#endif
