import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { Btf } from "../../src/btf/btf.ts";
import { indexTypes, readHeader, typeWords } from "../../src/btf/parse.ts";
import {
  alignOf,
  sizeOf,
  type BtfType,
  type Struct,
  type Union,
} from "../../src/btf/types.ts";
import { type StructClass, structClass } from "../../src/btf/views.ts";
import { BtfBuilder } from "../../src/btf/marshal.ts";
import type { ElfFile } from "../../src/elf/file.ts";
import { readElf } from "../../src/elf/reader.ts";
import { BtfTypeError, TsbpfError } from "../../src/errors.ts";
import { readFileBytes } from "../../src/io.ts";
import { fixture, need } from "../_support/fixtures.ts";
import { prng } from "../_support/prng.ts";

interface Target {
  bytes: Uint8Array;
  /** Byte ranges worth aiming at: headers and type records. */
  hot: [number, number][];
  /** Parse one input: its ELF file (when it is an object) and its BTF. */
  parse(b: Uint8Array, elf: (e: ElfFile) => void): Btf | undefined;
}

/** Walks everything an ELF consumer reads: sections, symbols, relocations. */
function walkElf(elf: ElfFile): void {
  for (const s of elf.sections) {
    s.data.length;
    elf.section(s.name);
    elf.symbolsIn(s.index);
    elf.relocationsFor(s);
  }
  for (const sym of elf.symbols) elf.symbol(sym.name);
  for (const r of elf.relocationSections)
    for (const rel of r.relocations) elf.symbols[rel.symbolIndex];
}

/** Largest struct the view step decodes (bigger ones must refuse small buffers). */
const MAX_VIEW_BYTES = 1 << 16;
/** Structs/unions exercised per mutated input (picked at random; keeps the file fast). */
const VIEWS_PER_CASE = 8;

/**
 * Builds the view class of some structs/unions (by name through
 * `btf.struct`, anonymous ones through `structClass`), decodes zeroed and
 * random bytes through it, and writes the decoded values back.
 */
function exerciseViews(
  btf: Btf,
  rnd: () => number,
  check: (e: unknown, what: string) => void,
): number {
  const ids: number[] = [];
  for (let id = 1; id <= btf.count; id++) {
    const kind = btf.kindOf(id);
    if (kind === "struct" || kind === "union") ids.push(id);
  }
  while (ids.length > VIEWS_PER_CASE)
    ids.splice(Math.floor(rnd() * ids.length), 1);
  let views = 0;
  for (const id of ids) {
    let cls: StructClass;
    try {
      const name = btf.nameOf(id);
      cls = name
        ? btf.struct(name)
        : structClass(btf.typeById(id) as Struct | Union, {
            littleEndian: btf.byteOrder === "le",
          });
    } catch (e) {
      check(e, `struct class of type ${id}`);
      continue;
    }
    try {
      if (cls.size > MAX_VIEW_BYTES) {
        try {
          cls.from(new Uint8Array(16));
          check(new Error("from() accepted too few bytes"), `type ${id}`);
        } catch (e) {
          if (!(e instanceof BtfTypeError)) throw e;
        }
        continue;
      }
      views++;
      cls.from(new Uint8Array(cls.size)).toObject();
      const bytes = new Uint8Array(cls.size);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
      const v = cls.from(bytes);
      const plain = v.toObject();
      for (const f of cls.fields) if (f.accessor) v[f.name];
      const copy = new cls();
      for (const [k, x] of Object.entries(plain)) copy.$set(k, x);
    } catch (e) {
      check(e, `view of type ${id} (${cls.kind} ${cls.typeName})`);
    }
  }
  return views;
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
): { parsed: number; errors: number; views: number } {
  const rnd = prng(seed);
  let parsed = 0;
  let errors = 0;
  let views = 0;
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
      btf = target.parse(input, (elf) => {
        try {
          walkElf(elf);
        } catch (e) {
          check(e, "ELF walk", i);
        }
      });
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
      views += exerciseViews(btf, rnd, (e, what) => check(e, what, i));
    }
    const ms = performance.now() - t0;
    if (ms > 2000)
      bad.push(`case ${i} (seed ${seed}) took ${ms.toFixed(0)} ms`);
  }
  expect(bad).toEqual([]);
  return { parsed, errors, views };
}

