/* Suite `patchfile`: harness/load/patchfile.c. Opening the corpus patches,
 * malformed replacement tables (fixtures compiled at test time), relocation
 * against the corpus targets at several load addresses, hand-edited
 * relocation entries (PC32/PLT32, unsupported types, offsets outside the
 * image) and corrupted patches, which must never crash. Expected slot values
 * come from readelf and nm, not from the code under test. */
#include <criterion/criterion.h>

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "../harness/load/image.h"
#include "../harness/load/patchfile.h"

#ifndef PV_SOURCE_DIR
#error "PV_SOURCE_DIR must be defined by the Makefile"
#endif

#define P_FIX PV_CORPUS_PATCH("counter-fix")
#define P_IDENTITY PV_CORPUS_PATCH("counter-identity")
#define P_DATACHANGE PV_CORPUS_PATCH("datachange")
#define T_PLAIN PV_CORPUS_TARGET("counter-plain")
#define T_NOPIE PV_CORPUS_TARGET("counter-nopie")
#define T_STATIC PV_CORPUS_TARGET("counter-static")
#define T_TINY PV_CORPUS_TARGET("tiny-plain")
#define T_DATACHANGE PV_CORPUS_TARGET("datachange-plain")

#define PAGE 4096u
#define PIE_BIAS 0x555555554000ull
#define LOAD_BASE 0x7f1234560000ull
#define DELTA 0x10000000ull

/* ---------------------------------------------------------------- helpers */


/* Compiles source into dir/name.so as a patch is built (see the Makefile). */
static void build_so(const char *dir, const char *name, const char *source, char *path,
                     size_t pathlen)
{
	char src[512];
	snprintf(src, sizeof(src), "%s/%s.c", dir, name);
	pv_test_spill(src, source, strlen(source));
	snprintf(path, pathlen, "%s/%s.so", dir, name);
	free(pv_test_sh("gcc -std=gnu17 -O2 -I'%s/include' -fPIC -shared -nostdlib '%s' -o '%s'",
	        PV_SOURCE_DIR, src, path));
}

/* The value of a symbol path defines, per nm; false when it defines none. */
static bool nm_lookup(const char *path, const char *name, uint64_t *value)
{
	char *out = pv_test_sh("nm --defined-only '%s' | awk '$3 == \"%s\" { print $1; exit }'", path,
	               name);
	unsigned long long v;
	bool found = sscanf(out, "%llx", &v) == 1;
	free(out);
	*value = found ? v : 0;
	return found;
}

static uint64_t nm_value(const char *path, const char *name)
{
	uint64_t v;
	cr_assert(nm_lookup(path, name, &v), "nm has no '%s' in %s", name, path);
	return v;
}

/* One dynamic relocation as readelf prints it. */
struct rel {
	uint64_t offset;
	char type[64];
	char name[64]; /* "" for RELATIVE */
	uint64_t addend;
};

/* Every dynamic relocation of path, parsed from `readelf -rW`. */
static size_t readelf_relocs(const char *path, struct rel *out, size_t max)
{
	char *text = pv_test_sh("readelf -rW '%s'", path);
	size_t n = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long long off, info, value, addend = 0;
		char type[64], name[64] = "", sign[2] = "+";
		int k = sscanf(line, "%llx %llx %63s %llx %63s %1s %llx", &off, &info, type, &value,
		               name, sign, &addend);
		if (k < 4 || strncmp(type, "R_X86_64_", 9) != 0)
			continue;
		cr_assert_lt(n, max);
		struct rel *r = &out[n++];
		r->offset = off;
		snprintf(r->type, sizeof(r->type), "%s", type);
		if (k == 4) { /* RELATIVE: the 4th column is the addend */
			r->name[0] = '\0';
			r->addend = value;
		} else {
			snprintf(r->name, sizeof(r->name), "%s", name);
			r->addend = sign[0] == '-' ? (uint64_t)0 - addend : addend;
		}
	}
	free(text);
	return n;
}

static struct pv_patch *patch_ok(const char *path)
{
	struct pv_patch *p = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_patch_open(path, &p, &err), 0, "%s: %s", path, err.msg);
	cr_assert_not_null(p);
	return p;
}

static struct pv_image *image_ok(const char *path)
{
	struct pv_image *img = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_image_open(path, &img, &err), 0, "%s: %s", path, err.msg);
	return img;
}

