#!/usr/bin/env bash
# The schedule-fuzzing figures of docs/fuzzing.md for one engine: execs/s of
# a SECS-second afl-fuzz run, and time (and execs) to the first crash over
# RUNS runs that stop at their first crash (AFL_BENCH_UNTIL_CRASH).
#   measure.sh BUILD ENGINE SCENARIO [RUNS [SECS [CAP]]]   (CAP: seconds a run may take)
# Needs `make fuzz` to have built the harness and seeds tool.
set -euo pipefail
build=$1 engine=$2 scenario=$3 runs=${4:-3} secs=${5:-20} cap=${6:-300}
out=$build/fuzz/measure/$engine-$scenario
rm -rf "$out"
mkdir -p "$out"
if ! seeded=$("$build/fuzz/bin/seeds" "$engine" "$scenario" "$out/seeds" 16 2>&1); then
  echo "$engine $scenario: every random stream violates; AFL has nothing to mutate"
  exit 0
fi
# "seeds: 16 clean streams of T tried": the random explorer's violation rate.
tried=$(sed -n 's/.* of \([0-9]*\) tried.*/\1/p' <<<"$seeded")
echo "$engine $scenario: random explorer: $((tried - 16)) of $tried streams violate"
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=1 AFL_FAST_CAL=1
# No trimming: a trimmed stream ends early and the emulator's default rule
# decides the rest, the same way every time; untrimmed, rare schedules were
# found 5 to 20 times sooner (docs/fuzzing.md).
export AFL_DISABLE_TRIM=${AFL_DISABLE_TRIM-1}
fuzz() { nice afl-fuzz -i "$out/seeds" -o "$1" -t 1000 -m none "${@:2}" \
           -- "$build/fuzz/bin/schedule" "$engine" "$scenario" > "$1.log" 2>&1; }
fuzz "$out/rate" -V "$secs" || true
st=$out/rate/default/fuzzer_stats
rate=$(awk -F': *' '/^execs_done/{d=$2} /^run_time/{t=$2} END{printf "%.0f", d/(t?t:1)}' "$st")
echo "$engine $scenario: $rate execs/s over $secs s"
for i in $(seq 1 "$runs"); do
  AFL_BENCH_UNTIL_CRASH=1 fuzz "$out/run$i" -V "$cap" -s "$i" || true
  first=$(ls "$out/run$i/default/crashes" | grep '^id:' | sort | sed -n 1p || true)
  if [ -z "$first" ]; then echo "  run $i: no crash in $cap s"; continue; fi
  ms=$(sed -n 's/.*,time:\([0-9]*\).*/\1/p' <<<"$first")
  ex=$(sed -n 's/.*,execs:\([0-9]*\).*/\1/p' <<<"$first")
  check=$("$build/fuzz/bin/schedule" "$engine" "$scenario" < "$out/run$i/default/crashes/$first" 2>&1 |
          sed -n 's/^violation: \([a-z-]*\),.*/\1/p' | tr '\n' ' ' || true)
  echo "  run $i: first crash after $ms ms, $ex execs: $check"
done
