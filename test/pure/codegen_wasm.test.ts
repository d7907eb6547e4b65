/**
 * The wasm generator (codegen/wasm/*.c) writes exactly the TypeScript
 * generator's bytes, or gives up and lets it run: on vmlinux and every
 * fixture object (where it must not give up), on seeded mutations of real
 * BTF (where it may), and through the CLI. And the committed module is
 * what scripts/build-wasm.sh builds from the C sources.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Btf } from "../../src/btf/btf.ts";
import { readElf } from "../../src/elf/reader.ts";
import { main } from "../../codegen/cli.ts";
import { type RawBtf, rawBtf } from "../../codegen/type_graph.ts";
import { type GenerateOptions, writeTypeBytes } from "../../codegen/types.ts";
import { writeTypeBytesWasm } from "../../codegen/wasm_types.ts";
import { fixture, need, ROOT } from "../_support/fixtures.ts";
import { prng } from "../_support/prng.ts";
import { randomBtf } from "../_support/hostile_btf.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";
/** Fixtures whose names are made to break generated code: the wasm generator leaves them to TypeScript. */
const MAY_FALL_BACK = new Set(["hostile_names.bpf.o"]);
const SEED = 0x3a5e;
const MUTATIONS = 1000;
const TIME_BUDGET_MS = 6_000;
const HOSTILE_ROUNDS = 300;

/** Everything a byte writer hands its sink, in one array. */
function collect(run: (sink: (b: Uint8Array) => void) => void): Uint8Array {
  const parts: Uint8Array[] = [];
  run((b) => parts.push(b.slice()));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The TypeScript generator's output, or what it threw. */
function tsOutput(btf: RawBtf, options: GenerateOptions): Uint8Array | Error {
  try {
    return collect((sink) => writeTypeBytes(btf, options, sink));
  } catch (e) {
    return e as Error;
  }
}

/** The wasm generator's output, or undefined when it gave up. */
function wasmOutput(
  btf: RawBtf | Uint8Array,
  options: GenerateOptions,
): Uint8Array | undefined {
  let ok = false;
  const out = collect((sink) => {
    ok = writeTypeBytesWasm(btf, options, sink);
  });
  if (!ok) expect(out.length).toBe(0);
  return ok ? out : undefined;
}

/** Where two outputs first differ, with some text around it (for failures). */
function firstDifference(a: Uint8Array, b: Uint8Array): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return "same";
  const dec = new TextDecoder();
  const ctx = (x: Uint8Array) =>
    JSON.stringify(dec.decode(x.subarray(Math.max(0, i - 80), i + 80)));
  return `differ at byte ${i}: TypeScript ${ctx(a)}, wasm ${ctx(b)}`;
}

/**
 * Runs both generators on `btf`; adds to `wrong` (labelled `label`) when
 * wasm wrote a module that is not TypeScript's (or where TypeScript threw).
 * Returns false when the wasm generator gave up.
 */
function compareOn(
  btf: RawBtf,
  options: GenerateOptions,
  label: string,
  wrong: string[],
): boolean {
  const ts = tsOutput(btf, options);
  const wasm = wasmOutput(btf, options);
  if (!wasm) return false;
  if (ts instanceof Error)
    wrong.push(`${label}: TypeScript threw ${ts.message}, wasm wrote a module`);
  else if (firstDifference(ts, wasm) !== "same")
    wrong.push(`${label}: ${firstDifference(ts, wasm)}`);
  return true;
}

