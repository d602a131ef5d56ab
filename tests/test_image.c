/* Suite `image`: harness/load/image.c on the real corpus targets (every ELF kind
 * the loader must handle), on small fixtures compiled at test time, and on
 * bad input (not ELF, truncated, 32-bit, other machines, corrupted headers),
 * which must give a negative code and a sentence, never a crash. Expected
 * values come from binutils (nm, readelf), not from the code under test. */
#include <criterion/criterion.h>

#include <elf.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "../harness/load/image.h"

#define T_PLAIN PV_CORPUS_TARGET("counter-plain")
#define T_STATIC PV_CORPUS_TARGET("counter-static")
#define T_NOPIE PV_CORPUS_TARGET("counter-nopie")

static const char *const counter_targets[] = {
	PV_CORPUS_TARGET("counter-plain"),  PV_CORPUS_TARGET("counter-pad"),
	PV_CORPUS_TARGET("counter-fentry"), PV_CORPUS_TARGET("counter-cet"),
	PV_CORPUS_TARGET("counter-static"), PV_CORPUS_TARGET("counter-nopie"),
};
#define NTARGETS (sizeof(counter_targets) / sizeof(counter_targets[0]))

/* ---------------------------------------------------------------- helpers */


/* value and size of a defined symbol, as nm sees it. */
static void nm_symbol(const char *path, const char *name, uint64_t *value, uint64_t *size)
{
	char *out = pv_test_sh("nm -S --defined-only '%s' | awk '$4 == \"%s\" { print $1, $2; exit }'",
	               path, name);
	unsigned long long v, s;
	cr_assert_eq(sscanf(out, "%llx %llx", &v, &s), 2, "nm has no '%s' in %s", name, path);
	free(out);
	*value = v;
	*size = s;
}

/* Expects pv_image_open(path) to fail with code and a message naming the
 * file and containing word. */
static void expect_open_error(const char *path, int code, const char *word)
{
	struct pv_image *img = (struct pv_image *)1;
	struct pv_error err = {0};
	int rc = pv_image_open(path, &img, &err);
	cr_assert_eq(rc, code, "%s: expected %d, got %d (%s)", path, code, rc, err.msg);
	cr_assert_eq(err.code, code);
	cr_assert_null(img);
	cr_assert_not_null(strstr(err.msg, path), "message does not name the file: %s", err.msg);
	cr_assert_not_null(strstr(err.msg, word), "message lacks '%s': %s", word, err.msg);
}

static struct pv_image *open_ok(const char *path)
{
	struct pv_image *img = NULL;
	struct pv_error err = {0};
	int rc = pv_image_open(path, &img, &err);
	cr_assert_eq(rc, 0, "%s: %s", path, err.msg);
	cr_assert_not_null(img);
	return img;
}

/* ---------------------------------------------------------------- real targets */

TestSuite(image, .timeout = 120);

Test(image, every_kind_loads_with_sane_segments)
{
	for (size_t t = 0; t < NTARGETS; t++) {
		const char *path = counter_targets[t];
		struct pv_image *img = open_ok(path);
		cr_assert_str_eq(img->path, path);
		cr_assert(img->elf_type == ET_EXEC || img->elf_type == ET_DYN, "%s", path);
		cr_assert_geq(img->nsegments, 2, "%s", path);
		bool exec = false;
		for (size_t i = 0; i < img->nsegments; i++) {
			const struct pv_segment *s = &img->segments[i];
			cr_assert_leq(s->filesz, s->memsz, "%s segment %zu", path, i);
			cr_assert_leq(s->offset + s->filesz, img->nbytes, "%s segment %zu", path, i);
			if (i > 0)
				cr_assert_geq(s->vaddr, img->segments[i - 1].vaddr, "%s: file order", path);
			exec |= (s->flags & PF_X) != 0;
		}
		cr_assert(exec, "%s: no executable segment", path);
		size_t avail = 0;
		cr_assert_not_null(pv_image_at(img, img->entry, &avail), "%s: entry not mapped",
		                   path);
		cr_assert_gt(avail, 0);
		cr_assert_not_null(pv_image_section(img, ".text"), "%s", path);
		cr_assert_str_eq(img->sections[0].name, "");
		pv_image_close(img);
	}
}