describe("degenerate but parseable BTF: views stay bounded and typed", () => {
  type Shape = (b: BtfBuilder) => void;
  const u8 = (b: BtfBuilder) => b.int("u8", 1);
  const shapes: Record<string, Shape> = {
    "2^32 empty structs": (b) => {
      const a = b.array(b.struct("empty", 0, []), 0xffffffff);
      b.struct("s", 4, [{ name: "a", type: a, bitOffset: 0 }]);
    },
    "array larger than its struct": (b) => {
      const a = b.array(b.int("u32", 4), 0x40000001);
      b.struct("s", 8, [{ name: "a", type: a, bitOffset: 0 }]);
    },
    "4 GiB struct": (b) => void b.struct("s", 0xffffffff, []),
    "3-byte int and enum": (b) => {
      const e = b.enum("e", 3, [{ name: "A", value: 1 }]);
      b.struct("s", 8, [
        { name: "i", type: b.int("u24", 3), bitOffset: 0 },
        { name: "e", type: e, bitOffset: 32 },
      ]);
    },
    "64-bit bitfield at bit 3": (b) =>
      void b.struct("s", 16, [
        {
          name: "a",
          type: b.int("u64", 8, { signed: true }),
          bitOffset: 3,
          bitSize: 64,
        },
      ]),
    "bitfield on a pointer and a struct": (b) => {
      const inner = b.struct("in", 1, [
        { name: "x", type: u8(b), bitOffset: 0 },
      ]);
      b.struct("s", 16, [
        { name: "p", type: b.ptr(0), bitOffset: 3, bitSize: 5 },
        { name: "q", type: inner, bitOffset: 12, bitSize: 3 },
      ]);
    },
    "members of void, fwd, func_proto type": (b) => {
      const fwd = b.fwd("x");
      const fp = b.funcProto(0, []);
      b.struct("s", 4, [
        { name: "v", type: 0, bitOffset: 0 },
        { name: "f", type: fwd, bitOffset: 0 },
        { name: "p", type: fp, bitOffset: 0 },
      ]);
    },
    "duplicate member and enumerator names": (b) => {
      const e = b.enum("e", 4, [
        { name: "A", value: 1 },
        { name: "A", value: 2 },
        { name: "1", value: 3 },
      ]);
      b.struct("s", 8, [
        { name: "a", type: e, bitOffset: 0 },
        { name: "a", type: u8(b), bitOffset: 32 },
      ]);
    },
    "anonymous members 100 deep": (b) => {
      let t = b.struct("", 1, [{ name: "leaf", type: u8(b), bitOffset: 0 }]);
      for (let i = 0; i < 100; i++)
        t = b.struct("", 1, [{ name: "", type: t, bitOffset: 0 }]);
      b.struct("s", 1, [{ name: "", type: t, bitOffset: 0 }]);
    },
    "20000 members": (b) => {
      const u = u8(b);
      b.struct(
        "s",
        20_000,
        Array.from({ length: 20_000 }, (_, i) => ({
          name: `f${i}`,
          type: u,
          bitOffset: i * 8,
        })),
      );
    },
  };

  for (const [label, shape] of Object.entries(shapes)) {
    it(label, () => {
      for (const littleEndian of [true, false]) {
        const builder = new BtfBuilder();
        shape(builder);
        const btf = Btf.fromBytes(builder.toBytes({ littleEndian }));
        const t0 = performance.now();
        try {
          const cls = btf.struct("s");
          if (cls.size > MAX_VIEW_BYTES) {
            expect(() => cls.from(new Uint8Array(16))).toThrow(BtfTypeError);
            continue;
          }
          const v = cls.from(new Uint8Array(cls.size).fill(0xa5));
          const plain = v.toObject();
          const copy = new cls();
          for (const [k, x] of Object.entries(plain)) copy.$set(k, x);
        } catch (e) {
          if (!(e instanceof TsbpfError)) throw e;
        }
        expect(performance.now() - t0).toBeLessThan(3000);
      }
    });
  }
});

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
      parse: (b, walk) => {
        const elf = readElf(b);
        walk(elf);
        return Btf.fromElf(elf);
      },
    };
    const r = run(target, 1500, 0x5eed);
    console.log(
      `fixture: ${r.parsed} parsed (${r.views} struct views decoded), ${r.errors} rejected with tsbpf errors`,
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
        `vmlinux slice: ${r.parsed} parsed (${r.views} struct views decoded), ${r.errors} rejected with tsbpf errors`,
      );
      expect(r.errors).toBeGreaterThan(0);
    },
    30_000,
  );
});
