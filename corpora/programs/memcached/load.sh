#!/bin/sh
# The load driver and oracle of the memcached scenario: load.sh PORT.
# memaslap (memcaslap in Debian) with every get verified; its exit status
# does not count failed verifications, so this reads its statistics.
# Exit 0 = every operation done and every value as set; one line on stderr
# (where patchvet shows a failed oracle's first line).
[ $# -eq 1 ] || { echo "usage: load.sh PORT" >&2; exit 2; }
out=$(memcaslap -s "127.0.0.1:$1" -T 2 -c 16 -x "${PV_MEMCACHED_OPS:-80000}" -v 1.0 2>&1)
rc=$?
stat() { printf '%s\n' "$out" | sed -n "s/^$1: *\([0-9][0-9]*\).*/\1/p" | head -n 1; }
gets=$(stat cmd_get); sets=$(stat cmd_set)
misses=$(stat get_misses); vmiss=$(stat verify_misses); vfail=$(stat verify_failed)
if [ $rc -ne 0 ] || [ -z "$gets" ] || [ -z "$vfail" ]; then
	echo "memcached oracle: memaslap failed (exit $rc): $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)" >&2
	exit 1
fi
if [ "$vfail" != 0 ] || [ "$vmiss" != 0 ] || [ "$misses" != 0 ]; then
	echo "memcached oracle: $gets gets, $sets sets: $vfail values differ from what was set, $vmiss verified gets missed, $misses get misses" >&2
	exit 1
fi
echo "memcached oracle: $gets gets and $sets sets, every value as set" >&2
exit 0
