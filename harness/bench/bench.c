/* patchvet bench (harness/bench/bench.h). */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../emulator/emu.h"
#include "emu_counts.h"
#include "../model/backend.h"
#include "../ptrace/bench.h"
#include "../ptrace/ptrace.h"
#include "../load/scenario.h"
#include "../util/clock.h"

#define RESAMPLES 2000
#define CONFIDENCE 0.95
/* CPU time of one A/B process's work: short processes give more pairs in
 * the time, and the per-process noise barely grows below ~100 ms (shared
 * 2-core machine: CV about 10% at 20 ms and at 150 ms alike). */
#define PROC_TARGET_MS 20.0

static void progress(const struct pv_bench_config *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void progress(const struct pv_bench_config *c, const char *fmt, ...)
{
	if (!c->progress)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("bench: ", c->progress);
	vfprintf(c->progress, fmt, ap);
	fputc('\n', c->progress);
	fflush(c->progress);
	va_end(ap);
}

void pv_bench_hw_counters(char *buf, size_t len)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_HARDWARE;
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(buf, len, "unavailable (perf_event_open of the instruction counter: %s%s)",
		         strerror(e), e == ENOENT || e == EOPNOTSUPP ? "; no PMU in this machine" : "");
		return;
	}
	close((int)fd);
	snprintf(buf, len, "available (instruction counter opened; this version does not count "
	                   "with it, CPU time is the figure)");
}

static void add_figure(struct pv_bench_result *r, const char *name, bool measured, double est,
                       double lo, double hi, double threshold, const char *unit,
                       enum pv_claim claim, const char *note)
{
	if (r->nfigures == PV_BENCH_MAX_FIGURES)
		return;
	struct pv_overhead_figure *f = &r->figures[r->nfigures++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->measured = measured;
	f->est = est;
	f->lo = lo;
	f->hi = hi;
	f->threshold = threshold;
	snprintf(f->unit, sizeof(f->unit), "%s", unit);
	f->claim = claim;
	snprintf(f->note, sizeof(f->note), "%s", note ? note : "");
}

/* ------------------------------------------------------------ native */

static int make_tmpdir(char *dir, size_t len, struct pv_error *err)
{
	const char *base = getenv("TMPDIR");
	snprintf(dir, len, "%s/patchvet-bench-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(dir))
		return pv_error_set(err, PV_EIO, "cannot make a directory under %s: %s",
		                    base && *base ? base : "/tmp", strerror(errno));
	return 0;
}

static void remove_tmpdir(const char *dir)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/gate", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/report", dir);
	unlink(path);
	rmdir(dir);
}

