/* Suite `analysis`: pv_analyze_prologue on hand-made bytes, and pv_analyze on
 * the corpora (build them first: make corpora). */
#include <criterion/criterion.h>

#include <string.h>

#include "../harness/load/analysis.h"
#include "helpers.h"
#include "../harness/load/image.h"
#include "../harness/load/patchfile.h"

/* Runs pv_analyze_prologue on code as a whole function of its own size. */
static struct pv_function_report prologue_of(const unsigned char *code, size_t len)
{
	struct pv_function_report r;
	struct pv_error err = {0};
	memset(&r, 0, sizeof(r));
	int rc = pv_analyze_prologue(code, len, 0x1000, len, &r, &err);
	cr_assert_eq(rc, 0, "pv_analyze_prologue: %s", err.msg);
	return r;
}

static void expect_boundaries(const struct pv_function_report *r, const uint8_t *want, size_t n)
{
	cr_expect_eq(r->nboundaries, n, "%zu boundaries, wanted %zu", r->nboundaries, n);
	for (size_t i = 0; i < n && i < r->nboundaries; i++)
		cr_expect_eq(r->boundaries[i], want[i], "boundary %zu is %u, wanted %u", i,
		             r->boundaries[i], want[i]);
}

Test(analysis, endbr64_then_fentry_nop)
{
	/* endbr64; nopl 0x0(%rax,%rax,1); push %rbp; mov %rsp,%rbp; pop %rbp; ret */
	static const unsigned char code[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0x00,
	                                     0x00, 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	static const uint8_t want[] = {0, 4, 9, 10, 13, 14};
	expect_boundaries(&r, want, sizeof(want));
	cr_expect_eq(r.first_insn_len, 4);
	cr_expect(r.endbr64);
	cr_expect(r.fentry);
	cr_expect_eq(r.nrip_relative, 0);
	cr_expect_eq(r.hazards, 0);
}

Test(analysis, fentry_nop_without_endbr64)
{
	static const unsigned char code[] = {0x0f, 0x1f, 0x44, 0x00, 0x00, 0x31, 0xc0, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	cr_expect(!r.endbr64);
	cr_expect(r.fentry);
	cr_expect_eq(r.first_insn_len, 5);
}

Test(analysis, other_five_byte_nop_is_not_fentry)
{
	/* nopl 0x0(%rax) with a 32-bit displacement of 0 (0f 1f 80 ...) is a
	 * NOP too, but not the one -mfentry -mnop-mcount emits. */
	static const unsigned char code[] = {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	cr_expect(!r.fentry);
	cr_expect_eq(r.first_insn_len, 7);
}

Test(analysis, two_byte_nop_entry)
{
	/* xchg %ax,%ax (66 90); push %rbp; mov %rsp,%rbp; pop %rbp; ret */
	static const unsigned char code[] = {0x66, 0x90, 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	static const uint8_t want[] = {0, 2, 3, 6, 7};
	expect_boundaries(&r, want, sizeof(want));
	cr_expect_eq(r.first_insn_len, 2);
	cr_expect(!r.endbr64);
	cr_expect(!r.fentry);
	cr_expect_eq(r.hazards, 0);
}

Test(analysis, three_byte_function_is_too_short)
{
	/* xor %eax,%eax; ret */
	static const unsigned char code[] = {0x31, 0xc0, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	static const uint8_t want[] = {0, 2};
	expect_boundaries(&r, want, sizeof(want));
	cr_expect_eq(r.hazards, PV_HAZARD_TOO_SHORT);
}

Test(analysis, five_byte_function_is_long_enough)
{
	static const unsigned char code[] = {0x48, 0x8d, 0x47, 0x01, 0xc3}; /* lea 1(%rdi),%rax; ret */
	struct pv_function_report r = prologue_of(code, sizeof(code));
	cr_expect_eq(r.hazards & PV_HAZARD_TOO_SHORT, 0);
}

Test(analysis, rip_relative_at_entry_is_a_hazard)
{
	/* mov 0x10(%rip),%rax; ret */
	static const unsigned char code[] = {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	cr_expect_eq(r.nrip_relative, 1);
	cr_expect_eq(r.rip_relative[0], 0);
	cr_expect_eq(r.hazards, PV_HAZARD_RIP_RELATIVE_PROLOGUE);
}

Test(analysis, rip_relative_overlapping_byte_4_is_a_hazard)
{
	/* push %rbp; mov %rsp,%rbp (ends at 4); lea 0x10(%rip),%rax at 4 overlaps
	 * the 5 bytes a jmp rel32 overwrites. */
	static const unsigned char code[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x8d,
	                                     0x05, 0x10, 0x00, 0x00, 0x00, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	cr_expect_eq(r.nrip_relative, 1);
	cr_expect_eq(r.rip_relative[0], 4);
	cr_expect(r.hazards & PV_HAZARD_RIP_RELATIVE_PROLOGUE);
}

Test(analysis, rip_relative_at_offset_8_is_listed_not_a_hazard)
{
	/* push %rbp; mov %rsp,%rbp; sub $0x10,%rsp; mov 0x10(%rip),%rax; leave; ret */
	static const unsigned char code[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec,
	                                     0x10, 0x48, 0x8b, 0x05, 0x10, 0x00, 0x00,
	                                     0x00, 0xc9, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	static const uint8_t want[] = {0, 1, 4, 8, 15, 16};
	expect_boundaries(&r, want, sizeof(want));
	cr_expect_eq(r.nrip_relative, 1);
	cr_expect_eq(r.rip_relative[0], 8);
	cr_expect_eq(r.hazards, 0);
}

Test(analysis, rip_relative_after_16_bytes_is_not_listed)
{
	unsigned char code[32];
	memset(code, 0x90, 16);
	static const unsigned char mov[] = {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, 0xc3};
	memcpy(code + 16, mov, sizeof(mov));
	struct pv_function_report r = prologue_of(code, 16 + sizeof(mov));
	cr_expect_eq(r.nrip_relative, 0);
	cr_expect_eq(r.nboundaries, 18);
}

Test(analysis, undecodable_byte_ends_the_list)
{
	/* push %rbp; then 06 (push %es), invalid in 64-bit mode */
	static const unsigned char code[] = {0x55, 0x06, 0xc3, 0x90, 0x90};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	static const uint8_t want[] = {0};
	expect_boundaries(&r, want, sizeof(want));
	cr_expect_eq(r.first_insn_len, 1);
}

Test(analysis, undecodable_first_byte)
{
	static const unsigned char code[] = {0x06, 0x90, 0x90, 0x90, 0x90, 0xc3};
	struct pv_function_report r = prologue_of(code, sizeof(code));
	cr_expect_eq(r.nboundaries, 0);
	cr_expect_eq(r.first_insn_len, 0);
	cr_expect_eq(r.hazards, 0);
}

Test(analysis, window_is_32_bytes)
{
	/* 30 one-byte NOPs, then a 7-byte mov that starts inside the window
	 * and ends outside it: its start is listed, nothing after it. */
	unsigned char code[48];
	memset(code, 0x90, sizeof(code));
	static const unsigned char mov[] = {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00};
	memcpy(code + 30, mov, sizeof(mov));
	struct pv_function_report r = prologue_of(code, sizeof(code));
	cr_expect_eq(r.nboundaries, 31);
	cr_expect_eq(r.boundaries[30], 30);
}

Test(analysis, decoding_stops_at_the_function_end)
{
	/* nop; nop; nop; then a mov crossing the end of a 5-byte function */
	static const unsigned char code[] = {0x90, 0x90, 0x90, 0x48, 0x8b, 0x05, 0x10,
	                                     0x00, 0x00, 0x00, 0xc3};
	struct pv_function_report r;
	struct pv_error err = {0};
	memset(&r, 0, sizeof(r));
	cr_assert_eq(pv_analyze_prologue(code, sizeof(code), 0x1000, 5, &r, &err), 0, "%s",
	             err.msg);
	static const uint8_t want[] = {0, 1, 2};
	expect_boundaries(&r, want, sizeof(want));
	cr_expect_eq(r.nrip_relative, 0);
}

Test(analysis, no_bytes)
{
	struct pv_function_report r;
	struct pv_error err = {0};
	memset(&r, 0, sizeof(r));
	cr_assert_eq(pv_analyze_prologue(NULL, 0, 0x1000, 16, &r, &err), 0, "%s", err.msg);
	cr_expect_eq(r.nboundaries, 0);
	cr_expect_eq(r.first_insn_len, 0);
	cr_expect_eq(r.hazards, 0);
}

Test(analysis, bad_arguments)
{
	struct pv_error err = {0};
	cr_expect_eq(pv_analyze_prologue((const unsigned char *)"\x90", 1, 0, 1, NULL, &err),
	             PV_EINVAL);
	cr_expect_str_not_empty(err.msg);
	struct pv_analysis *a = NULL;
	cr_expect_eq(pv_analyze(NULL, NULL, NULL, 0, &a, &err), PV_EINVAL);
	cr_expect_null(a);
}

Test(analysis, hazard_ids)
{
	cr_expect_str_eq(pv_hazard_id(PV_HAZARD_TOO_SHORT), "too-short");
	cr_expect_str_eq(pv_hazard_id(PV_HAZARD_BRANCH_INTO_PROLOGUE), "branch-into-prologue");
	cr_expect_str_eq(pv_hazard_id(PV_HAZARD_RIP_RELATIVE_PROLOGUE), "rip-relative-prologue");
	cr_expect_str_eq(pv_hazard_id(PV_HAZARD_DATA_LAYOUT_CHANGE), "data-layout-change");
	cr_expect_str_eq(pv_hazard_id(PV_HAZARD_MISSING_FUNCTION), "missing-function");
	cr_expect_null(pv_hazard_id(0));
	cr_expect_null(pv_hazard_id(1u << 5));
	cr_expect_null(pv_hazard_id(PV_HAZARD_TOO_SHORT | PV_HAZARD_MISSING_FUNCTION));
}

/* ------------------------------------------------------------ corpora */

/* Analyses one named function of a corpus target. */
static struct pv_analysis *analyze_one(const char *target, const char *function)
{
	struct pv_error err = {0};
	struct pv_image *img = NULL;
	cr_assert_eq(pv_image_open(target, &img, &err), 0, "%s (run make corpora)", err.msg);
	struct pv_analysis *a = NULL;
	const char *names[] = {function};
	int rc = pv_analyze(img, NULL, names, 1, &a, &err);
	pv_image_close(img);
	cr_assert_eq(rc, 0, "pv_analyze: %s", err.msg);
	cr_assert_eq(a->nfunctions, 1);
	cr_assert_str_eq(a->functions[0].name, function);
	return a;
}

/* Analyses target against patch (no names). */
static struct pv_analysis *analyze_patch(const char *target, const char *patch)
{
	struct pv_error err = {0};
	struct pv_image *img = NULL;
	struct pv_patch *p = NULL;
	cr_assert_eq(pv_image_open(target, &img, &err), 0, "%s (run make corpora)", err.msg);
	cr_assert_eq(pv_patch_open(patch, &p, &err), 0, "%s (run make corpora)", err.msg);
	struct pv_analysis *a = NULL;
	int rc = pv_analyze(img, p, NULL, 0, &a, &err);
	pv_patch_close(p);
	pv_image_close(img);
	cr_assert_eq(rc, 0, "pv_analyze: %s", err.msg);
	cr_assert_not_null(a->patch);
	return a;
}

#define PROLOGUE_HAZARDS                                                                  \
	(PV_HAZARD_TOO_SHORT | PV_HAZARD_BRANCH_INTO_PROLOGUE | PV_HAZARD_RIP_RELATIVE_PROLOGUE)

Test(analysis, branch_into_prologue_of_pb_triangle)
{
	struct pv_analysis *a =
		analyze_one(PV_CORPUS_TARGET("prologue-branch-plain"), "pb_triangle");
	const struct pv_function_report *f = &a->functions[0];
	cr_expect(f->hazards & PV_HAZARD_BRANCH_INTO_PROLOGUE, "hazards %#x", f->hazards);
	/* The back-edge `ja` at offset 9 of triangle.S jumps to offset 2. */
	cr_assert_eq(f->nbranch_sources, 1);
	cr_expect_eq(f->branch_sources[0], f->address + 9, "source %#lx, entry %#lx",
	             (unsigned long)f->branch_sources[0], (unsigned long)f->address);
	cr_expect_eq(f->hazards & PV_HAZARD_TOO_SHORT, 0);
	static const uint8_t want[] = {0, 2, 5, 9, 11};
	expect_boundaries(f, want, sizeof(want));
	pv_analysis_free(a);
}

Test(analysis, calls_to_the_entry_are_not_branches_into_the_prologue)
{
	/* pv_worker calls bump at its entry, which is harmless. */
	struct pv_analysis *a = analyze_one(PV_CORPUS_TARGET("counter-plain"), "bump");
	cr_expect_eq(a->functions[0].nbranch_sources, 0);
	pv_analysis_free(a);
}

Test(analysis, tiny_zero_is_too_short)
{
	struct pv_analysis *a = analyze_one(PV_CORPUS_TARGET("tiny-plain"), "tiny_zero");
	const struct pv_function_report *f = &a->functions[0];
	cr_expect_eq(f->size, 3);
	cr_expect(f->hazards & PV_HAZARD_TOO_SHORT, "hazards %#x", f->hazards);
	pv_analysis_free(a);
}

Test(analysis, padded_bump_has_14_nops_before)
{
	struct pv_analysis *a = analyze_one(PV_CORPUS_TARGET("counter-pad"), "bump");
	const struct pv_function_report *f = &a->functions[0];
	cr_expect_geq(f->padding_before, 14, "padding_before %u", f->padding_before);
	cr_expect_eq(f->first_insn_len, 1, "the 2 entry NOPs of 16,14 are single bytes");
	cr_expect_eq(f->hazards & PROLOGUE_HAZARDS, 0, "hazards %#x", f->hazards);
	pv_analysis_free(a);
}

Test(analysis, fentry_bump)
{
	struct pv_analysis *a = analyze_one(PV_CORPUS_TARGET("counter-fentry"), "bump");
	const struct pv_function_report *f = &a->functions[0];
	cr_expect(f->fentry);
	cr_expect(!f->endbr64);
	cr_expect_eq(f->first_insn_len, 5);
	cr_expect_eq(f->hazards & PROLOGUE_HAZARDS, 0, "hazards %#x", f->hazards);
	pv_analysis_free(a);
}

Test(analysis, cet_bump)
{
	struct pv_analysis *a = analyze_one(PV_CORPUS_TARGET("counter-cet"), "bump");
	const struct pv_function_report *f = &a->functions[0];
	cr_expect(f->endbr64);
	cr_expect(!f->fentry);
	cr_expect_eq(f->first_insn_len, 4);
	cr_expect_eq(f->hazards & PROLOGUE_HAZARDS, 0, "hazards %#x", f->hazards);
	pv_analysis_free(a);
}

Test(analysis, plain_bump_has_no_hazard)
{
	struct pv_analysis *a = analyze_one(PV_CORPUS_TARGET("counter-plain"), "bump");
	const struct pv_function_report *f = &a->functions[0];
	cr_expect_eq(f->hazards, 0, "hazards %#x", f->hazards);
	cr_expect(!f->endbr64);
	cr_expect(!f->fentry);
	cr_expect_gt(f->nboundaries, 0);
	cr_expect_eq(f->boundaries[0], 0);
	cr_expect_lt(f->padding_before, 14, "padding_before %u", f->padding_before);
	cr_expect_str_not_empty(a->build_id);
	pv_analysis_free(a);
}

Test(analysis, unknown_function_name)
{
	struct pv_error err = {0};
	struct pv_image *img = NULL;
	cr_assert_eq(pv_image_open(PV_CORPUS_TARGET("counter-plain"), &img, &err), 0, "%s",
	             err.msg);
	struct pv_analysis *a = NULL;
	const char *names[] = {"bump", "no_such_function"};
	cr_expect_eq(pv_analyze(img, NULL, names, 2, &a, &err), PV_ENOENT);
	cr_expect_null(a);
	cr_expect(strstr(err.msg, "no_such_function") != NULL, "%s", err.msg);
	pv_image_close(img);
}

Test(analysis, every_function_sorted_and_unique)
{
	struct pv_error err = {0};
	struct pv_image *img = NULL;
	cr_assert_eq(pv_image_open(PV_CORPUS_TARGET("counter-plain"), &img, &err), 0, "%s",
	             err.msg);
	struct pv_analysis *a = NULL;
	cr_assert_eq(pv_analyze(img, NULL, NULL, 0, &a, &err), 0, "%s", err.msg);
	cr_expect_gt(a->nfunctions, 3);
	bool bump = false;
	for (size_t i = 0; i < a->nfunctions; i++) {
		bump |= !strcmp(a->functions[i].name, "bump");
		cr_expect_gt(a->functions[i].size, 0);
		if (i == 0)
			continue;
		const struct pv_function_report *p = &a->functions[i - 1], *f = &a->functions[i];
		cr_expect(p->address < f->address ||
		                  (p->address == f->address && strcmp(p->name, f->name) < 0),
		          "%s and %s out of order or repeated", p->name, f->name);
	}
	cr_expect(bump);
	cr_expect_null(a->patch);
	pv_analysis_free(a);
	pv_image_close(img);
}

Test(analysis, static_binary_analyses_whole)
{
	/* Thousands of glibc functions: a smoke test that nothing crashes and
	 * the prologue-branch scan copes with real code. */
	struct pv_error err = {0};
	struct pv_image *img = NULL;
	cr_assert_eq(pv_image_open(PV_CORPUS_TARGET("counter-static"), &img, &err), 0, "%s",
	             err.msg);
	struct pv_analysis *a = NULL;
	cr_assert_eq(pv_analyze(img, NULL, NULL, 0, &a, &err), 0, "%s", err.msg);
	cr_expect_gt(a->nfunctions, 100);
	pv_analysis_free(a);
	pv_image_close(img);
}

Test(analysis, datachange_patch_changes_layout)
{
	struct pv_analysis *a =
		analyze_patch(PV_CORPUS_TARGET("datachange-plain"), PV_CORPUS_PATCH("datachange"));
	const struct pv_patch_report *p = a->patch;
	cr_expect(p->hazards & PV_HAZARD_DATA_LAYOUT_CHANGE, "hazards %#x", p->hazards);
	cr_expect_eq(p->hazards & PV_HAZARD_MISSING_FUNCTION, 0);
	cr_assert_eq(p->nchanged_objects, 1);
	cr_expect_str_eq(p->changed_objects[0], "config");
	cr_assert_eq(p->nreplacements, 1);
	cr_expect_str_eq(p->replacements[0].old_name, "config_add");
	cr_expect_str_eq(p->replacements[0].new_name, "config_add_v2");
	cr_expect(p->replacements[0].found);
	/* With a patch and no names, the replaced functions are analysed. */
	cr_assert_eq(a->nfunctions, 1);
	cr_expect_str_eq(a->functions[0].name, "config_add");
	pv_analysis_free(a);
}

Test(analysis, counter_fix_against_tiny_misses_bump)
{
	struct pv_analysis *a =
		analyze_patch(PV_CORPUS_TARGET("tiny-plain"), PV_CORPUS_PATCH("counter-fix"));
	const struct pv_patch_report *p = a->patch;
	cr_expect(p->hazards & PV_HAZARD_MISSING_FUNCTION, "hazards %#x", p->hazards);
	cr_assert_eq(p->nmissing_functions, 1);
	cr_expect_str_eq(p->missing_functions[0], "bump");
	cr_assert_eq(p->nreplacements, 1);
	cr_expect(!p->replacements[0].found);
	cr_expect_eq(a->nfunctions, 0);
	pv_analysis_free(a);
}

Test(analysis, counter_fix_against_counter_is_clean)
{
	struct pv_analysis *a =
		analyze_patch(PV_CORPUS_TARGET("counter-plain"), PV_CORPUS_PATCH("counter-fix"));
	cr_expect_eq(a->patch->hazards, 0, "hazards %#x", a->patch->hazards);
	cr_expect(a->patch->replacements[0].found);
	cr_assert_eq(a->nfunctions, 1);
	cr_expect_str_eq(a->functions[0].name, "bump");
	pv_analysis_free(a);
}
