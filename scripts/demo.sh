#!/usr/bin/env bash
# Sets up (idempotently) and runs the main demo: examples/execsnoop for a few
# seconds while this script runs some commands itself, so there is output
# even on an idle machine. Exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
echo "== bun examples/execsnoop/main.ts --duration 4 (while the demo runs a few commands)"
(
  sleep 1
  for cmd in "uname -r" "id -un" "date +%T" "ls /" "true"; do
    $cmd >/dev/null
    sleep 0.3
  done
) &
gen=$!
bun examples/execsnoop/main.ts --duration 4
wait "$gen"
