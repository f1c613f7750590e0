#!/usr/bin/env bash
# Install the Debian packages Skep's build, tests, examples and benchmarks need,
# but only those missing (so repeated runs are quick). Needs root (or sudo).
#   core library: a C11 compiler and make, nothing else
#   tests/bench:  clang + llvm (BPF programs, llvm-mc cross-checks), libbpf-dev (kernel side),
#                 libzydis-dev (x86 disassembly of JITed code in `skep disasm --jited`),
#                 systemtap-sdt-dev (<sys/sdt.h>: the USDT probes of the test program)
set -eu
pkgs=(build-essential make pkg-config clang llvm clang-19 llvm-19 libbpf-dev libzydis-dev
      libclang-rt-14-dev linux-libc-dev systemtap-sdt-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
