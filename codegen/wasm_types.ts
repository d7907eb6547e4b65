/**
 * `tsbpf-gen types` for a whole BTF through the generator compiled to
 * WebAssembly (codegen/wasm/*.c, built by scripts/build-wasm.sh): the same
 * bytes as {@link writeTypeBytes}, several times faster on a cold start,
 * where the TypeScript generator runs mostly in the JIT's lower tiers
 * (vmlinux: 10 MB of output). The port covers the common input only; for
 * anything else (a `--type` or `--import` option, split or big-endian
 * BTF, a name that needs escaping, invalid or odd BTF) it traps, and the
 * caller runs the TypeScript generator, which stays the reference.
 */
import type { ByteSink } from "./output.ts";
import type { RawBtf } from "./type_graph.ts";
import { inlineHead } from "./module_head.ts";
import type { GenerateOptions } from "./types.ts";
import { WASM_BASE64 } from "./wasm/module.ts";

interface Exports {
  memory: WebAssembly.Memory;
  input(n: number): number;
  run(btf: number, len: number): number;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled module (compiled once per process). */
function wasmModule(): WebAssembly.Module {
  if (!compiled) {
    // Native decoding where there is one (Bun, Deno, Node 25): the loop
    // over atob's string runs cold and takes ~2 ms for the 44 kB module.
    const fromBase64 = (
      Uint8Array as { fromBase64?: (s: string) => Uint8Array<ArrayBuffer> }
    ).fromBase64;
    let bytes: Uint8Array<ArrayBuffer>;
    if (fromBase64) bytes = fromBase64(WASM_BASE64);
    else {
      const text = atob(WASM_BASE64);
      bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    }
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

/**
 * True when this runtime compiles the module (one without WebAssembly, or
 * without the bulk-memory instructions it uses, runs the TypeScript
 * generator instead).
 */
function hasWasm(): boolean {
  if (typeof WebAssembly !== "object") return false;
  try {
    wasmModule();
    return true;
  } catch (e) {
    if (e instanceof WebAssembly.CompileError) return false;
    throw e;
  }
}

/** True when the wasm generator takes these options (it writes whole modules with inlined helpers). */
export function wasmTakesOptions(options: GenerateOptions): boolean {
  return (
    options.only === undefined &&
    (options.importFrom === undefined || options.littleEndian === false)
  );
}

/**
 * The BTF blob the wasm generator would read from `input`, or undefined
 * when it does not take it: split BTF, big-endian BTF, or bytes that are
 * not BTF at all (left to the TypeScript parser's errors).
 */
function wasmInput(input: RawBtf | Uint8Array): Uint8Array | undefined {
  if (input instanceof Uint8Array)
    return input[0] === 0x9f && input[1] === 0xeb ? input : undefined;
  return input.base === undefined &&
    input.firstId === 1 &&
    input.byteOrder === "le"
    ? input.bytes
    : undefined;
}

/**
 * The module body (everything after {@link inlineHead}) from the wasm
 * generator for a little-endian base BTF blob, as the pieces to write one
 * after the other (views of the instance's memory), or undefined when it
 * gave up (the caller then runs the TypeScript generator). The module
 * checks the header and indexes the type section itself, bailing wherever
 * the TypeScript parser would throw. It writes the $def tables in a buffer
 * of their own (vmlinux: 2 MB) rather than copy them after the
 * declarations: they come as a second piece.
 */
export function wasmTypeBody(blob: Uint8Array): Uint8Array[] | undefined {
  const ex = new WebAssembly.Instance(wasmModule(), {})
    .exports as unknown as Exports;
  try {
    const p = ex.input(blob.length);
    new Uint8Array(ex.memory.buffer, p, blob.length).set(blob);
    const at = ex.run(p, blob.length);
    // Four words: the declarations' address and length, the tables'.
    const [a, n, b, m] = new Uint32Array(ex.memory.buffer, at, 4);
    const body = [new Uint8Array(ex.memory.buffer, a, n)];
    if (m! > 0) body.push(new Uint8Array(ex.memory.buffer, b, m));
    return body;
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) return undefined;
    throw e;
  }
}

/**
 * {@link writeTypeBytes} through the wasm generator, for a BTF blob's bytes
 * or a parsed one: writes the module to `sink` and returns true, or writes
 * nothing and returns false when the wasm generator does not take the
 * input or the options, or gave up.
 */
export function writeTypeBytesWasm(
  input: RawBtf | Uint8Array,
  options: GenerateOptions,
  sink: ByteSink,
): boolean {
  const blob = wasmInput(input);
  if (!blob || !wasmTakesOptions(options) || !hasWasm()) return false;
  const body = wasmTypeBody(blob);
  if (!body) return false;
  sink(new TextEncoder().encode(inlineHead(options)));
  for (const piece of body) sink(piece);
  return true;
}