Test(image, elf_kinds_are_told_apart)
{
	struct pv_image *img = open_ok(T_PLAIN);
	cr_assert_eq(img->elf_type, ET_DYN);
	cr_assert(img->dynamic);
	pv_image_close(img);

	img = open_ok(T_STATIC);
	cr_assert_eq(img->elf_type, ET_EXEC);
	cr_assert(!img->dynamic, "a static executable has no PT_DYNAMIC");
	pv_image_close(img);

	img = open_ok(T_NOPIE);
	cr_assert_eq(img->elf_type, ET_EXEC);
	cr_assert(img->dynamic);
	pv_image_close(img);
}

Test(image, symbols_match_nm)
{
	static const char *const names[] = {"bump", "pv_worker", "counter_lock", "total_a",
	                                    "total_b"};
	for (size_t t = 0; t < NTARGETS; t++) {
		const char *path = counter_targets[t];
		struct pv_image *img = open_ok(path);
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			uint64_t value, size;
			nm_symbol(path, names[k], &value, &size);
			bool ambiguous = true;
			const struct pv_symbol *s = pv_image_find_symbol(img, names[k], &ambiguous);
			cr_assert_not_null(s, "%s: %s not found", path, names[k]);
			cr_assert(!ambiguous);
			cr_assert_eq(s->value, value, "%s: %s at 0x%llx, nm says 0x%llx", path,
			             names[k], (unsigned long long)s->value,
			             (unsigned long long)value);
			cr_assert_eq(s->size, size, "%s: %s size", path, names[k]);
			cr_assert_neq(s->shndx, SHN_UNDEF);
		}
		/* The static counters are local objects; bump is a global function
		 * whose bytes are all in the file. */
		const struct pv_symbol *lock = pv_image_find_symbol(img, "counter_lock", NULL);
		cr_assert_eq(lock->bind, STB_LOCAL, "%s", path);
		cr_assert_eq(lock->type, STT_OBJECT);
		cr_assert_eq(lock->size, 4);
		const struct pv_symbol *bump;
		struct pv_error err = {0};
		cr_assert_eq(pv_image_find_function(img, "bump", &bump, &err), 0, "%s", err.msg);
		cr_assert_eq(bump->type, STT_FUNC);
		cr_assert_eq(bump->bind, STB_GLOBAL);
		cr_assert_gt(bump->size, 4);
		size_t avail = 0;
		cr_assert_not_null(pv_image_at(img, bump->value, &avail));
		cr_assert_geq(avail, bump->size);
		const struct pv_section *text = pv_image_section_at(img, bump->value);
		cr_assert_not_null(text);
		cr_assert_str_eq(text->name, ".text");
		/* The counters live in .bss: allocated but not in the file. */
		cr_assert_null(pv_image_at(img, lock->value, &avail));
		cr_assert_eq(avail, 0);
		cr_assert_str_eq(pv_image_section_at(img, lock->value)->name, ".bss");
		pv_image_close(img);
	}
}

Test(image, symbol_table_contents)
{
	struct pv_image *img = open_ok(T_PLAIN);
	size_t ndyn = 0;
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		cr_assert_neq(s->name[0], '\0');
		cr_assert_neq(s->type, STT_SECTION);
		cr_assert_neq(s->type, STT_FILE);
		if (s->dynamic)
			ndyn++;
		else
			cr_assert_eq(ndyn, 0, ".symtab entries come before .dynsym ones");
	}
	cr_assert_gt(ndyn, 0);
	/* Imports are undefined: they are listed but never found. */
	bool listed = false;
	for (size_t i = 0; i < img->nsymbols; i++)
		listed |= strcmp(img->symbols[i].name, "pthread_create") == 0 &&
		          img->symbols[i].shndx == SHN_UNDEF;
	cr_assert(listed);
	bool ambiguous = true;
	cr_assert_null(pv_image_find_symbol(img, "pthread_create", &ambiguous));
	cr_assert(!ambiguous);
	cr_assert_null(pv_image_find_symbol(img, "no_such_symbol_anywhere", NULL));
	const struct pv_symbol *f;
	struct pv_error err = {0};
	cr_assert_eq(pv_image_find_function(img, "total_a", &f, &err), PV_ENOENT);
	cr_assert_null(f);
	cr_assert_not_null(strstr(err.msg, "'total_a'"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, T_PLAIN), "%s", err.msg);
	pv_image_close(img);
}

