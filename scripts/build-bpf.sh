#!/usr/bin/env bash
# Compiles every BPF C source in the repo (fixtures/*.bpf.c, examples/*/*.bpf.c,
# bench/*.bpf.c) into build/, mirroring the source tree:
#   fixtures/maps.bpf.c -> build/fixtures/maps.bpf.o
# Also writes build/vmlinux.h from the running kernel's BTF for CO-RE sources.
# Skips objects newer than their source (and the headers in bpf/include).
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang}
ARCH=$(uname -m)
case "$ARCH" in x86_64) TARGET_ARCH=x86 ;; aarch64) TARGET_ARCH=arm64 ;; *) TARGET_ARCH=$ARCH ;; esac
mkdir -p build
if [ ! -s build/vmlinux.h ] && [ -r /sys/kernel/btf/vmlinux ]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > build/vmlinux.h.tmp
  mv build/vmlinux.h.tmp build/vmlinux.h
fi
status=0
for src in $(find fixtures examples bench -name '*.bpf.c' 2>/dev/null | sort); do
  out="build/${src%.c}.o"
  mkdir -p "$(dirname "$out")"
  if [ "$out" -nt "$src" ] && [ -z "${FORCE:-}" ]; then continue; fi
  if ! "$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_$TARGET_ARCH \
      -I/usr/include/"$ARCH"-linux-gnu -Ibuild -Iinclude \
      -Wall -Wno-unused-variable -Wno-unused-function \
      -c "$src" -o "$out.tmp"; then
    echo "build-bpf: failed to compile $src" >&2
    status=1
    continue
  fi
  mv "$out.tmp" "$out"
done
exit $status
