/* The engine's view of a real process (include/patchvet/space.h). Each
 * operation first passes a fault point, where the decision stream may delay
 * the engine (the threads that run keep running) or send a signal the target
 * handles to one of its threads, in the middle of apply or revert. */
#include "ptrace.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define GIB (1ull << 30)
#define NEAR_STEP (16ull << 20)  /* candidate spacing for map_near */
#define HEAP_ROOM (256ull << 20) /* kept free above the executable for brk */

static struct pt_space *space_of(struct pv_space *s)
{
	return (struct pt_space *)s;
}

/* ------------------------------------------------------------ faults */

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A signal the target catches and that means nothing fatal; 0 when none. */
static int caught_signal(struct pt_proc *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	FILE *f = fopen(path, "re");
	unsigned long long cgt = 0;
	char line[128];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &cgt) == 1)
			break;
	if (f)
		fclose(f);
	static const int ok[] = {SIGUSR1, SIGUSR2, SIGALRM, SIGHUP, SIGWINCH, SIGCHLD, SIGURG};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (cgt & (1ull << (ok[i] - 1)))
			return ok[i];
	return 0;
}

/* The fault point in front of every operation of the engine. Stream byte:
 * < 0x30 delay (byte & 15) * 50 us; 0x30..0x3f a signal to thread
 * (byte & 7) mod threads: below 0x38 one the target catches (its handler
 * runs in the middle of apply or revert), else, or when it catches none,
 * SIGWINCH (byte & 8 clear) or SIGCONT, whose default actions do nothing to
 * a running process (both still wake a thread blocked in a system call,
 * which the kernel restarts); else nothing. A real program (a [program]
 * scenario) never gets a caught one: there SIGUSR1 or SIGHUP are commands
 * (memcached shuts down gracefully on SIGUSR1, daemons reload on SIGHUP),
 * which a corpus target's handlers are not. */
static int fault_point(struct pt_space *s)
{
	struct pt_proc *p = s->proc;
	struct pt_run *run = p->run;
	if (!run || !run->in_engine)
		return 0;
	if (pt_now() > run->engine_deadline)
		return pv_error_set(p->err, PV_ETIMEDOUT, "the engine ran past its bound of %d ms",
		                    PT_ENGINE_TIMEOUT_MS);
	unsigned b = pt_decide(p, 0xff);
	if (b < 0x30) {
		long us = (long)(b & 15) * 50;
		if (p->world_stopped)
			sleep_us(us);
		else
			pt_pump(p, pt_now() + us / 1e6);
	} else if (b < 0x40 && !run->gentle) {
		int sig = b < 0x38 && !run->program ? caught_signal(p) : 0;
		if (!sig)
			sig = (b & 8) ? SIGCONT : SIGWINCH;
		size_t n = p->nthreads;
		struct pt_thread *t = n ? &p->threads[(b & 7) % n] : NULL;
		if (sig && t && t->live) {
			syscall(SYS_tgkill, p->pid, t->tid, sig);
			run->signals_sent |= 1ull << (sig - 1);
		}
	}
	return p->exited ? pv_error_set(p->err, PV_ESTATE, "the target process has exited") : 0;
}

/* ------------------------------------------------------------ memory */

static int sp_read(struct pv_space *vs, uint64_t addr, void *buf, size_t len)
{
	struct pt_space *s = space_of(vs);
	int rc = fault_point(s);
	return rc ? rc : pt_read(s->proc, addr, buf, len);
}

/* Remembers the bytes before the engine's first write to each of them. */
static int remember(struct pt_proc *p, uint64_t addr, size_t len)
{
	struct pt_run *run = p->run;
	if (!run)
		return 0;
	uint64_t a = addr, end = addr + len;
	while (a < end) {
		bool covered = false;
		uint64_t next = end;
		for (size_t i = 0; i < run->nwrites; i++) {
			const struct pt_write *w = &run->writes[i];
			if (a >= w->addr && a < w->addr + w->len) {
				covered = true;
				next = w->addr + w->len;
				break;
			}
			if (w->addr > a && w->addr < next)
				next = w->addr;
		}
		if (next > end)
			next = end;
		if (!covered) {
			if (run->nwrites == PT_WRITES_MAX)
				return pv_error_set(p->err, PV_ERANGE, "the engine wrote more than %d "
				                                       "separate ranges", PT_WRITES_MAX);
			struct pt_write *w = &run->writes[run->nwrites];
			w->orig = malloc(next - a);
			if (!w->orig)
				return pv_error_set(p->err, PV_ENOMEM, "out of memory");
			int rc = pt_read(p, a, w->orig, next - a);
			if (rc) {
				free(w->orig);
				w->orig = NULL;
				return rc;
			}
			w->addr = a;
			w->len = next - a;
			run->nwrites++;
		}
		a = next;
	}
	return 0;
}

