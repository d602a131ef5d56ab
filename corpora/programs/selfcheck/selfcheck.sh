#!/usr/bin/env bash
# Checks every program scenario natively, without patchvet:
#   selfcheck.sh BUILT   (BUILT = build/corpora/programs, made by `make programs`)
# Each program runs as its scenario runs it, with its load driver and oracle:
# unpatched; with each patch's code preloaded (LD_PRELOAD, where the call
# crosses a PLT), which the oracle must accept; with a preloaded mix of old
# and new calls (xz); and with deliberately broken functions, which the
# oracle must reject. Prints each oracle's line and the run's wall time.
set -uo pipefail
built=${1:?usage: selfcheck.sh BUILD/corpora/programs}
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for s in zlib-crc32-broken lzma-crc64-mix libc-read-broken; do
	gcc -std=gnu17 -O2 -fPIC -shared -I"$src/../../../include" -o "$tmp/$s.so" "$src/$s.c" -ldl || exit 2
done
for p in zlib-crc32z-identity lzma-crc64-identity lzma-crc64-xor lzma-crc32-identity libc-read-identity; do
	gcc -std=gnu17 -O2 -fPIC -shared -DPV_PRELOAD -I"$src/../../../include" \
	    -o "$tmp/$p.so" "$src/../patches/$p.c" || exit 2
done

# expect WANT NAME COMMAND...: runs COMMAND, which ends with the oracle;
# WANT is pass or fail.
expect() {
	local want=$1 name=$2; shift 2
	local t0 t1 out rc
	t0=$(date +%s.%N)
	out=$("$@" 2>&1); rc=$?
	t1=$(date +%s.%N)
	local got=pass; [ $rc -eq 0 ] || got=fail
	local mark=ok; [ $got = "$want" ] || { mark=WRONG; fail=1; }
	printf '%-5s %-40s %4.2f s  oracle %s: %s\n' "$mark" "$name" "$(echo "$t1 - $t0" | bc)" \
	       "$got" "$(printf '%s' "$out" | tail -n 1)"
}

in5=$built/data/seq-5M.txt
pigz_run() { # PRELOAD [ENV...]
	local pre=$1; shift
	env "$@" LD_PRELOAD="$pre" pigz -9 -p 4 -b 32 -c "$in5" > "$tmp/out.gz" &&
		sh "$built/pigz/verify.sh" "$in5" "$tmp/out.gz"
}
expect pass "pigz" pigz_run ""
expect pass "pigz + zlib-crc32z-identity" pigz_run "$tmp/zlib-crc32z-identity.so"
expect fail "pigz + crc32 broken at call 100" pigz_run "$tmp/zlib-crc32-broken.so"
expect fail "pigz, output truncated" bash -c "pigz -9 -p 4 -b 32 -c '$in5' | head -c 1000000 > '$tmp/out.gz'; sh '$built/pigz/verify.sh' '$in5' '$tmp/out.gz'"

in16=$built/data/seq-1600k.txt
xz_run() { # CHECK PRELOAD [ENV...]
	local check=$1 pre=$2; shift 2
	env "$@" LD_PRELOAD="$pre" xz -T4 -6 --check="$check" --block-size=256KiB -c "$in16" > "$tmp/out.xz" &&
		"$built/bin/xz-blocks" "$in16" "$tmp/out.xz"
}
expect pass "xz" xz_run crc64 ""
expect pass "xz + lzma-crc64-identity" xz_run crc64 "$tmp/lzma-crc64-identity.so"
expect pass "xz + lzma-crc64-xor (all new)" xz_run crc64 "$tmp/lzma-crc64-xor.so"
expect pass "xz, calls 200-400 new (mixed)" xz_run crc64 "$tmp/lzma-crc64-mix.so" "PV_MIX=200 400"
expect fail "xz + crc64 broken at call 333" xz_run crc64 "$tmp/lzma-crc64-mix.so" PV_BREAK_AT=333
expect pass "xz --check=crc32" xz_run crc32 ""
expect pass "xz --check=crc32 + lzma-crc32-identity" xz_run crc32 "$tmp/lzma-crc32-identity.so"
expect fail "xz, one data byte flipped" bash -c "xz -T4 -6 --block-size=256KiB -c '$in16' > '$tmp/out.xz' && printf '\\x41' | dd of='$tmp/out.xz' bs=1 seek=100000 conv=notrunc status=none; '$built/bin/xz-blocks' '$in16' '$tmp/out.xz'"

port=$((20000 + RANDOM % 20000))
mc_run() { # PRELOAD
	env LD_PRELOAD="$1" memcached -u root -t 4 -l 127.0.0.1 -p "$port" -U 0 -m 64 -c 256 &
	local pid=$! rc
	for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
	sh "$built/memcached/load.sh" "$port"; rc=$?
	kill -TERM "$pid"; wait "$pid"
	port=$((port + 1))
	return $rc
}
expect pass "memcached" mc_run ""
expect pass "memcached + libc-read-identity" mc_run "$tmp/libc-read-identity.so"
expect fail "memcached + read flipping a byte" mc_run "$tmp/libc-read-broken.so"

[ $fail -eq 0 ] && echo "selfcheck: every oracle as expected" || echo "selfcheck: some oracle WRONG"
exit $fail
