/* The space: everything an engine may do to a running target.
 *
 * One implementation per backend: `emu` (Unicorn, deterministic; every
 * operation and every atomic unit of a write is a point where the scheduler
 * may run target threads) and `ptrace` (a real process). An engine holds a
 * `struct pv_space *` and calls the pv_space_* wrappers below; it never sees
 * which backend it runs on.
 *
 * ABI: struct pv_space_ops starts with its own size. Members are only ever
 * added at the end; a wrapper whose member lies beyond the backend's `sz`
 * returns PV_EUNSUPPORTED, so an engine built against a newer header still
 * runs on an older backend and learns, at the call, what is missing.
 *
 * Addresses are target virtual addresses. Every call returns 0 or a negative
 * PV_E* code (include/patchvet/error.h); on failure the space keeps a message
 * that the harness reports, so engines need not format one. */
#ifndef PATCHVET_SPACE_H
#define PATCHVET_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the engine/space ABI (this header and engine.h). Raised only
 * for incompatible changes; additions are covered by the `sz` fields. */
#define PV_ABI_VERSION 1

/* Memory protection bits for map_near and protect. */
enum pv_prot {
	PV_PROT_READ = 1,
	PV_PROT_WRITE = 2,
	PV_PROT_EXEC = 4,
};

/* Where a target thread is, as far as the engine is concerned. */
enum pv_thread_state {
	PV_THREAD_RUNNABLE = 0, /* running or ready to run */
	PV_THREAD_BLOCKED = 1,  /* waiting on a lock or inside a blocking syscall */
	PV_THREAD_STOPPED = 2,  /* stopped by the engine (stop_all) */
	PV_THREAD_DONE = 3,     /* returned from its worker; never runs again */
};

/* One thread of the target, as reported by pv_space_threads. */
struct pv_thread_info {
	unsigned id;               /* patchvet's index of the thread, stable for a run */
	int os_tid;                /* kernel thread id (ptrace), or -1 (emu) */
	enum pv_thread_state state; /* see enum pv_thread_state */
	uint64_t pc;               /* instruction pointer where the thread will resume */
	uint64_t sp;               /* stack pointer */
	int in_syscall;            /* non-zero when stopped inside a system call */
};

/* What a health monitor sees (pv_space_health): a snapshot of the target.
 * Starts with its size: the backend fills only what the caller's sz covers. */
struct pv_health {
	size_t sz;                 /* sizeof(struct pv_health) of the caller */
	unsigned threads;          /* worker threads of the target */
	unsigned crashed;          /* workers that died (fault, fatal signal) so far */
	uint64_t progress;         /* grows while the workers make progress (emu:
	                              instructions they retired); only its changes
	                              mean something */
	unsigned finished;         /* workers that returned (a finished target
	                              makes no progress and is not stalled) */
};

struct pv_space;

/* The operations of one backend. Engines call them through the wrappers. */
struct pv_space_ops {
	/* sizeof(struct pv_space_ops) the backend was compiled with. */
	size_t sz;

	/* Copies len bytes at addr into buf. Does not let target threads run. */
	int (*read)(struct pv_space *s, uint64_t addr, void *buf, size_t len);

	/* Writes len bytes at addr, through any page protection (code included).
	 * The write is made of atomic units chosen by the backend's memory model
	 * (single bytes, or aligned 8-byte words); target threads that are not
	 * stopped may run between units and see a partly written range. Caches of
	 * translated or fetched code are invalidated for the range. */
	int (*write)(struct pv_space *s, uint64_t addr, const void *buf, size_t len);

	/* One indivisible store of size 1, 2, 4 or 8 bytes at a naturally
	 * aligned addr (value in the low bytes, little endian): no thread ever
	 * observes a mix of old and new bytes. PV_EINVAL when misaligned. */
	int (*store_atomic)(struct pv_space *s, uint64_t addr, uint64_t value, unsigned size);

	/* Maps len bytes (rounded up to pages), zero-filled, with prot, at an
	 * address within +-2 GiB of near so a rel32 jump from near reaches it;
	 * *addr receives the start. PV_ERANGE when nothing is free in reach.
	 * Mappings made here are the engine's own and must be unmapped by revert
	 * (check rollback-leak). */
	int (*map_near)(struct pv_space *s, uint64_t near, uint64_t len, unsigned prot,
	                uint64_t *addr);

	/* Unmaps a range previously returned by map_near. */
	int (*unmap)(struct pv_space *s, uint64_t addr, uint64_t len);

	/* Changes the protection of a page-aligned range to prot. */
	int (*protect)(struct pv_space *s, uint64_t addr, uint64_t len, unsigned prot);