static bool is_code(const struct pt_proc *p, uint64_t addr)
{
	return addr >= p->exe_lo && addr < p->exe_hi;
}

/* Inside one executable segment of the target (known at setup). */
static bool in_text(const struct pt_proc *p, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < p->ntext; i++)
		if (addr >= p->text[i][0] && addr + len <= p->text[i][1])
			return true;
	return false;
}

static int sp_write(struct pv_space *vs, uint64_t addr, const void *buf, size_t len)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc || (rc = remember(p, addr, len)))
		return rc;
	/* Code is judged by rollback-bytes; anything else is target data. */
	if (!in_text(p, addr, len) && (rc = pt_touch_process(p)))
		return rc;
	/* Atomic units as the memory model says: each is one write to
	 * /proc/PID/mem, so running threads may see the range half written. */
	const uint8_t *b = buf;
	for (size_t done = 0; done < len;) {
		size_t unit = 1;
		if (s->mem_model == PV_MEM_WORD8) {
			unit = 8 - ((addr + done) & 7);
			if (unit > len - done)
				unit = len - done;
		}
		/* In a process patchvet did not start, a stopped world is
		 * written in one go: were patchvet killed between two units,
		 * its threads would run on half-written code. */
		if (p->run && p->run->gentle && p->world_stopped)
			unit = len - done;
		pt_judge_global(s, addr + done, b + done, unit);
		if ((rc = pt_write(p, addr + done, b + done, unit)))
			return rc;
		/* A thread steered into the bytes just changed, the world
		 * running: it goes on now, into them. */
		const struct pt_steer *st = p->run ? &p->run->steer : NULL;
		if (st && st->parked && !p->world_stopped && addr + done < st->insn_end &&
		    addr + done + unit > st->addr)
			pt_unpark(p, "resumes, the world running,");
		done += unit;
		if (p->run && is_code(p, addr))
			p->run->res->code_writes++;
	}
	return 0;
}

static int vma_prot(struct pt_proc *p, uint64_t addr, unsigned *prot)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return pv_error_set(p->err, PV_EIO, "cannot read %s", path);
	int rc = pv_error_set(p->err, PV_EFAULT, "0x%llx is not mapped in process %d",
	                      (unsigned long long)addr, (int)p->pid);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi) {
			*prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			        (perms[2] == 'x' ? PROT_EXEC : 0);
			rc = 0;
			break;
		}
	}
	fclose(f);
	if (!rc)
		pv_error_clear(p->err);
	return rc;
}

static int inject(struct pt_proc *p, long nr, const uint64_t *args, unsigned n, int64_t *ret);

