import { defineConfig } from "vitest/config";

// Node runs only the pure-TypeScript tests (ELF, BTF, views, codegen): the
// loader needs bun:ffi or Deno.dlopen.
export default defineConfig({
  test: {
    include: ["test/pure/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
