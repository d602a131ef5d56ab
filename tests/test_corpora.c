/* Suite `corpora`: every built target runs natively in every flavour and
 * accepts its own results; bad command lines exit 2; and each flavour has
 * the entry bytes it exists for (read with libelf, independently of the
 * harness's own ELF code). */
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static const char *const targets[] = {"counter", "datachange", "prologue-branch", "tiny",
                                      "blocking", "fpu", "signals", "hotpatch", "nested",
                                      "busy", "recursion", "fptr", "gotcall", "alloc",
                                      "requests", "duo"};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))
static const char *const flavours[] = {"plain", "pad", "fentry", "cet"};
#define NFLAVOURS (sizeof(flavours) / sizeof(flavours[0]))

/* Runs path with up to three arguments; returns the exit status, with
 * stderr in err (owned by the caller, may be NULL). */
static int run(const char *path, const char *a1, const char *a2, const char *a3, char **err)
{
	char *argv[] = {(char *)path, (char *)a1, (char *)a2, (char *)a3, NULL};
	if (!a1)
		argv[1] = NULL;
	else if (!a2)
		argv[2] = NULL;
	else if (!a3)
		argv[3] = NULL;
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 60, &o), 0, "cannot run %s", path);
	if (err) {
		*err = o.err;
		o.err = NULL;
	}
	pv_test_output_free(&o);
	return o.status;
}

static void expect_runs(const char *path, const char *a1, const char *a2, const char *a3)
{
	char *err = NULL;
	int st = run(path, a1, a2, a3, &err);
	cr_expect_eq(st, 0, "%s %s %s %s: exit %d, stderr: %s", path, a1 ? a1 : "", a2 ? a2 : "",
	             a3 ? a3 : "", st, err);
	cr_expect_str_empty(err, "%s wrote to stderr: %s", path, err);
	free(err);
}

static void runs_in_every_flavour(const char *target)
{
	for (size_t f = 0; f < NFLAVOURS; f++) {
		char path[512];
		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/%s-%s", target,
		         flavours[f]);
		cr_assert_eq(access(path, X_OK), 0, "%s is not built", path);
		expect_runs(path, "2", "100000", NULL);
		expect_runs(path, NULL, NULL, NULL);
		expect_runs(path, "4", "5000", "3");
		expect_runs(path, "1", "1", "-7");
	}
}

Test(corpora, counter_runs) { runs_in_every_flavour("counter"); }
Test(corpora, datachange_runs) { runs_in_every_flavour("datachange"); }
Test(corpora, prologue_branch_runs) { runs_in_every_flavour("prologue-branch"); }
Test(corpora, tiny_runs) { runs_in_every_flavour("tiny"); }
Test(corpora, hotpatch_runs) { runs_in_every_flavour("hotpatch"); }
Test(corpora, nested_runs) { runs_in_every_flavour("nested"); }
Test(corpora, busy_runs) { runs_in_every_flavour("busy"); }
Test(corpora, recursion_runs) { runs_in_every_flavour("recursion"); }
Test(corpora, fptr_runs) { runs_in_every_flavour("fptr"); }
Test(corpora, gotcall_runs) { runs_in_every_flavour("gotcall"); }
Test(corpora, alloc_runs) { runs_in_every_flavour("alloc"); }
Test(corpora, requests_runs) { runs_in_every_flavour("requests"); }
Test(corpora, duo_runs) { runs_in_every_flavour("duo"); }

/* The native-only targets of the ptrace backend: their workloads are
 * measured in time (items 50 us apart, signals), so smaller runs. */
static void runs_natively(const char *target, const char *const args[][3], size_t n)
{
	for (size_t f = 0; f < NFLAVOURS; f++) {
		char path[512];
		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/%s-%s", target,
		         flavours[f]);
		for (size_t i = 0; i < n; i++)
			expect_runs(path, args[i][0], args[i][1], args[i][2]);
	}
}

Test(corpora, blocking_runs)
{
	static const char *const args[][3] = {{NULL, NULL, NULL}, {"4", "200", NULL},
	                                      {"7", "50", "0"}};
	runs_natively("blocking", args, 3);
}

Test(corpora, fpu_runs)
{
	static const char *const args[][3] = {{NULL, NULL, NULL}, {"2", "5000", NULL},
	                                      {"1", "7", NULL}};
	runs_natively("fpu", args, 3);
}

Test(corpora, signals_runs)
{
	static const char *const args[][3] = {{NULL, NULL, NULL}, {"3", "100000", NULL},
	                                      {"2", "1", NULL}};
	runs_natively("signals", args, 3);
}

Test(corpora, counter_static_and_nopie_run)
{
	expect_runs(PV_CORPUS_TARGET("counter-static"), "2", "100000", NULL);
	expect_runs(PV_CORPUS_TARGET("counter-nopie"), "2", "100000", NULL);
}