static int sp_store_atomic(struct pv_space *vs, uint64_t addr, uint64_t value, unsigned size)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	if ((size != 1 && size != 2 && size != 4 && size != 8) || (addr & (size - 1)))
		return pv_error_set(p->err, PV_EINVAL, "store_atomic: %u bytes at 0x%llx is not a "
		                                       "naturally aligned 1, 2, 4 or 8-byte store",
		                    size, (unsigned long long)addr);
	unsigned prot = 0;
	int rc = fault_point(s);
	if (rc || (rc = remember(p, addr, size)) || (rc = vma_prot(p, addr, &prot)))
		return rc;
	/* A single mov by a thread of the target is the only store that
	 * no other thread can see half done; text must be writable for it. */
	uint64_t page = addr & ~(PT_PAGE - 1);
	int64_t r = 0;
	if (!(prot & PROT_WRITE)) {
		uint64_t a[3] = {page, PT_PAGE, prot | PROT_WRITE};
		if ((rc = inject(p, SYS_mprotect, a, 3, &r)) || r)
			return rc ? rc : pv_error_set(p->err, PV_EIO, "cannot make 0x%llx writable: %s",
			                              (unsigned long long)page, strerror((int)-r));
	}
	struct pt_thread *t;
	bool temp;
	if (!(rc = pt_worker_thread(p, &t, &temp)) && !(rc = pt_touch_thread(p, t)) &&
	    !(rc = pt_touch_process(p))) {
		uint8_t bytes[8];
		for (unsigned k = 0; k < size; k++)
			bytes[k] = (uint8_t)(value >> (8 * k));
		pt_judge_global(s, addr, bytes, size);
		rc = pt_store(p, t, addr, value, size);
		if (temp)
			pt_resume_thread(p, t);
	}
	if (!(prot & PROT_WRITE)) {
		uint64_t a[3] = {page, PT_PAGE, prot};
		int rc2 = inject(p, SYS_mprotect, a, 3, &r);
		if (!rc && (rc2 || r))
			rc = rc2 ? rc2 : pv_error_set(p->err, PV_EIO, "cannot restore the protection of "
			                                             "0x%llx", (unsigned long long)page);
	}
	if (!rc && p->run && is_code(p, addr))
		p->run->res->code_writes++;
	return rc;
}

/* ------------------------------------------------------------ mappings */

/* One system call on some stopped thread (one is stopped for it if none is). */
static int inject(struct pt_proc *p, long nr, const uint64_t *args, unsigned n, int64_t *ret)
{
	struct pt_thread *t;
	bool temp;
	int rc = pt_worker_thread(p, &t, &temp);
	if (rc)
		return rc;
	/* membarrier changes nothing a probe covers (bar rseq areas, which the
	 * memory digest leaves out). */
	if (!(rc = pt_touch_thread(p, t)) && nr != SYS_membarrier)
		rc = pt_touch_process(p);
	struct pt_regset *before = NULL;
	if (!rc && temp && p->run && p->run->probes != PT_PROBES_OFF &&
	    (before = malloc(sizeof(*before))) && pt_regs_get(p, t, before)) {
		free(before);
		before = NULL;
	}
	if (!rc)
		rc = pt_syscall(p, t, nr, args, n, ret);
	if (before && t->live) {
		/* Outside a pause: this thread was stopped for this call alone. */
		struct pt_regset *after = malloc(sizeof(*after));
		if (after && !pt_regs_get(p, t, after))
			pt_judge_thread(p, t, before, after, "after a system call patchvet injected "
			                                     "for the engine");
		free(after);
	}
	free(before);
	if (temp) {
		int r2 = pt_resume_thread(p, t);
		if (!rc)
			rc = r2;
	}
	return rc;
}

static int to_prot(unsigned prot)
{
	return (prot & PV_PROT_READ ? PROT_READ : 0) | (prot & PV_PROT_WRITE ? PROT_WRITE : 0) |
	       (prot & PV_PROT_EXEC ? PROT_EXEC : 0);
}

/* Is [lo, hi) free of every mapping, with a page of room on each side (so
 * the kernel never merges the new mapping with a neighbour)? */
static bool range_free(const uint64_t (*v)[2], size_t n, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < n; i++)
		if (lo < v[i][1] + PT_PAGE && hi + PT_PAGE > v[i][0])
			return false;
	return true;
}

int pt_find_gap(struct pt_proc *p, uint64_t near, uint64_t len, uint64_t *out)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return pv_error_set(p->err, PV_EIO, "cannot read %s", path);
	uint64_t (*v)[2] = NULL;
	size_t n = 0, cap = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		if (sscanf(line, "%llx-%llx", &lo, &hi) != 2)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			uint64_t (*w)[2] = realloc(v, cap * sizeof(*v));
			if (!w) {
				free(v);
				fclose(f);
				return pv_error_set(p->err, PV_ENOMEM, "out of memory");
			}
			v = w;
		}
		v[n][0] = lo;
		v[n][1] = hi;
		n++;
	}
	fclose(f);
	len = (len + PT_PAGE - 1) & ~(PT_PAGE - 1);
	uint64_t base = near & ~(NEAR_STEP - 1);
	int rc = pv_error_set(p->err, PV_ERANGE, "no free %llu bytes within 2 GiB of 0x%llx",
	                      (unsigned long long)len, (unsigned long long)near);
	/* Below first (away from brk's heap), then above the heap's room. */
	for (int dir = -1; rc && dir <= 1; dir += 2)
		for (uint64_t k = 1; rc && k * NEAR_STEP + len < 2 * GIB - NEAR_STEP; k++) {
			uint64_t d = k * NEAR_STEP;
			if (dir < 0 && d > base)
				break;
			uint64_t c = dir < 0 ? base - d : base + d;
			if (c < 0x10000 || c + len > 0x7ffffffff000ull)
				continue;
			if (dir > 0 && c < p->exe_hi + HEAP_ROOM && c + len > p->exe_hi)
				continue;
			if (range_free((const uint64_t(*)[2])v, n, c, c + len)) {
				*out = c;
				rc = 0;
				pv_error_clear(p->err);
			}
		}
	free(v);
	return rc;
}

