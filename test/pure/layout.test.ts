import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Btf } from "../../src/btf/btf.ts";
import { layout, layoutType, type LayoutSpec } from "../../src/btf/layout.ts";
import { marshalBtf } from "../../src/btf/marshal.ts";
import {
  type BtfType,
  Int,
  Member,
  Struct,
  alignOf,
  resolveType,
} from "../../src/btf/types.ts";
import { BtfTypeError, BtfValidationError } from "../../src/errors.ts";
import { ROOT, fixture, need } from "../_support/fixtures.ts";
import {
  cSizesAligns,
  hasCc,
  layoutRef,
  tohex,
  unhex,
} from "../_support/layout_ref.ts";

const btf = Btf.fromFile(fixture("btf_types"));
const ref = need(hasCc(), "no host C compiler (cc)") ? layoutRef() : undefined;

const EXEC: LayoutSpec = {
  timestamp: "u64",
  event_type: "u8",
  pid: "u32",
  ppid: "u32",
  comm: "char[16]",
  filename: "char[64]",
  is_thread: "bool",
  retval: "s64",
};

/** Hand-written twins of the fixture structs a layout can express. */
const SPECS: Record<string, [LayoutSpec, { packed?: boolean }?]> = {
  exec_event: [EXEC],
  packed_ev: [{ tag: "u8", value: "u64", port: "u16" }, { packed: true }],
  nested_arrays: [
    {
      matrix: "u32[3][4]",
      shorts: "u16[5]",
      points: [{ x: "u8", y: "u32" }, 2],
    },
  ],
  signed_vals: [
    {
      s8: "s8",
      s16: "i16",
      s32: "s32",
      s64: "s64",
      u64: "u64",
      l: "s64",
      ul: "u64",
      i: "s32",
      c: "char",
      sc: "s8",
      uc: "u8",
    },
  ],
  typedef_chain: [
    {
      ts: "u64",
      plain: "u64",
      cv: "u64",
      type: "u32",
      big: "u64",
      ptr: "u64",
      name: "u64",
    },
  ],
  floats: [{ f: "f32", d: "f64", tail: "u8" }],
  process_stats: [
    { syscall_count: "u64", total_time: "u64", max_latency: "u64" },
  ],
};

describe("hand-written layouts", () => {
  it.skipIf(!ref)("match sizeof/offsetof from the C compiler", () => {
    for (const [name, [spec, opts]] of Object.entries(SPECS)) {
      const cls = layout(spec, { name, ...opts });
      const c = ref!.layouts[name];
      expect([name, cls.size]).toEqual([name, c.size]);
      for (const [field, offset] of Object.entries(c.fields)) {
        const f = cls.fields.find((x) => x.name === field);
        expect([name, field, f?.offset]).toEqual([name, field, offset]);
      }
    }
  });

  it.skipIf(!ref)("decode the C program's bytes like the BTF views", () => {
    for (const name of [
      "exec_event",
      "packed_ev",
      "nested_arrays",
      "signed_vals",
      "floats",
    ]) {
      const [spec, opts] = SPECS[name];
      const bytes = unhex(ref!.samples[name].hex);
      const fromLayout = layout(spec, { name, ...opts })
        .from(bytes)
        .toObject();
      expect([name, fromLayout]).toEqual([
        name,
        btf.struct(name).from(bytes).toObject(),
      ]);
    }
  });

  it.skipIf(!ref)("setters of a layout class write the C bytes", () => {
    const E = layout(EXEC, { name: "exec_event" });
    const e = new E();
    Object.assign(e, {
      timestamp: 0x1122334455667788n,
      event_type: 2,
      pid: 4242,
      ppid: 1,
      comm: "bash",
      filename: "/usr/bin/bash",
      is_thread: true,
      retval: -2n,
    });
    expect(tohex(e.$bytes())).toBe(ref!.samples.exec_event.hex);
  });

  it("pads like C and accepts nested layouts and struct classes", () => {
    const Inner = layout({ a: "u8", b: "u64" });
    expect(Inner.size).toBe(16);
    const Outer = layout({
      x: "u8",
      inner: Inner,
      y: { z: "u16" },
      tail: "u8",
    });
    expect(Outer.fields.map((f) => [f.name, f.offset])).toEqual([
      ["x", 0],
      ["inner", 8],
      ["y", 24],
      ["tail", 26],
    ]);
    expect(Outer.size).toBe(32);
    const o = new Outer();
    o.inner.b = 5n;
    o.y.z = 7;
    expect(o.toObject()).toEqual({
      x: 0,
      inner: { a: 0, b: 5n },
      y: { z: 7 },
      tail: 0,
    });
  });

  it("rejects unknown types and malformed arrays", () => {
    expect(() => layout({ a: "u24" })).toThrow(
      /layout field 'a': unknown type "u24"/,
    );
    expect(() => layout({ a: { b: "float" } })).toThrow(/'a\.b'/);
    expect(() => layout({ a: ["u8"] as never })).toThrow(BtfTypeError);
    expect(() => layout({ pid: "u32", flags: "u33" })).toThrow(
      /layout field 'flags': unknown type "u33": integers are 8, 16, 32 or 64 bits/,
    );
    expect(() => layoutType("u33")).toThrow(/^unknown type "u33"/);
    expect(() => layout({ comm: "char[]" })).toThrow(
      /layout field 'comm': unknown type "char\[\]": an array in a layout needs its length/,
    );
    for (const bad of [null, 5, undefined, () => 1, Symbol("x")])
      expect(() => layout({ a: { b: [{ c: bad as never }, 2] } })).toThrow(
        /layout field 'a\.b\.c': bad type .*; expected a type name/,
      );
    expect(() => layout({ a: ["u8", -1] })).toThrow(
      /layout field 'a': an array is written \[type, count\]/,
    );
    expect(() => layout({ a: "u8[99999999999]" })).toThrow(
      /layout field 'a': u8\[99999999999\] exceeds 4294967295 bytes/,
    );
    expect(() => layout({ a: ["u64", 2 ** 30] })).toThrow(/exceeds/);
    for (const bad of [null, "u32", 7, ["u32"]])
      expect(() => layout(bad as never)).toThrow(
        /layout\(\): expected an object of field → type/,
      );
    const m = new (layout({ m: "u32[3][4]" }))().m;
    expect([m.length, m[0].length, layoutType("u32[3][4]").size]).toEqual([
      3, 4, 48,
    ]);
  });
});

