import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Btf } from "../../src/btf/btf.ts";
import { BtfBuilder, marshalBtf } from "../../src/btf/marshal.ts";
import type { BtfType } from "../../src/btf/types.ts";
import { BtfError } from "../../src/errors.ts";
import { fixture, need } from "../_support/fixtures.ts";

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const bpftool = need(has("bpftool"), "bpftool not installed");

/** `bpftool btf dump file` of raw BTF bytes. */
function dump(bytes: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-marshal-"));
  try {
    const file = join(dir, "x.btf");
    writeFileSync(file, bytes);
    return execFileSync("bpftool", ["btf", "dump", "file", file], {
      maxBuffer: 1 << 28,
    }).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Everything the model says about a type, for comparisons. */
function describeType(t: BtfType): unknown {
  const base = { id: t.id, kind: t.kind, name: t.name, text: String(t) };
  switch (t.kind) {
    case "int":
      return { ...base, size: t.size, enc: t.encoding, bits: t.bits };
    case "struct":
    case "union":
      return {
        ...base,
        size: t.size,
        members: t.members.map((m) => [
          m.name,
          m.typeId,
          m.bitOffset,
          m.bitSize,
        ]),
      };
    case "enum":
    case "enum64":
      return { ...base, size: t.size, signed: t.signed, values: t.values };
    case "array":
      return { ...base, el: t.elementId, idx: t.indexId, n: t.length };
    case "func_proto":
      return { ...base, ret: t.returnId, params: t.params };
    case "datasec":
      return {
        ...base,
        size: t.size,
        vars: t.vars.map((v) => [v.typeId, v.offset, v.size]),
      };
    case "fwd":
      return { ...base, fwd: t.fwdKind };
    case "func":
    case "var":
      return { ...base, target: t.targetId, linkage: t.linkage };
    case "decl_tag":
      return {
        ...base,
        target: t.targetId,
        idx: t.componentIdx,
        attribute: t.attribute,
      };
    case "type_tag":
      return { ...base, target: t.targetId, attribute: t.attribute };
    case "float":
      return { ...base, size: t.size };
    case "void":
      return base;
    default:
      return { ...base, target: t.targetId };
  }
}

/** Bytes after a type's 12-byte header in the wire format. */
function extraBytes(t: BtfType): number {
  switch (t.kind) {
    case "int":
    case "var":
    case "decl_tag":
      return 4;
    case "array":
      return 12;
    case "struct":
    case "union":
      return 12 * t.members.length;
    case "enum":
      return 8 * t.values.length;
    case "enum64":
      return 12 * t.values.length;
    case "func_proto":
      return 8 * t.params.length;
    case "datasec":
      return 12 * t.vars.length;
    default:
      return 0;
  }
}

/** One of every kind. */
function everyKind(): BtfBuilder {
  const b = new BtfBuilder();
  const u32 = b.int("unsigned int", 4);
  const s64 = b.int("long long", 8, { signed: true });
  const chr = b.int("char", 1, { signed: true });
  const bool = b.int("_Bool", 1, { bool: true });
  const fl = b.float("double", 8);
  const node = b.struct("node", 24, [
    { name: "next", type: 7, bitOffset: 0 },
    { name: "a", type: u32, bitOffset: 64, bitSize: 3 },
    { name: "b", type: u32, bitOffset: 67, bitSize: 29 },
    { name: "v", type: s64, bitOffset: 128 },
  ]);
  b.ptr(node); // id 7, referenced above before it existed
  b.union("u", 8, [
    { name: "x", type: fl, bitOffset: 0 },
    { name: "c", type: b.array(chr, 8), bitOffset: 0 },
  ]);
  b.enum(
    "e",
    4,
    [
      { name: "NEG", value: -1 },
      { name: "POS", value: 7 },
    ],
    { signed: true },
  );
  b.enum("e64", 8, [{ name: "BIG", value: 0x1234567890abcdefn }]);
  b.fwd("later", "union");
  const td = b.typedef("node_t", node);
  const cv = b.const(b.volatile(td));
  b.restrict(b.ptr(cv));
  b.typeTag("user", u32);
  const proto = b.funcProto(u32, [
    { name: "ctx", type: b.ptr(0) },
    { name: "flag", type: bool },
  ]);
  b.func("prog", proto, "global");
  const v = b.var("counter", u32, "static");
  b.datasec(".bss", 4, [{ type: v, offset: 0, size: 4 }]);
  b.declTag("tag", node, 1);
  // kind_flag set (Linux 6.14): attributes, not tags.
  b.typeTag("address_space(1)", u32, true);
  b.declTag("aligned(8)", node, -1, true);
  return b;
}

describe("marshalBtf", () => {
  it("round-trips every kind through the parser", () => {
    const b = everyKind();
    for (const littleEndian of [true, false]) {
      const btf = Btf.fromBytes(b.toBytes({ littleEndian }));
      expect(btf.byteOrder).toBe(littleEndian ? "le" : "be");
      expect([...btf].map(describeType)).toEqual(b.types.map(describeType));
    }
  });

  it("is the parser's inverse: re-marshalling parsed BTF gives the same bytes", () => {
    const bytes = everyKind().toBytes();
    const again = marshalBtf([...Btf.fromBytes(bytes)]);
    expect(again).toEqual(bytes);
  });

  it.skipIf(!bpftool)("writes BTF that bpftool reads", () => {
    const out = dump(everyKind().toBytes());
    expect(out).toContain("[6] STRUCT 'node' size=24 vlen=4");
    expect(out).toContain("'b' type_id=1 bits_offset=67 bitfield_size=29");
    expect(out).toContain("[7] PTR '(anon)' type_id=6");
    expect(out).toContain("'NEG' val=-1");
    expect(out).toContain("ENUM64 'e64' encoding=UNSIGNED size=8 vlen=1");
    expect(out).toContain("FWD 'later' fwd_kind=union");
    expect(out).toContain("VAR 'counter' type_id=1, linkage=static");
    expect(out).toContain("DECL_TAG 'tag' type_id=6 component_idx=1");
  });

  it.skipIf(!bpftool)(
    "re-encodes the fixture object's BTF as bpftool sees it",
    () => {
      const btf = Btf.fromFile(fixture("btf_types"));
      const ours = dump(marshalBtf([...btf]));
      const theirs = dump(btf.bytes);
      expect(ours).toBe(theirs);
    },
  );

  it("keeps kind_flag of DECL_TAG and TYPE_TAG (attributes) in a raw round trip", () => {
    const bytes = everyKind().toBytes();
    const btf = Btf.fromBytes(bytes);
    const infos = [...btf]
      .filter((t) => t.kind === "decl_tag" || t.kind === "type_tag")
      .map((t) => [t.name, t.attribute]);
    expect(infos).toEqual([
      ["user", false],
      ["tag", false],
      ["address_space(1)", true],
      ["aligned(8)", true],
    ]);
    // The info words themselves: kind_flag is bit 31.
    const again = marshalBtf([...btf]);
    const v = new DataView(again.buffer);
    const words: number[] = [];
    for (const t of btf) {
      if (t.kind !== "decl_tag" && t.kind !== "type_tag") continue;
      let off = 24;
      for (const u of btf) {
        if (u === t) break;
        off += 12 + extraBytes(u);
      }
      words.push(v.getUint32(off + 4, true));
    }
    expect(words).toEqual([0x12000000, 0x11000000, 0x92000000, 0x91000000]);
  });

  it("rejects what BTF cannot hold", () => {
    const b = new BtfBuilder();
    b.int("a\0b", 4);
    expect(() => b.toBytes()).toThrow(BtfError);
    const u = new BtfBuilder().int("u", 4);
    expect(() => marshalBtf([u, u])).toThrow(/ids 1..n in order/);
  });
});
