#!/usr/bin/env bash
# Runs every verdict line of corpora/programs/expected and compares, as
# `patchvet run` does with corpora/expected: the verdict must match, and for
# UNSAFE at least one listed check must be among the violations.
#   corpora/programs/check-expected.sh [BUILD] [SCHEDULES]   (build, 10)
# One patchvet campaign per scenario (all its engines). Exit 0 when every
# line is as expected. Takes about 20 minutes on 2 cores.
set -uo pipefail
build=${1:-build}
schedules=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bad=0
scenarios=$(awk '$1 == "verdict" {print $2}' "$here/expected" | sort -u)
for s in $scenarios; do
	engines=()
	while read -r _ _ e _; do engines+=(--engine "$e"); done \
		< <(awk -v s="$s" '$1 == "verdict" && $2 == s' "$here/expected")
	"$build/patchvet" run "${engines[@]}" --backend ptrace --scenario "$build/corpora/programs/$s" \
		--schedules "$schedules" --seed 1 --format text --out "$out/$s" > "$out/$s.log" 2>&1
	while read -r _ sc engine backend verdict checks; do
		line=$(awk -v e="$engine" -v s="$sc" '$1 == e && $2 == s {print; exit}' "$out/$s/results.txt")
		got=$(printf '%s' "$line" | awk '{print $4}')
		ok=1
		[ "$got" = "$verdict" ] || ok=0
		if [ $ok = 1 ] && [ "$verdict" = UNSAFE ]; then
			ok=0
			for c in $checks; do
				printf '%s' "$line" | grep -qE "(^| )$c [0-9]" && ok=1
			done
		fi
		if [ $ok = 1 ]; then
			echo "as expected  $sc $engine $backend $verdict $checks"
		else
			echo "UNEXPECTED   $sc $engine $backend: expected $verdict $checks, got: ${line:-no result (see $s.log)}"
			bad=1
		fi
	done < <(awk -v s="$s" '$1 == "verdict" && $2 == s' "$here/expected")
done
exit $bad
