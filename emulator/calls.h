/* The calls an emulator build of a target makes to the emu backend.
 *
 * Shared by the runtime (corpora/runtime/emu.c, compiled into the target)
 * and the backend (emulator/stubs.c). Every call goes through the one
 * function PV_EMU_CALL_SYMBOL, whose `syscall` instruction the backend
 * intercepts: rax = call number, rdi, rsi, rdx = arguments, rax = result.
 * A `syscall` anywhere else is a crash, and a target without that symbol is
 * not an emulator build. Plain macros only: this header is also compiled
 * freestanding into targets. */
#ifndef PV_EMULATOR_CALLS_H
#define PV_EMULATOR_CALLS_H

#define PV_EMU_CALL_SYMBOL "pv__emu_call"

#define PV_EMU_CALL_WAIT 1  /* (int *word, int value): block while *word == value */
#define PV_EMU_CALL_WAKE 2  /* (int *word): wake one thread blocked on word */
#define PV_EMU_CALL_YIELD 3 /* (): end the thread's slice, a scheduler decision */
#define PV_EMU_CALL_ALLOC 4 /* (size): zeroed memory from the run's heap, or 0 */
#define PV_EMU_CALL_WRITE 5 /* (fd, buf, len): captured output; returns len */

#endif