describe("alignOf", () => {
  it.skipIf(!ref)(
    "matches C's _Alignof for the fixture structs, nested in a layout too",
    () => {
      for (const [name, align] of Object.entries(ref!.aligns)) {
        expect([name, alignOf(btf.type(name))]).toEqual([name, align]);
        const cls = btf.struct(name);
        const outer = layout({ a: "u8", p: cls });
        // C: struct { __u8 a; struct <name> p; }
        const size = Math.ceil((align + cls.size) / align) * align;
        expect([name, outer.fields[1].offset, outer.size]).toEqual([
          name,
          align,
          size,
        ]);
      }
      // Packed: offsets off their alignment, C puts it at 1.
      expect(layout({ a: "u8", p: btf.struct("packed_ev") }).size).toBe(12);
    },
  );

  const vmlinuxH = join(ROOT, "build", "vmlinux.h");
  it.skipIf(
    !need(
      hasCc() && existsSync("/sys/kernel/btf/vmlinux") && existsSync(vmlinuxH),
      "needs cc, /sys/kernel/btf/vmlinux and build/vmlinux.h",
    ),
  )("matches C's _Alignof for the kernel's structs and unions", () => {
    const k = Btf.kernel();
    const seen = new Set<string>();
    const types = [];
    for (let id = 1; id <= k.count; id++) {
      const kind = k.kindOf(id);
      if (kind !== "struct" && kind !== "union") continue;
      const name = k.nameOf(id);
      // bpftool renames all but one of several types named alike.
      if (!name || seen.has(name)) continue;
      seen.add(name);
      if (
        k.findIds(name, "struct").length +
          k.findIds(name, "union").length +
          k.findIds(name, "enum").length >
        1
      )
        continue;
      types.push(
        resolveType(k.typeById(id)) as {
          kind: string;
          size: number;
          name: string;
        },
      );
    }
    const c = cSizesAligns(
      join(ROOT, "build"),
      "vmlinux.h",
      types.map((t) => `${t.kind} ${t.name}`),
    );
    let compared = 0;
    const differ: string[] = [];
    types.forEach((t, i) => {
      const [size, align] = c[i];
      // vmlinux.h cannot spell some types as BTF has them (a 1-byte enum
      // is written as a plain, 4-byte one): nothing to compare there.
      if (size !== t.size) return;
      compared++;
      const ours = alignOf(t as never);
      if (ours !== align)
        differ.push(`${t.kind} ${t.name}: ${ours}, C ${align}`);
    });
    expect(differ).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
  });
});

