/* alloc-identity: copy_blob as the target has it, so `patchvet bench`
 * measures the engine's redirection alone. */
#include <patchvet/patch.h>

/* A loop, as the target's (not a memcpy call gcc might make of it). */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void copy_blob_v2(unsigned char *dst, const unsigned char *src, unsigned long n)
{
	for (unsigned long k = 0; k < n; k++)
		dst[k] = src[k];
}

PV_REPLACE(copy_blob, copy_blob_v2);
