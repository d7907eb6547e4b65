#!/usr/bin/env bash
# Sets up (idempotently) and runs the main demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
echo "== tsbpf-gen types build/fixtures/btf_types.bpf.o --type exec_event"
bun codegen/cli.ts types build/fixtures/btf_types.bpf.o --type exec_event