describe("btf.validate", () => {
  it("passes correct layouts (natural and packed), including padding fields", () => {
    for (const [name, [spec, opts]] of Object.entries(SPECS))
      expect(() => btf.validate(name, spec, opts)).not.toThrow();
    btf.validate("exec_event", {
      ...pick(EXEC, 0, 2),
      _pad: "u8[3]",
      ...pick(EXEC, 2),
    });
    btf.validate("exec_event", layout(EXEC));
    // An anonymous union needs only one of its alternatives.
    btf.validate("anon_members", {
      id: "u32",
      x: "u16",
      y: "u16",
      ip6: "u8[16]",
      flags: "u8",
    });
  });

  it("accepts the seed proposal's ctypes-style layout of exec_event", () => {
    // class ExecEvent(ctypes.Structure): _fields_ = [("timestamp", c_uint64),
    // ("event_type", c_uint8), ("_pad", c_uint8 * 3), ("pid", c_uint32), ...]
    const ExecEvent = {
      timestamp: "u64",
      event_type: "u8",
      _pad: ["u8", 3],
      pid: "u32",
      ppid: "u32",
      comm: "char[16]",
      filename: "char[64]",
      is_thread: "bool",
      _pad2: "u8[3]",
      retval: "s64",
    } as const;
    btf.validate("exec_event", ExecEvent);
    expect(layout(ExecEvent).size).toBe(btf.type("exec_event").size);
    const e = catchErr(() =>
      btf.validate("exec_event", { ...ExecEvent, pid: "i32" }),
    );
    expect(e.mismatches).toEqual([
      {
        field: "pid",
        kind: "signedness",
        expected: "__u32 (4 bytes)",
        actual: "s32 (4 bytes)",
        fix: "use 'u32'",
      },
    ]);
  });

  it("lists every mismatch with a fix", () => {
    let err: BtfValidationError | undefined;
    try {
      btf.validate("exec_event", {
        timestamp: "u64",
        event_type: "u8",
        pid: "s32",
        ppidd: "u32",
        comm: "char[8]",
        filename: "u8[64]",
        retval: "s64",
      });
    } catch (e) {
      err = e as BtfValidationError;
    }
    expect(err).toBeInstanceOf(BtfValidationError);
    const got = err!.mismatches.map((m) => [m.field, m.kind]);
    expect(got).toEqual([
      ["pid", "signedness"],
      ["ppidd", "extra"],
      ["comm", "size"],
      ["filename", "offset"],
      ["filename", "type"],
      ["retval", "offset"],
      ["ppid", "missing"],
      ["is_thread", "missing"],
      ["", "struct-size"],
    ]);
    const fixes = err!.mismatches.map((m) => m.fix).join("\n");
    expect(fixes).toContain("use 'u32'");
    expect(fixes).toContain("did you mean 'ppid'?");
    expect(fixes).toContain("use 'char[16]'");
    expect(fixes).toContain("follows from the size of 'comm'");
    expect(fixes).toContain(
      "add `is_thread: 'bool'` after 'filename' (offset 100)",
    );
    expect(err!.mismatches[5].fix).toContain(
      "shifted by the same 8 byte(s) as 'filename'",
    );
    expect(err!.message).toMatch(
      /layout does not match BTF struct 'exec_event' \(9 mismatches\)/,
    );
    for (const m of err!.mismatches) expect(m.fix.length).toBeGreaterThan(5);
  });

  it("explains padding a packed layout leaves out", () => {
    let err: BtfValidationError | undefined;
    try {
      btf.validate(
        "exec_event",
        { timestamp: "u64", event_type: "u8", pid: "u32" },
        { packed: true },
      );
    } catch (e) {
      err = e as BtfValidationError;
    }
    const pid = err!.mismatches.find((m) => m.field === "pid")!;
    expect(pid.kind).toBe("offset");
    expect(pid.fix).toContain(
      "clang inserts 3 byte(s) of padding after 'event_type'",
    );
    expect(pid.fix).toContain("`_pad: 'u8[3]'`");
    expect(err!.mismatches.some((m) => m.kind === "struct-size")).toBe(true);
  });

  it("suggests packed for a packed BTF struct, nested paths, bitfields", () => {
    const e1 = catchErr(() => btf.validate("packed_ev", SPECS.packed_ev[0]));
    expect(e1.mismatches[0].fix).toContain("{ packed: true }");
    const e2 = catchErr(() =>
      btf.validate("nested_arrays", {
        matrix: "u32[12]",
        shorts: "u16[5]",
        points: [{ x: "u8", y: "u16" }, 2],
      }),
    );
    expect(e2.mismatches.map((m) => [m.field, m.kind])).toEqual([
      ["matrix", "type"],
      ["points", "offset"],
      ["points[].y", "offset"],
      ["points[].y", "size"],
      ["points[]", "struct-size"],
      ["", "struct-size"],
    ]);
    expect(e2.mismatches[0].fix).toContain("'u32[3][4]'");
    const e3 = catchErr(() => btf.validate("bitfields", { a: "u32" }));
    expect(e3.mismatches[0].fix).toMatch(/cannot express bitfields/);
  });

  it("says layouts cannot express unions, and suggests fixes that pass", () => {
    const top = catchErr(() => btf.validate("top_union", { whole: "u64" }));
    expect(top.message).toMatch(/BTF union 'top_union' \(1 mismatch\)/);
    expect(top.mismatches.map((m) => [m.field, m.kind])).toEqual([
      ["", "type"],
    ]);
    expect(top.mismatches[0].fix).toMatch(
      /layouts cannot express unions: validate btf\.struct\("top_union"\).*'u8\[112\]'/,
    );
    btf.validate("top_union", btf.struct("top_union"));
    const nested = catchErr(() =>
      btf.validate("with_union", {
        kind: "u32",
        un: { as_u32: "u32" },
        after: "u64",
      }),
    );
    expect(nested.mismatches.map((m) => [m.field, m.kind, m.fix])).toEqual([
      [
        "un",
        "type",
        "layouts cannot express unions: use 'u8[4]' for its bytes, or btf.struct(name) for the enclosing struct",
      ],
    ]);
    const missing = catchErr(() =>
      btf.validate("with_union", { kind: "u32", after: "u64" }),
    );
    expect(missing.mismatches[0].fix).toBe(
      "add `un: 'u8[4]'` after 'kind' (offset 4)",
    );
    // Following either fix passes.
    btf.validate("with_union", { kind: "u32", un: "u8[4]", after: "u64" });
  });

  it("sees bitfields of kind_flag 0 BTF, whose width is in the INT type", () => {
    const btf0 = Btf.fromBytes(oldStyleBitfields());
    expect(
      btf0
        .type("s", "struct")
        .fields.map((f) => [f.name, f.bitOffset, f.bitSize]),
    ).toEqual([
      ["a", 0, 3],
      ["b", 3, 5],
      ["c", 10, 6],
      ["tail", 16, 0],
    ]);
    const e = catchErr(() => btf0.validate("s", { a: "u16", tail: "u16" }));
    expect(e.mismatches.map((m) => [m.field, m.kind])).toEqual([
      ["a", "type"],
      ["b", "missing"],
      ["c", "missing"],
    ]);
    for (const m of e.mismatches)
      expect(m.fix).toMatch(/cannot express bitfields/);
    expect(e.mismatches[0].expected).toBe("unsigned int:3 (bitfield at bit 0)");
    // Bitfields count for alignment, but are not "off their alignment".
    expect(alignOf(btf0.type("s"))).toBe(4);
  });

  it("decorator form validates a class's static layout", () => {
    @btf.validates("process_stats")
    class Stats {
      static layout = SPECS.process_stats[0];
    }
    expect(Stats.layout).toBe(SPECS.process_stats[0]);
    expect(() => {
      @btf.validates("process_stats")
      class Bad {
        static layout = { syscall_count: "u32" };
      }
      return Bad;
    }).toThrow(BtfValidationError);
  });
});