static unsigned char *relocate_ok(const struct pv_patch *p, const struct pv_image *t,
                                  uint64_t bias, uint64_t base)
{
	unsigned char *buf = NULL;
	struct pv_error err = {0};
	int rc = pv_patch_relocate(p, t, bias, base, &buf, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_not_null(buf);
	return buf;
}

static void expect_patch_error(const char *path, int code, const char *word)
{
	struct pv_patch *p = (struct pv_patch *)1;
	struct pv_error err = {0};
	int rc = pv_patch_open(path, &p, &err);
	cr_assert_eq(rc, code, "%s: expected %d, got %d (%s)", path, code, rc, err.msg);
	cr_assert_null(p);
	cr_assert_not_null(strstr(err.msg, path), "message does not name the file: %s", err.msg);
	cr_assert_not_null(strstr(err.msg, word), "message lacks '%s': %s", word, err.msg);
}

static void expect_relocate_error(const struct pv_patch *p, const struct pv_image *t,
                                  uint64_t bias, uint64_t base, int code, const char *word)
{
	unsigned char *buf = (unsigned char *)1;
	struct pv_error err = {0};
	int rc = pv_patch_relocate(p, t, bias, base, &buf, &err);
	cr_assert_eq(rc, code, "expected %d, got %d (%s)", code, rc, err.msg);
	cr_assert_null(buf);
	cr_assert_not_null(strstr(err.msg, p->image->path), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, word), "message lacks '%s': %s", word, err.msg);
}

static uint64_t u64_at(const unsigned char *buf, uint64_t off)
{
	uint64_t v;
	memcpy(&v, buf + off, 8);
	return v;
}

/* ---------------------------------------------------------------- opening */

TestSuite(patchfile, .timeout = 120);

Test(patchfile, corpus_patches_open)
{
	static const struct {
		const char *path, *old_name, *new_name;
	} cases[] = {
		{P_FIX, "bump", "bump_v2"},
		{P_IDENTITY, "bump", "bump_v2"},
		{P_DATACHANGE, "config_add", "config_add_v2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pv_patch *p = patch_ok(cases[i].path);
		cr_assert_eq(p->image->elf_type, ET_DYN);
		cr_assert_eq(p->nreplacements, 1);
		cr_assert_str_eq(p->replacements[0].old_name, cases[i].old_name);
		cr_assert_str_eq(p->replacements[0].new_name, cases[i].new_name);
		const struct pv_symbol *s = p->replacements[0].new_sym;
		cr_assert_not_null(s);
		cr_assert_str_eq(s->name, cases[i].new_name);
		cr_assert_eq(s->type, STT_FUNC);
		cr_assert_gt(s->size, 0);
		cr_assert_eq(s->value, nm_value(cases[i].path, cases[i].new_name));
		cr_assert_eq(p->min_vaddr % PAGE, 0);
		cr_assert_eq(p->span % PAGE, 0);
		for (size_t k = 0; k < p->image->nsegments; k++) {
			const struct pv_segment *seg = &p->image->segments[k];
			cr_assert_geq(seg->vaddr, p->min_vaddr);
			cr_assert_leq(seg->vaddr + seg->memsz, p->min_vaddr + p->span);
		}
		cr_assert_gt(p->min_vaddr + p->span, s->value + s->size - 1);
		pv_patch_close(p);
	}
	pv_patch_close(NULL);
}

Test(patchfile, executables_are_not_patches)
{
	expect_patch_error(T_NOPIE, PV_EUNSUPPORTED, "not a shared object");
	expect_patch_error(T_STATIC, PV_EUNSUPPORTED, "not a shared object");
}

Test(patchfile, no_replacement_table)
{
	/* A PIE is ET_DYN too, but has no table. */
	expect_patch_error(T_PLAIN, PV_ENOENT,
	                   "no .patchvet.funcs section; is it a patchvet patch (see "
	                   "include/patchvet/patch.h)?");
	char *dir = pv_test_tmpdir("patchfile");
	char path[512];
	build_so(dir, "plain", "int f(void) { return 1; }\n", path, sizeof(path));
	expect_patch_error(path, PV_ENOENT, "no .patchvet.funcs section");
	pv_test_rmdir_all(dir);
}

Test(patchfile, bad_input_files)
{
	expect_patch_error("/nonexistent/x.so", PV_ENOENT, "cannot open");
	char *dir = pv_test_tmpdir("patchfile");
	char path[512];
	snprintf(path, sizeof(path), "%s/text.so", dir);
	pv_test_spill(path, "hello\n", 6);
	expect_patch_error(path, PV_EFORMAT, "not an ELF file");
	pv_test_rmdir_all(dir);
}

#define TABLE "__attribute__((section(\".patchvet.funcs\"), used)) static const char "

Test(patchfile, malformed_tables)
{
	static const struct {
		const char *name, *source, *word;
	} cases[] = {
		{"odd", TABLE "t[] = \"bump\\0f\\0extra\";\nvoid f(void) {}\n", "odd number"},
		{"missing-new", TABLE "t[] = \"bump\\0\\0\\0\";\nvoid f(void) {}\n", "odd number"},
		{"unterminated", TABLE "t[6] = {'b', 0, 'f', 'f', 'f', 'f'};\nvoid fff(void) {}\n",
		 "unterminated"},
		{"unterminated-old", TABLE "t[3] = {'b', 'u', 'm'};\n", "unterminated"},
		{"empty", TABLE "t[8] = {0};\nvoid f(void) {}\n", "holds no replacement"},
		{"undefined-new", "#include <patchvet/patch.h>\nvoid g(void) {}\n"
		                  "PV_REPLACE(bump, nowhere);\n", "'nowhere'"},
		{"object-new", "#include <patchvet/patch.h>\nint not_code = 1;\n"
		               "PV_REPLACE(bump, not_code);\n", "'not_code'"},
		{"nobits", "__attribute__((section(\".patchvet.funcs\"), used)) static char t[8];\n"
		           "void f(void) {}\n", ".patchvet.funcs"},
	};
	char *dir = pv_test_tmpdir("patchfile");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512];
		build_so(dir, cases[i].name, cases[i].source, path, sizeof(path));
		expect_patch_error(path, PV_EFORMAT, cases[i].word);
	}
	pv_test_rmdir_all(dir);
}