int pt_map_fixed(struct pt_proc *p, uint64_t addr, uint64_t len, int prot)
{
	uint64_t a[6] = {addr, len, (uint64_t)prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
	                 (uint64_t)-1, 0};
	int64_t r;
	int rc = inject(p, SYS_mmap, a, 6, &r);
	if (rc)
		return rc;
	if (r < 0 && r > -4096)
		return pv_error_set(p->err, PV_EIO, "mmap of %llu bytes at 0x%llx in process %d "
		                                    "failed: %s", (unsigned long long)len,
		                    (unsigned long long)addr, (int)p->pid, strerror((int)-r));
	if ((uint64_t)r != addr) {
		uint64_t u[2] = {(uint64_t)r, len};
		inject(p, SYS_munmap, u, 2, &r);
		return pv_error_set(p->err, PV_EIO, "mmap placed 0x%llx elsewhere",
		                    (unsigned long long)addr);
	}
	return 0;
}

static int sp_map_near(struct pv_space *vs, uint64_t near, uint64_t len, unsigned prot,
                       uint64_t *addr)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	if (!len)
		return pv_error_set(p->err, PV_EINVAL, "map_near: zero length");
	if (p->run && p->run->nmaps == PT_MAPS_MAX)
		return pv_error_set(p->err, PV_ERANGE, "map_near: more than %d mappings in one run",
		                    PT_MAPS_MAX);
	len = (len + PT_PAGE - 1) & ~(PT_PAGE - 1);
	uint64_t at;
	if ((rc = pt_find_gap(p, near, len, &at)) || (rc = pt_map_fixed(p, at, len, to_prot(prot))))
		return rc;
	if (p->run)
		p->run->maps[p->run->nmaps++] = (struct pt_map){.addr = at, .len = len, .live = true};
	*addr = at;
	return 0;
}

static int sp_unmap(struct pv_space *vs, uint64_t addr, uint64_t len)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	len = (len + PT_PAGE - 1) & ~(PT_PAGE - 1);
	struct pt_map *m = NULL;
	for (size_t i = 0; p->run && i < p->run->nmaps; i++)
		if (p->run->maps[i].addr == addr && p->run->maps[i].live)
			m = &p->run->maps[i];
	if (!m)
		return pv_error_set(p->err, PV_EINVAL, "unmap: 0x%llx was not returned by map_near",
		                    (unsigned long long)addr);
	uint64_t a[2] = {addr, len};
	int64_t r;
	if ((rc = inject(p, SYS_munmap, a, 2, &r)))
		return rc;
	if (r)
		return pv_error_set(p->err, PV_EIO, "munmap(0x%llx, %llu) failed: %s",
		                    (unsigned long long)addr, (unsigned long long)len,
		                    strerror((int)-r));
	if (len >= m->len)
		m->live = false;
	return 0;
}

static int sp_protect(struct pv_space *vs, uint64_t addr, uint64_t len, unsigned prot)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	if (addr & (PT_PAGE - 1))
		return pv_error_set(p->err, PV_EINVAL, "protect: 0x%llx is not page aligned",
		                    (unsigned long long)addr);
	uint64_t a[3] = {addr, len, (uint64_t)to_prot(prot)};
	int64_t r;
	if ((rc = inject(p, SYS_mprotect, a, 3, &r)))
		return rc;
	if (r)
		return pv_error_set(p->err, PV_EIO, "mprotect(0x%llx, %llu) failed: %s",
		                    (unsigned long long)addr, (unsigned long long)len,
		                    strerror((int)-r));
	return 0;
}

