#!/usr/bin/env bash
# make fuzz ENGINE=E SCENARIO=S [TIME=s]: seeds from the random explorer,
# afl-fuzz on the schedule harness for TIME seconds (headless), then every
# crash becomes a reproducer (patchvet import-crashes). docs/fuzzing.md.
#   run-schedule.sh BUILD ENGINE SCENARIO SECONDS
# Each call starts afresh in BUILD/fuzz/ENGINE-SCENARIO/. Extra afl-fuzz
# options (-M/-S, ...) come from $AFL_EXTRA.
set -euo pipefail
build=$1 engine=$2 scenario=$3 secs=$4
out=$build/fuzz/$engine-$scenario
# The harness and seeds read $PATCHVET_FLAVOUR; import must use the same.
flavour=()
[ -z "${PATCHVET_FLAVOUR:-}" ] || flavour=(--flavour "$PATCHVET_FLAVOUR")
rm -rf "$out"
mkdir -p "$out"
rc=0
"$build/fuzz/bin/seeds" "$engine" "$scenario" "$out/seeds" 16 || rc=$?
if [ "$rc" -eq 1 ]; then
  # No clean stream to mutate: the violating ones are the findings.
  rc=0
  "$build/patchvet" import-crashes "$out/seeds" --engine "$engine" --scenario "$scenario" \
    "${flavour[@]}" --out "$out/repro" || rc=$?
  [ "$rc" -le 1 ] || exit "$rc"
  echo "replay with: $build/patchvet replay $(ls "$out"/repro/*.pvr | sed -n 1p)"
  exit 0
fi
[ "$rc" -eq 0 ] || exit "$rc"

# A run of a 2-thread scenario takes about 0.1 ms; 1 s covers a run that
# spends its whole step budget.
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=${AFL_NO_AFFINITY-1} AFL_FAST_CAL=1
# No trimming: a trimmed stream ends early and the emulator's default rule
# decides the rest, the same way every time; untrimmed, rare schedules were
# found 5 to 20 times sooner (docs/fuzzing.md).
export AFL_DISABLE_TRIM=${AFL_DISABLE_TRIM-1}
# shellcheck disable=SC2086
nice afl-fuzz -i "$out/seeds" -o "$out" -V "$secs" -t 1000 -m none ${AFL_EXTRA:-} \
  -- "$build/fuzz/bin/schedule" "$engine" "$scenario" > "$out/afl-fuzz.log" 2>&1 || {
  echo "afl-fuzz failed; the end of $out/afl-fuzz.log:" >&2
  tail -20 "$out/afl-fuzz.log" >&2
  exit 3
}

stats=$(ls "$out"/*/fuzzer_stats | sed -n 1p)
stat() { sed -n "s/^$1 *: *//p" "$stats"; }
crashes=$(ls "$out"/*/crashes 2>/dev/null | grep -c '^id:' || true)
echo "afl-fuzz: $(stat execs_done) execs in $(stat run_time) s ($(stat execs_per_sec) execs/s)," \
     "$crashes crash input(s), $(stat edges_found) edges"
if [ "$crashes" -eq 0 ]; then
  echo "no crash: $engine on $scenario showed no violation in $secs s of fuzzing"
  exit 0
fi
first=$(ls "$out"/*/crashes | grep '^id:' | sort | sed -n 1p)
echo "first crash: $first (time: is ms since the start)"
rc=0
"$build/patchvet" import-crashes "$out" --engine "$engine" --scenario "$scenario" \
  "${flavour[@]}" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
echo "replay with: $build/patchvet replay $(ls "$out"/repro/*.pvr | sed -n 1p)"
