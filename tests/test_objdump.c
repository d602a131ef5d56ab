/* Suite `objdump`: capstone's instruction boundaries agree with GNU objdump's
 * on every function of every corpus target (build them first: make corpora).
 *
 * torn-exec and every engine's plan rely on these boundaries, so they are
 * checked against an independent disassembler: over each whole function with
 * capstone set up as harness/load/analysis.c sets it up, and for the first 32
 * bytes on pv_analyze's own report.
 *
 * What objdump actually prints for these binaries (binutils 2.40): one line
 * per instruction, `  addr:<TAB>text`, also for long NOPs (`data16 cs nopw`,
 * any number of prefixes on one line), `(bad)` or `.byte 0x..` for bytes it
 * cannot decode, and `...` for runs of zeros unless -z is given (so it is).
 * After an undecodable byte the two tools resynchronise differently (objdump
 * consumes up to 15 bytes for one `(bad)`, capstone none), so a function is
 * compared up to its first undecodable byte, and both tools must agree where
 * that is, with one exclusion: capstone 4.0.2 does not decode part of AVX-512
 * (opmask `k*` instructions, AVX512BW compares; capstone issue #1211, fixed
 * only in 5.0), which glibc's *_evex and *_avx512 string functions in
 * counter-static use, nor the CET shadow-stack instruction rdsspq of its
 * unwinder. Where capstone stops at such an instruction and objdump decodes
 * it, the function is compared up to there and the case is logged, not
 * failed. Every other disagreement fails. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <capstone/capstone.h>
#include <dirent.h>
#include <elf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../harness/load/analysis.h"
#include "helpers.h"
#include "../harness/load/image.h"

#define TARGETS_DIR PV_BUILD_DIR "/corpora/targets"
#define MAX_REPORTS 20 /* mismatches printed per target; all of them fail */

struct addrs {
	uint64_t *v;
	size_t n, cap;
};

