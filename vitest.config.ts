import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Node runs only the pure-TypeScript tests (ELF, BTF, views, codegen): the
// loader needs bun:ffi or Deno.dlopen.
export default defineConfig({
  resolve: {
    // "tsbpf" is this repository's source, as tsconfig paths make it for Bun
    // and deno.json for Deno: the package's exports name dist/, which only
    // `npm pack` (scripts/build-package.sh) builds.
    alias: {
      "tsbpf/codegen": fileURLToPath(
        new URL("./codegen/mod.ts", import.meta.url),
      ),
      tsbpf: fileURLToPath(new URL("./mod.ts", import.meta.url)),
    },
  },
  test: {
    include: ["test/pure/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
