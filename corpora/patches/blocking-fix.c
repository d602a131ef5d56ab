/* blocking-fix: wait_item with the same meaning, written differently (the
 * kinds tested in another order), so a correct engine leaves every result
 * unchanged: any EINTR or lost item is the engine's doing. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

/* The target's data and its system-call helpers, by name. */
extern int pipes[PV_MAX_WORKERS][2];
extern volatile unsigned long seq[PV_MAX_WORKERS];
long blk_read(int fd, void *buf, unsigned long len);
long blk_futex_wait(volatile unsigned long *word, unsigned long val);
long blk_sleep(long ns);

long wait_item_v2(unsigned index, unsigned long i)
{
	unsigned kind = index % 3;
	if (kind == 0)
		return blk_sleep(30000L);
	if (kind == 2) {
		for (;;) {
			unsigned long s = seq[index];
			if (s >= i)
				return 0;
			long r = blk_futex_wait(&seq[index], s);
			if (r == -4)
				return r;
		}
	}
	unsigned long v = 0;
	long n = blk_read(pipes[index][0], &v, sizeof(v));
	if (n != (long)sizeof(v))
		return n < 0 ? n : -1000 - n;
	return v == i ? 0 : -2000;
}

PV_REPLACE(wait_item, wait_item_v2);
