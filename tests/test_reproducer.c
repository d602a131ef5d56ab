/* Suite `reproducer`: the .pvr format round-trips exactly, and every kind of
 * damaged or foreign file is refused with a sentence, never a crash. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/util/hash.h"
#include "../harness/load/reproducer.h"

static uint8_t stream[300];

static void sample(struct pv_reproducer *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(i * 37 + 11);
	snprintf(r->patchvet_version, sizeof(r->patchvet_version), "0.1.0");
	snprintf(r->engine, sizeof(r->engine), "naive-write");
	snprintf(r->scenario, sizeof(r->scenario), "counter");
	snprintf(r->scenario_file, sizeof(r->scenario_file), "/x/corpora/scenarios/counter/scenario.ini");
	snprintf(r->backend, sizeof(r->backend), "emu");
	snprintf(r->flavour, sizeof(r->flavour), "plain");
	snprintf(r->mem_model, sizeof(r->mem_model), "byte");
	r->workers = 2;
	r->iterations = 1000;
	r->param = -7;
	snprintf(r->target, sizeof(r->target), "/x/corpora/emu/counter plain"); /* a blank in a path */
	memset(r->target_sha256, 'a', 64);
	snprintf(r->patch, sizeof(r->patch), "/x/corpora/patches/counter-fix.so");
	memset(r->patch_sha256, '0', 64);
	snprintf(r->explorer, sizeof(r->explorer), "random");
	r->seed = UINT64_MAX;
	r->schedule = 1234567;
	snprintf(r->check, sizeof(r->check), "torn-exec");
	r->thread = -1;
	r->address = 0xffffffff81000000ull;
	r->step = 42;
	snprintf(r->detail, sizeof(r->detail), "thread 1 executed 0x401136, inside the jmp");
	r->stream = stream;
	r->stream_len = sizeof(stream);
}

static char *format(const struct pv_reproducer *r, size_t *len)
{
	char *text;
	struct pv_error err;
	cr_assert_eq(pv_reproducer_format(r, &text, len, &err), 0, "%s", err.msg);
	return text;
}

static void expect_fails(const char *text, size_t len, int code, const char *mention)
{
	struct pv_reproducer *r = (struct pv_reproducer *)1;
	struct pv_error err;
	pv_error_clear(&err);
	int rc = pv_reproducer_parse("t.pvr", text, len, &r, &err);
	cr_expect_eq(rc, code, "parse gave %d (%s), wanted %d", rc, err.msg, code);
	cr_expect_null(r, "a result despite the error");
	cr_expect_neq(err.msg[0], '\0', "no message");
	cr_expect(strstr(err.msg, "t.pvr") != NULL, "message does not name the file: %s", err.msg);
	if (mention)
		cr_expect(strstr(err.msg, mention) != NULL, "'%s' not in: %s", mention, err.msg);
	if (!rc)
		pv_reproducer_free(r);
}

/* text with the first `from` replaced by `to` (from must occur). */
static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	cr_assert_not_null(at, "'%s' not in the text", from);
	char *out = malloc(strlen(text) + strlen(to) + 1);
	size_t head = (size_t)(at - text);
	memcpy(out, text, head);
	strcpy(out + head, to);
	strcat(out, at + strlen(from));
	return out;
}

static void expect_replaced_fails(const char *text, const char *from, const char *to,
                                  int code, const char *mention)
{
	char *t = replace(text, from, to);
	expect_fails(t, strlen(t), code, mention);
	free(t);
}

Test(reproducer, round_trip)
{
	struct pv_reproducer a, *b = NULL;
	struct pv_error err;
	sample(&a);
	size_t len;
	char *text = format(&a, &len);
	cr_expect(strncmp(text, "patchvet-reproducer 1\n", 22) == 0, "%.40s", text);
	cr_assert_eq(pv_reproducer_parse("t.pvr", text, len, &b, &err), 0, "%s", err.msg);
	cr_expect_str_eq(b->engine, a.engine);
	cr_expect_str_eq(b->scenario_file, a.scenario_file);
	cr_expect_str_eq(b->target, a.target);
	cr_expect_str_eq(b->target_sha256, a.target_sha256);
	cr_expect_str_eq(b->patch_sha256, a.patch_sha256);
	cr_expect_str_eq(b->detail, a.detail);
	cr_expect_str_eq(b->mem_model, "byte");
	cr_expect_eq(b->workers, 2);
	cr_expect_eq(b->iterations, 1000);
	cr_expect_eq(b->param, -7);
	cr_expect_eq(b->seed, UINT64_MAX);
	cr_expect_eq(b->schedule, 1234567);
	cr_expect_eq(b->thread, -1);
	cr_expect_eq(b->address, 0xffffffff81000000ull);
	cr_expect_eq(b->step, 42);
	cr_assert_eq(b->stream_len, sizeof(stream));
	cr_expect_eq(memcmp(b->stream, stream, sizeof(stream)), 0);
	/* and formatting the parsed one gives the same text */
	size_t len2;
	char *text2 = format(b, &len2);
	cr_expect_eq(len2, len);
	cr_expect_eq(memcmp(text, text2, len), 0);
	free(text2);
	free(text);
	pv_reproducer_free(b);
}