Test(image, build_id_matches_readelf)
{
	for (size_t t = 0; t < NTARGETS + 1; t++) {
		const char *path = t < NTARGETS ? counter_targets[t] : PV_CORPUS_PATCH("counter-fix");
		char *want = pv_test_sh("readelf -n '%s' | sed -n 's/^ *Build ID: *//p' | tr -d '\\n'", path);
		struct pv_image *img = open_ok(path);
		char hex[129];
		pv_image_build_id_hex(img, hex, sizeof(hex));
		cr_assert_eq(img->build_id_len, 20, "%s", path);
		cr_assert_str_eq(hex, want, "%s", path);
		char small[9];
		pv_image_build_id_hex(img, small, sizeof(small));
		cr_assert_eq(strlen(small), 8, "a short buffer gets a truncated prefix");
		cr_assert_eq(strncmp(small, want, 8), 0);
		free(want);
		pv_image_close(img);
	}
}

Test(image, sections_have_names_and_bounds)
{
	struct pv_image *img = open_ok(T_PLAIN);
	char *count = pv_test_sh("readelf -SW '%s' | sed -n 's/^There are \\([0-9]*\\) section.*/\\1/p'",
	                 T_PLAIN);
	cr_assert_eq(img->nsections, strtoul(count, NULL, 10));
	free(count);
	const struct pv_section *dynsym = pv_image_section(img, ".dynsym");
	cr_assert_not_null(dynsym);
	cr_assert_eq(dynsym->type, SHT_DYNSYM);
	cr_assert_eq(dynsym->entsize, sizeof(Elf64_Sym));
	cr_assert_str_eq(img->sections[dynsym->link].name, ".dynstr");
	cr_assert_str_eq(pv_image_string(img, dynsym->link, 0), "");
	cr_assert_null(pv_image_string(img, dynsym->link, img->sections[dynsym->link].size));
	cr_assert_null(pv_image_string(img, img->nsections, 0));
	cr_assert_null(pv_image_string(img, 0, 0));
	for (size_t i = 0; i < img->nsections; i++) {
		const struct pv_section *s = &img->sections[i];
		if (s->type != SHT_NOBITS)
			cr_assert_leq(s->offset + s->size, img->nbytes, "%s", s->name);
	}
	/* pv_image_at is bounded by each segment's file size. */
	bool bss_seen = false;
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct pv_segment *s = &img->segments[i];
		size_t avail = 0;
		cr_assert_eq(pv_image_at(img, s->vaddr, &avail), img->bytes + s->offset);
		cr_assert_eq(avail, s->filesz);
		cr_assert_eq(pv_image_at(img, s->vaddr + s->filesz - 1, &avail),
		             img->bytes + s->offset + s->filesz - 1);
		cr_assert_eq(avail, 1);
		if (s->memsz > s->filesz) {
			bss_seen = true;
			cr_assert_null(pv_image_at(img, s->vaddr + s->filesz, &avail));
			cr_assert_eq(avail, 0);
		}
	}
	cr_assert(bss_seen, "the writable segment has .bss beyond its file bytes");
	cr_assert_null(pv_image_section(img, ".patchvet.funcs"));
	cr_assert_null(pv_image_section_at(img, 0xdead00000000ull));
	cr_assert_null(pv_image_at(img, 0xdead00000000ull, NULL));
	pv_image_close(img);
}

/* ---------------------------------------------------------------- fixtures */