static void addrs_push(struct addrs *a, uint64_t x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->v = realloc(a->v, a->cap * sizeof(*a->v));
		cr_assert_not_null(a->v, "out of memory");
	}
	a->v[a->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void addrs_sort(struct addrs *a)
{
	if (a->n == 0)
		return; /* a->v may be NULL, which qsort must not see */
	qsort(a->v, a->n, sizeof(*a->v), cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < a->n; i++)
		if (u == 0 || a->v[i] != a->v[u - 1])
			a->v[u++] = a->v[i];
	a->n = u;
}

/* Index of the first element >= x. */
static size_t lower_bound(const struct addrs *a, uint64_t x)
{
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* objdump's view of a file: every instruction start, the addresses of the
 * lines where it could not decode, and each line's text (into out). */
struct listing {
	struct addrs starts, bad;
	struct line {
		uint64_t addr;
		const char *text; /* NUL-terminated, inside out */
	} *lines;
	size_t nlines;
	char *out; /* objdump's stdout, owned */
};

static void listing_free(struct listing *l)
{
	free(l->starts.v);
	free(l->bad.v);
	free(l->lines);
	free(l->out);
}

static int cmp_line(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* objdump's text of the instruction at addr, NULL when none starts there. */
static const char *listing_text(const struct listing *l, uint64_t addr)
{
	struct line key = {addr, NULL};
	const struct line *hit = bsearch(&key, l->lines, l->nlines, sizeof(key), cmp_line);
	return hit ? hit->text : NULL;
}

static void objdump_listing(const char *path, struct listing *l)
{
	char *argv[] = {"/usr/bin/env", "objdump", "-d", "-z", "--no-show-raw-insn",
	                (char *)path, NULL};
	struct pv_test_output o;
	memset(l, 0, sizeof(*l));
	cr_assert_eq(pv_test_run(argv, 120, &o), 0, "cannot run objdump");
	cr_assert_eq(o.status, 0, "objdump -d %s failed (%d): %s", path, o.status, o.err);
	size_t cap = pv_test_count_lines(o.out) + 1;
	l->lines = malloc(cap * sizeof(*l->lines));
	cr_assert_not_null(l->lines);
	for (char *line = o.out; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		/* Instruction lines are indented; "0000... <name>:" headers
		 * and "Disassembly of section" lines are not. */
		if (*line == ' ') {
			char *end;
			uint64_t addr = strtoull(line, &end, 16);
			if (end != line && end[0] == ':' && end[1] == '\t') {
				const char *text = end + 2;
				addrs_push(&l->starts, addr);
				if (strstr(text, "(bad)") || !strncmp(text, ".byte", 5))
					addrs_push(&l->bad, addr);
				l->lines[l->nlines++] = (struct line){addr, text};
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	l->out = o.out; /* the lines point into it */
	free(o.err);
	addrs_sort(&l->starts);
	addrs_sort(&l->bad);
	/* Sections come in address order, but do not rely on it. */
	qsort(l->lines, l->nlines, sizeof(*l->lines), cmp_line);
}

/* Capstone's instruction starts over [addr, addr + len), decoded as
 * harness/load/analysis.c decodes (x86-64, details on), up to the first byte that
 * does not decode (*bad_at, or UINT64_MAX when every byte decodes). */
static void capstone_starts(csh cs, cs_insn *insn, const unsigned char *code, size_t len,
                            uint64_t addr, struct addrs *out, uint64_t *bad_at)
{
	out->n = 0;
	*bad_at = UINT64_MAX;
	const uint8_t *p = code;
	size_t left = len;
	uint64_t a = addr;
	while (left > 0) {
		uint64_t at = a;
		if (!cs_disasm_iter(cs, &p, &left, &a, insn)) {
			*bad_at = at;
			return;
		}
		addrs_push(out, at);
	}
}

/* True when a[0..na) and b[0..nb) are equal; else *where is the smallest
 * address present in one and not in the other. Both sorted. */
static bool same_starts(const uint64_t *a, size_t na, const uint64_t *b, size_t nb,
                        uint64_t *where)
{
	size_t i = 0, j = 0;
	while (i < na && j < nb && a[i] == b[j]) {
		i++;
		j++;
	}
	if (i == na && j == nb)
		return true;
	*where = i == na ? b[j] : j == nb ? a[i] : a[i] < b[j] ? a[i] : b[j];
	return false;
}

static bool contains(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* An instruction of the families capstone 4.0.2 does not decode (see the
 * top): EVEX encoded (0x62 after any segment or address-size prefixes), an
 * opmask instruction (objdump's mnemonic starts with `k`: kmovd, kortestd,
 * ...) or a CET shadow-stack instruction (rdsspq, ...). */
static bool capstone4_gap(const unsigned char *p, size_t n, const char *text)
{
	static const char *const shstk[] = {"rdssp", "incssp", "saveprevssp", "rstorssp",
	                                    "setssbsy", "clrssbsy", "wrss", "wruss"};
	size_t i = 0;
	while (i < n && (p[i] == 0x26 || p[i] == 0x2e || p[i] == 0x36 || p[i] == 0x3e ||
	                 p[i] == 0x64 || p[i] == 0x65 || p[i] == 0x67))
		i++;
	if ((i < n && p[i] == 0x62) || (text && text[0] == 'k'))
		return true;
	for (size_t k = 0; text && k < sizeof(shstk) / sizeof(shstk[0]); k++)
		if (!strncmp(text, shstk[k], strlen(shstk[k])))
			return true;
	return false;
}

/* The target of the direct jump or call objdump printed as text
 * ("jmp    423553 <f+0x3>", "bnd jmp ..."), false for anything else. */
static bool objdump_branch_target(const char *text, uint64_t *target)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", text);
	bool branch = false;
	char *save = NULL;
	for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (branch) {
			char *end;
			*target = strtoull(tok, &end, 16);
			return end != tok && *end == '\0';
		}
		branch = tok[0] == 'j' || !strncmp(tok, "call", 4) || !strncmp(tok, "loop", 4) ||
		         !strcmp(tok, "xbegin");
	}
	return false;
}

struct func {
	const char *name;
	uint64_t addr, size;
};

static int cmp_func(const void *a, const void *b)
{
	const struct func *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

/* Every defined function symbol with a size, one per (address, size). */
static struct func *functions_of(const struct pv_image *img, size_t *n)
{
	struct func *f = calloc(img->nsymbols + 1, sizeof(*f));
	cr_assert_not_null(f);
	size_t k = 0;
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		if (s->type == STT_FUNC && s->shndx != SHN_UNDEF && s->size > 0)
			f[k++] = (struct func){s->name, s->value, s->size};
	}
	qsort(f, k, sizeof(*f), cmp_func);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || cmp_func(&f[i], &f[u - 1]))
			f[u++] = f[i];
	*n = u;
	return f;
}

/* objdump's starts in [lo, hi), cut at its first undecodable line there. */
static void objdump_range(const struct listing *l, uint64_t lo, uint64_t hi,
                          const uint64_t **v, size_t *n, uint64_t *bad_at)
{
	size_t first = lower_bound(&l->starts, lo), last = lower_bound(&l->starts, hi);
	size_t b = lower_bound(&l->bad, lo);
	*bad_at = b < l->bad.n && l->bad.v[b] < hi ? l->bad.v[b] : UINT64_MAX;
	if (*bad_at != UINT64_MAX)
		last = lower_bound(&l->starts, *bad_at);
	*v = l->starts.v + first;
	*n = last - first;
}

/* Compares every function of one target (capstone over the whole function,
 * then pv_analyze's boundaries and branch sources); returns the number of
 * disagreements and reports the first MAX_REPORTS of them. */
static size_t compare_target(const char *path)
{
	struct pv_error err = {0};
	struct pv_image *img = NULL;
	cr_assert_eq(pv_image_open(path, &img, &err), 0, "%s", err.msg);
	struct listing l;
	objdump_listing(path, &l);
	cr_assert_gt(l.starts.n, 0, "objdump printed no instruction for %s", path);

	csh cs;
	cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
	cr_assert_eq(cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON), CS_ERR_OK);
	cs_insn *insn = cs_malloc(cs);
	cr_assert_not_null(insn);

	size_t nf = 0, bad = 0, compared = 0, gap = 0;
	struct func *f = functions_of(img, &nf);
	struct addrs mine = {0};
	for (size_t i = 0; i < nf; i++) {
		size_t avail = 0;
		const unsigned char *code = pv_image_at(img, f[i].addr, &avail);
		if (!code || avail < f[i].size)
			continue; /* not file-backed: nothing to disassemble */
		uint64_t cs_bad, od_bad, where = 0;
		capstone_starts(cs, insn, code, (size_t)f[i].size, f[i].addr, &mine, &cs_bad);
		const uint64_t *theirs;
		size_t ntheirs;
		objdump_range(&l, f[i].addr, f[i].addr + f[i].size, &theirs, &ntheirs, &od_bad);
		uint64_t cut = cs_bad < od_bad ? cs_bad : od_bad;
		size_t nmine = mine.n, ntheirs_cut = ntheirs;
		while (nmine > 0 && mine.v[nmine - 1] >= cut)
			nmine--;
		while (ntheirs_cut > 0 && theirs[ntheirs_cut - 1] >= cut)
			ntheirs_cut--;
		compared++;
		if (!same_starts(mine.v, nmine, theirs, ntheirs_cut, &where)) {
			if (bad++ < MAX_REPORTS)
				cr_expect_fail("%s: %s (%#" PRIx64 ", %" PRIu64 " bytes): at %#" PRIx64
				               " (+%" PRIu64 ") an instruction starts for %s only",
				               path, f[i].name, f[i].addr, f[i].size, where,
				               where - f[i].addr,
				               contains(mine.v, nmine, where) ? "capstone" : "objdump");
		} else if (cs_bad < od_bad &&
		           capstone4_gap(code + (cs_bad - f[i].addr),
		                     (size_t)(f[i].addr + f[i].size - cs_bad),
		                     listing_text(&l, cs_bad))) {
			gap++; /* the documented capstone 4.0.2 gap, see the top */
		} else if (cs_bad != od_bad) {
			if (bad++ < MAX_REPORTS)
				cr_expect_fail("%s: %s (%#" PRIx64 "): first undecodable byte at %#" PRIx64
				               " for capstone but %#" PRIx64 " for objdump "
				               "(UINT64_MAX: none)",
				               path, f[i].name, f[i].addr, cs_bad, od_bad);
		}
	}
	cr_expect_gt(compared, 0, "%s: no function compared", path);
	if (gap)
		cr_log_info("%s: %zu of %zu functions compared only up to an AVX-512 or "
		            "shadow-stack instruction capstone 4.0.2 does not decode",
		            path, gap, compared);

	/* pv_analyze's own boundaries (first 32 bytes) against the same listing. */
	struct pv_analysis *a = NULL;
	cr_assert_eq(pv_analyze(img, NULL, NULL, 0, &a, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < a->nfunctions; i++) {
		const struct pv_function_report *r = &a->functions[i];
		size_t avail = 0;
		if (!pv_image_at(img, r->address, &avail) || avail < r->size)
			continue;
		uint64_t window = r->size < PV_PROLOGUE_WINDOW ? r->size : PV_PROLOGUE_WINDOW;
		const uint64_t *theirs;
		size_t ntheirs;
		uint64_t od_bad, where = 0;
		objdump_range(&l, r->address, r->address + window, &theirs, &ntheirs, &od_bad);
		uint64_t got[PV_PROLOGUE_WINDOW];
		for (size_t j = 0; j < r->nboundaries; j++)
			got[j] = r->address + r->boundaries[j];
		/* pv_analyze stops its list where capstone does: compare up to there
		 * when that is the capstone 4.0.2 gap. */
		if (r->nboundaries < ntheirs) {
			uint64_t stop = theirs[r->nboundaries];
			size_t avail2 = 0;
			const unsigned char *at = pv_image_at(img, stop, &avail2);
			if ((r->nboundaries == 0 || got[r->nboundaries - 1] < stop) && at &&
			    capstone4_gap(at, avail2, listing_text(&l, stop)))
				ntheirs = r->nboundaries;
		}
		if (!same_starts(got, r->nboundaries, theirs, ntheirs, &where) && bad++ < MAX_REPORTS)
			cr_expect_fail("%s: pv_analyze boundaries of %s differ from objdump at +%" PRIu64,
			               path, r->name, where - r->address);

		/* Every branch into the prologue comes from an instruction objdump
		 * also decodes as a direct jump or call to inside the first 5 bytes
		 * (a misaligned scan would report bogus ones). */
		for (size_t j = 0; j < r->nbranch_sources; j++) {
			const char *text = listing_text(&l, r->branch_sources[j]);
			uint64_t t = 0;
			bool ok = text && objdump_branch_target(text, &t) && t > r->address &&
			          t < r->address + PV_JUMP_LEN;
			if (!ok && bad++ < MAX_REPORTS)
				cr_expect_fail("%s: branch into %s reported from %#" PRIx64
				               ", where objdump shows %s",
				               path, r->name, r->branch_sources[j],
				               text ? text : "no instruction start");
		}
	}
	pv_analysis_free(a);

	free(mine.v);
	free(f);
	cs_free(insn, 1);
	cs_close(&cs);
	listing_free(&l);
	pv_image_close(img);
	return bad;
}

/* One test per file in build/corpora/targets. */
struct target_param {
	char name[256];
};

static size_t list_targets(struct target_param *out, size_t max)
{
	DIR *d = opendir(TARGETS_DIR);
	if (!d)
		return 0;
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		char path[512];
		struct stat st;
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(out->name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", TARGETS_DIR, e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (out && n < max)
			strcpy(out[n].name, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

ParameterizedTestParameters(objdump, boundaries_agree)
{
	size_t n = list_targets(NULL, 0);
	struct target_param *p = cr_malloc((n ? n : 1) * sizeof(*p));
	n = list_targets(p, n);
	return cr_make_param_array(struct target_param, p, n);
}

ParameterizedTest(struct target_param *p, objdump, boundaries_agree, .timeout = 120)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", TARGETS_DIR, p->name);
	size_t bad = compare_target(path);
	cr_expect_eq(bad, 0, "%s: %zu disagreements with objdump", path, bad);
}

/* Without corpora the parameterized test runs zero times; fail instead. */
Test(objdump, corpora_present)
{
	cr_expect_geq(list_targets(NULL, 0), 4, "fewer than 4 targets in %s: run make corpora",
	              TARGETS_DIR);
}

/* The comparison itself notices one moved boundary. */
Test(objdump, comparison_detects_a_moved_boundary)
{
	const uint64_t ref[] = {0x10, 0x12, 0x15, 0x19, 0x1b};
	uint64_t moved[] = {0x10, 0x12, 0x16, 0x19, 0x1b};
	uint64_t where = 0;
	cr_expect(same_starts(ref, 5, ref, 5, &where));
	cr_expect(!same_starts(ref, 5, moved, 5, &where));
	cr_expect_eq(where, 0x15);
	cr_expect(!same_starts(ref, 5, ref, 4, &where));
	cr_expect_eq(where, 0x1b);
	cr_expect(!same_starts(ref, 4, ref, 5, &where));
	cr_expect_eq(where, 0x1b);
}