Test(reproducer, empty_stream_and_file_round_trip)
{
	struct pv_reproducer a, *b = NULL;
	struct pv_error err;
	sample(&a);
	a.stream_len = 0;
	char dir[] = "/tmp/pvrepro.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/x.pvr", dir);
	cr_assert_eq(pv_reproducer_save(path, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(pv_reproducer_load(path, &b, &err), 0, "%s", err.msg);
	cr_expect_eq(b->stream_len, 0);
	pv_reproducer_free(b);
	unlink(path);
	rmdir(dir);
	cr_expect_eq(pv_reproducer_load(path, &b, &err), PV_ENOENT);
	cr_expect_null(b);
}

Test(reproducer, control_characters_stay_on_one_line)
{
	struct pv_reproducer a, *b = NULL;
	struct pv_error err;
	sample(&a);
	snprintf(a.detail, sizeof(a.detail), "two\nlines\rand a\ttab");
	size_t len;
	char *text = format(&a, &len);
	cr_assert_eq(pv_reproducer_parse("t.pvr", text, len, &b, &err), 0, "%s", err.msg);
	cr_expect_str_eq(b->detail, "two lines and a tab");
	free(text);
	pv_reproducer_free(b);
}

/* Found by fuzz/parse_repro.c: a value holding a control character parsed,
 * but could not be written back the same (the writer turns it into a
 * space), so a reproducer did not round-trip. */
Test(reproducer, control_character_in_a_value_is_refused)
{
	struct pv_reproducer a;
	sample(&a);
	size_t len;
	char *text = format(&a, &len);
	expect_replaced_fails(text, "check torn-exec", "check torn\x03" "exec", PV_EFORMAT,
	                      "control character");
	expect_replaced_fails(text, "engine naive-write", "engine naive\x7fwrite", PV_EFORMAT,
	                      "'engine' holds a control character");
	expect_replaced_fails(text, "detail thread 1", "detail thread\t1", PV_EFORMAT, "detail");
	/* a NUL inside a value would cut it short: refused as binary data */
	char *t = replace(text, "check torn-exec", "check torn?exec");
	*strchr(t, '?') = '\0';
	expect_fails(t, len, PV_EFORMAT, NULL);
	free(t);
	free(text);
}

Test(reproducer, every_truncation_is_refused)
{
	struct pv_reproducer a;
	sample(&a);
	size_t len;
	char *text = format(&a, &len);
	for (size_t cut = 0; cut < len; cut++) {
		char *t = malloc(cut + 1);
		memcpy(t, text, cut);
		t[cut] = '\0';
		struct pv_reproducer *r = NULL;
		struct pv_error err;
		pv_error_clear(&err);
		int rc = pv_reproducer_parse("t.pvr", t, cut, &r, &err);
		cr_expect_eq(rc, PV_EFORMAT, "a file cut at %zu of %zu bytes gave %d", cut, len, rc);
		cr_expect_null(r);
		pv_reproducer_free(r);
		free(t);
	}
	free(text);
}

Test(reproducer, bad_hex_and_lengths)
{
	struct pv_reproducer a;
	sample(&a);
	a.stream_len = 40;
	size_t len;
	char *text = format(&a, &len);
	char *line = strstr(text, "stream 40\n") + strlen("stream 40\n");
	char saved = line[5];
	line[5] = 'g';
	expect_fails(text, len, PV_EFORMAT, "hex");
	line[5] = saved;
	expect_replaced_fails(text, "stream 40", "stream 41", PV_EFORMAT, "41");
	expect_replaced_fails(text, "stream 40", "stream 39", PV_EFORMAT, "longer");
	expect_replaced_fails(text, "stream 40", "stream 4000000000", PV_EFORMAT, "stream");
	expect_replaced_fails(text, "stream 40", "stream -1", PV_EFORMAT, "stream");
	/* an odd number of digits on a line */
	char *odd = replace(text, "\nend\n", "0\nend\n");
	expect_fails(odd, strlen(odd), PV_EFORMAT, "pairs");
	free(odd);
	expect_replaced_fails(text, "\nend\n", "\nend\nmore\n", PV_EFORMAT, "after 'end'");
	expect_replaced_fails(text, "\nend\n", "\nEND\n", PV_EFORMAT, NULL);
	free(text);
}

Test(reproducer, versions_and_garbage)
{
	struct pv_reproducer a;
	sample(&a);
	size_t len;
	char *text = format(&a, &len);
	expect_replaced_fails(text, "patchvet-reproducer 1", "patchvet-reproducer 2", PV_EABI,
	                      "version 2");
	expect_replaced_fails(text, "patchvet-reproducer 1", "patchvet-reproducer x", PV_EFORMAT,
	                      "version");
	expect_replaced_fails(text, "patchvet-reproducer 1", "patchvet-reproducer", PV_EFORMAT,
	                      "reproducer");
	expect_replaced_fails(text, "patchvet-reproducer 1", "PK\x03\x04", PV_EFORMAT,
	                      "not a patchvet reproducer");
	expect_fails("", 0, PV_EFORMAT, NULL);
	expect_fails("\n", 1, PV_EFORMAT, NULL);
	static const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0";
	expect_fails(elf, sizeof(elf), PV_EFORMAT, NULL);
	text[100] = '\0';
	expect_fails(text, len, PV_EFORMAT, "binary");
	free(text);
	/* pseudo-random garbage, with and without a valid first line */
	uint64_t x = 88172645463325252ull;
	for (int round = 0; round < 200; round++) {
		char buf[512];
		size_t n = 0;
		if (round % 2)
			n = (size_t)snprintf(buf, sizeof(buf), "patchvet-reproducer 1\n");
		size_t want = (size_t)(round * 7 % 480);
		while (n < want) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			char c = (char)(x % 96 + 32);
			buf[n++] = (x >> 20) % 9 == 0 ? '\n' : (x >> 30) % 13 == 0 ? ' ' : c;
		}
		struct pv_reproducer *r = NULL;
		struct pv_error err;
		cr_expect_neq(pv_reproducer_parse("g.pvr", buf, n, &r, &err), 0, "garbage accepted");
		pv_reproducer_free(r);
	}
}