/* ------------------------------------------------------------ threads */

static int sp_stop_all(struct pv_space *vs)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	if (p->world_stopped)
		return 0;
	/* The order threads are stopped in: a permutation from the stream
	 * (Fisher-Yates, one byte a swap; exhausted: the natural order), then
	 * a gap of (byte & 7) * 25 us after each stop, while the threads not
	 * stopped yet run on (0: all interrupted at once). */
	size_t order[PT_MAX_THREADS], n = p->nthreads;
	/* All of it: threads born during the gaps are stopped in natural order. */
	for (size_t i = 0; i < PT_MAX_THREADS; i++)
		order[i] = i;
	unsigned gap = 0;
	if (p->run) {
		for (size_t i = n; i-- > 1;) {
			size_t j = pt_decide(p, (unsigned)i) % (i + 1), x = order[i];
			order[i] = order[j];
			order[j] = x;
		}
		gap = pt_decide(p, 0) & 7;
		p->run->pause_start = pt_now();
	}
	for (size_t k = 0; gap && k < n; k++) {
		struct pt_thread *t = &p->threads[order[k]];
		if ((rc = pt_stop_thread(p, t)))
			return rc;
		if (k + 1 < n)
			pt_pump(p, pt_now() + gap * 25e-6);
	}
	if ((rc = pt_stop_all(p, order)))
		return rc;
	return pt_pause_probe(p);
}

static int sp_resume_all(struct pv_space *vs)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	if (!p->world_stopped)
		return 0;
	pt_pause_check(p);
	for (size_t i = 0; i < p->nthreads; i++)
		pt_judge_torn(p, &p->threads[i], "resumes");
	if (p->run)
		p->run->steer.parked = NULL;
	rc = pt_resume_all(p);
	if (p->run) {
		double ms = (pt_now() - p->run->pause_start) * 1e3;
		if (ms > p->run->longest_pause_ms)
			p->run->longest_pause_ms = ms;
	}
	return rc;
}

static enum pv_thread_state os_state(struct pt_proc *p, const struct pt_thread *t)
{
	char path[96], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)p->pid, (int)t->tid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	const char *c = strrchr(buf, ')');
	return c && (c[2] == 'S' || c[2] == 'D') ? PV_THREAD_BLOCKED : PV_THREAD_RUNNABLE;
}

static int sp_threads(struct pv_space *vs, struct pv_thread_info *out, size_t max,
                      size_t *count)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	for (size_t i = 0; i < p->nthreads && i < max; i++) {
		const struct pt_thread *t = &p->threads[i];
		struct pv_thread_info *o = &out[i];
		o->id = t->id;
		o->os_tid = t->tid;
		o->in_syscall = t->live && t->stopped && (long)t->regs.orig_rax >= 0;
		o->pc = t->live && t->stopped ? t->regs.rip : 0;
		o->sp = t->live && t->stopped ? t->regs.rsp : 0;
		if (!t->live)
			o->state = PV_THREAD_DONE;
		else if (t->engine_stopped)
			o->state = PV_THREAD_STOPPED;
		else
			o->state = os_state(p, t);
	}
	*count = p->nthreads;
	return 0;
}

static struct pt_thread *stopped_thread(struct pt_proc *p, unsigned id, const char *what)
{
	struct pt_thread *t = pt_thread_by_id(p, id);
	if (!t || !t->live) {
		pv_error_set(p->err, PV_EINVAL, "%s: no live thread %u", what, id);
		return NULL;
	}
	if (!t->stopped || !t->engine_stopped) {
		pv_error_set(p->err, PV_ESTATE, "%s: thread %u is not stopped (stop_all first)", what,
		             id);
		return NULL;
	}
	return t;
}

static int sp_backtrace(struct pv_space *vs, unsigned id, uint64_t *pcs, size_t max,
                        size_t *count)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	struct pt_thread *t = stopped_thread(p, id, "backtrace");
	if (!t)
		return p->err->code;
	if (!s->unwind && (rc = pt_unwind_open(p, s->patch_path, s->patch_bias, &s->unwind)))
		return rc;
	return pt_backtrace(p, s->unwind, t, pcs, max, count);
}