/* Two files each define a static `dup_local` (different addresses), and a
 * global `shadow` also exists as a static elsewhere. */
static const char fix_a[] =
	"__attribute__((used)) static int dup_local = 1;\n"
	"__attribute__((used)) static int shadow = 2;\n"
	"__attribute__((used)) static int lonely = 3;\n"
	"int get_a(void) { return dup_local + shadow + lonely; }\n";
static const char fix_b[] =
	"__attribute__((used)) static int dup_local = 4;\n"
	"int shadow = 5;\n"
	"__attribute__((weak)) int weakling = 6;\n"
	"int get_b(void) { return dup_local + shadow; }\n";

static char *build_fixture(void)
{
	char *dir = pv_test_tmpdir("image");
	char p[512];
	snprintf(p, sizeof(p), "%s/a.c", dir);
	pv_test_spill(p, fix_a, strlen(fix_a));
	snprintf(p, sizeof(p), "%s/b.c", dir);
	pv_test_spill(p, fix_b, strlen(fix_b));
	free(pv_test_sh("cd '%s' && gcc -O1 -fPIC -shared -nostdlib a.c b.c -o fix.so", dir));
	return dir;
}

Test(image, find_symbol_rules)
{
	char *dir = build_fixture();
	char path[512];
	snprintf(path, sizeof(path), "%s/fix.so", dir);
	struct pv_image *img = open_ok(path);
	bool ambiguous = false;
	cr_assert_null(pv_image_find_symbol(img, "dup_local", &ambiguous));
	cr_assert(ambiguous, "two static dup_local at different addresses");

	const struct pv_symbol *s = pv_image_find_symbol(img, "shadow", &ambiguous);
	cr_assert_not_null(s);
	cr_assert(!ambiguous);
	cr_assert_eq(s->bind, STB_GLOBAL, "the global definition wins over a local one");

	s = pv_image_find_symbol(img, "lonely", &ambiguous);
	cr_assert_not_null(s);
	cr_assert_eq(s->bind, STB_LOCAL);
	cr_assert(!ambiguous);

	s = pv_image_find_symbol(img, "weakling", &ambiguous);
	cr_assert_not_null(s);
	cr_assert_eq(s->bind, STB_WEAK);

	/* get_a is in .symtab and .dynsym: one symbol, not an ambiguity. */
	size_t copies = 0;
	for (size_t i = 0; i < img->nsymbols; i++)
		copies += strcmp(img->symbols[i].name, "get_a") == 0;
	cr_assert_eq(copies, 2);
	s = pv_image_find_symbol(img, "get_a", &ambiguous);
	cr_assert_not_null(s);
	cr_assert(!ambiguous);
	cr_assert(!s->dynamic, ".symtab first");

	const struct pv_symbol *f;
	struct pv_error err = {0};
	cr_assert_eq(pv_image_find_function(img, "get_b", &f, &err), 0, "%s", err.msg);
	cr_assert_eq(f->type, STT_FUNC);
	cr_assert_eq(pv_image_find_function(img, "shadow", &f, &err), PV_ENOENT);
	cr_assert_not_null(strstr(err.msg, "'shadow'"));
	pv_image_close(img);
	pv_test_rmdir_all(dir);
}

/* A file without section headers (as `strip` can't make, but sstrip can)
 * still loads, with its build-id from PT_NOTE. */
Test(image, no_section_headers)
{
	char *dir = pv_test_tmpdir("image");
	size_t n;
	unsigned char *b = pv_test_slurp(T_PLAIN, &n);
	Elf64_Ehdr eh;
	memcpy(&eh, b, sizeof(eh));
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	memcpy(b, &eh, sizeof(eh));
	char path[512];
	snprintf(path, sizeof(path), "%s/noshdr", dir);
	pv_test_spill(path, b, n);
	struct pv_image *img = open_ok(path);
	cr_assert_eq(img->nsections, 0);
	cr_assert_eq(img->nsymbols, 0);
	cr_assert_eq(img->build_id_len, 20, "build-id from the PT_NOTE segment");
	cr_assert_gt(img->nsegments, 0);
	cr_assert_null(pv_image_find_symbol(img, "bump", NULL));
	pv_image_close(img);
	free(b);
	pv_test_rmdir_all(dir);
}

