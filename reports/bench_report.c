/* Text and JSON renderings of a bench result (reports/bench.h). */
#include "bench_report.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static void verdict_line(const struct pv_overhead_figure *f, FILE *out)
{
	if (!f->measured) {
		fprintf(out, "  verdict %-17s NOT MEASURED: %s\n", f->name, f->note);
		return;
	}
	if (!strcmp(f->unit, "%"))
		fprintf(out, "  verdict %-17s %-12s overhead %+.2f%% [%+.2f%%, %+.2f%%] vs threshold "
		             "%.2f%%%s%s\n", f->name, pv_claim_name(f->claim), f->est, f->lo, f->hi,
		        f->threshold, f->note[0] ? "; " : "", f->note);
	else
		fprintf(out, "  verdict %-17s %-12s %.2f %s (exact) vs %.2f: %s\n", f->name,
		        pv_claim_name(f->claim), f->est, f->unit, f->threshold, f->note);
}

void pv_report_bench_text(const struct pv_bench_result *r, FILE *f)
{
	fprintf(f, "bench: %s on %s (flavour %s), threshold %.2f%%, seed %llu\n", r->engine,
	        r->scenario, r->flavour, r->threshold_pct, (unsigned long long)r->seed);
	if (r->flavour_note[0])
		fprintf(f, "  flavours skipped: %s\n", r->flavour_note);
	fprintf(f, "  hardware counters: %s\n", r->hw_counters);
	if (r->native && r->pairs) {
		fprintf(f, "cpu (native, %zu A/B pairs in random order, %.1f s, %u worker%s x %lu "
		           "operations a process):\n", r->pairs, r->measured_s, r->cpu_workers,
		        r->cpu_workers == 1 ? "" : "s", r->iterations);
		fprintf(f, "  unpatched %.3f ns/op (cv %.1f%%), patched %.3f ns/op (cv %.1f%%)\n",
		        r->cpu_a_mean, r->cpu_a_cv * 100, r->cpu_b_mean, r->cpu_b_cv * 100);
		fprintf(f, "  ratio B/A %.4f, %.0f%% CI [%.4f, %.4f] (half-width %.2f points)\n",
		        r->ratio.est, r->ratio.confidence * 100, r->ratio.lo, r->ratio.hi,
		        (r->ratio.hi - r->ratio.lo) / 2 * 100);
	} else {
		fprintf(f, "cpu (native): not measured (see its verdict)\n");
	}
	if (r->emu)
		fprintf(f, "instructions (emu, exact): unpatched %.2f per op, patched %.2f per op "
		           "(%+.2f%%)\n", r->insn_a, r->insn_b, (r->insn_b / r->insn_a - 1) * 100);
	else
		fprintf(f, "instructions (emu): not measured: %s\n", r->emu_note);
	if (r->native) {
		fprintf(f, "memory:\n");
		if (r->pairs) {
			fprintf(f, "  Rss %.0f KiB unpatched, %.0f KiB patched; Pss %.0f KiB unpatched, "
			           "%.0f KiB patched (means over the pairs)\n", r->rss_a, r->rss_b,
			        r->pss_a, r->pss_b);
			fprintf(f, "  engine's own mappings while applied: %.1f KiB\n", r->engine_kib);
		}
		fprintf(f, "  %u of %u apply/revert cycles: left mapped %.2f KiB/cycle; slopes Pss "
		           "%+.2f, Rss %+.2f, VmSize %+.2f KiB/cycle (Pss %.0f -> %.0f KiB)\n",
		        r->cycles_done, r->cycles, r->leak_kib_per_cycle, r->pss_slope, r->rss_slope,
		        r->vm_slope, r->pss_first, r->pss_last);
		if (r->cycles_error[0])
			fprintf(f, "  cycles ended early: %s\n", r->cycles_error);
		if (r->cycles_done) {
			fprintf(f, "disruption (longest pause a thread sees, over %u cycles, %u "
			           "workers):\n", r->cycles_done, r->workers);
			fprintf(f, "  apply  p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
			        r->apply_pause_p50, r->apply_pause_p99, r->apply_pause_max);
			fprintf(f, "  revert p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
			        r->revert_pause_p50, r->revert_pause_p99, r->revert_pause_max);
		} else {
			fprintf(f, "disruption: not measured (no apply/revert cycle completed)\n");
		}
		if (r->latency) {
			static const char *const what[2] = {"steady state", "patch window"};
			fprintf(f, "  operation latency (%u workers, bucket middles, 12.5%% "
			           "resolution):\n", r->workers);
			for (int w = 0; w < 2; w++)
				fprintf(f, "    %-12s %9llu ops: p50 %.2f us, p99 %.2f us, p99.9 %.2f us, "
				           "max < %.0f us\n", what[w], (unsigned long long)r->lat_ops[w],
				        r->lat_p50[w] / 1e3, r->lat_p99[w] / 1e3, r->lat_p999[w] / 1e3,
				        r->lat_max[w] / 1e3);
		} else {
			fprintf(f, "  operation latency: not measured: %s\n", r->latency_note);
		}
	}
	if (r->emu_cycles_done)
		fprintf(f, "memory (emu): %u apply/revert cycles: engine mappings %.1f KiB while "
		           "applied, %.1f KiB left after the last revert (%.2f KiB/cycle)\n",
		        r->emu_cycles_done, r->emu_mapped_kib, r->emu_left_kib,
		        r->emu_left_kib / r->emu_cycles_done);
	fprintf(f, "verdicts:\n");
	for (size_t i = 0; i < r->nfigures; i++)
		verdict_line(&r->figures[i], f);
}

