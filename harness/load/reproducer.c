#include "reproducer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/files.h"
#include "../model/sequence.h"

#define HEX_PER_LINE 64

enum key_type { T_STR, T_SHA, T_U64, T_HEX64, T_UINT, T_ULONG, T_LONG, T_INT };

static const struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size; /* T_STR and T_SHA: buffer size */
} keys[] = {
#define STR(n, f)                                                                   \
	{n, T_STR, offsetof(struct pv_reproducer, f), sizeof(((struct pv_reproducer *)0)->f)}
#define NUM(n, t, f) {n, t, offsetof(struct pv_reproducer, f), 0}
	STR("patchvet-version", patchvet_version),
	STR("engine", engine),
	STR("engine-spec", engine_spec),
	{"engine-sha256", T_SHA, offsetof(struct pv_reproducer, engine_sha256), 0},
	STR("scenario", scenario),
	STR("scenario-file", scenario_file),
	STR("backend", backend),
	STR("flavour", flavour),
	STR("mem-model", mem_model),
	NUM("workers", T_UINT, workers),
	NUM("iterations", T_ULONG, iterations),
	NUM("param", T_LONG, param),
	STR("target", target),
	{"target-sha256", T_SHA, offsetof(struct pv_reproducer, target_sha256), 0},
	STR("patch", patch),
	{"patch-sha256", T_SHA, offsetof(struct pv_reproducer, patch_sha256), 0},
	STR("explorer", explorer),
	NUM("seed", T_U64, seed),
	NUM("schedule", T_U64, schedule),
	STR("check", check),
	NUM("thread", T_INT, thread),
	NUM("address", T_HEX64, address),
	NUM("step", T_U64, step),
	STR("detail", detail),
#undef STR
#undef NUM
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Optional keys: written when not empty, at most once, may be
 * absent. */
static const struct key opt_keys[] = {
#define OPT(n, f) {n, T_STR, offsetof(struct pv_reproducer, f), sizeof(((struct pv_reproducer *)0)->f)}
#define EXTRA(i)                                                                        \
	OPT("patch-" #i, extra_patch[i - 2]),                                               \
	{"patch-" #i "-sha256", T_SHA, offsetof(struct pv_reproducer, extra_sha256[i - 2]), 0}
	OPT("sequence", sequence),
	OPT("fault", fault),
	EXTRA(2), EXTRA(3), EXTRA(4), EXTRA(5), EXTRA(6), EXTRA(7), EXTRA(8),
#undef EXTRA
#undef OPT
};
#define NOPT (sizeof(opt_keys) / sizeof(opt_keys[0]))
/* Keys written only when set: the file of a plugin or exec engine (files of
 * built-in engines, and those written before, have neither). */
static bool optional_key(const struct key *k)
{
	return k->offset == offsetof(struct pv_reproducer, engine_spec) ||
	       k->offset == offsetof(struct pv_reproducer, engine_sha256);
}

/* ---------------------------------------------------------------- format */

/* Prints s as one line: control characters become spaces. */
static void put_line_value(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
}

int pv_reproducer_format(const struct pv_reproducer *r, char **text, size_t *len,
                         struct pv_error *err)
{
	*text = NULL;
	*len = 0;
	if (!r->stream && r->stream_len)
		return pv_error_set(err, PV_EINVAL, "reproducer without its decision stream");
	if (r->stream_len > PV_REPRO_MAX_STREAM)
		return pv_error_set(err, PV_ERANGE, "decision stream of %zu bytes is longer than "
		                                    "a reproducer holds (%u)", r->stream_len,
		                    PV_REPRO_MAX_STREAM);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	fprintf(f, "%s %d\n", PV_REPRO_MAGIC, PV_REPRO_VERSION);
	fputs("# replay with: patchvet replay THIS-FILE [--trace]\n", f);
	for (size_t k = 0; k < NKEYS; k++) {
		const char *base = (const char *)r + keys[k].offset;
		if (optional_key(&keys[k]) && !*base)
			continue;
		fprintf(f, "%s ", keys[k].name);
		switch (keys[k].type) {
		case T_STR:
		case T_SHA: put_line_value(f, base); break;
		case T_U64: fprintf(f, "%" PRIu64, *(const uint64_t *)(const void *)base); break;
		case T_HEX64: fprintf(f, "0x%" PRIx64, *(const uint64_t *)(const void *)base); break;
		case T_UINT: fprintf(f, "%u", *(const unsigned *)(const void *)base); break;
		case T_ULONG: fprintf(f, "%lu", *(const unsigned long *)(const void *)base); break;
		case T_LONG: fprintf(f, "%ld", *(const long *)(const void *)base); break;
		case T_INT: fprintf(f, "%d", *(const int *)(const void *)base); break;
		}
		fputc('\n', f);
	}
	for (size_t k = 0; k < NOPT; k++) {
		const char *base = (const char *)r + opt_keys[k].offset;
		if (base[0]) {
			fprintf(f, "%s ", opt_keys[k].name);
			put_line_value(f, base);
			fputc('\n', f);
		}
	}
	fprintf(f, "stream %zu\n", r->stream_len);
	for (size_t i = 0; i < r->stream_len; i++) {
		fprintf(f, "%02x", r->stream[i]);
		if ((i + 1) % (HEX_PER_LINE / 2) == 0 || i + 1 == r->stream_len)
			fputc('\n', f);
	}
	fputs("end\n", f);
	if (fclose(f)) {
		free(buf);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	*text = buf;
	*len = n;
	return 0;
}

int pv_reproducer_save(const char *path, const struct pv_reproducer *r, struct pv_error *err)
{
	char *text;
	size_t len;
	int rc = pv_reproducer_format(r, &text, &len, err);
	if (!rc)
		rc = pv_file_write_atomic(path, text, len, err);
	free(text);
	return rc;
}

/* ----------------------------------------------------------------- parse */

struct parser {
	const char *name;
	const char *p, *end; /* what is left of the text */
	int line;
	struct pv_error *err;
};

static int bad(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct parser *ps, const char *fmt, ...)
{
	char what[PV_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pv_error_set(ps->err, PV_EFORMAT, "%s:%d: %s", ps->name, ps->line, what);
}

/* The next line, without its '\n', in line and n: 1, or 0 at the end of the
 * text. A last line without '\n' means the file was cut short: an error. */
static int next_line(struct parser *ps, const char **line, size_t *n)
{
	if (ps->p >= ps->end)
		return 0;
	const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	ps->line++;
	if (!nl)
		return bad(ps, "the file ends in the middle of a line (truncated?)");
	*line = ps->p;
	*n = (size_t)(nl - ps->p);
	ps->p = nl + 1;
	return 1;
}

/* Parses an unsigned decimal (or 0x hex when hex) that fills the whole of
 * s[0..n) and is at most max. */
static bool parse_u64(const char *s, size_t n, bool hex, uint64_t max, uint64_t *out)
{
	size_t i = 0;
	unsigned base = 10;
	if (hex) {
		if (n < 3 || s[0] != '0' || s[1] != 'x')
			return false;
		i = 2;
		base = 16;
	}
	if (i == n)
		return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		unsigned d;
		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned)(s[i] - 'A' + 10);
		else
			return false;
		if (v > (max - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool parse_i64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	bool neg = n > 0 && s[0] == '-';
	uint64_t mag;
	uint64_t lim = neg ? (uint64_t)(-(min + 1)) + 1 : (uint64_t)max;
	if (!parse_u64(s + neg, n - neg, false, lim, &mag))
		return false;
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return true;
}

static int set_value(struct parser *ps, struct pv_reproducer *r, const struct key *k,
                     const char *v, size_t n)
{
	void *field = (char *)r + k->offset;
	uint64_t u;
	int64_t i;
	switch (k->type) {
	case T_STR:
		if (n >= k->size)
			return bad(ps, "'%s' is longer than %zu bytes", k->name, k->size - 1);
		/* The writer never puts them there (put_line_value): a file holding
		 * one would not read back the same. */
		for (size_t j = 0; j < n; j++)
			if ((unsigned char)v[j] < 0x20 || v[j] == 0x7f)
				return bad(ps, "'%s' holds a control character (byte 0x%02x)", k->name,
				           (unsigned char)v[j]);
		memcpy(field, v, n);
		((char *)field)[n] = '\0';
		return 0;
	case T_SHA:
		if (n != PV_SHA256_HEX_LEN)
			return bad(ps, "'%s' must be 64 hex digits", k->name);
		for (size_t j = 0; j < n; j++)
			if (!((v[j] >= '0' && v[j] <= '9') || (v[j] >= 'a' && v[j] <= 'f')))
				return bad(ps, "'%s' must be 64 lowercase hex digits", k->name);
		memcpy(field, v, n);
		((char *)field)[n] = '\0';
		return 0;
	case T_U64:
	case T_HEX64:
		if (!parse_u64(v, n, k->type == T_HEX64, UINT64_MAX, &u))
			return bad(ps, "'%s' is not %s", k->name,
			           k->type == T_HEX64 ? "a 0x hex number" : "an unsigned number");
		*(uint64_t *)field = u;
		return 0;
	case T_UINT:
		if (!parse_u64(v, n, false, UINT32_MAX, &u))
			return bad(ps, "'%s' is not an unsigned 32-bit number", k->name);
		*(unsigned *)field = (unsigned)u;
		return 0;
	case T_ULONG:
		if (!parse_u64(v, n, false, UINT64_MAX, &u))
			return bad(ps, "'%s' is not an unsigned number", k->name);
		*(unsigned long *)field = (unsigned long)u;
		return 0;
	case T_LONG:
		if (!parse_i64(v, n, INT64_MIN, INT64_MAX, &i))
			return bad(ps, "'%s' is not a number", k->name);
		*(long *)field = (long)i;
		return 0;
	case T_INT:
		if (!parse_i64(v, n, INT32_MIN, INT32_MAX, &i))
			return bad(ps, "'%s' is not a 32-bit number", k->name);
		*(int *)field = (int)i;
		return 0;
	}
	return bad(ps, "internal: key type %d", (int)k->type);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The stream's hex lines up to `end`, into buf[0..len). */
static int parse_stream(struct parser *ps, uint8_t *buf, size_t len)
{
	size_t got = 0;
	const char *line;
	size_t n;
	int more;
	while ((more = next_line(ps, &line, &n)) > 0) {
		if (n == 3 && !memcmp(line, "end", 3)) {
			if (got != len)
				return bad(ps, "the stream has %zu bytes, the header says %zu", got, len);
			break;
		}
		if (n == 0 || n % 2 || n > HEX_PER_LINE)
			return bad(ps, "a stream line must hold 2 to %d hex digits, in pairs",
			           HEX_PER_LINE);
		for (size_t j = 0; j < n; j += 2) {
			int hi = hexval(line[j]), lo = hexval(line[j + 1]);
			if (hi < 0 || lo < 0)
				return bad(ps, "bad hex digit in the stream");
			if (got == len)
				return bad(ps, "the stream is longer than the %zu bytes the header says",
				           len);
			buf[got++] = (uint8_t)(hi << 4 | lo);
		}
	}
	if (more < 0)
		return more;
	if (more == 0)
		return bad(ps, "the file ends before 'end' (truncated?)");
	/* Nothing may follow `end`: a file with a tail is not one we wrote. */
	if (ps->p != ps->end) {
		ps->line++;
		return bad(ps, "text after 'end'");
	}
	return 0;
}

/* The optional keys of a lifecycle run make sense together: a known
 * fault, a sequence that parses, one patch-N for each of its patches after
 * the first. */
static int check_lifecycle(struct parser *ps, const struct pv_reproducer *r)
{
	if (r->fault[0] && !pv_fault_parse(r->fault, strlen(r->fault)))
		return pv_error_set(ps->err, PV_EFORMAT, "%s: unknown fault '%s' (crash, stall or "
		                                         "slowdown)", ps->name, r->fault);
	if (r->fault[0] && r->sequence[0])
		return pv_error_set(ps->err, PV_EFORMAT, "%s: 'fault' and 'sequence' together: a "
		                                         "sequence holds its faults as steps",
		                    ps->name);
	if (!r->sequence[0])
		return 0;
	struct pv_sequence seq;
	struct pv_error serr;
	pv_error_clear(&serr);
	if (pv_sequence_parse(r->sequence, &seq, &serr))
		return pv_error_set(ps->err, PV_EFORMAT, "%s: 'sequence': %s", ps->name, serr.msg);
	size_t extra = 0;
	while (extra < PV_REPRO_EXTRA_MAX && r->extra_patch[extra][0])
		extra++;
	size_t want = seq.npatches - 1;
	pv_sequence_free(&seq);
	if (extra != want)
		return pv_error_set(ps->err, PV_EFORMAT, "%s: the sequence has %zu patches after the "
		                                         "first, the file names %zu (patch-2...)",
		                    ps->name, want, extra);
	return 0;
}

int pv_reproducer_parse(const char *name, const char *text, size_t len,
                        struct pv_reproducer **out, struct pv_error *err)
{
	*out = NULL;
	struct parser ps = {.name = name ? name : "reproducer", .p = text, .end = text + len,
	                    .err = err};
	if (len > PV_REPRO_MAX_FILE)
		return pv_error_set(err, PV_EFORMAT, "%s: %zu bytes is too large for a reproducer",
		                    ps.name, len);
	if (memchr(text, '\0', len))
		return pv_error_set(err, PV_EFORMAT, "%s: not a patchvet reproducer (binary data)",
		                    ps.name);
	const char *line;
	size_t n;
	int rc = next_line(&ps, &line, &n);
	size_t magic = strlen(PV_REPRO_MAGIC);
	if (rc <= 0 || n < magic + 2 || memcmp(line, PV_REPRO_MAGIC " ", magic + 1))
		return pv_error_set(err, PV_EFORMAT, "%s: not a patchvet reproducer (the first line "
		                                     "must be '%s VERSION')", ps.name, PV_REPRO_MAGIC);
	uint64_t version;
	if (!parse_u64(line + magic + 1, n - magic - 1, false, UINT32_MAX, &version))
		return bad(&ps, "bad format version");
	if (version != PV_REPRO_VERSION)
		return pv_error_set(err, PV_EABI, "%s: reproducer format version %" PRIu64 " is not "
		                                  "supported (this patchvet reads version %d)",
		                    ps.name, version, PV_REPRO_VERSION);

	struct pv_reproducer hdr;
	memset(&hdr, 0, sizeof(hdr));
	int seen[NKEYS] = {0}, seen_opt[NOPT] = {0};
	size_t stream_len = 0;
	bool have_stream = false;
	while (!have_stream && (rc = next_line(&ps, &line, &n)) > 0) {
		if (n == 0 || line[0] == '#')
			continue;
		const char *sp = memchr(line, ' ', n);
		if (!sp)
			return bad(&ps, "expected 'KEY VALUE'");
		size_t klen = (size_t)(sp - line);
		const char *v = sp + 1;
		size_t vlen = n - klen - 1;
		if (klen == 6 && !memcmp(line, "stream", 6)) {
			uint64_t sl;
			if (!parse_u64(v, vlen, false, PV_REPRO_MAX_STREAM, &sl))
				return bad(&ps, "'stream' needs a length of at most %u bytes",
				           PV_REPRO_MAX_STREAM);
			stream_len = (size_t)sl;
			have_stream = true;
			break;
		}
		size_t k = 0, o = 0;
		while (k < NKEYS && (strlen(keys[k].name) != klen || memcmp(keys[k].name, line, klen)))
			k++;
		while (k == NKEYS && o < NOPT &&
		       (strlen(opt_keys[o].name) != klen || memcmp(opt_keys[o].name, line, klen)))
			o++;
		if (k == NKEYS && o < NOPT) {
			if (seen_opt[o])
				return bad(&ps, "'%s' appears twice", opt_keys[o].name);
			seen_opt[o] = ps.line;
			if ((rc = set_value(&ps, &hdr, &opt_keys[o], v, vlen)))
				return rc;
			continue;
		}
		if (k == NKEYS)
			return bad(&ps, "unknown key '%.*s'", (int)(klen < 40 ? klen : 40), line);
		if (seen[k])
			return bad(&ps, "'%s' appears twice", keys[k].name);
		seen[k] = ps.line;
		if ((rc = set_value(&ps, &hdr, &keys[k], v, vlen)))
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!have_stream)
		return bad(&ps, "the file ends before the stream (truncated?)");
	for (size_t k = 0; k < NKEYS; k++)
		if (!seen[k] && !optional_key(&keys[k]))
			return pv_error_set(err, PV_EFORMAT, "%s: missing key '%s'", ps.name,
			                    keys[k].name);
	/* A sequence's patch and its hash come together, in order. */
	for (size_t i = 0; i < PV_REPRO_EXTRA_MAX; i++) {
		bool path = hdr.extra_patch[i][0], sha = hdr.extra_sha256[i][0];
		if (path != sha || (path && !hdr.sequence[0]) || (i && path && !hdr.extra_patch[i - 1][0]))
			return pv_error_set(err, PV_EFORMAT, "%s: 'patch-%zu' needs 'patch-%zu-sha256', "
			                                     "a 'sequence' and the patches before it",
			                    ps.name, i + 2, i + 2);
	}
	if ((rc = check_lifecycle(&ps, &hdr)))
		return rc;
	if (!hdr.engine_spec[0] != !hdr.engine_sha256[0])
		return pv_error_set(err, PV_EFORMAT, "%s: 'engine-spec' and 'engine-sha256' go "
		                                     "together (one is missing)", ps.name);

	struct pv_reproducer *r = malloc(sizeof(*r) + stream_len);
	if (!r)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", ps.name);
	*r = hdr;
	uint8_t *stream = (uint8_t *)(r + 1);
	r->stream = stream;
	r->stream_len = stream_len;
	if ((rc = parse_stream(&ps, stream, stream_len))) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int pv_reproducer_load(const char *path, struct pv_reproducer **out, struct pv_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s: %s", path,
		                    strerror(errno));
	char *buf = malloc(PV_REPRO_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", path);
	}
	size_t n = fread(buf, 1, PV_REPRO_MAX_FILE + 1, f);
	int rc = 0;
	if (ferror(f))
		rc = pv_error_set(err, PV_EIO, "%s: read error", path);
	fclose(f);
	if (!rc)
		rc = pv_reproducer_parse(path, buf, n, out, err);
	free(buf);
	return rc;
}

void pv_reproducer_free(struct pv_reproducer *r)
{
	free(r);
}

static int check_one(const char *what, const char *path, const char *recorded,
                     struct pv_error *err)
{
	char now[PV_SHA256_HEX_LEN + 1];
	int rc = pv_sha256_file(path, now, err);
	if (rc)
		return rc;
	if (strcmp(now, recorded))
		return pv_error_set(err, PV_EABI, "reproducer was recorded for other binaries: %s "
		                                  "sha256 differs (recorded %.12s..., %s has "
		                                  "%.12s...)", what, recorded, path, now);
	return 0;
}

int pv_reproducer_check_binaries(const struct pv_reproducer *r, const char *target,
                                 const char *patch, struct pv_error *err)
{
	int rc = check_one("target", target, r->target_sha256, err);
	if (!rc)
		rc = check_one("patch", patch, r->patch_sha256, err);
	for (size_t i = 0; !rc && i < PV_REPRO_EXTRA_MAX && r->extra_patch[i][0]; i++)
		rc = check_one("sequence patch", r->extra_patch[i], r->extra_sha256[i], err);
	return rc;
}