/* Zero padding between records is skipped; a static (local) new function
 * counts as defined. */
Test(patchfile, padded_table_and_local_function)
{
	static const char source[] =
		"#include <patchvet/patch.h>\n"
		"void first_v2(void) {}\n"
		"__attribute__((used, noipa)) static void second_v2(void) {}\n"
		"__attribute__((section(\".patchvet.funcs\"), used, aligned(16)))\n"
		"static const char a[] = \"first\\0first_v2\";\n"
		"__attribute__((section(\".patchvet.funcs\"), used, aligned(16)))\n"
		"static const char b[] = \"second\\0second_v2\";\n"
		"PV_REPLACE(third, first_v2);\n";
	char *dir = pv_test_tmpdir("patchfile");
	char path[512];
	build_so(dir, "padded", source, path, sizeof(path));
	struct pv_patch *p = patch_ok(path);
	cr_assert_eq(p->nreplacements, 3);
	const char *want[][2] = {{"first", "first_v2"}, {"second", "second_v2"},
	                         {"third", "first_v2"}};
	/* The linker may order the records; find each one. */
	for (size_t w = 0; w < 3; w++) {
		bool found = false;
		for (size_t i = 0; i < p->nreplacements; i++)
			found |= strcmp(p->replacements[i].old_name, want[w][0]) == 0 &&
			         strcmp(p->replacements[i].new_name, want[w][1]) == 0 &&
			         strcmp(p->replacements[i].new_sym->name, want[w][1]) == 0;
		cr_assert(found, "record %s -> %s", want[w][0], want[w][1]);
	}
	pv_patch_close(p);
	pv_test_rmdir_all(dir);
}

/* ---------------------------------------------------------------- relocation */

/* Relocates patch against target twice, the second time with the target and
 * the patch both moved by DELTA; checks every slot readelf lists against
 * expect(), and that nothing else differs from the file. */
