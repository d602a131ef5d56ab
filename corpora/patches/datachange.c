/* datachange: config gains a member (`max`), so the patch defines its own,
 * larger `config` and a config_add that uses it. Analysis must report the
 * size change of `config` (16 -> 24 bytes) as a data layout change. */
#include <patchvet/patch.h>
#include <patchvet/target.h>

struct config {
	long count;
	long total;
	long max; /* new: the largest argument seen */
};

/* Same name as the target's object, new layout. */
struct config config = {0, 0, 0};

extern pv_lock_t config_lock;

void config_add_v2(long v)
{
	pv_lock(&config_lock);
	config.count += 1;
	config.total += v;
	if (v > config.max)
		config.max = v;
	pv_unlock(&config_lock);
}

PV_REPLACE(config_add, config_add_v2);