/* A new target directory must get a test above. */
Test(corpora, every_target_is_tested)
{
	DIR *d = opendir(PV_SOURCE_DIR "/corpora/targets");
	cr_assert_not_null(d);
	struct dirent *de;
	size_t seen = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		bool known = false;
		for (size_t i = 0; i < NTARGETS; i++)
			known |= !strcmp(de->d_name, targets[i]);
		cr_expect(known, "corpora/targets/%s has no test in tests/test_corpora.c",
		          de->d_name);
		seen++;
	}
	closedir(d);
	cr_assert_eq(seen, NTARGETS);
}

Test(corpora, bad_arguments_exit_2)
{
	static const char *const bad[][3] = {
		{"x", NULL, NULL},   {"0", NULL, NULL},   {"65", NULL, NULL}, {"-1", NULL, NULL},
		{"2x", NULL, NULL},  {"", NULL, NULL},    {"2", "-1", NULL},  {"2", "ten", NULL},
		{"2", "99999999999999999999999", NULL},    {"2", "10", "y"},   {"2", "10", "1.5"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		int st = run(PV_CORPUS_TARGET("counter-plain"), bad[i][0], bad[i][1], bad[i][2], &err);
		cr_expect_eq(st, 2, "case %zu: exit %d", i, st);
		cr_expect_eq(pv_test_count_lines(err), 1, "case %zu: stderr '%s'", i, err);
		cr_expect_not_null(strstr(err, "usage"), "case %zu: stderr '%s'", i, err);
		free(err);
	}
	/* Too many arguments. */
	char *argv[] = {PV_CORPUS_TARGET("counter-plain"), "1", "2", "3", "4", NULL};
	struct pv_test_output o;
	cr_assert_eq(pv_test_run(argv, 60, &o), 0);
	cr_expect_eq(o.status, 2, "exit %d", o.status);
	pv_test_output_free(&o);
}

/* ---------------------------------------------------------------- ELF */

/* One symbol of an ELF file: its entry and size, the `before` bytes in front
 * of it and its first `n` bytes. */
struct sym {
	GElf_Sym s;
	unsigned char before[16];
	unsigned char bytes[32];
};

/* Returns true when name was found (and its bytes, when it is in a section
 * with contents). */
static bool find_sym(const char *path, const char *name, struct sym *out)
{
	memset(out, 0, sizeof(*out));
	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "cannot open %s", path);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(e, "%s: %s", path, elf_errmsg(-1));
	bool found = false;
	Elf_Scn *scn = NULL;
	while (!found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			gelf_getsym(d, (int)i, &s);
			const char *n = elf_strptr(e, sh.sh_link, s.st_name);
			if (n && !strcmp(n, name) && s.st_shndx != SHN_UNDEF) {
				out->s = s;
				found = true;
				break;
			}
		}
	}
	if (found) {
		Elf_Scn *sec = elf_getscn(e, out->s.st_shndx);
		GElf_Shdr sh;
		gelf_getshdr(sec, &sh);
		Elf_Data *d = elf_getdata(sec, NULL);
		if (sh.sh_type == SHT_PROGBITS && d && d->d_buf) {
			size_t off = (size_t)(out->s.st_value - sh.sh_addr);
			size_t n = sizeof(out->bytes);
			if (off + n > d->d_size)
				n = d->d_size - off;
			memcpy(out->bytes, (char *)d->d_buf + off, n);
			if (off >= sizeof(out->before))
				memcpy(out->before, (char *)d->d_buf + off - sizeof(out->before),
				       sizeof(out->before));
		}
	}
	elf_end(e);
	close(fd);
	return found;
}

static const unsigned char endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
static const unsigned char nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};

Test(corpora, flavour_entry_bytes)
{
	struct sym s;
	for (size_t t = 0; t < NTARGETS; t++) {
		/* The C functions the scenarios replace. */
		const char *fn = !strcmp(targets[t], "counter")      ? "bump"
		                 : !strcmp(targets[t], "datachange") ? "config_add"
		                 : !strcmp(targets[t], "tiny")       ? "tiny_zero"
		                 : !strcmp(targets[t], "nested")     ? "outer"
		                                                     : NULL;
		if (!fn)
			continue;
		char path[512];
		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/%s-plain", targets[t]);
		cr_assert(find_sym(path, fn, &s), "%s: no %s", path, fn);
		cr_expect_neq(memcmp(s.bytes, endbr64, 4), 0, "%s: %s starts with endbr64", path, fn);
		cr_expect_neq(memcmp(s.bytes, nop5, 5), 0, "%s: %s starts with a NOP", path, fn);

		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/%s-pad", targets[t]);
		cr_assert(find_sym(path, fn, &s), "%s: no %s", path, fn);
		for (size_t i = 2; i < 16; i++)
			cr_expect_eq(s.before[i], 0x90, "%s: byte %zd before %s is %02x", path,
			             (ssize_t)i - 16, fn, s.before[i]);
		cr_expect(s.bytes[0] == 0x90 && s.bytes[1] == 0x90, "%s: %s lacks 2 NOPs at the entry",
		          path, fn);

		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/%s-fentry", targets[t]);
		cr_assert(find_sym(path, fn, &s), "%s: no %s", path, fn);
		cr_expect_eq(memcmp(s.bytes, nop5, 5), 0, "%s: %s does not start with nopl 0(%%rax,%%rax)",
		             path, fn);

		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/%s-cet", targets[t]);
		cr_assert(find_sym(path, fn, &s), "%s: no %s", path, fn);
		cr_expect_eq(memcmp(s.bytes, endbr64, 4), 0, "%s: %s does not start with endbr64", path,
		             fn);
	}
}