static void check_relocation(const char *patch_path, const char *target_path, bool pie)
{
	struct pv_patch *p = patch_ok(patch_path);
	struct pv_image *t = image_ok(target_path);
	uint64_t bias = pie ? PIE_BIAS : 0;
	unsigned char *a = relocate_ok(p, t, bias, LOAD_BASE);
	unsigned char *b = relocate_ok(p, t, bias + (pie ? DELTA : 0), LOAD_BASE + DELTA);
	struct rel rels[64];
	size_t nrels = readelf_relocs(patch_path, rels, 64);
	cr_assert_gt(nrels, 0);
	unsigned char *slot = calloc(1, p->span);
	cr_assert_not_null(slot);
	for (size_t i = 0; i < nrels; i++) {
		const struct rel *r = &rels[i];
		uint64_t off = r->offset - p->min_vaddr;
		cr_assert_leq(off + 8, p->span);
		memset(slot + off, 1, 8);
		uint64_t want, v;
		bool fixed = false; /* an address that does not move with DELTA */
		if (r->name[0] == '\0') {
			want = LOAD_BASE - p->min_vaddr + r->addend;
		} else {
			if (nm_lookup(patch_path, r->name, &v)) {
				want = LOAD_BASE - p->min_vaddr + v;
			} else if (nm_lookup(target_path, r->name, &v)) {
				want = v + bias;
				fixed = !pie;
			} else {
				want = 0; /* an undefined weak symbol */
				fixed = true;
			}
			if (strcmp(r->type, "R_X86_64_64") == 0)
				want += r->addend;
		}
		cr_assert_eq(u64_at(a, off), want, "%s slot at 0x%llx (%s %s): 0x%llx, want 0x%llx",
		             patch_path, (unsigned long long)r->offset, r->type, r->name,
		             (unsigned long long)u64_at(a, off), (unsigned long long)want);
		/* Moving both by DELTA moves every absolute address by DELTA; a
		 * target symbol of a non-PIE target stays where it is. */
		uint64_t moved = fixed ? 0 : DELTA;
		cr_assert_eq(u64_at(b, off) - u64_at(a, off), moved, "%s slot at 0x%llx",
		             patch_path, (unsigned long long)r->offset);
	}
	/* Every other byte is the file's (or zero beyond filesz), in both. */
	unsigned char *file = calloc(1, p->span);
	cr_assert_not_null(file);
	for (size_t k = 0; k < p->image->nsegments; k++) {
		const struct pv_segment *s = &p->image->segments[k];
		memcpy(file + s->vaddr - p->min_vaddr, p->image->bytes + s->offset, s->filesz);
	}
	for (uint64_t i = 0; i < p->span; i++) {
		if (slot[i])
			continue;
		cr_assert_eq(a[i], file[i], "%s byte 0x%llx changed", patch_path,
		             (unsigned long long)(i + p->min_vaddr));
		cr_assert_eq(b[i], file[i], "%s byte 0x%llx changed", patch_path,
		             (unsigned long long)(i + p->min_vaddr));
	}
	free(file);
	free(slot);
	free(a);
	free(b);
	pv_image_close(t);
	pv_patch_close(p);
}

Test(patchfile, counter_fix_against_pie)
{
	check_relocation(P_FIX, T_PLAIN, true);
}

Test(patchfile, counter_patches_against_other_kinds)
{
	check_relocation(P_IDENTITY, T_PLAIN, true);
	check_relocation(P_FIX, T_NOPIE, false);
	check_relocation(P_FIX, T_STATIC, false);
}

/* datachange defines its own `config`: the patch's definition wins. */
Test(patchfile, patch_definition_wins)
{
	check_relocation(P_DATACHANGE, T_DATACHANGE, true);
	struct pv_patch *p = patch_ok(P_DATACHANGE);
	struct pv_image *t = image_ok(T_DATACHANGE);
	unsigned char *a = relocate_ok(p, t, PIE_BIAS, LOAD_BASE);
	struct rel rels[16];
	size_t n = readelf_relocs(P_DATACHANGE, rels, 16);
	bool seen = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rels[i].name, "config") != 0)
			continue;
		uint64_t own = nm_value(P_DATACHANGE, "config");
		cr_assert_eq(u64_at(a, rels[i].offset - p->min_vaddr), LOAD_BASE + own - p->min_vaddr);
		seen = true;
	}
	cr_assert(seen);
	free(a);
	pv_image_close(t);
	pv_patch_close(p);
}

Test(patchfile, unresolved_symbol)
{
	struct pv_patch *p = patch_ok(P_FIX);
	struct pv_image *t = image_ok(T_TINY);
	expect_relocate_error(p, t, PIE_BIAS, LOAD_BASE, PV_ENOENT,
	                      "is not defined in the patch nor in " T_TINY);
	unsigned char *buf = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_patch_relocate(p, t, PIE_BIAS, LOAD_BASE, &buf, &err), PV_ENOENT);
	cr_assert(strstr(err.msg, "'total_b'") || strstr(err.msg, "'total_a'") ||
	          strstr(err.msg, "'counter_lock'"), "names the symbol: %s", err.msg);
	pv_image_close(t);
	pv_patch_close(p);
}