static int do_call(struct pt_space *s, unsigned id, uint64_t fn, const uint64_t *args,
                   unsigned nargs, unsigned flags, uint64_t *ret)
{
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	struct pt_thread *t = stopped_thread(p, id, "call");
	if (!t)
		return p->err->code;
	if ((rc = pt_touch_thread(p, t)) || (rc = pt_touch_process(p)))
		return rc;
	struct pt_regset *before = NULL;
	if (p->run && p->run->probes != PT_PROBES_OFF) {
		if (!(before = malloc(sizeof(*before))))
			return pv_error_set(p->err, PV_ENOMEM, "out of memory");
		if ((rc = pt_regs_get(p, t, before))) {
			free(before);
			return rc;
		}
	}
	rc = pt_call(p, t, fn, args, nargs, flags, ret);
	if (before && t->live) {
		/* The hijack must leave the thread exactly as it found it. */
		struct pt_regset *after = malloc(sizeof(*after));
		if (after && !pt_regs_get(p, t, after))
			pt_judge_thread(p, t, before, after, "after a call the engine ran on it");
		free(after);
	}
	free(before);
	return rc;
}

static int sp_call(struct pv_space *vs, unsigned id, uint64_t fn, const uint64_t *args,
                   unsigned nargs, uint64_t *ret)
{
	return do_call(space_of(vs), id, fn, args, nargs, 0, ret);
}

static int sp_call_flags(struct pv_space *vs, unsigned id, uint64_t fn, const uint64_t *args,
                         unsigned nargs, unsigned flags, uint64_t *ret)
{
	if (flags & ~(PV_CALL_NO_EXT | PV_CALL_NO_FLAGS | PV_CALL_NO_RESTART | PV_CALL_NO_REDZONE))
		return pv_error_set(space_of(vs)->proc->err, PV_EINVAL,
		                    "call_flags: unknown flags 0x%x", flags);
	return do_call(space_of(vs), id, fn, args, nargs, flags, ret);
}

/* membarrier(2) commands (linux/membarrier.h). */
#define MEMBARRIER_PRIVATE_EXPEDITED_SYNC_CORE (1 << 5)
#define MEMBARRIER_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE (1 << 6)

static int sp_sync_core(struct pv_space *vs)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	if (p->run)
		p->run->res->sync_cores++;
	/* Every CPU running a thread of the target serialises: the kernel's
	 * SYNC_CORE membarrier. Stopped threads serialise anyway when they
	 * return to user space (IRET). */
	int64_t r;
	uint64_t a[2] = {0, 0};
	if (!p->membarrier_ready) {
		a[0] = MEMBARRIER_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
		if ((rc = inject(p, SYS_membarrier, a, 2, &r)))
			return rc;
		p->membarrier_ready = r == 0;
	}
	if (!p->membarrier_ready)
		return 0;
	a[0] = MEMBARRIER_PRIVATE_EXPEDITED_SYNC_CORE;
	if ((rc = inject(p, SYS_membarrier, a, 2, &r)))
		return rc;
	return r ? pv_error_set(p->err, PV_EIO, "membarrier(SYNC_CORE) failed: %s",
	                        strerror((int)-r))
	         : 0;
}

static int sp_symbol(struct pv_space *vs, const char *name, uint64_t *addr, uint64_t *size)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	if (s->objects && s->objects->n) {
		struct pv_found f;
		struct pv_error scratch;
		if (pv_objects_find(s->objects, name, false, &f, &scratch))
			return pv_error_set(p->err, PV_ENOENT, "the target has no symbol %s", name);
		*addr = f.addr;
		if (size)
			*size = f.sym->size;
		return 0;
	}
	const struct pv_symbol *sym = s->target ? pv_image_find_symbol(s->target, name, NULL)
	                                        : NULL;
	if (!sym)
		return pv_error_set(p->err, PV_ENOENT, "the target has no symbol %s", name);
	*addr = sym->value + p->bias;
	if (size)
		*size = sym->size;
	return 0;
}

static int sp_advance(struct pv_space *vs, unsigned hint)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	int rc = fault_point(s);
	if (rc)
		return rc;
	double until = pt_now() + (hint ? hint : 1) * 200e-6;
	if (p->run && until > p->run->engine_deadline)
		until = p->run->engine_deadline;
	return pt_pump(p, until);
}

