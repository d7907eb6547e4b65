#!/usr/bin/env bash
# Runs every benchmark under Bun and Deno, each beside its C libbpf (or
# bpftool) reference built in the same run, and prints the ratios.
# Output is also saved to build/bench-results.txt.
#   bash scripts/bench.sh            # all
#   bash scripts/bench.sh map_ops    # one (btf_parse, struct_decode, codegen_vmlinux, map_ops, ringbuf)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(btf_parse struct_decode codegen_vmlinux map_ops ringbuf)
mkdir -p build
out=build/bench-results.txt
: > "$out"
status=0
for name in "${names[@]}"; do
  for rt in bun deno; do
    echo "=== $name ($rt)" | tee -a "$out"
    if [ "$rt" = bun ]; then cmd=(bun "bench/$name.ts"); else cmd=(deno run -A "bench/$name.ts"); fi
    "${cmd[@]}" 2>&1 | tee -a "$out"
    [ "${PIPESTATUS[0]}" = 0 ] || status=1
  done
done
echo "results saved to $out"
exit $status
