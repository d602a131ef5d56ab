#!/usr/bin/env bash
# make fuzz-parser PARSER=P [EXECS=n]: afl-fuzz one parser harness (ASan,
# persistent mode) until it has run EXECS inputs; prints the figures
# docs/fuzzing.md records. Starts afresh in BUILD/fuzz/parse-P/.
#   run-parser.sh BUILD PARSER EXECS
set -euo pipefail
build=$1 p=$2 execs=$3
case $p in
  image|patch) dict=fuzz/dict/elf.dict ;;
  scenario|execfile|repro|results) dict=fuzz/dict/$p.dict ;;
  *) echo "run-parser.sh: unknown parser '$p' (image patch scenario execfile repro results)" >&2; exit 2 ;;
esac
out=$build/fuzz/parse-$p
rm -rf "$out"
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=${AFL_NO_AFFINITY-1}
# shellcheck disable=SC2086
nice afl-fuzz -i "$build/fuzz/seeds/$p" -o "$out" -E "$execs" -x "$dict" -t 2000 -m none \
  ${AFL_EXTRA:-} -- "$build/fuzz/bin/parse_$p" > "$out.log" 2>&1 || {
  echo "afl-fuzz failed; the end of $out.log:" >&2
  tail -20 "$out.log" >&2
  exit 3
}
stats=$out/default/fuzzer_stats
stat() { sed -n "s/^$1 *: *//p" "$stats"; }
echo "parse_$p: $(stat execs_done) execs in $(stat run_time) s ($(stat execs_per_sec) execs/s" \
     "at the end), $(stat corpus_count) corpus entries, $(stat edges_found) edges," \
     "$(stat saved_crashes) crashes, $(stat saved_hangs) hangs"
[ "$(stat saved_crashes)" = 0 ]