	/* Stops every target thread (stop-the-world); returns once all are
	 * stopped. Threads stopped here run again only after resume_all. Nesting
	 * is not counted: a second stop_all is a no-op. */
	int (*stop_all)(struct pv_space *s);

	/* Resumes every thread that stop_all stopped. */
	int (*resume_all)(struct pv_space *s);

	/* Fills out[0..max) with the target's threads, sets *count to how many
	 * exist (which may exceed max). PCs are exact only for stopped threads. */
	int (*threads)(struct pv_space *s, struct pv_thread_info *out, size_t max,
	               size_t *count);

	/* Return addresses of thread `id`, innermost first: pcs[0] is the
	 * current pc. *count receives the number of frames written. The thread
	 * must be stopped. Returns PV_EBUSY when the walk is not reliable (frames
	 * may be missing): a consistency model that needs a reliable stack must
	 * then treat the thread as unsafe, as Linux livepatch does. */
	int (*backtrace)(struct pv_space *s, unsigned id, uint64_t *pcs, size_t max,
	                 size_t *count);

	/* Runs fn(args[0..nargs)) on stopped thread `id` (System V ABI, at most 6
	 * integer arguments, red zone preserved), then restores every register
	 * of the thread exactly. *ret receives rax (ret may be NULL). */
	int (*call)(struct pv_space *s, unsigned id, uint64_t fn, const uint64_t *args,
	            unsigned nargs, uint64_t *ret);

	/* Serialises instruction fetch on every thread (the cross-modifying code
	 * protocol of the Intel SDM: a serialising instruction on each processor
	 * after code bytes changed). Check xmc-unsynced watches for it. */
	int (*sync_core)(struct pv_space *s);

	/* Address and size of a target symbol (functions, objects, local symbols
	 * included). PV_ENOENT when the target has no such symbol. */
	int (*symbol)(struct pv_space *s, const char *name, uint64_t *addr, uint64_t *size);

	/* Lets the target threads that are not stopped run for a while (emu: a
	 * number of scheduler decisions; ptrace: a short sleep), so an engine
	 * can wait for threads to leave a function and retry. `hint` is a
	 * relative amount: 1 is the shortest wait. */
	int (*advance)(struct pv_space *s, unsigned hint);

	/* Installs a breakpoint redirect: a thread that executes the int3 byte
	 * at addr continues at `to` instead of trapping. The engine still writes
	 * the 0xcc byte itself; this only tells the backend what the trap means,
	 * as the kernel's text_poke_bp handler does. to == 0 removes it. */
	int (*trap_redirect)(struct pv_space *s, uint64_t addr, uint64_t to);

	/* Per-thread storage for engines with per-thread patch state (klp):
	 * sets slot `slot` (0..7) of thread `id` to value and stores in *addr
	 * the address at which code running on any thread reads its own slot
	 * (the same address for every thread, different contents, like %fs). */
	int (*thread_slot)(struct pv_space *s, unsigned id, unsigned slot, uint64_t value,
	                   uint64_t *addr);

	/* Records a note in the run's trace (reproducers show it next to the
	 * schedule). Never fails in a way that matters; may be NULL. */
	void (*note)(struct pv_space *s, const char *text);

	/* Like call, but leaves out the parts of the restore that `flags`
	 * names (PV_CALL_* below); flags == 0 is exactly call. For engines
	 * that save and restore those parts themselves, as a light-weight
	 * injector does (and for mutants that forget to). Added after ABI 1's
	 * first release: PV_EUNSUPPORTED on backends that predate it. */
	int (*call_flags)(struct pv_space *s, unsigned id, uint64_t fn, const uint64_t *args,
	                  unsigned nargs, unsigned flags, uint64_t *ret);

	/* Fills *h (h->sz set by the caller) for a health monitor (engine.h,
	 * PV_ENGINE_AUTO_ROLLBACK). Lets no thread run. Added after ABI 1's
	 * first release: PV_EUNSUPPORTED on backends that predate it. */
	int (*health)(struct pv_space *s, struct pv_health *h);
};

/* Bits of call_flags' `flags`: what the backend does not restore. */
#define PV_CALL_NO_EXT (1u << 0)     /* x87/SSE/AVX registers (the xstate): the thread
                                        keeps what the function left there */
#define PV_CALL_NO_FLAGS (1u << 1)   /* rflags: likewise */
#define PV_CALL_NO_RESTART (1u << 2) /* a system call the thread was stopped in is not
                                        restarted: it returns -EINTR to the thread */
