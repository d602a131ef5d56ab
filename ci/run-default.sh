#!/usr/bin/env bash
# The default campaign behind `make run`: patchvet run over the built-in
# catalogue, report under OUT (out/ by default).
set -euo pipefail
build=${1:-build}
out=${2:-out}
exec "$build/patchvet" run --out "$out"