static int native_ab(const struct pv_bench_config *c, void *h, const char *dir,
                     struct pv_bench_result *r, struct pv_error *err)
{
	/* Calibrate: one unpatched process at the backend's count. */
	struct pv_native_proc a, b;
	unsigned long iters = pv_ptrace_bench_iterations(h);
	int rc = pv_ptrace_bench_proc(h, c->engine, false, r->cpu_workers, iters, dir, &a, err);
	if (rc)
		return rc;
	double ms = a.cpu_ns_per_op * (double)iters / r->cpu_workers / 1e6;
	double scale = ms > 0 ? PROC_TARGET_MS / ms : 1;
	if (scale > 1000)
		scale = 1000;
	r->iterations = (unsigned long)((double)iters * scale) + 1;
	progress(c, "native: %lu iterations a worker per process (about %.0f ms of CPU)",
	         r->iterations, PROC_TARGET_MS);
	size_t cap = 64;
	r->cpu_a = malloc(cap * sizeof(double));
	r->cpu_b = malloc(cap * sizeof(double));
	if (!r->cpu_a || !r->cpu_b)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	struct pv_rng rng = {c->seed ^ 0xa5a5a5a5u};
	double t0 = pv_now_s(), rss_a = 0, rss_b = 0, pss_a = 0, pss_b = 0, eng = 0;
	while (pv_now_s() - t0 < c->time_s || r->pairs < 2) {
		if (r->pairs == cap) {
			cap *= 2;
			double *na = realloc(r->cpu_a, cap * sizeof(double));
			if (na)
				r->cpu_a = na;
			double *nb = na ? realloc(r->cpu_b, cap * sizeof(double)) : NULL;
			if (!nb)
				return pv_error_set(err, PV_ENOMEM, "out of memory");
			r->cpu_b = nb;
		}
		bool b_first = pv_rng_next(&rng) & 1;
		for (int k = 0; k < 2; k++) {
			bool patched = (k == 0) == b_first;
			rc = pv_ptrace_bench_proc(h, c->engine, patched, r->cpu_workers, r->iterations, dir,
			                          patched ? &b : &a, err);
			if (rc)
				return rc;
		}
		r->cpu_a[r->pairs] = a.cpu_ns_per_op;
		r->cpu_b[r->pairs] = b.cpu_ns_per_op;
		rss_a += a.rss_kb;
		rss_b += b.rss_kb;
		pss_a += a.pss_kb;
		pss_b += b.pss_kb;
		eng += (double)b.engine_bytes / 1024;
		r->pairs++;
		if (pv_now_s() - t0 > 10 * c->time_s + 60)
			break; /* a machine far slower than the calibration */
	}
	r->measured_s = pv_now_s() - t0;
	double n = (double)r->pairs;
	r->rss_a = rss_a / n;
	r->rss_b = rss_b / n;
	r->pss_a = pss_a / n;
	r->pss_b = pss_b / n;
	r->engine_kib = eng / n;
	r->cpu_a_mean = pv_stats_mean(r->cpu_a, r->pairs);
	r->cpu_b_mean = pv_stats_mean(r->cpu_b, r->pairs);
	r->cpu_a_cv = pv_stats_stddev(r->cpu_a, r->pairs) / r->cpu_a_mean;
	r->cpu_b_cv = pv_stats_stddev(r->cpu_b, r->pairs) / r->cpu_b_mean;
	rc = pv_stats_ratio_ci(r->cpu_a, r->pairs, r->cpu_b, r->pairs, true, RESAMPLES, CONFIDENCE,
	                       c->seed, &r->ratio, err);
	if (rc)
		return rc;
	double lo = (r->ratio.lo - 1) * 100, hi = (r->ratio.hi - 1) * 100;
	add_figure(r, "cpu", true, (r->ratio.est - 1) * 100, lo, hi, c->threshold_pct, "%",
	           pv_stats_judge(lo, hi, c->threshold_pct), NULL);
	return 0;
}

/* The p-th percentile of a latency histogram: the middle of its bucket. */
static double hist_percentile(const uint64_t *counts, uint64_t total, double p)
{
	uint64_t want = (uint64_t)ceil(p / 100 * (double)total), seen = 0;
	if (!want)
		want = 1;
	for (unsigned b = 0; b < PV_BENCH_LAT_BUCKETS; b++) {
		seen += counts[b];
		if (seen >= want)
			return (pv_bench_bucket_lo(b) + pv_bench_bucket_lo(b + 1)) / 2;
	}
	return 0;
}