/* ---------------------------------------------------------------- bad input */

Test(image, missing_file)
{
	expect_open_error("/nonexistent/patchvet/file", PV_ENOENT, "cannot open");
}

Test(image, directory_is_not_an_image)
{
	expect_open_error("/tmp", PV_EIO, "not a regular file");
}

Test(image, text_and_empty_files)
{
	char *dir = pv_test_tmpdir("image");
	char path[512];
	snprintf(path, sizeof(path), "%s/text.txt", dir);
	const char text[] = "this is not an ELF file\n";
	pv_test_spill(path, text, sizeof(text) - 1);
	expect_open_error(path, PV_EFORMAT, "not an ELF file");
	snprintf(path, sizeof(path), "%s/empty", dir);
	pv_test_spill(path, "", 0);
	expect_open_error(path, PV_EFORMAT, "not an ELF file");
	snprintf(path, sizeof(path), "%s/magic-only", dir);
	pv_test_spill(path, ELFMAG, SELFMAG);
	expect_open_error(path, PV_EFORMAT, "truncated");
	pv_test_rmdir_all(dir);
}

Test(image, truncated_files)
{
	char *dir = pv_test_tmpdir("image");
	size_t n;
	unsigned char *b = pv_test_slurp(T_PLAIN, &n);
	const size_t lengths[] = {16, 63, 64, 100, 1000, n / 2, n - 1};
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/cut-%zu", dir, lengths[i]);
		pv_test_spill(path, b, lengths[i]);
		expect_open_error(path, PV_EFORMAT, "truncated");
	}
	free(b);
	pv_test_rmdir_all(dir);
}

/* A section whose data runs past the end, with both header tables intact. */
Test(image, section_beyond_end)
{
	char *dir = pv_test_tmpdir("image");
	size_t n;
	unsigned char *b = pv_test_slurp(T_PLAIN, &n);
	struct pv_image *img = open_ok(T_PLAIN);
	const struct pv_section *dynstr = pv_image_section(img, ".dynstr");
	cr_assert_not_null(dynstr);
	size_t idx = (size_t)(dynstr - img->sections);
	pv_image_close(img);
	Elf64_Ehdr eh;
	memcpy(&eh, b, sizeof(eh));
	Elf64_Shdr sh;
	size_t at = eh.e_shoff + idx * sizeof(sh);
	memcpy(&sh, b + at, sizeof(sh));
	sh.sh_size = n; /* from its offset, that is past the end */
	memcpy(b + at, &sh, sizeof(sh));
	char path[512];
	snprintf(path, sizeof(path), "%s/long-dynstr", dir);
	pv_test_spill(path, b, n);
	expect_open_error(path, PV_EFORMAT, ".dynstr");
	free(b);
	pv_test_rmdir_all(dir);
}

/* Writes a copy of the plain target with one header field changed. */
static void patched_copy(const char *dir, const char *name, size_t off, const void *val,
                         size_t len, char *path, size_t pathlen)
{
	size_t n;
	unsigned char *b = pv_test_slurp(T_PLAIN, &n);
	memcpy(b + off, val, len);
	snprintf(path, pathlen, "%s/%s", dir, name);
	pv_test_spill(path, b, n);
	free(b);
}

Test(image, hand_made_32bit_header)
{
	char *dir = pv_test_tmpdir("image");
	char path[512];
	unsigned char c32 = ELFCLASS32;
	patched_copy(dir, "class32", EI_CLASS, &c32, 1, path, sizeof(path));
	expect_open_error(path, PV_EUNSUPPORTED, "32-bit ELF; patchvet handles ELF64 x86-64 only");
	unsigned char bad = 7;
	patched_copy(dir, "class7", EI_CLASS, &bad, 1, path, sizeof(path));
	expect_open_error(path, PV_EFORMAT, "class");
	unsigned char msb = ELFDATA2MSB;
	patched_copy(dir, "bigendian", EI_DATA, &msb, 1, path, sizeof(path));
	expect_open_error(path, PV_EUNSUPPORTED, "big-endian");
	pv_test_rmdir_all(dir);
}

