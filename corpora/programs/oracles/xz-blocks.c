/* xz-blocks: the oracle of the xz scenarios.
 *
 *     xz-blocks INPUT OUTPUT.xz
 *
 * OUTPUT.xz must be one .xz stream whose data, decoded without trusting its
 * checks, equals INPUT byte for byte, and every block's stored check (CRC64,
 * xz's default, or CRC32 with --check=crc32) must be one that a sequence of
 * whole lzma_crc64 (lzma_crc32) calls, old or new, produces:
 *
 *   old    the CRC of the block (what liblzma computes);
 *   new    what corpora/programs/patches/lzma-crc64-xor.c computes for the
 *          whole block: CRC(data, K) ^ K;
 *   mixed  old calls, then new calls from byte A, then old calls again from
 *          byte B (A < B <= size; B = size: new to the end; A = 0: new from
 *          the start). xz's workers feed a block to lzma_crc64 16 KiB at a
 *          time, chaining the values, so apply or revert while a block is in
 *          progress gives this.
 *
 * Why that is decidable: with M the linear map of one zero byte through the
 * CRC register, new(c, X) = old(c, X) ^ M^|X| K ^ K, so a block of n bytes
 * whose calls from A to B ran the new code stores old ^ M^(n-A) K ^ M^(n-B) K.
 * The oracle tabulates M^j K for j = 0..n and looks for the pair. With CRC64
 * a wrong value matches by chance with probability about n^2 / 2^65 for a
 * block of n bytes; with CRC32 the switches must be at multiples of 4 KiB
 * (xz's calls are), which leaves about (n / 4096)^2 / 2^33.
 *
 * It prints one line on stderr (where patchvet shows the first line of a
 * failed oracle): the counts of old, new and mixed blocks (so version mixing
 * shows), and exits 0; or what is wrong, and exits 1 (2 on bad usage or
 * unreadable files). */
#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The check of the stream: CRC64 (xz's default) or CRC32 (--check=crc32),
 * with K as in lzma-crc64-xor.c and lzma-crc32-xor.c. */
struct crc {
	uint64_t table[256];
	uint64_t mask; /* of the width */
	uint64_t k;
	unsigned size; /* bytes */
	const char *name;
};
static struct crc crc;

static void crc_init(int crc32)
{
	uint64_t poly = crc32 ? 0xedb88320ull : 0xc96c5795d7870f42ull;
	crc.mask = crc32 ? 0xffffffffull : ~0ull;
	crc.k = crc32 ? 0x5a17c0deull : 0x5a17c0de5a17c0deull;
	crc.size = crc32 ? 4 : 8;
	crc.name = crc32 ? "CRC32" : "CRC64";
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;
		for (int b = 0; b < 8; b++)
			c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
		crc.table[i] = c;
	}
}

static uint64_t crc_of(const uint8_t *p, size_t n, uint64_t init)
{
	uint64_t c = ~init & crc.mask;
	while (n--)
		c = crc.table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c & crc.mask;
}

static uint64_t zero_byte(uint64_t r)
{
	return crc.table[r & 0xff] ^ (r >> 8);
}

