/* Check `state-mem`: target data (globals, heap, stacks of threads the
 * engine did not hijack) changes only by the target's own execution. The
 * ptrace backend digests writable memory across each pause of the engine;
 * the exec adapter compares data words around each command of the tool. */
#ifndef PV_HARNESS_CHECK_STATE_MEM_H
#define PV_HARNESS_CHECK_STATE_MEM_H

#include <stddef.h>

/* The writable memory (why: which of it) changed while the engine had
 * every thread stopped. */
void pv_state_mem_word_pause(const char *why, char *buf, size_t len);

#endif