Test(patchfile, unaligned_load_base)
{
	struct pv_patch *p = patch_ok(P_FIX);
	struct pv_image *t = image_ok(T_PLAIN);
	expect_relocate_error(p, t, PIE_BIAS, LOAD_BASE + 8, PV_EINVAL, "page-aligned");
	expect_relocate_error(p, t, PIE_BIAS, UINT64_MAX & ~(uint64_t)(PAGE - 1), PV_ERANGE,
	                      "no room");
	pv_image_close(t);
	pv_patch_close(p);
}

/* RELATIVE, R_X86_64_64 with an addend, an undefined weak symbol, and an
 * undefined symbol that is ambiguous in the target. */
static const char rel_patch[] =
	"#include <patchvet/patch.h>\n"
	"extern long total_a;\n"
	"extern int maybe_missing __attribute__((weak));\n"
	"__attribute__((noipa)) static void helper(void) {}\n"
	"void (*const table[])(void) = {helper};\n"
	"long *const pa = &total_a + 1;\n"
	"int *const pm = &maybe_missing;\n"
	"void f(void) { helper(); }\n"
	"PV_REPLACE(bump, f);\n";

Test(patchfile, relative_absolute_and_weak)
{
	char *dir = pv_test_tmpdir("patchfile");
	char path[512];
	build_so(dir, "rel", rel_patch, path, sizeof(path));
	struct pv_patch *p = patch_ok(path);
	struct pv_image *t = image_ok(T_PLAIN);
	check_relocation(path, T_PLAIN, true);
	unsigned char *a = relocate_ok(p, t, PIE_BIAS, LOAD_BASE);
	uint64_t m = p->min_vaddr;
	uint64_t table = nm_value(path, "table"), helper = nm_value(path, "helper");
	cr_assert_eq(u64_at(a, table - m), LOAD_BASE + helper - m);
	cr_assert_eq(u64_at(a, nm_value(path, "pa") - m),
	             nm_value(T_PLAIN, "total_a") + PIE_BIAS + 8);
	cr_assert_eq(u64_at(a, nm_value(path, "pm") - m), 0, "undefined weak resolves to 0");
	/* Moving only the patch moves only its own addresses. */
	unsigned char *b = relocate_ok(p, t, PIE_BIAS, LOAD_BASE + DELTA);
	cr_assert_eq(u64_at(b, table - m) - u64_at(a, table - m), DELTA);
	cr_assert_eq(u64_at(b, nm_value(path, "pa") - m), u64_at(a, nm_value(path, "pa") - m));
	free(a);
	free(b);
	pv_image_close(t);
	pv_patch_close(p);
	pv_test_rmdir_all(dir);
}

Test(patchfile, ambiguous_target_symbol)
{
	char *dir = pv_test_tmpdir("patchfile");
	char target[512], path[512];
	/* A "target" with two static total_a at different addresses. */
	char src[512];
	snprintf(src, sizeof(src), "%s/t1.c", dir);
	pv_test_spill(src, "__attribute__((used)) static long total_a = 1;\n", 47);
	snprintf(src, sizeof(src), "%s/t2.c", dir);
	pv_test_spill(src, "__attribute__((used)) static long total_a = 2;\n", 47);
	free(pv_test_sh("cd '%s' && gcc -fPIC -shared -nostdlib t1.c t2.c -o target.so", dir));
	snprintf(target, sizeof(target), "%s/target.so", dir);
	build_so(dir, "uses",
	         "#include <patchvet/patch.h>\nextern long total_a;\n"
	         "long f(void) { return total_a; }\nPV_REPLACE(g, f);\n",
	         path, sizeof(path));
	struct pv_patch *p = patch_ok(path);
	struct pv_image *t = image_ok(target);
	expect_relocate_error(p, t, PIE_BIAS, LOAD_BASE, PV_ENOENT, "'total_a' is ambiguous");
	pv_image_close(t);
	pv_patch_close(p);
	pv_test_rmdir_all(dir);
}

/* ---------------------------------------------------------------- hand-edited entries */

/* A copy of counter-fix.so whose first .rela.dyn entry (total_b's GOT
 * slot) gets a new r_info type and/or r_offset. */