/* A real 32-bit object from gcc -m32, when this machine's gcc can make one. */
Test(image, gcc_m32_object)
{
	char *dir = pv_test_tmpdir("image");
	char src[512], obj[512];
	snprintf(src, sizeof(src), "%s/f.c", dir);
	snprintf(obj, sizeof(obj), "%s/f32.o", dir);
	pv_test_spill(src, "int f(void) { return 1; }\n", 26);
	char *argv[] = {"/bin/sh", "-c", NULL, NULL};
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "gcc -m32 -c '%s' -o '%s'", src, obj);
	argv[2] = cmd;
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 60, &o), 0);
	int status = o.status;
	pv_test_output_free(&o);
	if (status == 0)
		expect_open_error(obj, PV_EUNSUPPORTED, "32-bit ELF");
	else
		/* Not cr_log_warn: Criterion 2.4.1 exits 1 after any warning. */
		fprintf(stderr, "gcc -m32 unavailable; the hand-made 32-bit header covers it\n");
	pv_test_rmdir_all(dir);
}

Test(image, other_machines)
{
	char *dir = pv_test_tmpdir("image");
	char path[512];
	uint16_t m = EM_AARCH64;
	patched_copy(dir, "aarch64", offsetof(Elf64_Ehdr, e_machine), &m, 2, path, sizeof(path));
	expect_open_error(path, PV_EUNSUPPORTED, "AArch64");
	m = EM_386;
	patched_copy(dir, "i386", offsetof(Elf64_Ehdr, e_machine), &m, 2, path, sizeof(path));
	expect_open_error(path, PV_EUNSUPPORTED, "i386");
	m = 4242;
	patched_copy(dir, "m4242", offsetof(Elf64_Ehdr, e_machine), &m, 2, path, sizeof(path));
	expect_open_error(path, PV_EUNSUPPORTED, "4242");
	pv_test_rmdir_all(dir);
}

Test(image, other_elf_types)
{
	char *dir = pv_test_tmpdir("image");
	char path[512];
	uint16_t t = ET_CORE;
	patched_copy(dir, "core", offsetof(Elf64_Ehdr, e_type), &t, 2, path, sizeof(path));
	expect_open_error(path, PV_EUNSUPPORTED, "ET_CORE");
	char src[512];
	snprintf(src, sizeof(src), "%s/f.c", dir);
	pv_test_spill(src, "int f(void) { return 1; }\n", 26);
	free(pv_test_sh("gcc -c '%s' -o '%s/f.o'", src, dir));
	snprintf(path, sizeof(path), "%s/f.o", dir);
	expect_open_error(path, PV_EUNSUPPORTED, "ET_REL");
	pv_test_rmdir_all(dir);
}

Test(image, header_fields_out_of_range)
{
	char *dir = pv_test_tmpdir("image");
	char path[512];
	uint16_t v = 1000;
	patched_copy(dir, "phnum", offsetof(Elf64_Ehdr, e_phnum), &v, 2, path, sizeof(path));
	expect_open_error(path, PV_EFORMAT, "truncated");
	v = 60000;
	patched_copy(dir, "shstrndx", offsetof(Elf64_Ehdr, e_shstrndx), &v, 2, path, sizeof(path));
	expect_open_error(path, PV_EFORMAT, "section-name table");
	v = 40;
	patched_copy(dir, "shentsize", offsetof(Elf64_Ehdr, e_shentsize), &v, 2, path,
	             sizeof(path));
	expect_open_error(path, PV_EFORMAT, "section header");
	uint64_t off = UINT64_MAX - 8;
	patched_copy(dir, "phoff", offsetof(Elf64_Ehdr, e_phoff), &off, 8, path, sizeof(path));
	expect_open_error(path, PV_EFORMAT, "truncated");
	patched_copy(dir, "shoff", offsetof(Elf64_Ehdr, e_shoff), &off, 8, path, sizeof(path));
	expect_open_error(path, PV_EFORMAT, "truncated");
	pv_test_rmdir_all(dir);
}