static void native_latency(const struct pv_bench_config *c, void *h, const char *dir,
                           struct pv_bench_result *r)
{
	struct pv_native_latency *l = calloc(1, sizeof(*l));
	struct pv_error lerr;
	pv_error_clear(&lerr);
	/* 25 x the A/B work (about 0.5 s of CPU a worker), so the steady
	 * state and both windows fit in one run. */
	unsigned long iters = r->iterations * 25;
	if (!l) {
		snprintf(r->latency_note, sizeof(r->latency_note), "out of memory");
	} else if (pv_ptrace_bench_latency(h, c->engine, r->workers, iters, dir, l, &lerr)) {
		snprintf(r->latency_note, sizeof(r->latency_note), "%s", lerr.msg);
	} else {
		r->latency = true;
		for (int w = 0; w < 2; w++) {
			uint64_t n = 0;
			unsigned last = 0;
			for (unsigned b = 0; b < PV_BENCH_LAT_BUCKETS; b++) {
				n += l->counts[w][b];
				if (l->counts[w][b])
					last = b;
			}
			r->lat_ops[w] = n;
			if (!n)
				continue;
			r->lat_p50[w] = hist_percentile(l->counts[w], n, 50);
			r->lat_p99[w] = hist_percentile(l->counts[w], n, 99);
			r->lat_p999[w] = hist_percentile(l->counts[w], n, 99.9);
			r->lat_max[w] = pv_bench_bucket_lo(last + 1);
		}
	}
	free(l);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static void pauses(double *v, size_t n, double *p50, double *p99, double *max)
{
	qsort(v, n, sizeof(*v), cmp_double);
	*p50 = v[n / 2];
	*p99 = v[(size_t)((double)(n - 1) * 0.99)];
	*max = v[n - 1];
}

static int native_cycles(const struct pv_bench_config *c, void *h, struct pv_bench_result *r,
                         struct pv_error *err)
{
	r->cycles = c->cycles;
	struct pv_native_cycle *cy = calloc(c->cycles ? c->cycles : 1, sizeof(*cy));
	double *x = calloc(c->cycles ? c->cycles : 1, sizeof(double) * 5);
	if (!cy || !x) {
		free(cy);
		free(x);
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	}
	struct pv_error cerr;
	pv_error_clear(&cerr);
	int crc = pv_ptrace_bench_cycles(h, c->engine, r->workers, c->cycles, cy, &r->cycles_done,
	                                 &cerr);
	if (crc)
		snprintf(r->cycles_error, sizeof(r->cycles_error), "%s", cerr.msg);
	unsigned n = r->cycles_done;
	double *idx = x, *pss = x + n, *rss = x + 2 * n, *vm = x + 3 * n, *pa = x + 4 * n;
	for (unsigned i = 0; i < n; i++) {
		idx[i] = i + 1;
		pss[i] = cy[i].pss_kb;
		rss[i] = cy[i].rss_kb;
		vm[i] = cy[i].vm_kb;
	}
	char note[256] = "";
	struct pv_error ignored;
	if (n >= 2) {
		pv_stats_slope(idx, pss, n, &r->pss_slope, &ignored);
		pv_stats_slope(idx, rss, n, &r->rss_slope, &ignored);
		pv_stats_slope(idx, vm, n, &r->vm_slope, &ignored);
		r->pss_first = pss[0];
		r->pss_last = pss[n - 1];
		r->leak_kib_per_cycle = cy[n - 1].leaked_bytes / 1024 / n;
		for (unsigned i = 0; i < n; i++)
			pa[i] = cy[i].apply_pause_ms;
		pauses(pa, n, &r->apply_pause_p50, &r->apply_pause_p99, &r->apply_pause_max);
		for (unsigned i = 0; i < n; i++)
			pa[i] = cy[i].revert_pause_ms;
		pauses(pa, n, &r->revert_pause_p50, &r->revert_pause_p99, &r->revert_pause_max);
		/* Exact: the engine's mappings still there after its reverts. */
		double leak = r->leak_kib_per_cycle;
		snprintf(note, sizeof(note), "%.1f KiB left mapped after %u reverts; Pss %+.2f "
		                             "KiB/cycle, VmSize %+.2f KiB/cycle", leak * n, n,
		         r->pss_slope, r->vm_slope);
		add_figure(r, "memory-growth", true, leak, leak, leak, 0, "KiB/cycle",
		           leak > 0 ? PV_CLAIM_REFUTED : PV_CLAIM_SUPPORTED, note);
	} else {
		snprintf(note, sizeof(note), "only %u of %u apply/revert cycles completed: %.200s", n,
		         c->cycles, r->cycles_error[0] ? r->cycles_error : "no reason given");
		add_figure(r, "memory-growth", false, 0, 0, 0, 0, "KiB/cycle", PV_CLAIM_INCONCLUSIVE,
		           note);
	}
	free(cy);
	free(x);
	return 0;
}

/* ------------------------------------------------------------ emu */

static int emu_measure(const struct pv_engine *engine, double threshold, unsigned workers,
                       unsigned long iterations, long param, struct pv_bench_result *r,
                       struct pv_error *err)
{
	/* Two lengths: the difference is the per-operation cost, fixed costs
	 * (start, engine, verify) cancel. */
	unsigned long n1 = iterations < 20 ? 20 : iterations, n2 = 2 * n1;
	struct pv_bench_emu_count a1, a2, b1, b2;
	int rc;
	if ((rc = pv_bench_emu_count(r->emu_target, r->patch, workers, n1, param, engine, false,
	                             &a1, err)) ||
	    (rc = pv_bench_emu_count(r->emu_target, r->patch, workers, n2, param, engine, false,
	                             &a2, err)) ||
	    (rc = pv_bench_emu_count(r->emu_target, r->patch, workers, n1, param, engine, true,
	                             &b1, err)) ||
	    (rc = pv_bench_emu_count(r->emu_target, r->patch, workers, n2, param, engine, true,
	                             &b2, err)))
		return rc;
	double ops = (double)(n2 - n1) * workers;
#define PER_OP(f) (((double)b2.f - (double)b1.f) / ops)
	double b_replaced = PER_OP(replaced), b_patch = PER_OP(patch);
#undef PER_OP
	double a_replaced = ((double)a2.replaced - (double)a1.replaced) / ops;
	double a_patch = ((double)a2.patch - (double)a1.patch) / ops;
	r->insn_a = (double)(a2.total - a1.total) / ops;
	r->insn_b = (double)(b2.total - b1.total) / ops;
	double pct = (r->insn_b / r->insn_a - 1) * 100;
	char note[240];
	snprintf(note, sizeof(note), "exact (emulated instruction counts: %.2f unpatched, %.2f "
	                             "patched per operation)", r->insn_a, r->insn_b);
	add_figure(r, "instructions", true, pct, pct, pct, threshold, "%",
	           pct < threshold ? PV_CLAIM_SUPPORTED : PV_CLAIM_REFUTED, note);
	/* The engine's share: what runs where the old code was (a redirect)
	 * and outside both versions (trampolines, padding), against the same
	 * unpatched path. The patch's own code replacing the old one is the
	 * patch's cost, not the engine's: with a fix built -fPIC it can add a
	 * third to a small operation (GOT loads, PLT calls). */
	double patch_own = b_patch - a_patch - a_replaced;
	double engine_insns = r->insn_b - r->insn_a - patch_own;
	double rpct = engine_insns / r->insn_a * 100;
	snprintf(note, sizeof(note), "exact: the engine adds %.2f instructions per operation "
	                             "(%.2f where the old code was, the rest outside both "
	                             "versions); the patch's own code costs %+.2f against the "
	                             "original's %.2f", engine_insns, b_replaced, patch_own,
	         a_replaced);
	add_figure(r, "redirect", true, rpct, rpct, rpct, threshold, "%",
	           rpct < threshold ? PV_CLAIM_SUPPORTED : PV_CLAIM_REFUTED, note);
	return 0;
}

/* The engine's mappings over apply/revert cycles in emu: exact, and
 * possible for engines that need space operations ptrace lacks. */
static void emu_cycles(const struct pv_engine *engine, unsigned cycles, unsigned workers,
                       unsigned long iterations, long param, struct pv_bench_result *r)
{
	unsigned n = cycles;
	double *left = calloc(n, sizeof(double)), *mapped = calloc(n, sizeof(double));
	struct pv_error cerr;
	pv_error_clear(&cerr);
	char note[PV_ERROR_MSG_MAX];
	if (!left || !mapped) {
		add_figure(r, "memory-growth-emu", false, 0, 0, 0, 0, "KiB/cycle",
		           PV_CLAIM_INCONCLUSIVE, "out of memory");
	} else if (pv_bench_emu_cycles(r->emu_target, r->patch, workers, iterations, param, engine,
	                               n, left, mapped,
	                               &r->emu_cycles_done, &cerr) && r->emu_cycles_done < 2) {
		snprintf(note, sizeof(note), "only %u of %u apply/revert cycles completed: %.400s",
		         r->emu_cycles_done, n, cerr.msg);
		add_figure(r, "memory-growth-emu", false, 0, 0, 0, 0, "KiB/cycle",
		           PV_CLAIM_INCONCLUSIVE, note);
	} else {
		unsigned d = r->emu_cycles_done;
		r->emu_left_kib = left[d - 1] / 1024;
		r->emu_mapped_kib = mapped[0] / 1024;
		double per = r->emu_left_kib / d;
		snprintf(note, sizeof(note), "%.1f KiB of engine mappings left after %u reverts "
		                             "(%.1f KiB mapped while applied)%s%.300s",
		         r->emu_left_kib, d, r->emu_mapped_kib, cerr.msg[0] ? "; then: " : "",
		         cerr.msg);
		add_figure(r, "memory-growth-emu", true, per, per, per, 0, "KiB/cycle",
		           per > 0 ? PV_CLAIM_REFUTED : PV_CLAIM_SUPPORTED, note);
	}
	free(left);
	free(mapped);
}

int pv_bench_emu_figures(const struct pv_engine *engine, const char *emu_target,
                         const char *patch, unsigned workers, unsigned long iterations,
                         long param, unsigned cycles, double threshold_pct,
                         struct pv_overhead_figure *out, size_t *nout)
{
	struct pv_bench_result *r = calloc(1, sizeof(*r));
	*nout = 0;
	if (!r)
		return PV_ENOMEM;
	snprintf(r->emu_target, sizeof(r->emu_target), "%s", emu_target);
	snprintf(r->patch, sizeof(r->patch), "%s", patch);
	struct pv_error eerr;
	pv_error_clear(&eerr);
	/* Not measured is a figure too: the reader sees why. */
	if (emu_measure(engine, threshold_pct, workers, iterations, param, r, &eerr))
		add_figure(r, "instructions", false, 0, 0, 0, threshold_pct, "%",
		           PV_CLAIM_INCONCLUSIVE, eerr.msg);
	emu_cycles(engine, cycles, workers, iterations, param, r);
	for (size_t i = 0; i < r->nfigures; i++)
		out[(*nout)++] = r->figures[i];
	free(r);
	return 0;
}

/* ------------------------------------------------------------ the run */

/* The first flavour of the scenario the engine plans on natively (or in
 * emu when native is off); h receives the open ptrace backend when native. */
static int pick_flavour(const struct pv_bench_config *c, const struct pv_scenario *sc,
                        struct pv_bench_result *r, void **h, struct pv_error *err)
{
	int rc = pv_scenario_patch_path(sc, c->data_dir, r->patch, sizeof(r->patch), err);
	if (rc)
		return rc;
	size_t used = 0;
	for (unsigned f = 1; f <= PV_FLAVOUR_ALL; f <<= 1) {
		if (!(sc->flavours & f) || (c->flavours && !(c->flavours & f)))
			continue;
		if ((rc = pv_scenario_target_path(sc, c->data_dir, f, r->target, sizeof(r->target),
		                                  err)) ||
		    (rc = pv_scenario_emu_target_path(sc, c->data_dir, f, r->emu_target,
		                                      sizeof(r->emu_target), err)))
			return rc;
		const struct pv_patch_desc *desc = NULL;
		void *bh = NULL;
		struct pv_emu *emu = NULL;
		if (c->native) {
			struct pv_backend_config bc = {
				.target_path = r->target,
				.patch_path = r->patch,
				.workload = {.workers = sc->workers, .iterations = sc->iterations,
				             .param = sc->param},
			};
			if ((rc = pv_backend_ptrace_ops.open(&bc, &bh, err)))
				return rc;
			desc = pv_backend_ptrace_ops.patch(bh);
		} else {
			struct pv_emu_config ec = {
				.target_path = r->emu_target,
				.patch_path = r->patch,
				.workload = {.workers = sc->workers, .iterations = sc->iterations,
				             .param = sc->param},
			};
			if ((rc = pv_emu_open(&ec, &emu, err)))
				return rc;
			desc = pv_emu_patch(emu);
		}
		void *state = NULL;
		struct pv_error perr;
		pv_error_clear(&perr);
		rc = c->engine->plan(desc, &state, &perr);
		if (state && c->engine->release)
			c->engine->release(state);
		if (emu)
			pv_emu_close(emu);
		if (!rc) {
			snprintf(r->flavour, sizeof(r->flavour), "%s", pv_flavour_name(f));
			*h = bh;
			return 0;
		}
		if (bh)
			pv_backend_ptrace_ops.close(bh);
		if (rc != PV_EREFUSED)
			return pv_error_set(err, rc, "%s: plan failed on %s (%s): %s", c->engine->name,
			                    sc->name, pv_flavour_name(f),
			                    perr.msg[0] ? perr.msg : pv_strerror(rc));
		if (used < sizeof(r->flavour_note))
			used += (size_t)snprintf(r->flavour_note + used, sizeof(r->flavour_note) - used,
			                         "%s%s refused %s: %s", used ? "; " : "",
			                         c->engine->name, pv_flavour_name(f), perr.msg);
	}
	return pv_error_set(err, PV_EINVAL, "%s refuses scenario %s in every flavour it is built "
	                                    "in (%s)", c->engine->name, sc->name, r->flavour_note);
}

int pv_bench_run(const struct pv_bench_config *c, struct pv_bench_result *r,
                 struct pv_error *err)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->engine, sizeof(r->engine), "%s", c->engine->name);
	r->threshold_pct = c->threshold_pct;
	r->seed = c->seed;
	pv_bench_hw_counters(r->hw_counters, sizeof(r->hw_counters));
	struct pv_scenario *sc = NULL;
	int rc = pv_scenario_load(c->scenario, c->data_dir, &sc, err);
	if (rc)
		return rc;
	snprintf(r->scenario, sizeof(r->scenario), "%s", sc->name);
	r->workers = sc->workers;
	r->cpu_workers = c->cpu_workers ? c->cpu_workers : 1;
	bool native = c->native && (sc->backends & PV_BACKEND_PTRACE);
	bool emu = c->emu && (sc->backends & PV_BACKEND_EMU);
	if (!native && !emu) {
		rc = pv_error_set(err, PV_EUNSUPPORTED, "scenario %s does not run on the backend "
		                                        "asked for (it lists %s%s%s)", sc->name,
		                  sc->backends & PV_BACKEND_EMU ? "emu " : "",
		                  sc->backends & PV_BACKEND_PTRACE ? "ptrace" : "",
		                  sc->backends ? "" : "none");
		pv_scenario_free(sc);
		return rc;
	}
	if (c->native && !native)
		progress(c, "scenario %s does not list ptrace: native figures skipped", sc->name);
	struct pv_bench_config cc = *c;
	cc.native = native;
	void *h = NULL;
	char dir[PATH_MAX] = "";
	if ((rc = pick_flavour(&cc, sc, r, &h, err)))
		goto out;
	progress(c, "%s on %s, flavour %s", r->engine, r->scenario, r->flavour);
	if (native) {
		r->native = true;
		if ((rc = make_tmpdir(dir, sizeof(dir), err)))
			goto out;
		progress(c, "native: A/B pairs for %.0f s", c->time_s);
		/* An engine that cannot work on real processes (a space
		 * operation ptrace lacks) leaves the figure unmeasured. */
		struct pv_error nerr;
		pv_error_clear(&nerr);
		if (native_ab(c, h, dir, r, &nerr)) {
			r->pairs = 0;
			add_figure(r, "cpu", false, 0, 0, 0, c->threshold_pct, "%",
			           PV_CLAIM_INCONCLUSIVE, nerr.msg);
		}
		progress(c, "native: %u apply/revert cycles", c->cycles);
		if ((rc = native_cycles(c, h, r, err)))
			goto out;
		if (r->pairs) {
			progress(c, "native: operation latency around apply and revert");
			native_latency(c, h, dir, r);
		} else {
			snprintf(r->latency_note, sizeof(r->latency_note),
			         "the engine did not run natively");
		}
	}
	if (emu) {
		progress(c, "emu: instruction counts");
		struct pv_error eerr;
		pv_error_clear(&eerr);
		if (emu_measure(c->engine, c->threshold_pct, sc->workers, sc->iterations, sc->param, r,
		                &eerr))
			snprintf(r->emu_note, sizeof(r->emu_note), "%s", eerr.msg);
		else
			r->emu = true;
		progress(c, "emu: %u apply/revert cycles", c->cycles);
		emu_cycles(c->engine, c->cycles, sc->workers, sc->iterations, sc->param, r);
	} else {
		snprintf(r->emu_note, sizeof(r->emu_note), "%s",
		         c->emu ? "the scenario does not list emu" : "not asked for (--backend)");
	}
out:
	if (dir[0])
		remove_tmpdir(dir);
	if (h)
		pv_backend_ptrace_ops.close(h);
	pv_scenario_free(sc);
	return rc;
}

void pv_bench_result_free(struct pv_bench_result *r)
{
	free(r->cpu_a);
	free(r->cpu_b);
	r->cpu_a = r->cpu_b = NULL;
}

int pv_bench_exit_status(const struct pv_bench_result *r)
{
	bool refuted = false, unsure = false;
	for (size_t i = 0; i < r->nfigures; i++) {
		const struct pv_overhead_figure *f = &r->figures[i];
		refuted |= f->measured && f->claim == PV_CLAIM_REFUTED;
		unsure |= !f->measured || f->claim == PV_CLAIM_INCONCLUSIVE;
	}
	return refuted ? 1 : unsure ? 3 : 0;
}
