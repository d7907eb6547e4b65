#!/usr/bin/env bash
# Regenerates the examples' skeletons (examples/<name>/<name>.skel.ts) from
# their built objects (build/examples/<name>/*.bpf.o), referencing the object
# by path and importing the runtime relatively, plus the syscall name table.
# test/pure/skeleton.test.ts checks the committed files equal fresh output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-bpf.sh
BUN=${BUN:-node_modules/.bin/bun}
for dir in examples/*/; do
  name=$(basename "$dir")
  for src in "$dir"*.bpf.c; do
    [ -e "$src" ] || continue
    obj="build/${src%.c}.o"
    out="$dir$name.skel.ts"
    "$BUN" codegen/cli.ts skeleton "$obj" \
      --path "../../$obj" --import ../../mod.ts > "$out.tmp"
    mv "$out.tmp" "$out"
    echo "gen-skeletons: $out"
  done
done
bash scripts/gen-syscall-table.sh