/* ---------------------------------------------------------------- fault injection */

/* Opens a corrupted file: any outcome but a crash is fine, and an image that
 * loads must answer queries without reading outside its bytes (ASan). */
static void open_corrupted(const char *path)
{
	struct pv_image *img = NULL;
	struct pv_error err = {0};
	int rc = pv_image_open(path, &img, &err);
	cr_assert_leq(rc, 0);
	if (rc < 0) {
		cr_assert_null(img);
		cr_assert_neq(err.msg[0], '\0', "a failure always says why");
		cr_assert_not_null(strstr(err.msg, path));
		return;
	}
	char hex[129];
	pv_image_build_id_hex(img, hex, sizeof(hex));
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		size_t avail;
		const unsigned char *p = pv_image_at(img, s->value, &avail);
		if (p && avail) {
			volatile unsigned char last = p[avail - 1]; /* ASan checks the read */
			(void)last;
		}
		pv_image_section_at(img, s->value);
		pv_image_find_symbol(img, s->name, NULL);
	}
	for (size_t i = 0; i < img->nsections; i++)
		pv_image_string(img, i, 1);
	pv_image_close(img);
}

Test(image, corrupted_headers_never_crash)
{
	char *dir = pv_test_tmpdir("image");
	size_t n;
	unsigned char *orig = pv_test_slurp(T_PLAIN, &n);
	unsigned char *b = malloc(n);
	cr_assert_not_null(b);
	Elf64_Ehdr eh;
	memcpy(&eh, orig, sizeof(eh));
	struct pv_image *img = open_ok(T_PLAIN);
	/* Regions worth corrupting: both header tables and the tables the
	 * loader parses (symbols, strings, notes). */
	struct region {
		size_t off, len, step;
	} regions[16] = {
		{0, eh.e_phoff + (size_t)eh.e_phnum * sizeof(Elf64_Phdr), 7},
		{eh.e_shoff, (size_t)eh.e_shnum * sizeof(Elf64_Shdr), 7},
	};
	size_t nregions = 2;
	for (size_t i = 0; i < img->nsections && nregions < 16; i++) {
		const struct pv_section *s = &img->sections[i];
		if (s->type == SHT_SYMTAB || s->type == SHT_DYNSYM || s->type == SHT_NOTE ||
		    (s->type == SHT_STRTAB && s->size < 4096))
			regions[nregions++] = (struct region){s->offset, s->size, 11};
	}
	pv_image_close(img);
	static const unsigned char patterns[] = {0xff, 0x00, 0x80};
	char path[512];
	snprintf(path, sizeof(path), "%s/corrupt", dir);
	size_t runs = 0;
	for (size_t r = 0; r < nregions; r++) {
		for (size_t off = regions[r].off; off < regions[r].off + regions[r].len;
		     off += regions[r].step) {
			for (size_t p = 0; p < sizeof(patterns); p++) {
				memcpy(b, orig, n);
				b[off] = p == 0 ? b[off] ^ 0xff : patterns[p];
				pv_test_spill(path, b, n);
				open_corrupted(path);
				runs++;
			}
		}
	}
	/* And truncation at many lengths. */
	for (size_t len = 0; len < n; len += 397) {
		pv_test_spill(path, orig, len);
		open_corrupted(path);
		runs++;
	}
	cr_log_info("%zu corrupted files opened", runs);
	cr_assert_gt(runs, 500);
	free(b);
	free(orig);
	pv_test_rmdir_all(dir);
}

/* ------------------------------------------------------------ GOT slots */

/* The slots pv_image_got_slots finds for `name` in path, checked against
 * the calls objdump shows through them. */
