/**
 * tsbpf: eBPF for TypeScript on Bun and Deno.
 *
 * Load a compiled `.bpf.o`, attach its programs, read its maps and event
 * streams with types from the object's own BTF.
 *
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/btf/types.ts";
