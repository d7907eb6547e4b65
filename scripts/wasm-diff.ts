/**
 * Compares the wasm generator with the TypeScript one on BTF files (raw BTF
 * or BPF objects): prints, per file, "same", "fallback" (the wasm
 * generator gave up) or where the outputs first differ, with context.
 *
 *   bun scripts/wasm-diff.ts /sys/kernel/btf/vmlinux build/fixtures/*.bpf.o
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { Btf } from "../src/btf/btf.ts";
import { rawBtf, type RawBtf } from "../codegen/type_graph.ts";
import { writeTypeBytes } from "../codegen/types.ts";
import { writeTypeBytesWasm } from "../codegen/wasm_types.ts";

function collect(run: (sink: (b: Uint8Array) => void) => unknown): Uint8Array {
  const parts: Uint8Array[] = [];
  run((b) => parts.push(b.slice()));
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

let failed = 0;
for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(readFileSync(file));
  let btf: RawBtf;
  try {
    btf = bytes[0] === 0x7f ? Btf.fromFile(file) : rawBtf(bytes);
  } catch (e) {
    console.log(`${file}: not read (${(e as Error).message})`);
    continue;
  }
  const options = { source: file.split("/").pop() };
  let t = performance.now();
  const ts = collect((sink) => writeTypeBytes(btf, options, sink));
  const tsMs = performance.now() - t;
  t = performance.now();
  let ok = false;
  const wasm = collect((sink) => (ok = writeTypeBytesWasm(btf, options, sink)));
  const wasmMs = performance.now() - t;
  if (!ok) {
    console.log(`${file}: fallback (the wasm generator gave up)`);
    continue;
  }
  const n = Math.min(ts.length, wasm.length);
  let i = 0;
  while (i < n && ts[i] === wasm[i]) i++;
  if (i === n && ts.length === wasm.length) {
    console.log(
      `${file}: same (${ts.length} bytes; ts ${tsMs.toFixed(1)} ms, wasm ${wasmMs.toFixed(1)} ms)`,
    );
    continue;
  }
  failed++;
  const dec = new TextDecoder();
  const from = Math.max(0, i - 300);
  console.log(
    `${file}: DIFFERENT at byte ${i} (ts ${ts.length}, wasm ${wasm.length} bytes)`,
  );
  console.log("--- ts:\n" + dec.decode(ts.subarray(from, i + 200)));
  console.log("--- wasm:\n" + dec.decode(wasm.subarray(from, i + 200)));
}
process.exitCode = failed ? 1 : 0;
