/* alloc-fix: copy_blob copying from the end, 8 bytes at a time where it
 * can: the same bytes land in dst, by other code. */
#include <patchvet/patch.h>

void copy_blob_v2(unsigned char *dst, const unsigned char *src, unsigned long n)
{
	unsigned long k = n;
	while (k >= 8) {
		k -= 8;
		unsigned long v;
		__builtin_memcpy(&v, src + k, 8);
		__builtin_memcpy(dst + k, &v, 8);
	}
	while (k > 0) {
		k--;
		dst[k] = src[k];
	}
}

PV_REPLACE(copy_blob, copy_blob_v2);