Test(reproducer, header_keys_are_strict)
{
	struct pv_reproducer a;
	sample(&a);
	size_t len;
	char *text = format(&a, &len);
	expect_replaced_fails(text, "engine naive-write\n", "", PV_EFORMAT, "missing key 'engine'");
	expect_replaced_fails(text, "engine naive-write\n", "engine naive-write\nengine x\n",
	                      PV_EFORMAT, "twice");
	expect_replaced_fails(text, "engine naive-write\n", "engine naive-write\ncolour blue\n",
	                      PV_EFORMAT, "unknown key 'colour'");
	expect_replaced_fails(text, "engine naive-write\n", "engine\n", PV_EFORMAT, "KEY VALUE");
	expect_replaced_fails(text, "thread -1", "thread one", PV_EFORMAT, "thread");
	expect_replaced_fails(text, "thread -1", "thread 99999999999", PV_EFORMAT, "thread");
	expect_replaced_fails(text, "workers 2", "workers -2", PV_EFORMAT, "workers");
	expect_replaced_fails(text, "workers 2", "workers 2x", PV_EFORMAT, "workers");
	expect_replaced_fails(text, "workers 2", "workers ", PV_EFORMAT, "workers");
	expect_replaced_fails(text, "seed 18446744073709551615", "seed 18446744073709551616",
	                      PV_EFORMAT, "seed");
	expect_replaced_fails(text, "address 0xffffffff81000000", "address 123", PV_EFORMAT,
	                      "address");
	expect_replaced_fails(text, "address 0xffffffff81000000", "address 0x", PV_EFORMAT,
	                      "address");
	expect_replaced_fails(text, "target-sha256 aaaa", "target-sha256 aaa", PV_EFORMAT,
	                      "64");
	expect_replaced_fails(text, "patch-sha256 0000", "patch-sha256 000G", PV_EFORMAT, "hex");
	char longname[300];
	memset(longname, 'e', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	char repl[320];
	snprintf(repl, sizeof(repl), "engine %s\n", longname);
	expect_replaced_fails(text, "engine naive-write\n", repl, PV_EFORMAT, "longer");
	/* comments and blank lines in the header are fine */
	char *ok = replace(text, "engine naive-write\n", "\n# a note\nengine naive-write\n");
	struct pv_reproducer *r = NULL;
	struct pv_error err;
	cr_expect_eq(pv_reproducer_parse("t.pvr", ok, strlen(ok), &r, &err), 0, "%s", err.msg);
	pv_reproducer_free(r);
	free(ok);
	free(text);
}

Test(reproducer, hash_mismatch_names_the_binary)
{
	char dir[] = "/tmp/pvrepro.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char t[64], p[64];
	snprintf(t, sizeof(t), "%s/target", dir);
	snprintf(p, sizeof(p), "%s/patch.so", dir);
	FILE *f = fopen(t, "w");
	fputs("target bytes", f);
	fclose(f);
	f = fopen(p, "w");
	fputs("patch bytes", f);
	fclose(f);
	struct pv_reproducer a;
	struct pv_error err;
	sample(&a);
	cr_assert_eq(pv_sha256_file(t, a.target_sha256, &err), 0, "%s", err.msg);
	cr_assert_eq(pv_sha256_file(p, a.patch_sha256, &err), 0, "%s", err.msg);
	cr_expect_eq(pv_reproducer_check_binaries(&a, t, p, &err), 0, "%s", err.msg);
	cr_expect_eq(pv_reproducer_check_binaries(&a, p, p, &err), PV_EABI);
	cr_expect(strstr(err.msg, "reproducer was recorded for other binaries: target sha256 "
	                          "differs") != NULL, "%s", err.msg);
	cr_expect_eq(pv_reproducer_check_binaries(&a, t, t, &err), PV_EABI);
	cr_expect(strstr(err.msg, "patch sha256 differs") != NULL, "%s", err.msg);
	cr_expect_eq(pv_reproducer_check_binaries(&a, "/nonexistent/x", p, &err), PV_ENOENT);
	unlink(t);
	unlink(p);
	rmdir(dir);
}

Test(reproducer, sha256_known_answer)
{
	char hex[65];
	struct pv_error err;
	cr_assert_eq(pv_sha256_buf("abc", 3, hex, &err), 0);
	cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Engines loaded from files: engine-spec and engine-sha256 round-trip; a
 * built-in engine's file has neither (as every file before them did), and
 * one of the two alone is refused. */
Test(reproducer, engine_spec_keys_are_optional_but_paired)
{
	struct pv_reproducer r;
	sample(&r);
	size_t len;
	char *text = format(&r, &len);
	cr_expect_null(strstr(text, "engine-spec"), "%s", text);
	cr_expect_null(strstr(text, "engine-sha256"), "%s", text);
	free(text);
	snprintf(r.engine_spec, sizeof(r.engine_spec), "exec:/opt/my tools/patcher.exec");
	memset(r.engine_sha256, 'c', 64);
	text = format(&r, &len);
	cr_expect(strstr(text, "\nengine-spec exec:/opt/my tools/patcher.exec\n"), "%s", text);
	struct pv_reproducer *back = NULL;
	struct pv_error err;
	cr_assert_eq(pv_reproducer_parse("t.pvr", text, len, &back, &err), 0, "%s", err.msg);
	cr_expect_str_eq(back->engine_spec, r.engine_spec);
	cr_expect_str_eq(back->engine_sha256, r.engine_sha256);
	pv_reproducer_free(back);
	char *half = replace(text, "engine-sha256 ", "# engine-sha256 ");
	expect_fails(half, strlen(half), PV_EFORMAT, "go together");
	free(half);
	half = replace(text, "engine-spec ", "# engine-spec ");
	expect_fails(half, strlen(half), PV_EFORMAT, "go together");
	free(half);
	char *twice = replace(text, "engine-spec ", "engine-spec /a.so\nengine-spec ");
	expect_fails(twice, strlen(twice), PV_EFORMAT, "twice");
	free(twice);
	free(text);
}
