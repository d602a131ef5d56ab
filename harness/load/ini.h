/* The one strict INI reader of patchvet's own files (scenarios, exec
 * files), over libinih.
 *
 * inih is lenient where a hand-written file deserves a clear error: it joins
 * an indented line to the previous value, splits a line longer than its
 * buffer into two, stops reading a line at a NUL byte and reports no line
 * numbers to the handler. So the file reaches inih through this reader,
 * which opens it without blocking (a FIFO or device is refused, not waited
 * on), counts lines, and rejects those cases and unknown sections before
 * inih sees them; the caller's handler then checks every key and value. */
#ifndef PV_LOAD_INI_H
#define PV_LOAD_INI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <patchvet/error.h>

#include "../util/must_check.h"

/* How much of a bad value an error message quotes. */
#define PV_INI_QUOTE_MAX 48

struct pv_ini_format {
	const char *what;               /* "scenario file": for messages */
	long max_bytes;                 /* larger files are refused */
	const char *const *sections;    /* the known section names */
	size_t nsections;
	const char *expected;           /* "[scenario] or [workload]": for messages */
	bool unique_sections;           /* a section may appear only once */
};

/* One key on line `line`: 0 to go on, or the negative code of an error the
 * handler reported (into the pv_error the parse was given). */
typedef int (*pv_ini_key_fn)(void *ctx, const char *section, const char *key,
                             const char *value, int line);

/* Parses path, calling on_key for every key of a known section. The first
 * problem, the reader's or the handler's, is the one reported ("FILE:LINE:
 * ..."). section_line, when not NULL, receives for each known section the
 * line of its header (0: absent). */
PV_MUST_CHECK int pv_ini_parse(const char *path, const struct pv_ini_format *fmt,
                               pv_ini_key_fn on_key, void *ctx, int *section_line,
                               struct pv_error *err);

/* Records the first error of a parse into *rc and err, as "FILE:LINE:
 * MESSAGE" ("FILE: MESSAGE" when line <= 0); a later one is a consequence
 * and is dropped. Returns *rc. The handlers of every INI format word their
 * errors through it, so all read alike. */
int pv_ini_vfail(int *rc, struct pv_error *err, const char *file, int code, int line,
                 const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* Copies at most PV_INI_QUOTE_MAX bytes of s into buf with anything
 * unprintable as '?', so garbage input cannot garble the terminal. */
const char *pv_ini_quote(char *buf, size_t len, const char *s);

#endif
