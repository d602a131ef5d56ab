/* Preloaded by selfcheck.sh into xz: liblzma's lzma_crc64, with calls
 * numbered in the order they start (over all threads):
 *   PV_MIX="A B": calls A..B-1 run the new function of lzma-crc64-xor.c, the
 *     others liblzma's, as an engine that applies before call A and reverts
 *     before call B would make them (the oracle must accept it, and report
 *     the blocks in progress at A and B as mixed);
 *   PV_BREAK_AT=N: call N returns a value off by one bit (the oracle must
 *     reject it). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#define XOR_K 0x5a17c0de5a17c0deull
#define lzma_crc64_v2 new_crc64
#include "../patches/lzma-crc64.h"

static atomic_long calls;

uint64_t lzma_crc64(const uint8_t *buf, size_t size, uint64_t crc)
{
	uint64_t (*real)(const uint8_t *, size_t, uint64_t) =
		(uint64_t (*)(const uint8_t *, size_t, uint64_t))dlsym(RTLD_NEXT, "lzma_crc64");
	long n = atomic_fetch_add(&calls, 1);
	long a = -1, b = -1;
	const char *mix = getenv("PV_MIX"), *at = getenv("PV_BREAK_AT");
	if (mix && sscanf(mix, "%ld %ld", &a, &b) == 2 && n >= a && n < b)
		return new_crc64(buf, size, crc);
	uint64_t v = real(buf, size, crc);
	return at && n == atol(at) ? v ^ 1 : v;
}
