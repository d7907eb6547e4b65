import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { Btf } from "../../src/btf/btf.ts";
import { indexTypes, readHeader, typeWords } from "../../src/btf/parse.ts";
import { alignOf, sizeOf, type BtfType } from "../../src/btf/types.ts";
import { readElf } from "../../src/elf/reader.ts";
import { TsbpfError } from "../../src/errors.ts";
import { readFileBytes } from "../../src/io.ts";
import { fixture, need } from "../_support/fixtures.ts";

/** mulberry32: small, seeded, reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Target {
  bytes: Uint8Array;
  /** Byte ranges worth aiming at: headers and type records. */
  hot: [number, number][];
  /** Parse (and decode) one input. */
  parse(b: Uint8Array): Btf | undefined;
}

const SPECIAL = [
  0, 1, 2, 3, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
];

function mutate(
  src: Uint8Array,
  hot: [number, number][],
  rnd: () => number,
): Uint8Array {
  const int = (n: number) => Math.floor(rnd() * n);
  const b = src.slice();
  const pickHot = () => {
    const [lo, hi] = hot[int(hot.length)];
    return lo + int(Math.max(1, hi - lo));
  };
  switch (int(5)) {
    case 0: // bit flips anywhere
      for (let i = 1 + int(8); i > 0; i--) b[int(b.length)] ^= 1 << int(8);
      return b;
    case 1: // truncation
      return b.slice(0, int(b.length));
    case 2: {
      // a header/type word: special or random value
      const at = pickHot() & ~3;
      const v = rnd() < 0.5 ? SPECIAL[int(SPECIAL.length)] : int(0x100000000);
      if (at + 4 <= b.length)
        new DataView(b.buffer).setUint32(at, v >>> 0, true);
      return b;
    }
    case 3: {
      // a plausible BTF info word: random kind, vlen, kind_flag
      const at = pickHot() & ~3;
      const info =
        ((rnd() < 0.5 ? 0x80000000 : 0) |
          (int(32) << 24) |
          int(rnd() < 0.5 ? 8 : 0x10000)) >>>
        0;
      if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, info, true);
      return b;
    }
    default: {
      // a run of random bytes in a hot range
      const at = pickHot();
      for (let i = int(16); i >= 0 && at + i < b.length; i--)
        b[at + i] = int(256);
      return b;
    }
  }
}

/** Touches everything lazy about a type, as views and codegen will. */
function touch(t: BtfType): void {
  String(t);
  sizeOf(t);
  alignOf(t);
  switch (t.kind) {
    case "struct":
    case "union":
      for (const f of t.fields) String(f.type);
      break;
    case "array":
      String(t.element);
      String(t.index);
      break;
    case "func_proto":
      String(t.returnType);
      t.params.forEach((_, i) => String(t.paramType(i)));
      break;
    case "datasec":
      for (const v of t.vars) String(v.type);
      break;
    case "ptr":
    case "typedef":
    case "const":
    case "volatile":
    case "restrict":
    case "type_tag":
    case "func":
    case "var":
    case "decl_tag":
      String(t.target);
      break;
  }
}

function run(
  target: Target,
  cases: number,
  seed: number,
): { parsed: number; errors: number } {
  const rnd = prng(seed);
  let parsed = 0;
  let errors = 0;
  const bad: string[] = [];
  const check = (e: unknown, what: string, i: number) => {
    if (e instanceof TsbpfError) return;
    bad.push(
      `case ${i} (seed ${seed}) ${what}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`,
    );
  };
  for (let i = 0; i < cases && bad.length < 3; i++) {
    const input = mutate(target.bytes, target.hot, rnd);
    const t0 = performance.now();
    let btf: Btf | undefined;
    try {
      btf = target.parse(input);
    } catch (e) {
      errors++;
      check(e, "parse", i);
    }
    if (btf) {
      parsed++;
      for (let id = 1; id <= btf.count; id++) {
        try {
          touch(btf.typeById(id));
        } catch (e) {
          check(e, `type ${id}`, i);
        }
      }
      try {
        btf.find("exec_event");
        if (i % 50 === 0) btf.type("no_such_struct_x");
      } catch (e) {
        check(e, "lookup", i);
      }
    }
    const ms = performance.now() - t0;
    if (ms > 2000)
      bad.push(`case ${i} (seed ${seed}) took ${ms.toFixed(0)} ms`);
  }
  expect(bad).toEqual([]);
  return { parsed, errors };
}

describe("fuzz: mutated inputs fail only with tsbpf errors", () => {
  it("mutated fixture object (ELF + BTF)", () => {
    const bytes = readFileBytes(fixture("btf_types"));
    const elf = readElf(bytes);
    const btf = elf.section(".BTF")!;
    const shoff = Number(
      new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(40, true),
    );
    const target: Target = {
      bytes,
      hot: [
        [0, 64],
        [shoff, bytes.length],
        [btf.offset, btf.offset + 24],
        [btf.offset + 24, btf.offset + btf.size],
        [
          elf.section(".symtab")!.offset,
          elf.section(".symtab")!.offset + elf.section(".symtab")!.size,
        ],
      ],
      parse: (b) => Btf.fromElf(readElf(b)),
    };
    const r = run(target, 1500, 0x5eed);
    console.log(
      `fixture: ${r.parsed} parsed, ${r.errors} rejected with tsbpf errors`,
    );
    expect(r.errors).toBeGreaterThan(0);
  }, 30_000);

  it.skipIf(
    !need(existsSync("/sys/kernel/btf/vmlinux"), "no /sys/kernel/btf/vmlinux"),
  )(
    "mutated slice of vmlinux BTF",
    () => {
      // The first 400 types of vmlinux with its whole string table, as a
      // standalone blob (references past the slice are dangling: BtfError).
      const full = readFileBytes("/sys/kernel/btf/vmlinux");
      const { header, byteOrder } = readHeader(full);
      const words = typeWords(full, header, byteOrder);
      const offsets = indexTypes(words, header.hdrLen + header.typeOff);
      const typeLen = offsets[400] * 4;
      const strings = full.subarray(
        header.hdrLen + header.strOff,
        header.hdrLen + header.strOff + header.strLen,
      );
      const bytes = new Uint8Array(24 + typeLen + strings.length);
      bytes.set(full.subarray(0, 24));
      const v = new DataView(bytes.buffer);
      v.setUint32(4, 24, true);
      v.setUint32(8, 0, true);
      v.setUint32(12, typeLen, true);
      v.setUint32(16, typeLen, true);
      bytes.set(
        full.subarray(
          header.hdrLen + header.typeOff,
          header.hdrLen + header.typeOff + typeLen,
        ),
        24,
      );
      bytes.set(strings, 24 + typeLen);
      expect(Btf.fromBytes(bytes).count).toBe(400);
      const target: Target = {
        bytes,
        hot: [
          [0, 24],
          [24, 24 + typeLen],
        ],
        parse: (b) => Btf.fromBytes(b),
      };
      const r = run(target, 1500, 0xb7f);
      console.log(
        `vmlinux slice: ${r.parsed} parsed, ${r.errors} rejected with tsbpf errors`,
      );
      expect(r.errors).toBeGreaterThan(0);
    },
    30_000,
  );
});
