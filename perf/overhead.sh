#!/bin/sh
# perf/overhead.sh BUILD DOC [SECONDS]: runs `patchvet bench` on the figures
# DESIGN.md budgets (counter-identity and requests-identity under stw-jmp,
# SECONDS of A/B measurement each, default 60; leaky's growth in emu) and
# writes them, with the commands and the machine, between the markers
# `<!-- bench:overhead:begin -->` and `<!-- bench:overhead:end -->` of DOC.
# The exit status of each bench (1 REFUTED, 3 INCONCLUSIVE) is recorded, not
# fatal: the figures are the result.
set -eu
build=$1
doc=$2
secs=${3:-60}
out=$(mktemp -d "${TMPDIR:-/tmp}/pv-overhead.XXXXXX")
trap 'rm -rf "$out"' EXIT

run() {
	name=$1
	shift
	echo "== patchvet bench $*" >&2
	set +e
	"$build/patchvet" bench "$@" --out "$out/$name" >/dev/null
	echo $? >"$out/$name.status"
	set -e
}

run counter --engine stw-jmp --scenario counter-identity --time "$secs"
run requests --engine stw-jmp --scenario requests-identity --time "$secs"
run leaky --engine leaky --scenario counter --backend emu

model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
cpus=$(lscpu | sed -n 's/^CPU(s):[[:space:]]*//p' | head -n 1)
{
	echo "<!-- bench:overhead:begin -->"
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by perf/overhead.sh (the last step of \`make bench\`) on"
	echo "\`$model\`, $cpus CPUs (lscpu), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "when it ended (the machine is shared with other builds and tests)."
	for name in counter requests leaky; do
		case $name in
		counter) cmd="patchvet bench --engine stw-jmp --scenario counter-identity --time $secs" ;;
		requests) cmd="patchvet bench --engine stw-jmp --scenario requests-identity --time $secs" ;;
		leaky) cmd="patchvet bench --engine leaky --scenario counter --backend emu" ;;
		esac
		echo
		echo "\`$cmd\` (exit status $(cat "$out/$name.status")):"
		echo
		echo '```'
		if [ -f "$out/$name/bench.txt" ]; then
			cat "$out/$name/bench.txt"
		else
			echo "(no result: see the command's stderr)"
		fi
		echo '```'
	done
	echo "<!-- bench:overhead:end -->"
} >"$out/section.md"

if grep -q '<!-- bench:overhead:begin -->' "$doc"; then
	awk -v f="$out/section.md" '
		/<!-- bench:overhead:begin -->/ { while ((getline l < f) > 0) print l; skip = 1; next }
		/<!-- bench:overhead:end -->/ { skip = 0; next }
		!skip { print }' "$doc" >"$out/doc.md"
	cat "$out/doc.md" >"$doc"
else
	cat "$out/section.md" >>"$doc"
fi
echo "wrote the figures into $doc" >&2
