#!/usr/bin/env bash
# The default campaign behind `make run`: patchvet run with no engine or
# backend named, which prints two tables (the patchability analysis, then the
# engine verdicts of corpora/expected on emu: stw-jmp and the mutants on
# counter) and writes its reports and reproducers under OUT (out/ by default).
set -euo pipefail
build=${1:-build}
out=${2:-out}
exec "$build/patchvet" run --out "$out"