describe("wasm generator", () => {
  it("is built from the C sources as committed", () => {
    const ld = spawnSync("wasm-ld", ["--version"]);
    if (!need(ld.status === 0, "wasm-ld (Debian lld) is not installed")) {
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-wasm-"));
    try {
      const out = join(dir, "module.ts");
      const r = spawnSync("bash", [join(ROOT, "scripts/build-wasm.sh"), out], {
        encoding: "utf8",
      });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(readFileSync(out, "utf8")).toBe(
        readFileSync(join(ROOT, "codegen/wasm/module.ts"), "utf8"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes vmlinux's module byte for byte as the TypeScript generator", () => {
    if (!need(existsSync(VMLINUX), `${VMLINUX} is missing`)) return;
    const btf = rawBtf(new Uint8Array(readFileSync(VMLINUX)));
    const options = { source: "vmlinux" };
    const ts = tsOutput(btf, options);
    const wasm = wasmOutput(btf, options);
    expect(wasm).toBeDefined();
    expect(firstDifference(ts as Uint8Array, wasm!)).toBe("same");
  });

  it("writes every fixture object's module as the TypeScript generator", () => {
    fixture("btf_types");
    const dir = join(ROOT, "build/fixtures");
    const files = readdirSync(dir).filter((f) => f.endsWith(".bpf.o"));
    expect(files.length).toBeGreaterThan(10);
    const results: string[] = [];
    for (const f of files.sort()) {
      const btf = Btf.fromFile(join(dir, f));
      const options = { source: f, littleEndian: btf.byteOrder !== "be" };
      const ts = tsOutput(btf, options);
      const wasm = wasmOutput(btf, options);
      if (!wasm) {
        if (!MAY_FALL_BACK.has(f)) results.push(`${f}: gave up`);
        continue;
      }
      if (ts instanceof Error) results.push(`${f}: TypeScript threw ${ts}`);
      else if (firstDifference(ts, wasm) !== "same")
        results.push(`${f}: ${firstDifference(ts, wasm)}`);
    }
    expect(results).toEqual([]);
  });

  it("on mutated BTF writes what TypeScript writes, or gives up", () => {
    const rand = prng(SEED);
    const blobs = ["btf_types", "skeleton", "maps", "ringbuf", "globals"].map(
      (name) => {
        const elf = readElf(new Uint8Array(readFileSync(fixture(name))));
        return elf.section(".BTF")!.data.slice();
      },
    );
    const start = performance.now();
    let compared = 0;
    let gaveUp = 0;
    const wrong: string[] = [];
    for (let round = 0; round < MUTATIONS; round++) {
      if (performance.now() - start > TIME_BUDGET_MS) break;
      const b = blobs[round % blobs.length]!.slice();
      for (let n = 1 + Math.floor(rand() * 4); n > 0; n--) {
        // Past the 24-byte header: type records and strings.
        const at = 24 + Math.floor(rand() * (b.length - 24));
        const r = rand();
        b[at] =
          r < 0.3
            ? 0
            : r < 0.5
              ? 0xff
              : r < 0.7
                ? b[at]! ^ (1 << Math.floor(rand() * 8))
                : Math.floor(rand() * 256);
      }
      let btf: RawBtf;
      try {
        btf = rawBtf(b);
      } catch {
        continue; // the parser's typed error; nothing to generate
      }
      if (compareOn(btf, {}, `round ${round}`, wrong)) compared++;
      else gaveUp++;
    }
    expect(wrong).toEqual([]);
    // Most mutations leave names plain: the port must take them.
    expect(compared).toBeGreaterThan(gaveUp);
  });

  it("on random BTF with hostile ASCII names writes what TypeScript writes, or gives up", () => {
    const rand = prng(SEED);
    const start = performance.now();
    let compared = 0;
    const wrong: string[] = [];
    for (let round = 0; round < HOSTILE_ROUNDS; round++) {
      if (performance.now() - start > TIME_BUDGET_MS) break;
      const btf = Btf.fromBytes(randomBtf(rand, true).toBytes());
      const options = { source: "fuzz */ globalThis.pwned = 1" };
      if (compareOn(btf, options, `round ${round}`, wrong)) compared++;
    }
    expect(wrong).toEqual([]);
    // Names that are identifiers (keywords, reserved members) stay on the wasm path.
    expect(compared).toBeGreaterThan(0);
  });

  it("reads the blob as rawBtf does: unaligned sections, invalid type sections", async () => {
    const blob = readElf(new Uint8Array(readFileSync(fixture("btf_types"))))
      .section(".BTF")!
      .data.slice();
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset);
    expect(view(blob).getUint32(4, true)).toBe(24);
    const typeStart = 24 + view(blob).getUint32(8, true);
    // A longer header: the type section is no longer 4-byte aligned.
    const odd = new Uint8Array(blob.length + 1);
    odd.set(blob.subarray(0, 24));
    odd.set(blob.subarray(24), 25);
    view(odd).setUint32(4, 25, true);
    const ts = tsOutput(rawBtf(odd), {});
    expect(ts).toBeInstanceOf(Uint8Array);
    expect(
      firstDifference(ts as Uint8Array, wasmOutput(rawBtf(odd), {})!),
    ).toBe("same");
    // Type sections the index pass refuses: TypeScript throws, wasm gives up.
    const unknownKind = blob.slice();
    unknownKind[typeStart + 7] = 25;
    const truncated = blob.slice();
    view(truncated).setUint32(12, view(blob).getUint32(12, true) - 4, true);
    for (const [b, message] of [
      [unknownKind, /^type 1 has unknown kind 25/],
      [truncated, /^truncated BTF: type \d+ needs/],
    ] as const) {
      expect(() => rawBtf(b)).toThrow(message);
      expect(wasmOutput(b, {})).toBeUndefined();
      // The CLI prints the parser's error, and no module.
      const out: Uint8Array[] = [];
      const err: string[] = [];
      const code = await main(["types", "x.btf"], {
        args: [],
        read: () => b,
        write: (fd, x) =>
          fd === 1 ? out.push(x) : err.push(new TextDecoder().decode(x)),
        setExitCode() {},
      });
      expect(code).toBe(1);
      expect(out).toEqual([]);
      expect(err.join("")).toMatch(
        new RegExp(`^tsbpf-gen: ${message.source.slice(1)}`),
      );
    }
  });

  it("leaves a runtime without WebAssembly to the TypeScript generator", async () => {
    const blob = readElf(new Uint8Array(readFileSync(fixture("btf_types"))))
      .section(".BTF")!
      .data.slice();
    const g = globalThis as { WebAssembly?: unknown };
    const saved = g.WebAssembly;
    const out: Uint8Array[] = [];
    let code: number;
    try {
      g.WebAssembly = undefined;
      expect(wasmOutput(blob, {})).toBeUndefined();
      code = await main(["types", "x.btf"], {
        args: [],
        read: () => blob,
        write: (fd, b) => (fd === 1 ? out.push(b.slice()) : undefined),
        setExitCode() {},
      });
    } finally {
      g.WebAssembly = saved;
    }
    expect(code).toBe(0);
    const ts = tsOutput(rawBtf(blob), { source: "x.btf" });
    expect(
      firstDifference(
        ts as Uint8Array,
        collect((sink) => out.forEach(sink)),
      ),
    ).toBe("same");
  });

  it("is what tsbpf-gen types runs for vmlinux, with the same output", async () => {
    if (!need(existsSync(VMLINUX), `${VMLINUX} is missing`)) return;
    const btf = rawBtf(new Uint8Array(readFileSync(VMLINUX)));
    const wasm = wasmOutput(btf, { source: "vmlinux" });
    expect(wasm).toBeDefined();
    const parts: Uint8Array[] = [];
    const err: string[] = [];
    const code = await main(["types", VMLINUX], {
      args: [],
      read: (p) => new Uint8Array(readFileSync(p)),
      write: (fd, b) =>
        fd === 1
          ? parts.push(b.slice())
          : err.push(new TextDecoder().decode(b)),
      setExitCode() {},
    });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const cli = collect((sink) => parts.forEach(sink));
    const ts = tsOutput(btf, { source: "vmlinux" });
    expect(firstDifference(ts as Uint8Array, cli)).toBe("same");
  });
});