static void edit_first_rela(const char *dir, const char *name, int type, uint32_t sym,
                            uint64_t offset, char *path, size_t pathlen)
{
	struct pv_image *img = image_ok(P_FIX);
	const struct pv_section *rd = pv_image_section(img, ".rela.dyn");
	cr_assert_not_null(rd);
	uint64_t at = rd->offset;
	pv_image_close(img);
	size_t n;
	unsigned char *b = pv_test_slurp(P_FIX, &n);
	Elf64_Rela r;
	memcpy(&r, b + at, sizeof(r));
	if (type >= 0)
		r.r_info = ELF64_R_INFO(sym ? sym : ELF64_R_SYM(r.r_info), (uint32_t)type);
	if (offset)
		r.r_offset = offset;
	memcpy(b + at, &r, sizeof(r));
	snprintf(path, pathlen, "%s/%s.so", dir, name);
	pv_test_spill(path, b, n);
	free(b);
}

Test(patchfile, pc32_and_plt32)
{
	char *dir = pv_test_tmpdir("patchfile");
	char path[512];
	struct pv_image *t = image_ok(T_PLAIN);
	uint64_t total_b = nm_value(T_PLAIN, "total_b");
	static const int types[] = {R_X86_64_PC32, R_X86_64_PLT32};
	for (size_t i = 0; i < 2; i++) {
		edit_first_rela(dir, i ? "plt32" : "pc32", types[i], 0, 0, path, sizeof(path));
		struct pv_patch *p = patch_ok(path);
		struct rel rels[8];
		cr_assert_gt(readelf_relocs(path, rels, 8), 0);
		cr_assert_str_eq(rels[0].name, "total_b");
		uint64_t off = rels[0].offset - p->min_vaddr;
		/* Near: the target 1 MiB below the patch. */
		uint64_t bias = LOAD_BASE - 0x100000;
		unsigned char *a = relocate_ok(p, t, bias, LOAD_BASE);
		int32_t v;
		memcpy(&v, a + off, 4);
		int64_t want = (int64_t)(total_b + bias + rels[0].addend - (LOAD_BASE + off));
		cr_assert_eq(v, want);
		/* The upper half of the 8-byte GOT slot keeps the file's bytes. */
		size_t avail;
		const unsigned char *file = pv_image_at(p->image, rels[0].offset + 4, &avail);
		cr_assert_not_null(file);
		cr_assert_geq(avail, 4);
		cr_assert_eq(memcmp(a + off + 4, file, 4), 0);
		free(a);
		/* Far: a non-relocated PIE at 0 and the patch high up. */
		expect_relocate_error(p, t, 0, LOAD_BASE, PV_ERANGE, "'total_b'");
		pv_patch_close(p);
	}
	pv_image_close(t);
	pv_test_rmdir_all(dir);
}

Test(patchfile, unsupported_types)
{
	char *dir = pv_test_tmpdir("patchfile");
	char path[512];
	struct pv_image *t = image_ok(T_PLAIN);
	static const int types[] = {R_X86_64_IRELATIVE, R_X86_64_COPY, R_X86_64_TPOFF64, 99};
	static const char *const words[] = {"type 37", "type 5", "type 18", "type 99"};
	for (size_t i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof(name), "type%d", types[i]);
		edit_first_rela(dir, name, types[i], 0, 0, path, sizeof(path));
		struct pv_patch *p = patch_ok(path);
		expect_relocate_error(p, t, PIE_BIAS, LOAD_BASE, PV_EUNSUPPORTED, words[i]);
		pv_patch_close(p);
	}
	/* R_X86_64_NONE is skipped: the slot keeps the file's zero. */
	edit_first_rela(dir, "none", R_X86_64_NONE, 0, 0, path, sizeof(path));
	struct pv_patch *p = patch_ok(path);
	unsigned char *a = relocate_ok(p, t, PIE_BIAS, LOAD_BASE);
	struct rel rels[8];
	readelf_relocs(P_FIX, rels, 8);
	cr_assert_eq(u64_at(a, rels[0].offset - p->min_vaddr), 0);
	free(a);
	pv_patch_close(p);
	pv_image_close(t);
	pv_test_rmdir_all(dir);
}

