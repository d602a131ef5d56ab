#!/usr/bin/env bash
# Includes point downward only: every quoted #include of the harness, the
# emulator, the engines and the reports is a relative path (no -I hides a
# room) to a file of the same room or of a lower layer. Run by `make test`.
# Layers, highest first; rooms on one line are peers and never include each
# other.
set -euo pipefail
cd "$(dirname "$0")/.."

rank() {
	case $1 in
	harness/cli) echo 14 ;;
	harness/campaign) echo 13 ;;
	reports) echo 12 ;;
	harness/bench) echo 11 ;;
	harness/explore) echo 10 ;;
	harness/backend) echo 9 ;;
	harness/exec) echo 8 ;;
	harness/ptrace | emulator) echo 7 ;;
	harness/script) echo 6 ;; # the run script both backends call
	harness/checks) echo 5 ;;
	harness/load) echo 4 ;;
	harness/model) echo 3 ;;
	harness/util) echo 2 ;;
	engines) echo 1 ;; # sees include/patchvet/ only
	*) echo "" ;;
	esac
}

bad=0
while IFS= read -r f; do
	from=$(dirname "$f")
	rf=$(rank "$from")
	if [ -z "$rf" ]; then
		echo "ci/layers.sh: $f: folder $from has no layer (add it to ci/layers.sh)" >&2
		bad=1
		continue
	fi
	while IFS= read -r inc; do
		target=$(realpath -m --relative-to=. "$from/$inc")
		if [ ! -f "$target" ]; then
			echo "ci/layers.sh: $f: #include \"$inc\" is not a path relative to the file" >&2
			bad=1
			continue
		fi
		to=$(dirname "$target")
		[ "$to" = "$from" ] && continue
		rt=$(rank "$to")
		if [ -z "$rt" ] || [ "$rt" -ge "$rf" ]; then
			echo "ci/layers.sh: $f includes $target: $to is not below $from" >&2
			bad=1
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done < <(find harness emulator engines reports -name '*.[ch]' | sort)

if [ $bad -ne 0 ]; then
	echo "ci/layers.sh: includes that point upward or sideways (see DESIGN-level layout in README.md)" >&2
	exit 1
fi
echo "ci/layers.sh: every include points downward"
