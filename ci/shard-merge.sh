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
#       pipeline), 2 bad input (shards of different campaigns), 3 an ERROR
#       verdict; and 2 when a shard of the campaign is missing (patchvet merge
#       only notes it; a gate must not pass on part of a campaign). The
#       reports are written in every case but bad input.
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
	# N of I/N, from each part's "shard" field.
	total=$(sed -n 's/.*"shard": *"[0-9]*\/\([0-9]*\)".*/\1/p' "${parts[@]}" | sort -u)
	"$patchvet" merge "${parts[@]}" --out "$out" --format json,junit,md,html
	rc=$?
	case $total in
	'' | *[!0-9]*) ;; # none or several counts: merge has refused the mix
	*)
		missing=""
		for ((i = 1; i <= total; i++)); do
			[ -f "shard-$i/results.json" ] || missing="$missing shard-$i"
		done
		if [ -n "$missing" ]; then
			echo "$0: of $total shards, missing:$missing" >&2
			[ "$rc" -eq 0 ] && rc=2
		fi
		;;
	esac
	exit "$rc"
	;;
*)
	usage
	;;
esac