static json_object *jdouble(double v)
{
	return json_object_new_double(v);
}

int pv_report_bench_json(const struct pv_bench_result *r, char **text, struct pv_error *err)
{
	json_object *o = json_object_new_object();
	if (!o)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	json_object_object_add(o, "schema", json_object_new_string("patchvet-bench/1"));
	json_object_object_add(o, "kind", json_object_new_string("bench"));
	json_object_object_add(o, "engine", json_object_new_string(r->engine));
	json_object_object_add(o, "scenario", json_object_new_string(r->scenario));
	json_object_object_add(o, "flavour", json_object_new_string(r->flavour));
	json_object_object_add(o, "flavours_skipped", json_object_new_string(r->flavour_note));
	json_object_object_add(o, "threshold_pct", jdouble(r->threshold_pct));
	json_object_object_add(o, "seed", json_object_new_uint64(r->seed));
	json_object_object_add(o, "hardware_counters", json_object_new_string(r->hw_counters));
	if (r->native && r->pairs) {
		json_object *c = json_object_new_object();
		json_object_object_add(c, "pairs", json_object_new_uint64(r->pairs));
		json_object_object_add(c, "seconds", jdouble(r->measured_s));
		json_object_object_add(c, "workers", json_object_new_int((int)r->cpu_workers));
		json_object_object_add(c, "iterations", json_object_new_uint64(r->iterations));
		json_object_object_add(c, "unpatched_ns_per_op", jdouble(r->cpu_a_mean));
		json_object_object_add(c, "patched_ns_per_op", jdouble(r->cpu_b_mean));
		json_object_object_add(c, "unpatched_cv", jdouble(r->cpu_a_cv));
		json_object_object_add(c, "patched_cv", jdouble(r->cpu_b_cv));
		json_object_object_add(c, "ratio", jdouble(r->ratio.est));
		json_object_object_add(c, "ratio_lo", jdouble(r->ratio.lo));
		json_object_object_add(c, "ratio_hi", jdouble(r->ratio.hi));
		json_object_object_add(c, "confidence", jdouble(r->ratio.confidence));
		json_object *a = json_object_new_array(), *b = json_object_new_array();
		for (size_t i = 0; i < r->pairs; i++) {
			json_object_array_add(a, jdouble(r->cpu_a[i]));
			json_object_array_add(b, jdouble(r->cpu_b[i]));
		}
		json_object_object_add(c, "unpatched_samples", a);
		json_object_object_add(c, "patched_samples", b);
		json_object_object_add(o, "cpu", c);
	}
	if (r->native) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "rss_kib_unpatched", jdouble(r->rss_a));
		json_object_object_add(m, "rss_kib_patched", jdouble(r->rss_b));
		json_object_object_add(m, "pss_kib_unpatched", jdouble(r->pss_a));
		json_object_object_add(m, "pss_kib_patched", jdouble(r->pss_b));
		json_object_object_add(m, "engine_kib_applied", jdouble(r->engine_kib));
		json_object_object_add(m, "cycles", json_object_new_int((int)r->cycles));
		json_object_object_add(m, "cycles_done", json_object_new_int((int)r->cycles_done));
		json_object_object_add(m, "cycles_error", json_object_new_string(r->cycles_error));
		json_object_object_add(m, "leak_kib_per_cycle", jdouble(r->leak_kib_per_cycle));
		json_object_object_add(m, "pss_slope_kib_per_cycle", jdouble(r->pss_slope));
		json_object_object_add(m, "rss_slope_kib_per_cycle", jdouble(r->rss_slope));
		json_object_object_add(m, "vm_slope_kib_per_cycle", jdouble(r->vm_slope));
		json_object_object_add(o, "memory", m);

		json_object *d = json_object_new_object();
		json_object_object_add(d, "apply_pause_ms_p50", jdouble(r->apply_pause_p50));
		json_object_object_add(d, "apply_pause_ms_p99", jdouble(r->apply_pause_p99));
		json_object_object_add(d, "apply_pause_ms_max", jdouble(r->apply_pause_max));
		json_object_object_add(d, "revert_pause_ms_p50", jdouble(r->revert_pause_p50));
		json_object_object_add(d, "revert_pause_ms_p99", jdouble(r->revert_pause_p99));
		json_object_object_add(d, "revert_pause_ms_max", jdouble(r->revert_pause_max));
		json_object_object_add(d, "latency_measured", json_object_new_boolean(r->latency));
		if (r->latency) {
			static const char *const key[2] = {"steady", "window"};
			for (int w = 0; w < 2; w++) {
				json_object *x = json_object_new_object();
				json_object_object_add(x, "ops", json_object_new_uint64(r->lat_ops[w]));
				json_object_object_add(x, "p50_ns", jdouble(r->lat_p50[w]));
				json_object_object_add(x, "p99_ns", jdouble(r->lat_p99[w]));
				json_object_object_add(x, "p999_ns", jdouble(r->lat_p999[w]));
				json_object_object_add(x, "max_ns_below", jdouble(r->lat_max[w]));
				json_object_object_add(d, key[w], x);
			}
		} else {
			json_object_object_add(d, "latency_why_not",
			                       json_object_new_string(r->latency_note));
		}
		json_object_object_add(o, "disruption", d);
	}
	json_object *e = json_object_new_object();
	json_object_object_add(e, "measured", json_object_new_boolean(r->emu));
	json_object_object_add(e, "cycles_done", json_object_new_int((int)r->emu_cycles_done));
	json_object_object_add(e, "engine_kib_applied", jdouble(r->emu_mapped_kib));
	json_object_object_add(e, "engine_kib_left", jdouble(r->emu_left_kib));
	if (r->emu) {
		json_object_object_add(e, "unpatched_insns_per_op", jdouble(r->insn_a));
		json_object_object_add(e, "patched_insns_per_op", jdouble(r->insn_b));
	} else {
		json_object_object_add(e, "why_not", json_object_new_string(r->emu_note));
	}
	json_object_object_add(o, "instructions", e);
	json_object *v = json_object_new_array();
	for (size_t i = 0; i < r->nfigures; i++) {
		const struct pv_overhead_figure *f = &r->figures[i];
		json_object *x = json_object_new_object();
		json_object_object_add(x, "figure", json_object_new_string(f->name));
		json_object_object_add(x, "measured", json_object_new_boolean(f->measured));
		json_object_object_add(x, "verdict", json_object_new_string(
			f->measured ? pv_claim_name(f->claim) : "NOT MEASURED"));
		json_object_object_add(x, "estimate", jdouble(f->est));
		json_object_object_add(x, "lo", jdouble(f->lo));
		json_object_object_add(x, "hi", jdouble(f->hi));
		json_object_object_add(x, "threshold", jdouble(f->threshold));
		json_object_object_add(x, "unit", json_object_new_string(f->unit));
		json_object_object_add(x, "note", json_object_new_string(f->note));
		json_object_array_add(v, x);
	}
	json_object_object_add(o, "verdicts", v);
	json_object_object_add(o, "exit_status", json_object_new_int(pv_bench_exit_status(r)));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
	*text = s ? strdup(s) : NULL;
	json_object_put(o);
	if (!*text)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	return 0;
}