Test(patchfile, offsets_and_symbols_out_of_range)
{
	char *dir = pv_test_tmpdir("patchfile");
	char path[512];
	struct pv_image *t = image_ok(T_PLAIN);
	struct pv_patch *fix = patch_ok(P_FIX);
	uint64_t end = fix->min_vaddr + fix->span;
	pv_patch_close(fix);
	const uint64_t offsets[] = {0x10000000, end, end - 4, end - 1};
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		edit_first_rela(dir, "offset", -1, 0, offsets[i], path, sizeof(path));
		struct pv_patch *p = patch_ok(path);
		expect_relocate_error(p, t, PIE_BIAS, LOAD_BASE, PV_EFORMAT, "outside the patch image");
		pv_patch_close(p);
	}
	/* A 4-byte write in the last 4 bytes is inside. */
	edit_first_rela(dir, "last4", R_X86_64_PC32, 0, end - 4, path, sizeof(path));
	struct pv_patch *p = patch_ok(path);
	unsigned char *a = relocate_ok(p, t, LOAD_BASE - 0x100000, LOAD_BASE);
	free(a);
	pv_patch_close(p);
	/* A symbol index past the end of .dynsym. */
	edit_first_rela(dir, "symidx", R_X86_64_GLOB_DAT, 999, 0, path, sizeof(path));
	p = patch_ok(path);
	expect_relocate_error(p, t, PIE_BIAS, LOAD_BASE, PV_EFORMAT, "symbol 999");
	pv_patch_close(p);
	pv_image_close(t);
	pv_test_rmdir_all(dir);
}

/* ---------------------------------------------------------------- fault injection */

Test(patchfile, corrupted_patches_never_crash)
{
	char *dir = pv_test_tmpdir("patchfile");
	size_t n;
	unsigned char *orig = pv_test_slurp(P_FIX, &n);
	unsigned char *buf = malloc(n);
	cr_assert_not_null(buf);
	struct pv_image *t = image_ok(T_PLAIN);
	struct pv_image *img = image_ok(P_FIX);
	Elf64_Ehdr eh;
	memcpy(&eh, orig, sizeof(eh));
	struct region {
		size_t off, len, step;
	} regions[24] = {
		{0, eh.e_phoff + (size_t)eh.e_phnum * sizeof(Elf64_Phdr), 7},
		{eh.e_shoff, (size_t)eh.e_shnum * sizeof(Elf64_Shdr), 7},
	};
	size_t nregions = 2;
	static const char *const interesting[] = {".dynsym", ".dynstr", ".rela.dyn", ".rela.plt",
	                                          ".patchvet.funcs", ".symtab", ".strtab",
	                                          ".note.gnu.build-id"};
	for (size_t i = 0; i < sizeof(interesting) / sizeof(interesting[0]); i++) {
		const struct pv_section *s = pv_image_section(img, interesting[i]);
		cr_assert_not_null(s, "%s", interesting[i]);
		regions[nregions++] = (struct region){s->offset, s->size, 3};
	}
	pv_image_close(img);
	char path[512];
	snprintf(path, sizeof(path), "%s/corrupt.so", dir);
	size_t runs = 0, opened = 0, relocated = 0;
	for (size_t r = 0; r < nregions; r++) {
		for (size_t off = regions[r].off; off < regions[r].off + regions[r].len;
		     off += regions[r].step) {
			for (int pat = 0; pat < 3; pat++) {
				memcpy(buf, orig, n);
				buf[off] = pat == 0 ? buf[off] ^ 0xff : pat == 1 ? 0 : 0x80;
				pv_test_spill(path, buf, n);
				runs++;
				struct pv_patch *p = NULL;
				struct pv_error err = {0};
				int rc = pv_patch_open(path, &p, &err);
				cr_assert_leq(rc, 0);
				if (rc < 0) {
					cr_assert_null(p);
					cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
					continue;
				}
				opened++;
				unsigned char *img_buf = NULL;
				rc = pv_patch_relocate(p, t, PIE_BIAS, LOAD_BASE, &img_buf, &err);
				cr_assert_leq(rc, 0);
				if (rc == 0) {
					cr_assert_not_null(img_buf);
					relocated++;
					free(img_buf);
				} else {
					cr_assert_null(img_buf);
					cr_assert_neq(err.msg[0], '\0');
				}
				pv_patch_close(p);
			}
		}
	}
	cr_log_info("%zu corrupted patches: %zu opened, %zu relocated", runs, opened, relocated);
	cr_assert_gt(runs, 1000);
	cr_assert_gt(relocated, 0);
	free(buf);
	free(orig);
	pv_image_close(t);
	pv_test_rmdir_all(dir);
}
