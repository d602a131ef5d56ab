/* Check `torn-exec`: every instruction a thread executes inside a watched
 * code window must start on an instruction boundary of a version of that
 * code, and its bytes must all come from that one version.
 *
 * The backend observes; this judge decides. A window's versions are its
 * original bytes, the bytes when the current engine operation (apply or
 * revert) began and the bytes when it ended. Boundaries of a version come
 * from linear decoding (capstone) starting at every anchor: function starts
 * and ends, so that padding between functions decodes on its own.
 *
 * Outside an operation code does not change, so an instruction is judged at
 * once against the original and the current version. Inside an operation
 * the version after it is not known yet: an instruction that matches neither
 * the original nor the version before is kept and judged when the operation
 * ends. */
#ifndef PV_HARNESS_JUDGE_EXEC_H
#define PV_HARNESS_JUDGE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#define PV_X86_MAX_INSN 15

/* One window to watch, as the backend describes it at open. */
struct pv_exec_window_spec {
	uint64_t lo, hi;          /* judged instruction starts: [lo, hi) */
	const uint64_t *anchors;  /* sorted addresses where decoding restarts; at
	                             least one at or below lo */
	size_t nanchors;
};

/* Reads len bytes of code at addr as they are now; 0 or a PV_E* code. */
typedef int (*pv_exec_read_fn)(void *ctx, uint64_t addr, uint8_t *buf, size_t len);

/* A failed instruction. */
struct pv_exec_finding {
	int thread;               /* as given to pv_exec_judge_insn */
	uint64_t addr;            /* where the instruction starts */
	uint64_t step;            /* as given to pv_exec_judge_insn */
	unsigned len;             /* its length as executed */
	uint8_t bytes[PV_X86_MAX_INSN]; /* the bytes executed */
	bool boundary;            /* addr is a boundary of some version (so the
	                             bytes were mixed); false: of none */
};

struct pv_exec_judge;

/* Prepares windows (copied), reading their original bytes through read.
 * Windows may not overlap. */
int pv_exec_judge_open(const struct pv_exec_window_spec *w, size_t n, pv_exec_read_fn read,
                       void *ctx, struct pv_exec_judge **out, struct pv_error *err);

void pv_exec_judge_close(struct pv_exec_judge *j);

/* Start of a run: the code is the original again, nothing is pending. */
void pv_exec_judge_reset(struct pv_exec_judge *j);

/* Index of the window that judges addr, or -1. */
int pv_exec_judge_window(const struct pv_exec_judge *j, uint64_t addr);

/* An engine operation begins: records the current bytes as `before`. */
int pv_exec_judge_op_begin(struct pv_exec_judge *j, struct pv_error *err);

/* During an operation, the engine resumed the threads: the bytes now are a
 * version it showed them (klp writes `jmp stub` with the threads stopped,
 * resumes them for its transition, and may then give up and put the old
 * jmp back), so an instruction of it is no torn one. Bytes that a thread
 * runs while a write is half done match no such version. */
int pv_exec_judge_resumed(struct pv_exec_judge *j, struct pv_error *err);

/* An engine operation ended: records the bytes as `after`, judges what was
 * kept during the operation, and writes up to max findings to out (in
 * execution order); *nfound receives how many failed (may exceed max). */
int pv_exec_judge_op_end(struct pv_exec_judge *j, struct pv_exec_finding *out, size_t max,
                         size_t *nfound, struct pv_error *err);

/* One executed instruction at addr (inside window w, from
 * pv_exec_judge_window) with the len bytes it executed. Returns 1 and fills
 * *f when it fails now, 0 when it passes or is kept for op_end. */
int pv_exec_judge_insn(struct pv_exec_judge *j, int w, int thread, uint64_t step,
                       uint64_t addr, const uint8_t *bytes, unsigned len,
                       struct pv_exec_finding *f);

/* The sentence of finding f: where is its address symbolized, op the
 * engine operation it was judged at the end of (NULL: judged at once). */
void pv_torn_exec_word(const struct pv_exec_finding *f, const char *where, const char *op,
                       char *buf, size_t len);

/* How many instructions kept during operations could not be kept (the buffer
 * was full) and so were not judged, since the last reset. */
size_t pv_exec_judge_dropped(const struct pv_exec_judge *j);

#endif
