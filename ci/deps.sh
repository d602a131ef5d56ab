#!/usr/bin/env bash
# Installs the Debian packages patchvet needs, and only those that are missing.
# Idempotent and cheap when everything is present (one dpkg-query, no apt-get).
set -euo pipefail

packages=(
  build-essential pkg-config
  libelf-dev libdw-dev       # ELF loading, DWARF stack unwinding (elfutils)
  libcapstone-dev            # x86-64 disassembly for patchability analysis
  libunicorn-dev             # the emulator backend
  libjson-c-dev              # JSON reports and --json output
  libinih-dev                # scenario description files (INI)
  libssl-dev                 # SHA-256 (libcrypto EVP) of binaries in reports and reproducers
  libcriterion-dev           # test suites
  afl++                      # schedule and parser fuzzing
  binutils                   # objdump, used by tests to cross-check capstone
  libxml2-utils              # xmllint: tests parse the JUnit report with a real XML parser
  chromium                   # headless: tests render the HTML report
  # corpora/programs: real programs as targets, their load drivers and oracles
  pigz                       # zlib crc32 on 4 compression threads
  xz-utils liblzma-dev       # liblzma lzma_crc64 on 4 workers; the xz oracle links liblzma
  memcached                  # a server with 4 worker threads
  libmemcached-tools         # memcaslap (memaslap): its load and verification
  gzip                       # the pigz oracle (its own inflate and CRC-32)
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ci/deps.sh: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
