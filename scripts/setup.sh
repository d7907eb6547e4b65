#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (or an existing one):
#  - Debian packages: clang, llvm, lld (wasm-ld), libbpf1, libbpf-dev, bpftool,
#    gcc, iproute2
#    (and nodejs/npm when there is no Node at all)
#  - npm devDependencies: bun, deno, vitest, typescript, prettier (node_modules/)
#  - tracefs at /sys/kernel/tracing and bpffs at /sys/fs/bpf, when not mounted
# Prints what it does; does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: not root and no sudo: installing packages and mounting tracefs/bpffs need root" >&2
  fi
fi

missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in clang llvm lld libbpf1 libbpf-dev bpftool gcc libc6-dev iproute2 linux-libc-dev; do
  have_pkg "$pkg" || missing+=("$pkg")
done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm devDependencies; reinstall when package.json or the lock changed.
stamp=node_modules/.tsbpf-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || [ package-lock.json -nt "$stamp" ] \
   || [ ! -x node_modules/.bin/bun ] || [ ! -x node_modules/.bin/deno ]; then
  echo "setup: installing npm devDependencies (bun, deno, vitest, typescript, prettier)"
  # A lock out of sync with package.json (npm ci refuses it) falls back to
  # an install that leaves the lock as it is.
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error 2>/dev/null \
    || npm install --no-package-lock --no-audit --no-fund --loglevel=error; \
  else npm install --no-audit --no-fund --loglevel=error; fi
  touch "$stamp"
fi

# Let files anywhere in the repo import the package by name ("tsbpf"). Bun
# and vitest map it to ./mod.ts (tsconfig paths, vitest.config.ts), as
# deno.json does for Deno; plain Node goes through package.json's exports
# to dist/, which `npm run build` makes.
[ -e node_modules/tsbpf ] || ln -s .. node_modules/tsbpf

mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }
if ! mounted /sys/kernel/tracing; then
  echo "setup: mounting tracefs at /sys/kernel/tracing"
  $SUDO mount -t tracefs tracefs /sys/kernel/tracing || echo "setup: could not mount tracefs" >&2
fi
if ! mounted /sys/fs/bpf; then
  echo "setup: mounting bpffs at /sys/fs/bpf"
  $SUDO mount -t bpf bpf /sys/fs/bpf || echo "setup: could not mount bpffs" >&2
fi

bash scripts/build-bpf.sh