static int sp_trap_redirect(struct pv_space *vs, uint64_t addr, uint64_t to)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	struct pt_run *run = p->run;
	if (!run)
		return pv_error_set(p->err, PV_ESTATE, "trap_redirect outside a run");
	for (size_t i = 0; i < run->ntraps; i++)
		if (run->traps[i].addr == addr) {
			if (to) {
				run->traps[i].to = to;
				return 0;
			}
			run->traps[i] = run->traps[--run->ntraps];
			/* A thread may have hit the int3 just before it went: its
			 * SIGTRAP still comes (proc.c: trap_resume). */
			if (run->nretired < PT_TRAPS_MAX)
				run->retired[run->nretired++] = addr;
			return 0;
		}
	if (!to)
		return 0;
	if (run->ntraps == PT_TRAPS_MAX)
		return pv_error_set(p->err, PV_ERANGE, "more than %d trap redirects", PT_TRAPS_MAX);
	run->traps[run->ntraps++] = (struct pt_trap){.addr = addr, .to = to};
	return 0;
}

/* The CPU time thread t has used, in ns (/proc/PID/task/TID/schedstat,
 * first field); false when it cannot be read (the thread is gone). */
static bool cpu_ns(const struct pt_proc *p, const struct pt_thread *t, uint64_t *ns)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)p->pid, (int)t->tid);
	FILE *f = fopen(path, "re");
	unsigned long long v = 0;
	bool ok = f && fscanf(f, "%llu", &v) == 1;
	if (f)
		fclose(f);
	if (ok)
		*ns = v;
	return ok;
}

/* Natively, the workers' progress is the CPU time they ran (the native
 * counterpart of the instructions emu counts): a stalled or blocked worker
 * adds none. A worker that died keeps what it had. Crashed: workers an
 * injected crash made exit, and a thread killed by a fatal signal (which
 * takes the whole process). Lets no thread run. */
static int sp_health(struct pv_space *vs, struct pv_health *h)
{
	struct pt_space *s = space_of(vs);
	struct pt_proc *p = s->proc;
	struct pt_run *run = p->run;
	if (!run)
		return pv_error_set(p->err, PV_ESTATE, "health outside a run");
	if (!h || h->sz < offsetof(struct pv_health, crashed) + sizeof(h->crashed))
		return pv_error_set(p->err, PV_EINVAL, "health: no result, or one from an unknown "
		                                       "header");
	uint64_t progress = 0;
	unsigned finished = 0;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct pt_thread *t = &p->threads[i];
		if (t->id == 0 || t->id > run->workers)
			continue;
		if (t->live)
			cpu_ns(p, t, &run->cpu_ns[i]);
		else if (!run->fault_dead[i])
			finished++;
		progress += run->cpu_ns[i];
	}
	h->threads = run->workers;
	h->crashed = run->fault_crashed + (p->crash.seen ? 1u : 0u);
	if (h->sz >= offsetof(struct pv_health, progress) + sizeof(h->progress))
		h->progress = progress;
	if (h->sz >= offsetof(struct pv_health, finished) + sizeof(h->finished))
		h->finished = finished;
	return 0;
}

const struct pv_space_ops pt_space_ops = {
	.sz = sizeof(struct pv_space_ops),
	.read = sp_read,
	.write = sp_write,
	.store_atomic = sp_store_atomic,
	.map_near = sp_map_near,
	.unmap = sp_unmap,
	.protect = sp_protect,
	.stop_all = sp_stop_all,
	.resume_all = sp_resume_all,
	.threads = sp_threads,
	.backtrace = sp_backtrace,
	.call = sp_call,
	.sync_core = sp_sync_core,
	.symbol = sp_symbol,
	.advance = sp_advance,
	.trap_redirect = sp_trap_redirect,
	.thread_slot = NULL, /* needs per-thread memory the target reads through %fs */
	.note = NULL,
	.call_flags = sp_call_flags,
	.health = sp_health,
};

void pt_space_init(struct pt_space *s, struct pt_proc *p, enum pv_mem_model m)
{
	s->space.ops = &pt_space_ops;
	s->proc = p;
	s->unwind = NULL;
	s->mem_model = m;
}

void pt_space_fini(struct pt_space *s)
{
	pt_unwind_close(s->unwind);
	s->unwind = NULL;
}
