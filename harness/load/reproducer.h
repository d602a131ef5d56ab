/* Reproducers: one violating schedule, stored so that `patchvet replay` runs
 * it again exactly. A versioned text file that people can read: a header of
 * `key value` lines, then the decision stream as hex.
 *
 *     patchvet-reproducer 1
 *     # replay with: patchvet replay THIS-FILE [--trace]
 *     patchvet-version 0.1.0
 *     engine naive-write
 *     engine-spec /abs/engine.so or exec:/abs/FILE (plugins and exec engines)
 *     engine-sha256 64 hex digits (of the file engine-spec names)
 *     scenario counter
 *     scenario-file /.../corpora/scenarios/counter/scenario.ini
 *     backend emu
 *     flavour plain
 *     mem-model byte
 *     workers 2
 *     iterations 1000
 *     param 0
 *     target /.../corpora/emu/counter-plain
 *     target-sha256 64 hex digits
 *     patch /.../corpora/patches/counter-fix.so
 *     patch-sha256 64 hex digits
 *     explorer random
 *     seed 1
 *     schedule 17
 *     check torn-exec
 *     thread 1
 *     address 0x401136
 *     step 212
 *     detail one sentence
 *     stream 256
 *     0f3a... (hex, at most 64 digits a line)
 *     end
 *
 * Every key appears exactly once, in any order, before `stream`, except
 * engine-spec and engine-sha256: both, for an engine loaded from a file
 * (written since 0.1; files without them still read, as a built-in
 * engine's), or neither. Lines
 * starting with `#` and empty lines are ignored in the header. Parsing is
 * strict: a file that is not exactly this is refused with the line and the
 * reason, never guessed at.
 *
 * Optional keys, written only when the run had them, at most
 * once each; a file without them reads as before:
 *     sequence apply:counter-fix,apply:counter-fix2,fault:crash,revert-all
 *     patch-2 /.../corpora/patches/counter-fix2.so   (the sequence's second
 *     patch-2-sha256 64 hex digits                     patch, up to patch-8)
 *     fault crash                                      (--fault of the run) */
#ifndef PV_HARNESS_REPRODUCER_H
#define PV_HARNESS_REPRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#include "../util/hash.h"
#include "../util/must_check.h"

#define PV_REPRO_VERSION 1
#define PV_REPRO_MAGIC "patchvet-reproducer"
#define PV_REPRO_PATH_MAX 4096
/* Larger streams are refused rather than allocated. */
#define PV_REPRO_MAX_STREAM (1u << 20)
/* A sequence's patches after the first (PV_SEQ_MAX_PATCHES - 1). */
#define PV_REPRO_EXTRA_MAX 7
/* Files larger than this are not reproducers. */
#define PV_REPRO_MAX_FILE (8u << 20)

struct pv_reproducer {
	char patchvet_version[32];
	char engine[64];
	char engine_spec[PV_REPRO_PATH_MAX + 8];        /* "" for a built-in engine */
	char engine_sha256[PV_SHA256_HEX_LEN + 1];      /* "" with engine_spec */
	char scenario[128];
	char scenario_file[PV_REPRO_PATH_MAX];
	char backend[16];
	char flavour[16];
	char mem_model[16];     /* "byte" or "word8" */
	unsigned workers;
	unsigned long iterations;
	long param;
	char target[PV_REPRO_PATH_MAX];
	char target_sha256[PV_SHA256_HEX_LEN + 1];
	char patch[PV_REPRO_PATH_MAX];
	char patch_sha256[PV_SHA256_HEX_LEN + 1];
	char explorer[16];
	uint64_t seed;
	uint64_t schedule;
	char check[24];
	int thread;             /* -1 when the violation is not about one thread */
	uint64_t address;
	uint64_t step;
	char detail[200];
	/* Optional: "" when absent. */
	char sequence[2048];    /* the steps, as pv_step_name writes them */
	char fault[16];         /* "crash", "stall", "slowdown" */
	char extra_patch[PV_REPRO_EXTRA_MAX][PV_REPRO_PATH_MAX]; /* patch-2.. */
	char extra_sha256[PV_REPRO_EXTRA_MAX][PV_SHA256_HEX_LEN + 1];
	/* The decision stream. After pv_reproducer_parse it points into the same
	 * allocation as the struct (freed with it); when formatting, it may point
	 * anywhere the caller owns. */
	const uint8_t *stream;
	size_t stream_len;
};

/* The file's text; *text is malloc'd and owned by the caller. Control
 * characters in strings become spaces (a value is one line). */
PV_MUST_CHECK int pv_reproducer_format(const struct pv_reproducer *r, char **text, size_t *len,
                         struct pv_error *err);

/* Formats r and writes it to path atomically. */
PV_MUST_CHECK int pv_reproducer_save(const char *path, const struct pv_reproducer *r, struct pv_error *err);

/* Parses text (len bytes; `name` is used in messages). PV_EFORMAT with
 * "NAME:LINE: reason" for anything malformed, PV_EABI for another format
 * version. *out is freed with pv_reproducer_free. */
PV_MUST_CHECK int pv_reproducer_parse(const char *name, const char *text, size_t len,
                        struct pv_reproducer **out, struct pv_error *err);

/* Reads and parses path (PV_ENOENT/PV_EIO when it cannot be read). */
PV_MUST_CHECK int pv_reproducer_load(const char *path, struct pv_reproducer **out, struct pv_error *err);

void pv_reproducer_free(struct pv_reproducer *r);

/* PV_EABI "reproducer was recorded for other binaries: target sha256
 * differs ..." unless the files at target and patch (and a sequence's
 * other patches, at their recorded paths) have the recorded hashes. */
PV_MUST_CHECK int pv_reproducer_check_binaries(const struct pv_reproducer *r, const char *target,
                                 const char *patch, struct pv_error *err);

#endif
