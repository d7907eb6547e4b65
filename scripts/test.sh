#!/usr/bin/env bash
# Runs every test: set-up (idempotent), type-check and format check, then each
# test file under bun test and deno test, and the pure-TypeScript tests under
# vitest on Node. Fails if any test fails or if a test leaves BPF programs
# loaded or pins under /sys/fs/bpf behind. Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"

passed=0 failed=0 skipped=0 status=0
note() { printf '\n=== %s\n' "$*"; }

count_progs() { bpftool prog list -j 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s||"[]").length)}catch{console.log(0)}})'; }
list_pins() { find /sys/fs/bpf -mindepth 1 2>/dev/null | sort; }
list_netns() { ip netns list 2>/dev/null | sort; }
progs_before=$(count_progs)
pins_before=$(list_pins)
netns_before=$(list_netns)

note "type-check (tsc --strict)"
if ! tsc -p tsconfig.json; then status=1; failed=$((failed + 1)); else passed=$((passed + 1)); fi

note "format (prettier --check)"
if ! prettier --check . >/dev/null 2>&1; then
  prettier --check . 2>&1 | tail -20
  status=1; failed=$((failed + 1))
else passed=$((passed + 1)); fi

log=$(mktemp)
note "bun test"
bun test --timeout 120000 ./test/pure ./test/kernel 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
p=$(grep -Eo '^ *[0-9]+ pass' "$log" | grep -Eo '[0-9]+' | tail -1); f=$(grep -Eo '^ *[0-9]+ fail' "$log" | grep -Eo '[0-9]+' | tail -1)
s=$(grep -Eo '^ *[0-9]+ skip' "$log" | grep -Eo '[0-9]+' | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))

note "deno test"
deno test -A --quiet test/pure test/kernel 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \|' | tail -1)
# Deno counts describe blocks as tests and their its as steps: count steps.
p=$(echo "$line" | grep -Eo '[0-9]+ passed( \([0-9]+ steps?\))?' | grep -Eo '[0-9]+' | tail -1)
f=$(echo "$line" | grep -Eo '[0-9]+ failed( \([0-9]+ steps?\))?' | grep -Eo '[0-9]+' | tail -1)
s=$(echo "$line" | grep -Eo '[0-9]+ ignored( \([0-9]+ steps?\))?' | grep -Eo '[0-9]+' | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))

note "vitest (Node, pure-TypeScript parts)"
vitest run 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ +Tests ' | tail -1)
p=$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+'); f=$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')
s=$(echo "$line" | grep -Eo '[0-9]+ skipped' | grep -Eo '[0-9]+')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
rm -f "$log"

note "clean-up check"
progs_after=$(count_progs)
pins_after=$(list_pins)
netns_after=$(list_netns)
if [ "$progs_after" != "$progs_before" ]; then
  echo "tests left BPF programs loaded: $progs_before before, $progs_after after"; status=1; failed=$((failed + 1))
elif [ "$pins_after" != "$pins_before" ]; then
  echo "tests left pins under /sys/fs/bpf:"; diff <(echo "$pins_before") <(echo "$pins_after"); status=1; failed=$((failed + 1))
elif [ "$netns_after" != "$netns_before" ]; then
  echo "tests left network namespaces:"; diff <(echo "$netns_before") <(echo "$netns_after"); status=1; failed=$((failed + 1))
else echo "nothing left loaded, pinned or namespaced"; passed=$((passed + 1)); fi

[ "$status" = 0 ] || [ "$failed" != 0 ] || failed=1
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