static size_t got_slots_of(const char *path, const char *name, uint64_t *slots, size_t max)
{
	struct pv_image *img = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_image_open(path, &img, &err), 0, "%s", err.msg);
	const struct pv_symbol *s = NULL;
	cr_assert_eq(pv_image_find_function(img, name, &s, &err), 0, "%s", err.msg);
	size_t n = 0;
	cr_assert_eq(pv_image_got_slots(img, name, s->value, slots, max, &n, &err), 0, "%s",
	             err.msg);
	pv_image_close(img);
	return n;
}

/* gotcall (PIE, -fno-plt, --no-relax): one .got slot with a RELATIVE
 * relocation to bump, the one `call *...(%rip)` of pv_worker reads; the
 * static emu build has the same slot filled by the linker. */
Test(image, got_slots_of_a_pie_and_of_a_static_build)
{
	const char *paths[] = {PV_CORPUS_TARGET("gotcall-plain"),
	                       PV_BUILD_DIR "/corpora/emu/gotcall-plain"};
	for (size_t i = 0; i < 2; i++) {
		uint64_t slots[4];
		size_t n = got_slots_of(paths[i], "bump", slots, 4);
		cr_assert_eq(n, 1, "%s: %zu slots", paths[i], n);
		char *out = pv_test_sh("objdump -d '%s' | awk '/<pv_worker>:/,/^$/' | "
		                       "grep -c 'call  *\\*0x[0-9a-f]*(%%rip) *# %llx '",
		                       paths[i], (unsigned long long)slots[0]);
		cr_expect_eq(atoi(out), 1, "%s: no call through 0x%llx", paths[i],
		             (unsigned long long)slots[0]);
		free(out);
	}
}

/* Direct calls only (counter), or pointers in a data table (fptr): no GOT
 * slot, though fptr's table holds bump's address under RELATIVE relocs. */
Test(image, no_got_slots_without_calls_through_the_got)
{
	uint64_t slots[4];
	cr_expect_eq(got_slots_of(PV_CORPUS_TARGET("counter-plain"), "bump", slots, 4), 0);
	cr_expect_eq(got_slots_of(PV_CORPUS_TARGET("fptr-plain"), "bump", slots, 4), 0);
	cr_expect_eq(got_slots_of(PV_BUILD_DIR "/corpora/emu/counter-plain", "bump", slots, 4),
	             0);
}

/* Imports of a shared object (a patch here): JUMP_SLOT and GLOB_DAT
 * relocations name the symbol, whatever its address. */
Test(image, got_slots_of_imports_by_name)
{
	struct pv_image *img = NULL;
	struct pv_error err = {0};
	cr_assert_eq(pv_image_open(PV_CORPUS_PATCH("counter-fix"), &img, &err), 0, "%s", err.msg);
	static const char *const names[] = {"pv_lock", "pv_unlock", "total_a"};
	uint64_t seen[3];
	for (size_t i = 0; i < 3; i++) {
		uint64_t slots[4];
		size_t n = 0;
		cr_assert_eq(pv_image_got_slots(img, names[i], 0, slots, 4, &n, &err), 0, "%s",
		             err.msg);
		cr_assert_eq(n, 1, "%s: %zu slots", names[i], n);
		char *out = pv_test_sh("readelf -rW '%s' | awk '$5 == \"%s\" && "
		                       "($3 == \"R_X86_64_JUMP_SLOT\" || $3 == \"R_X86_64_GLOB_DAT\") "
		                       "{ print $1 }'",
		                       PV_CORPUS_PATCH("counter-fix"), names[i]);
		cr_expect_eq(strtoull(out, NULL, 16), slots[0], "%s: readelf says %s", names[i], out);
		free(out);
		seen[i] = slots[0];
	}
	cr_expect_neq(seen[0], seen[1]);
	uint64_t slots[4];
	size_t n = 9;
	cr_expect_eq(pv_image_got_slots(img, "bump_v2", 0, slots, 4, &n, &err), 0);
	cr_expect_eq(n, 0, "a function the object defines and never imports");
	pv_image_close(img);
}
