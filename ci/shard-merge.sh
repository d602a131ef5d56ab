#!/usr/bin/env bash
# The shard and merge steps of a sharded patchvet campaign, as the CI
# templates (ci/templates/) run them; copy it into your repository beside
# them. tests/test_install.c runs this very script.
#
#   shard-merge.sh shard I N [RUN OPTION]...
#       patchvet run --shard I/N --out shard-I --format json,junit [RUN OPTION]...
#       Exit 0 when the shard ran, whatever its verdicts (an UNSAFE shard
#       exits 0 so every shard's evidence is kept: the merge step decides);
#       2 or 3 (bad input, ERROR) as patchvet said.
#   shard-merge.sh merge [OUT]
#       patchvet merge shard-*/results.json --out OUT (default merged)
#           --format json,junit,md,html
#       Exit status is merge's: 0 SAFE/REFUSED, 1 UNSAFE (fails the
#       pipeline), 2 bad input (a shard missing or of another campaign),
#       3 an ERROR verdict.
#
# Environment: PATCHVET, the patchvet binary (default: patchvet on PATH).
# Run both steps in one directory (the shard-I directories are its children).
set -uo pipefail

patchvet=${PATCHVET:-patchvet}

usage() {
	echo "usage: $0 shard I N [RUN OPTION]... | merge [OUT]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
step=$1
shift
case $step in
shard)
	[ $# -ge 2 ] || usage
	i=$1 n=$2
	shift 2
	case $i$n in *[!0-9]*) usage ;; esac
	"$patchvet" run --shard "$i/$n" --out "shard-$i" --format json,junit "$@"
	rc=$?
	# 1 is an UNSAFE verdict: recorded in shard-I, judged by the merge.
	[ "$rc" -eq 1 ] && rc=0
	exit "$rc"
	;;
merge)
	out=${1:-merged}
	shopt -s nullglob
	parts=(shard-*/results.json)
	if [ ${#parts[@]} -eq 0 ]; then
		echo "$0: no shard-*/results.json here ($(pwd))" >&2
		exit 2
	fi
	exec "$patchvet" merge "${parts[@]}" --out "$out" --format json,junit,md,html
	;;
*)
	usage
	;;
esac
