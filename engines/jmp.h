/* The jmp-redirect family (engines/jmp.c): a reference engine and its
 * mutants, one implementation with a flag per defect. */
#ifndef PV_ENGINES_JMP_H
#define PV_ENGINES_JMP_H

#include <patchvet/engine.h>

/* Stop the world, wait until no thread is inside a replaced function, write
 * a jmp rel32 over each entry (Ksplice, kpatch's stop_machine model). */
extern const struct pv_engine pv_engine_stw_jmp;

/* Mutant: no stop; the 5 bytes are written one space write per byte. */
extern const struct pv_engine pv_engine_naive_write;

/* Mutant: stops the threads but never looks where they are. */
extern const struct pv_engine pv_engine_no_quiesce;

/* stw-jmp with doubling waits between a bounded number of attempts. */
extern const struct pv_engine pv_engine_ksplice;

/* Mutant: the newest thread's stack is never checked. */
extern const struct pv_engine pv_engine_skip_thread;

/* Mutant: revert restores only the first of the 5 bytes. */
extern const struct pv_engine pv_engine_bad_revert;

/* Mutant: reports success and changes nothing (a silent failure). */
extern const struct pv_engine pv_engine_no_op;

/* Mutant: returns with every thread still stopped. */
extern const struct pv_engine pv_engine_no_resume;

/* Mutant: leaves the patched text pages writable (ptrace: state-os). */
extern const struct pv_engine pv_engine_wx_left;

#endif