static int slurp(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "xz-blocks: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 20, n = 0;
	uint8_t *b = malloc(cap);
	for (;;) {
		if (!b) {
			fclose(f);
			fprintf(stderr, "xz-blocks: out of memory reading %s\n", path);
			return -1;
		}
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		uint8_t *nb = realloc(b, cap);
		if (!nb)
			free(b);
		b = nb;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(b);
		fprintf(stderr, "xz-blocks: %s: read error\n", path);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Open-addressing map from M^j K to j. */
struct powmap {
	uint64_t *key;
	uint32_t *val; /* j + 1; 0 = empty */
	size_t mask;
};

static int powmap_build(struct powmap *m, size_t n)
{
	size_t cap = 1;
	while (cap < 2 * (n + 1))
		cap <<= 1;
	m->key = calloc(cap, sizeof *m->key);
	m->val = calloc(cap, sizeof *m->val);
	m->mask = cap - 1;
	if (!m->key || !m->val)
		return -1;
	uint64_t r = crc.k;
	for (size_t j = 0; j <= n; j++, r = zero_byte(r)) {
		size_t h = (size_t)((r * 0x9e3779b97f4a7c15ull) >> 17) & m->mask;
		while (m->val[h])
			h = (h + 1) & m->mask;
		m->key[h] = r;
		m->val[h] = (uint32_t)j + 1;
	}
	return 0;
}

/* The j > above with M^j K == v, or -1. */
static long powmap_find(const struct powmap *m, uint64_t v, long above)
{
	size_t h = (size_t)((v * 0x9e3779b97f4a7c15ull) >> 17) & m->mask;
	for (; m->val[h]; h = (h + 1) & m->mask)
		if (m->key[h] == v && (long)m->val[h] - 1 > above)
			return (long)m->val[h] - 1;
	return -1;
}

static void powmap_free(struct powmap *m)
{
	free(m->key);
	free(m->val);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: xz-blocks INPUT OUTPUT.xz\n");
		return 2;
	}
	uint8_t *in, *xz;
	size_t in_len, xz_len;
	if (slurp(argv[1], &in, &in_len) || slurp(argv[2], &xz, &xz_len))
		return 2;

	lzma_stream_flags header, footer;
	if (xz_len < 2 * LZMA_STREAM_HEADER_SIZE ||
	    lzma_stream_header_decode(&header, xz) != LZMA_OK ||
	    lzma_stream_footer_decode(&footer, xz + xz_len - LZMA_STREAM_HEADER_SIZE) != LZMA_OK ||
	    footer.backward_size > xz_len - 2 * LZMA_STREAM_HEADER_SIZE) {
		fprintf(stderr, "xz-blocks: %s is not one whole .xz stream (%zu bytes)\n", argv[2], xz_len);
		return 1;
	}
	if (header.check != LZMA_CHECK_CRC64 && header.check != LZMA_CHECK_CRC32) {
		fprintf(stderr, "xz-blocks: %s: the check is neither CRC64 nor CRC32 (type %d)\n", argv[2],
		       header.check);
		return 1;
	}
	crc_init(header.check == LZMA_CHECK_CRC32);
	const uint8_t *t9 = (const uint8_t *)"123456789";
	if (crc_of(t9, 9, 0) != (crc.size == 4 ? lzma_crc32(t9, 9, 0) : lzma_crc64(t9, 9, 0)) ||
	    crc_of(t9, 9, 0) != (crc.size == 4 ? 0xcbf43926ull : 0x995dc9bbdf1939faull)) {
		fprintf(stderr, "xz-blocks: %s self-test failed\n", crc.name);
		return 2;
	}
	lzma_index *idx = NULL;
	uint64_t memlimit = UINT64_MAX;
	size_t ipos = 0;
	size_t index_at = xz_len - LZMA_STREAM_HEADER_SIZE - footer.backward_size;
	if (lzma_index_buffer_decode(&idx, &memlimit, NULL, xz + index_at, &ipos,
	                             footer.backward_size) != LZMA_OK) {
		fprintf(stderr, "xz-blocks: %s: the index does not decode\n", argv[2]);
		return 1;
	}

	/* The data, checks ignored: the checks are judged below. */
	uint64_t out_len = lzma_index_uncompressed_size(idx);
	if (out_len != in_len) {
		fprintf(stderr, "xz-blocks: %s holds %" PRIu64 " bytes, the input %zu\n", argv[2], out_len,
		       in_len);
		return 1;
	}
	uint8_t *out = malloc(out_len ? out_len : 1);
	if (!out) {
		fprintf(stderr, "xz-blocks: out of memory\n");
		return 2;
	}
	size_t xpos = 0, opos = 0;
	uint64_t dlimit = UINT64_MAX;
	lzma_ret dr = lzma_stream_buffer_decode(&dlimit, LZMA_IGNORE_CHECK, NULL, xz, &xpos, xz_len,
	                                        out, &opos, out_len);
	if (dr != LZMA_OK || opos != in_len) {
		fprintf(stderr, "xz-blocks: %s does not decode (liblzma error %d after %zu bytes)\n", argv[2],
		       dr, opos);
		return 1;
	}
	if (memcmp(out, in, in_len)) {
		size_t i = 0;
		while (out[i] == in[i])
			i++;
		fprintf(stderr, "xz-blocks: the data of %s differs from the input at byte %zu\n", argv[2], i);
		return 1;
	}

	lzma_index_iter it;
	lzma_index_iter_init(&it, idx);
	unsigned n_old = 0, n_new = 0, n_mixed = 0, nb = 0;
	char mixed[512] = "";
	size_t mixed_len = 0;
	while (!lzma_index_iter_next(&it, LZMA_INDEX_ITER_BLOCK)) {
		nb++;
		/* Header, compressed data, padding to 4 bytes, then the check. */
		uint64_t at = it.block.compressed_file_offset + it.block.total_size - crc.size;
		uint64_t stored = 0;
		for (int b = (int)crc.size - 1; b >= 0; b--)
			stored = stored << 8 | xz[at + (uint64_t)b];
		const uint8_t *data = in + it.block.uncompressed_file_offset;
		size_t n = (size_t)it.block.uncompressed_size;
		uint64_t old = crc_of(data, n, 0);
		uint64_t delta = stored ^ old;
		if (!delta) {
			n_old++;
			continue;
		}
		/* delta = M^(n-A) K ^ M^(n-B) K with 0 <= A < B <= n, i.e. a pair
		 * j2 = n-A > j1 = n-B. */
		long j1 = -1, j2 = -1;
		if (crc.size == 8) {
			/* Any byte offsets: 64 bits leave room for every pair. */
			struct powmap m;
			if (powmap_build(&m, n)) {
				fprintf(stderr, "xz-blocks: out of memory\n");
				return 2;
			}
			uint64_t r = crc.k;
			for (long j = 0; j <= (long)n && j2 < 0; j++, r = zero_byte(r)) {
				long other = powmap_find(&m, delta ^ r, j);
				if (other >= 0) {
					j1 = j;
					j2 = other;
				}
			}
			powmap_free(&m);
		} else {
			/* 32 bits would match any value with some pair of byte
			 * offsets, so the switches must be at multiples of
			 * SWITCH_GRAIN from the block's start (xz's reads are 8 KiB,
			 * its workers' calls 16 KiB) or at its end. */
			enum { SWITCH_GRAIN = 4096 };
			uint64_t *v = malloc((n + 1) * sizeof *v);
			if (!v) {
				fprintf(stderr, "xz-blocks: out of memory\n");
				return 2;
			}
			v[0] = crc.k;
			for (size_t j = 1; j <= n; j++)
				v[j] = zero_byte(v[j - 1]);
			for (size_t a0 = 0; a0 < n && j2 < 0; a0 += SWITCH_GRAIN)
				for (size_t b0 = a0 + SWITCH_GRAIN;; b0 += SWITCH_GRAIN) {
					size_t b1 = b0 < n ? b0 : n;
					if ((v[n - a0] ^ v[n - b1]) == delta) {
						j2 = (long)(n - a0);
						j1 = (long)(n - b1);
						break;
					}
					if (b1 == n)
						break;
				}
			free(v);
		}
		if (j2 < 0) {
			fprintf(stderr, "xz-blocks: block %u (bytes %" PRIu64 "-%" PRIu64 " of the data) stores "
			       "%s %0*" PRIx64 ": not the %s of its data (%0*" PRIx64 "), nor "
			       "the new function's, nor any mix of whole old and new calls\n",
			       nb, (uint64_t)it.block.uncompressed_file_offset,
			       (uint64_t)(it.block.uncompressed_file_offset + n - 1), crc.name,
			       (int)crc.size * 2, stored, crc.name, (int)crc.size * 2, old);
			return 1;
		}
		size_t a = n - (size_t)j2, b = n - (size_t)j1;
		if (a == 0 && b == n) {
			n_new++;
			continue;
		}
		n_mixed++;
		if (mixed_len < sizeof mixed - 80)
			mixed_len += (size_t)snprintf(mixed + mixed_len, sizeof mixed - mixed_len,
			                              "%sblock %u: new from byte %zu to %zu of %zu",
			                              mixed_len ? "; " : "", nb, a, b, n);
	}
	fprintf(stderr, "xz-blocks: %u blocks (%s), data as the input: %u old, %u new, %u mixed%s%s%s\n",
	       nb, crc.name, n_old, n_new, n_mixed, mixed_len ? " (" : "", mixed, mixed_len ? ")" : "");
	lzma_index_end(idx, NULL);
	free(in);
	free(xz);
	free(out);
	return 0;
}
