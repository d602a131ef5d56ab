/* xz-blocks: the oracle of the xz scenarios.
 *
 *     xz-blocks INPUT OUTPUT.xz
 *
 * OUTPUT.xz must be one .xz stream whose data, decoded without trusting its
 * checks, equals INPUT byte for byte, and every block's stored CRC64 must be
 * one that a sequence of whole lzma_crc64 calls, old or new, produces:
 *
 *   old    CRC64 of the block (what liblzma computes);
 *   new    what corpora/programs/patches/lzma-crc64-xor.c computes for the
 *          whole block: CRC64(data, K) ^ K;
 *   mixed  old calls, then new calls from byte A, then old calls again from
 *          byte B (A < B <= size; B = size: new to the end; A = 0: new from
 *          the start). xz's workers feed a block to lzma_crc64 16 KiB at a
 *          time, chaining the values, so apply or revert while a block is in
 *          progress gives this.
 *
 * Why that is decidable: with M the linear map of one zero byte through the
 * CRC register, new(c, X) = old(c, X) ^ M^|X| K ^ K, so a block of n bytes
 * whose calls from A to B ran the new code stores old ^ M^(n-A) K ^ M^(n-B) K.
 * The oracle tabulates M^j K for j = 0..n and looks for the pair. A wrong
 * value matches by chance with probability about n^2 / 2^65.
 *
 * It prints one line: the counts of old, new and mixed blocks (so version
 * mixing shows), and exits 0; or one line saying what is wrong, and exits 1
 * (2 on bad usage or unreadable files). */
#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K 0x5a17c0de5a17c0deull /* as in lzma-crc64-xor.c */
#define POLY 0xc96c5795d7870f42ull

static uint64_t table[256];

static void table_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;
		for (int b = 0; b < 8; b++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		table[i] = c;
	}
}

static uint64_t crc64(const uint8_t *p, size_t n, uint64_t crc)
{
	uint64_t c = ~crc;
	while (n--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

static uint64_t zero_byte(uint64_t r)
{
	return table[r & 0xff] ^ (r >> 8);
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
	uint64_t r = K;
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
	table_init();
	if (crc64((const uint8_t *)"123456789", 9, 0) != 0x995dc9bbdf1939faull ||
	    lzma_crc64((const uint8_t *)"123456789", 9, 0) != 0x995dc9bbdf1939faull) {
		fprintf(stderr, "xz-blocks: CRC64 self-test failed\n");
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
		printf("xz-blocks: %s is not one whole .xz stream (%zu bytes)\n", argv[2], xz_len);
		return 1;
	}
	if (header.check != LZMA_CHECK_CRC64) {
		printf("xz-blocks: %s: the check is not CRC64 (type %d)\n", argv[2], header.check);
		return 1;
	}
	lzma_index *idx = NULL;
	uint64_t memlimit = UINT64_MAX;
	size_t ipos = 0;
	size_t index_at = xz_len - LZMA_STREAM_HEADER_SIZE - footer.backward_size;
	if (lzma_index_buffer_decode(&idx, &memlimit, NULL, xz + index_at, &ipos,
	                             footer.backward_size) != LZMA_OK) {
		printf("xz-blocks: %s: the index does not decode\n", argv[2]);
		return 1;
	}

	/* The data, checks ignored: the checks are judged below. */
	uint64_t out_len = lzma_index_uncompressed_size(idx);
	if (out_len != in_len) {
		printf("xz-blocks: %s holds %" PRIu64 " bytes, the input %zu\n", argv[2], out_len,
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
		printf("xz-blocks: %s does not decode (liblzma error %d after %zu bytes)\n", argv[2],
		       dr, opos);
		return 1;
	}
	if (memcmp(out, in, in_len)) {
		size_t i = 0;
		while (out[i] == in[i])
			i++;
		printf("xz-blocks: the data of %s differs from the input at byte %zu\n", argv[2], i);
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
		uint64_t at = it.block.compressed_file_offset + it.block.total_size - 8;
		uint64_t stored = 0;
		for (int b = 7; b >= 0; b--)
			stored = stored << 8 | xz[at + (uint64_t)b];
		const uint8_t *data = in + it.block.uncompressed_file_offset;
		size_t n = (size_t)it.block.uncompressed_size;
		uint64_t old = crc64(data, n, 0);
		uint64_t delta = stored ^ old;
		if (!delta) {
			n_old++;
			continue;
		}
		/* delta = M^(n-A) K ^ M^(n-B) K with 0 <= A < B <= n, i.e. a pair
		 * j2 = n-A > j1 = n-B. */
		struct powmap m;
		if (powmap_build(&m, n)) {
			fprintf(stderr, "xz-blocks: out of memory\n");
			return 2;
		}
		long j1 = -1, j2 = -1;
		uint64_t r = K;
		for (long j = 0; j <= (long)n && j2 < 0; j++, r = zero_byte(r)) {
			long other = powmap_find(&m, delta ^ r, j);
			if (other >= 0) {
				j1 = j;
				j2 = other;
			}
		}
		powmap_free(&m);
		if (j2 < 0) {
			printf("xz-blocks: block %u (bytes %" PRIu64 "-%" PRIu64 " of the data) stores "
			       "CRC64 %016" PRIx64 ": not the CRC64 of its data (%016" PRIx64 "), nor "
			       "the new function's, nor any mix of whole old and new calls\n",
			       nb, (uint64_t)it.block.uncompressed_file_offset,
			       (uint64_t)(it.block.uncompressed_file_offset + n - 1), stored, old);
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
	printf("xz-blocks: %u blocks, data as the input: %u old, %u new, %u mixed%s%s%s\n", nb,
	       n_old, n_new, n_mixed, mixed_len ? " (" : "", mixed, mixed_len ? ")" : "");
	lzma_index_end(idx, NULL);
	free(in);
	free(xz);
	free(out);
	return 0;
}
