/* alloc: a memory-heavy workload for `patchvet bench`. Each operation
 * allocates a buffer of 64-255 bytes, fills it, copies it with copy_blob()
 * into a second buffer, checksums the copy and frees both. The patches
 * replace copy_blob (alloc-fix copies backwards, alloc-identity the same
 * loop), so a wrong copy shows in the checksums pv_verify recomputes. */
#include <patchvet/target.h>

static unsigned long sums[PV_MAX_WORKERS];
static unsigned long calls[PV_MAX_WORKERS];

/* noipa: every copy goes through the one function a patch replaces; a
 * loop, not a memcpy call, in every build (as in alloc-identity). */
__attribute__((noipa, optimize("no-tree-loop-distribute-patterns"))) void copy_blob(unsigned char *dst, const unsigned char *src,
                                      unsigned long n)
{
	for (unsigned long k = 0; k < n; k++)
		dst[k] = src[k];
}

static unsigned long blob_size(unsigned long i)
{
	return 64 + (i * 37) % 192;
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	unsigned long sum = 0, n = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		unsigned long size = blob_size(i);
		unsigned char *a = pv_alloc(size), *b = pv_alloc(size);
		if (!a || !b)
			break;
		for (unsigned long k = 0; k < size; k++)
			a[k] = (unsigned char)(i + k + index);
		copy_blob(b, a, size);
		for (unsigned long k = 0; k < size; k++)
			sum += b[k] * (k + 1);
		pv_free(a);
		pv_free(b);
		n++;
	}
	sums[index] = sum;
	calls[index] = n;
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	for (unsigned idx = 0; idx < w->workers; idx++) {
		unsigned long want = 0;
		for (unsigned long i = 0; i < w->iterations; i++)
			for (unsigned long k = 0, size = blob_size(i); k < size; k++)
				want += (unsigned char)(i + k + idx) * (k + 1);
		if (calls[idx] != w->iterations) {
			SAY("alloc: a worker could not allocate its buffers\n");
			return 1;
		}
		if (sums[idx] != want) {
			SAY("alloc: a copy differs from its source (checksum)\n");
			return 1;
		}
	}
	return 0;
}