#define PV_CALL_NO_REDZONE (1u << 3) /* the call's frame starts right at the thread's rsp
                                        instead of 128 bytes below: it overwrites the
                                        System V red zone, where a leaf function may keep
                                        live data (added after ABI 1's first release;
                                        older backends answer PV_EINVAL) */

/* A backend's space: the operations and whatever the backend keeps after. */
struct pv_space {
	const struct pv_space_ops *ops;
};

/* True when the backend's ops table has member `m`. */
#define PV_SPACE_HAS(s, m)                                                       \
	((s)->ops->sz >= offsetof(struct pv_space_ops, m) + sizeof((s)->ops->m) && \
	 (s)->ops->m != NULL)

#define PV__SPACE_CALL(s, m, ...)                                               \
	(PV_SPACE_HAS(s, m) ? (s)->ops->m((s), __VA_ARGS__) : PV_EUNSUPPORTED)

static inline int pv_space_read(struct pv_space *s, uint64_t addr, void *buf, size_t len)
{ return PV__SPACE_CALL(s, read, addr, buf, len); }
static inline int pv_space_write(struct pv_space *s, uint64_t addr, const void *buf, size_t len)
{ return PV__SPACE_CALL(s, write, addr, buf, len); }
static inline int pv_space_store_atomic(struct pv_space *s, uint64_t addr, uint64_t value, unsigned size)
{ return PV__SPACE_CALL(s, store_atomic, addr, value, size); }
static inline int pv_space_map_near(struct pv_space *s, uint64_t near, uint64_t len, unsigned prot, uint64_t *addr)
{ return PV__SPACE_CALL(s, map_near, near, len, prot, addr); }
static inline int pv_space_unmap(struct pv_space *s, uint64_t addr, uint64_t len)
{ return PV__SPACE_CALL(s, unmap, addr, len); }
static inline int pv_space_protect(struct pv_space *s, uint64_t addr, uint64_t len, unsigned prot)
{ return PV__SPACE_CALL(s, protect, addr, len, prot); }
static inline int pv_space_stop_all(struct pv_space *s)
{ return PV_SPACE_HAS(s, stop_all) ? s->ops->stop_all(s) : PV_EUNSUPPORTED; }
static inline int pv_space_resume_all(struct pv_space *s)
{ return PV_SPACE_HAS(s, resume_all) ? s->ops->resume_all(s) : PV_EUNSUPPORTED; }
static inline int pv_space_threads(struct pv_space *s, struct pv_thread_info *out, size_t max, size_t *count)
{ return PV__SPACE_CALL(s, threads, out, max, count); }
static inline int pv_space_backtrace(struct pv_space *s, unsigned id, uint64_t *pcs, size_t max, size_t *count)
{ return PV__SPACE_CALL(s, backtrace, id, pcs, max, count); }
static inline int pv_space_call(struct pv_space *s, unsigned id, uint64_t fn, const uint64_t *args, unsigned nargs, uint64_t *ret)
{ return PV__SPACE_CALL(s, call, id, fn, args, nargs, ret); }
static inline int pv_space_sync_core(struct pv_space *s)
{ return PV_SPACE_HAS(s, sync_core) ? s->ops->sync_core(s) : PV_EUNSUPPORTED; }
static inline int pv_space_symbol(struct pv_space *s, const char *name, uint64_t *addr, uint64_t *size)
{ return PV__SPACE_CALL(s, symbol, name, addr, size); }
static inline int pv_space_advance(struct pv_space *s, unsigned hint)
{ return PV__SPACE_CALL(s, advance, hint); }
static inline int pv_space_trap_redirect(struct pv_space *s, uint64_t addr, uint64_t to)
{ return PV__SPACE_CALL(s, trap_redirect, addr, to); }
static inline int pv_space_thread_slot(struct pv_space *s, unsigned id, unsigned slot, uint64_t value, uint64_t *addr)
{ return PV__SPACE_CALL(s, thread_slot, id, slot, value, addr); }
static inline void pv_space_note(struct pv_space *s, const char *text)
{ if (PV_SPACE_HAS(s, note)) s->ops->note(s, text); }
static inline int pv_space_call_flags(struct pv_space *s, unsigned id, uint64_t fn, const uint64_t *args, unsigned nargs, unsigned flags, uint64_t *ret)
{ return PV__SPACE_CALL(s, call_flags, id, fn, args, nargs, flags, ret); }

static inline int pv_space_health(struct pv_space *s, struct pv_health *h)
{ return PV_SPACE_HAS(s, health) ? s->ops->health(s, h) : PV_EUNSUPPORTED; }

#ifdef __cplusplus
}
#endif
#endif
