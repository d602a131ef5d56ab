#include "ini.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* State of one parse: the line reader and the key handler share it. */
struct pv_ini {
	const char *file;
	const struct pv_ini_format *fmt;
	FILE *f;
	int line;        /* number of the line inih is working on */
	int rc;          /* first error, 0 when none */
	int err_line;    /* its line, 0 when it has none */
	struct pv_error *err;
	int *section_line;
	pv_ini_key_fn on_key;
	void *ctx;
};

const char *pv_ini_quote(char *buf, size_t len, const char *s)
{
	size_t n = 0, i = 0;
	for (; s[i] && n + 1 < len && i < PV_INI_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (s[i] && n + 4 < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

int pv_ini_vfail(int *rc, struct pv_error *err, const char *file, int code, int line,
                 const char *fmt, va_list ap)
{
	if (*rc)
		return *rc;
	char msg[PV_ERROR_MSG_MAX];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	*rc = code;
	if (line > 0)
		pv_error_set(err, code, "%s:%d: %s", file, line, msg);
	else
		pv_error_set(err, code, "%s: %s", file, msg);
	return code;
}

__attribute__((format(printf, 4, 5))) static int fail(struct pv_ini *p, int code, int line,
                                                      const char *fmt, ...)
{
	if (p->rc)
		return p->rc;
	va_list ap;
	va_start(ap, fmt);
	pv_ini_vfail(&p->rc, p->err, p->file, code, line, fmt, ap);
	va_end(ap);
	p->err_line = line;
	return p->rc;
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* A section header: known, not repeated where the format says so, nothing
 * but a comment after ']'. */
static int check_section(struct pv_ini *p, const char *start, int line)
{
	char q[PV_INI_QUOTE_MAX + 4];
	const char *close = strchr(start, ']');
	if (!close)
		return fail(p, PV_EFORMAT, line, "section header '%s' has no closing ']'",
		            pv_ini_quote(q, sizeof(q), start));
	for (const char *t = close + 1; *t && *t != ';' && *t != '#'; t++)
		if (!is_blank(*t))
			return fail(p, PV_EFORMAT, line, "unexpected text after ']' in '%s'",
			            pv_ini_quote(q, sizeof(q), start));
	size_t len = (size_t)(close - start - 1);
	const struct pv_ini_format *fmt = p->fmt;
	for (size_t i = 0; i < fmt->nsections; i++) {
		if (strlen(fmt->sections[i]) != len || strncmp(fmt->sections[i], start + 1, len))
			continue;
		if (p->section_line[i] && fmt->unique_sections)
			return fail(p, PV_EFORMAT, line,
			            "section [%s] appears twice (first on line %d); merge the two",
			            fmt->sections[i], p->section_line[i]);
		if (!p->section_line[i])
			p->section_line[i] = line;
		return 0;
	}
	char name[PV_INI_QUOTE_MAX + 4];
	pv_ini_quote(name, sizeof(name), start + 1);
	char *end = strchr(name, ']');
	if (end)
		*end = '\0';
	return fail(p, PV_EFORMAT, line, "unknown section [%s] (expected %s)", name,
	            fmt->expected);
}

/* The ini_reader: one whole line per call, or NULL at the end or on the
 * first problem (which stops inih). */
static char *read_line(char *str, int num, void *stream)
{
	struct pv_ini *p = stream;
	if (p->rc || num < 4)
		return NULL;
	int line = p->line + 1;
	/* inih needs room for '\r', '\n' and the NUL besides the text. */
	int max = num - 3, n = 0, c;
	while ((c = getc(p->f)) != EOF && c != '\n') {
		if (c == '\0') {
			fail(p, PV_EFORMAT, line, "contains a NUL byte; this is not a text file");
			return NULL;
		}
		if (c == '\r')
			continue;
		if (n >= max) {
			fail(p, PV_EFORMAT, line, "line is longer than %d characters", max);
			return NULL;
		}
		str[n++] = (char)c;
	}
	if (c == EOF && ferror(p->f)) {
		fail(p, PV_EIO, line, "read error");
		return NULL;
	}
	if (c == EOF && n == 0)
		return NULL;
	str[n] = '\0';
	p->line = line;

	const char *start = str;
	while (is_blank(*start))
		start++;
	if (!*start || *start == ';' || *start == '#')
		return str;
	if (start != str) {
		fail(p, PV_EFORMAT, line,
		     "indented line; remove the indentation (continuation lines are "
		     "not supported)");
		return NULL;
	}
	if (*start == '[' && check_section(p, start, line))
		return NULL;
	return str;
}

/* The ini_handler: nonzero to go on. */
static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct pv_ini *p = user;
	char q[PV_INI_QUOTE_MAX + 4];
	if (p->rc)
		return 0;
	if (!*section)
		return !fail(p, PV_EFORMAT, p->line,
		             "key '%s' comes before any section; put it under %s",
		             pv_ini_quote(q, sizeof(q), name), p->fmt->expected);
	if (!*name)
		return !fail(p, PV_EFORMAT, p->line, "a key name is missing before the '='");
	int rc = p->on_key(p->ctx, section, name, value, p->line);
	if (rc && !p->rc) {
		p->rc = rc;
		p->err_line = p->line;
	}
	return !rc;
}

/* Opens path for reading without blocking on a FIFO or a device, and only
 * when it is a regular file of at most fmt->max_bytes. */
static int open_file(const char *path, const struct pv_ini_format *fmt, FILE **out,
                     struct pv_error *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO,
		                    "%s: cannot open the %s: %s", path, fmt->what, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st))
		rc = pv_error_set(err, PV_EIO, "%s: cannot stat: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = pv_error_set(err, PV_EFORMAT, "%s: not a regular file", path);
	else if (st.st_size > fmt->max_bytes)
		rc = pv_error_set(err, PV_EFORMAT, "%s: %lld bytes is too large for a %s (at most %ld)",
		                  path, (long long)st.st_size, fmt->what, fmt->max_bytes);
	else if (fcntl(fd, F_SETFL, 0) || !(*out = fdopen(fd, "r")))
		rc = pv_error_set(err, PV_EIO, "%s: cannot read: %s", path, strerror(errno));
	if (rc)
		close(fd);
	return rc;
}

int pv_ini_parse(const char *path, const struct pv_ini_format *fmt, pv_ini_key_fn on_key,
                 void *ctx, int *section_line, struct pv_error *err)
{
	int lines[16] = {0};
	if (fmt->nsections > sizeof(lines) / sizeof(lines[0]))
		return pv_error_set(err, PV_EINTERNAL, "%s: too many sections in its format", path);
	struct pv_ini p = {.file = path, .fmt = fmt, .err = err, .on_key = on_key, .ctx = ctx,
	                   .section_line = section_line ? section_line : lines};
	memset(p.section_line, 0, fmt->nsections * sizeof(*p.section_line));
	int rc = open_file(path, fmt, &p.f, err);
	if (rc)
		return rc;
	int r = ini_parse_stream(read_line, &p, handle_key, &p);
	fclose(p.f);
	/* inih's own syntax errors (a line without '=') come with a line
	 * number; report whichever problem comes first in the file. */
	if (r > 0 && (!p.rc || r < p.err_line)) {
		p.rc = 0;
		fail(&p, PV_EFORMAT, r, "expected '[section]', 'key = value' or a comment (';' or '#')");
	} else if (r < 0 && !p.rc) {
		fail(&p, r == -2 ? PV_ENOMEM : PV_EIO, 0, "inih could not read the file");
	}
	return p.rc;
}
