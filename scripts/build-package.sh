#!/usr/bin/env bash
# Compiles the library to dist/ (JavaScript + .d.ts), what the npm package
# ships: Deno refuses TypeScript under node_modules and Node 20 cannot run
# it. `npm pack` / `npm publish` run this first (the "prepack" script).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
rm -rf dist
tsc -p tsconfig.build.json
# codegen/prelude.ts reads this source at generation time (as text) to
# inline the helpers of `tsbpf-gen types`. Not as a .ts beside its .d.ts:
# tsc would resolve imports to it and check it with the user's options.
cp src/generated/struct_runtime.ts dist/codegen/struct_runtime.ts.txt
