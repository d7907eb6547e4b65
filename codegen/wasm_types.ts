/**
 * `tsbpf-gen types` for a whole BTF through the generator compiled to
 * WebAssembly (codegen/wasm/*.c, built by scripts/build-wasm.sh): the same
 * bytes as {@link writeTypeBytes}, several times faster on a cold start,
 * where the TypeScript generator runs mostly in the JIT's lower tiers
 * (vmlinux: 10 MB of output). The port covers the common input only; for
 * anything else (a `--type` or `--import` option, split BTF, a name that
 * is not a plain identifier, big-endian or invalid BTF, BTF it finds odd)
 * it traps and the caller
 * runs the TypeScript generator, which stays the reference.
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
  output(): number;
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

/** True when the wasm generator takes this input and these options. */
export function wasmTakes(btf: RawBtf, options: GenerateOptions): boolean {
  return (
    options.only === undefined &&
    (options.importFrom === undefined || options.littleEndian === false) &&
    btf.base === undefined &&
    btf.firstId === 1 &&
    btf.byteOrder === "le"
  );
}

/**
 * The module body (everything after {@link inlineHead}) for `btf` from the
 * wasm generator, or undefined when it gave up (the caller then runs the
 * TypeScript generator).
 */
export function wasmTypeBody(btf: RawBtf): Uint8Array | undefined {
  // The blob as it is: the module checks and indexes the type section
  // itself (rawBtf leaves that to first use), so nothing here reads it.
  const h = btf.header;
  const end = Math.max(
    h.hdrLen + h.typeOff + h.typeLen,
    h.hdrLen + h.strOff + h.strLen,
  );
  const blob = btf.bytes.subarray(0, end);
  const ex = new WebAssembly.Instance(wasmModule(), {})
    .exports as unknown as Exports;
  try {
    const p = ex.input(blob.length);
    new Uint8Array(ex.memory.buffer, p, blob.length).set(blob);
    const n = ex.run(p, blob.length);
    return new Uint8Array(ex.memory.buffer, ex.output(), n);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) return undefined;
    throw e;
  }
}

/**
 * {@link writeTypeBytes} through the wasm generator: writes the module to
 * `sink` and returns true, or writes nothing and returns false when the
 * wasm generator does not take the input (see {@link wasmTakes}) or gave up.
 */
export function writeTypeBytesWasm(
  btf: RawBtf,
  options: GenerateOptions,
  sink: ByteSink,
): boolean {
  if (!wasmTakes(btf, options)) return false;
  const body = wasmTypeBody(btf);
  if (!body) return false;
  sink(new TextEncoder().encode(inlineHead(options)));
  sink(body);
  return true;
}