/* hotpatch's bump is hot-patchable in every flavour: an 8-byte first
 * instruction and at least 5 padding bytes before it. */
Test(corpora, hotpatch_bump_is_hot_patchable)
{
	static const unsigned char lea[] = {0x48, 0x8d, 0xa4, 0x24, 0, 0, 0, 0};
	struct sym s;
	for (size_t f = 0; f < NFLAVOURS; f++) {
		char path[512];
		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/hotpatch-%s", flavours[f]);
		cr_assert(find_sym(path, "bump", &s), "%s: no bump", path);
		cr_expect_eq(memcmp(s.bytes, lea, sizeof(lea)), 0, "%s: bump does not start with "
		             "lea 0x0(%%rsp),%%rsp", path);
		for (size_t i = 11; i < 16; i++)
			cr_expect(s.before[i] == 0xcc || s.before[i] == 0x90, "%s: byte %zd before bump "
			          "is %02x", path, (ssize_t)i - 16, s.before[i]);
	}
}

Test(corpora, tiny_is_too_short_only_in_plain)
{
	struct sym s;
	cr_assert(find_sym(PV_CORPUS_TARGET("tiny-plain"), "tiny_zero", &s));
	cr_expect_lt(s.s.st_size, 5, "tiny_zero is %lu bytes", (unsigned long)s.s.st_size);
	for (size_t f = 1; f < NFLAVOURS; f++) {
		char path[512];
		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/tiny-%s", flavours[f]);
		cr_assert(find_sym(path, "tiny_zero", &s));
		cr_expect_geq(s.s.st_size, 5, "%s: tiny_zero is %lu bytes", path,
		              (unsigned long)s.s.st_size);
	}
}

Test(corpora, prologue_branch_loops_into_its_first_bytes)
{
	/* xor %eax,%eax; 2: add %rdi,%rax; sub $1,%rdi; ja 2; ret */
	static const unsigned char want[] = {0x31, 0xc0, 0x48, 0x01, 0xf8, 0x48,
	                                     0x83, 0xef, 0x01, 0x77, 0xf7, 0xc3};
	for (size_t f = 0; f < NFLAVOURS; f++) {
		char path[512];
		struct sym s;
		snprintf(path, sizeof(path), PV_BUILD_DIR "/corpora/targets/prologue-branch-%s",
		         flavours[f]);
		cr_assert(find_sym(path, "pb_triangle", &s), "%s: no pb_triangle", path);
		cr_expect_eq(GELF_ST_TYPE(s.s.st_info), STT_FUNC, "%s", path);
		cr_expect_eq(s.s.st_size, sizeof(want), "%s: size %lu", path,
		             (unsigned long)s.s.st_size);
		cr_expect_eq(memcmp(s.bytes, want, sizeof(want)), 0, "%s: unexpected code", path);
		/* The ja at offset 9 (2 bytes, rel8 -9) lands at offset 2. */
		cr_expect_eq(9 + 2 + (signed char)s.bytes[10], 2);
	}
}

Test(corpora, counter_data_are_local_symbols)
{
	static const char *const names[] = {"total_a", "total_b", "counter_lock"};
	for (size_t i = 0; i < 3; i++) {
		struct sym s;
		cr_assert(find_sym(PV_CORPUS_TARGET("counter-plain"), names[i], &s), "no %s",
		          names[i]);
		cr_expect_eq(GELF_ST_BIND(s.s.st_info), STB_LOCAL, "%s", names[i]);
		cr_expect_eq(GELF_ST_TYPE(s.s.st_info), STT_OBJECT, "%s", names[i]);
	}
}

Test(corpora, datachange_patch_grows_config)
{
	struct sym s;
	cr_assert(find_sym(PV_CORPUS_TARGET("datachange-plain"), "config", &s));
	cr_expect_eq(s.s.st_size, 16);
	cr_assert(find_sym(PV_CORPUS_PATCH("datachange"), "config", &s));
	cr_expect_eq(s.s.st_size, 24);
	cr_assert(find_sym(PV_CORPUS_PATCH("datachange"), "config_add_v2", &s));
	cr_expect_gt(s.s.st_size, 0);
}