/**
 * `struct s { unsigned a:3, b:5; int c:6 (at bit 10); __u16 tail; }` as
 * kind_flag = 0 BTF: widths (and c's extra 2 bits of offset) in the INTs.
 */
function oldStyleBitfields(): Uint8Array {
  const types: BtfType[] = [];
  const r = { typeById: (id: number) => types[id - 1] };
  const u = { signed: false, char: false, bool: false };
  types.push(
    new Int(1, "unsigned int", 4, u, 3, 0),
    new Int(2, "unsigned int", 4, u, 5, 0),
    new Int(3, "int", 4, { ...u, signed: true }, 6, 2),
    new Int(4, "short unsigned int", 2, u, 16, 0),
    new Struct(5, "s", 4, [
      new Member(r, "a", 1, 0, 0),
      new Member(r, "b", 2, 3, 0),
      new Member(r, "c", 3, 8, 0),
      new Member(r, "tail", 4, 16, 0),
    ]),
  );
  return marshalBtf(types);
}

function pick(spec: LayoutSpec, from: number, to?: number): LayoutSpec {
  return Object.fromEntries(Object.entries(spec).slice(from, to));
}

function catchErr(f: () => void): BtfValidationError {
  try {
    f();
  } catch (e) {
    if (e instanceof BtfValidationError) return e;
    throw e;
  }
  throw new Error("did not throw");
}
