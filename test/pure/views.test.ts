import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { Btf } from "../../src/btf/btf.ts";
import {
  type BtfType,
  Int,
  Member,
  Struct,
  type TypeResolver,
} from "../../src/btf/types.ts";
import { structClass } from "../../src/btf/views.ts";
import { BtfBuilder } from "../../src/btf/marshal.ts";
import { readElf } from "../../src/elf/reader.ts";
import { readFileBytes } from "../../src/io.ts";
import { BtfNotFoundError, BtfTypeError } from "../../src/errors.ts";
import { fixture, need, ROOT } from "../_support/fixtures.ts";
import {
  hasCc,
  jsonish,
  layoutRef,
  tohex,
  unhex,
} from "../_support/layout_ref.ts";

const btf = Btf.fromFile(fixture("btf_types"));
const ref = need(hasCc(), "no host C compiler (cc)") ? layoutRef() : undefined;

/** A tiny hand-built type table (for cases the fixture cannot express). */
class Table implements TypeResolver {
  types: BtfType[] = [];
  add<T extends BtfType>(make: (id: number) => T): T {
    const t = make(this.types.length);
    this.types.push(t);
    return t;
  }
  typeById(id: number): BtfType {
    return this.types[id];
  }
}

function u32(t: Table): Int {
  return t.add(
    (id) =>
      new Int(id, "u32", 4, { signed: false, char: false, bool: false }, 32, 0),
  );
}

describe("struct views against the C compiler", () => {
  const names = ref ? Object.keys(ref.samples) : [];

  it.skipIf(!ref)(
    "the C reference samples every named struct and union of the fixture",
    () => {
      const inBtf = [...btf]
        .filter((t) => (t.kind === "struct" || t.kind === "union") && t.name)
        .map((t) => t.name)
        .sort();
      expect(inBtf).toEqual(Object.keys(ref!.layouts).sort());
      expect(names.sort()).toEqual(inBtf);
    },
  );

  it.skipIf(!ref)("sizes and field offsets equal sizeof/offsetof", () => {
    for (const [name, { size, fields }] of Object.entries(ref!.layouts)) {
      const cls = btf.struct(name);
      expect([name, cls.size]).toEqual([name, size]);
      for (const [field, offset] of Object.entries(fields)) {
        const f = cls.fields.find((x) => x.name === field);
        expect([name, field, f?.offset]).toEqual([name, field, offset]);
      }
    }
  });

  it.skipIf(!ref)("decodes the C program's bytes to its values", () => {
    for (const name of names) {
      const { hex, values } = ref!.samples[name];
      const cls = btf.struct(name);
      const v = cls.from(unhex(hex));
      expect([name, jsonish(v.toObject())]).toEqual([name, values]);
    }
  });

  it.skipIf(!ref)("setters produce the C program's bytes", () => {
    for (const name of names) {
      const { hex } = ref!.samples[name];
      const cls = btf.struct(name);
      const plain = cls.from(unhex(hex)).toObject();
      const fresh = new cls();
      for (const [k, x] of Object.entries(plain)) fresh[k] = x;
      expect([name, tohex(fresh.$bytes())]).toEqual([name, hex]);
    }
  });

  it.skipIf(!ref)("reads single fields with the right JS types", () => {
    const ev = btf
      .struct("exec_event")
      .from(unhex(ref!.samples.exec_event.hex));
    expect(ev.timestamp).toBe(0x1122334455667788n);
    expect(ev.pid).toBe(4242);
    expect(ev.comm).toBe("bash");
    expect(ev.is_thread).toBe(true);
    expect(ev.retval).toBe(-2n);
    const bf = btf.struct("bitfields").from(unhex(ref!.samples.bitfields.hex));
    expect([bf.a, bf.b, bf.c, bf.d, bf.e, bf.f]).toEqual([
      5,
      17,
      -33,
      99999,
      0xabcdef1234n,
      1,
    ]);
    const am = btf
      .struct("anon_members")
      .from(unhex(ref!.samples.anon_members.hex));
    expect([am.x, am.y, am.ip4, am.ip6[0], am.ip6[3]]).toEqual([
      3, 4, 0x0100007f, 127, 1,
    ]);
    const fl = btf.struct("floats").from(unhex(ref!.samples.floats.hex));
    expect([fl.f, fl.d]).toEqual([1.5, -0.1]);
  });

  it.skipIf(!ref)("bitfield writes keep their neighbours", () => {
    const bf = btf.struct("bitfields").from(unhex(ref!.samples.bitfields.hex));
    bf.c = 63;
    bf.e = (1n << 40n) - 1n;
    expect([bf.a, bf.b, bf.c, bf.d, bf.e, bf.f, bf.tail]).toEqual([
      5,
      17,
      63,
      99999,
      (1n << 40n) - 1n,
      1,
      0xbeef,
    ]);
    bf.c = -64;
    expect(bf.c).toBe(-64);
    expect(() => (bf.c = 64)).toThrow(
      /field 'c' of struct bitfields.*-64\.\.63/,
    );
    expect(() => (bf.a = 8)).toThrow(BtfTypeError);
  });
});

describe("struct class API", () => {
  const Ev = btf.struct("exec_event");

  it("caches classes by name and exposes statics", () => {
    expect(btf.struct("exec_event")).toBe(Ev);
    expect(Ev.size).toBe(112);
    expect(Ev.typeName).toBe("exec_event");
    expect(Ev.kind).toBe("struct");
    expect(btf.struct("top_union").kind).toBe("union");
    expect(Ev.name).toBe("exec_event");
  });

  it("raises the parser's BtfNotFoundError for a missing struct", () => {
    expect(() => btf.struct("nope")).toThrow(BtfNotFoundError);
    expect(() => btf.struct("event_type")).toThrow(/an enum, not a struct/);
    for (const f of [
      () => btf.struct("exec_evnt"),
      () => btf.validate("exec_evnt", { pid: "u32" }),
    ]) {
      let err: BtfNotFoundError | undefined;
      try {
        f();
      } catch (e) {
        err = e as BtfNotFoundError;
      }
      expect(err).toBeInstanceOf(BtfNotFoundError);
      expect(err!.typeName).toBe("exec_evnt");
      expect(err!.suggestions).toContain("struct exec_event");
      expect(err!.message).toMatch(/no type named 'exec_evnt'/);
      expect(err!.message).toMatch(/near names: struct exec_event/);
      expect(err!.hint).toMatch(/only uses it through a pointer local/);
      expect(err!.hint).toContain("`struct exec_evnt _anchor = {};`");
      expect(err!.hint).toContain("`__type(value, struct exec_evnt)`");
    }
  });

  it("new gives zeroed owned bytes; from is zero-copy over all inputs", () => {
    const e = new Ev();
    expect(e.$bytes().length).toBe(112);
    expect(e.$bytes().every((b) => b === 0)).toBe(true);
    const buf = new Uint8Array(300);
    const a = Ev.from(buf, 100);
    a.pid = 7;
    expect(new DataView(buf.buffer).getUint32(112, true)).toBe(7);
    expect(Ev.from(buf.buffer, 100).pid).toBe(7);
    expect(Ev.from(new DataView(buf.buffer, 50), 50).pid).toBe(7);
    expect(Ev.from(buf.subarray(100)).pid).toBe(7);
    expect(a.$bytes().byteOffset).toBe(100);
    expect(a.$offset).toBe(100);
  });

  it("out-of-range from/$repoint throw BtfTypeError naming struct, sizes, offset", () => {
    const check = (f: () => unknown) => {
      try {
        f();
        throw new Error("did not throw");
      } catch (e) {
        expect(e).toBeInstanceOf(BtfTypeError);
        expect(String(e)).toMatch(
          /struct exec_event needs 112 bytes at offset 8.*100 bytes/,
        );
      }
    };
    check(() => Ev.from(new Uint8Array(100), 8));
    check(() => new Ev().$repoint(new DataView(new ArrayBuffer(100)), 8));
    expect(() => Ev.from(new Uint8Array(10), -1)).toThrow(BtfTypeError);
    expect(() => Ev.from("x" as never)).toThrow(BtfTypeError);
    expect(() => Ev.from(new Uint8Array(Ev.size + 8), 1.5)).toThrow(
      /byteOffset must be a non-negative integer, got 1.5/,
    );
    // $repoint and new C(view, offset) check as from() does (0.5 was taken
    // and read at 0; new C(view, 250) ignored its arguments).
    const big = new DataView(new ArrayBuffer(Ev.size + 8));
    expect(() => new Ev().$repoint(big, 0.5)).toThrow(
      /byteOffset must be a non-negative integer, got 0.5/,
    );
    check(() => new Ev(new DataView(new ArrayBuffer(100)), 8));
    new Uint8Array(big.buffer)[8] = 7;
    const at8 = new Ev(big, 8);
    expect(at8.$offset).toBe(8);
    expect(at8.$bytes()[0]).toBe(7);
    expect(() => btf.struct(5 as never)).toThrow(BtfTypeError);
  });

  it("from() over a transferred (detached) buffer is a BtfTypeError", () => {
    const ab = new ArrayBuffer(Ev.size);
    structuredClone(ab, { transfer: [ab] });
    expect(() => Ev.from(ab)).toThrow(BtfTypeError);
    expect(() => Ev.from(ab)).toThrow(/was the buffer transferred/);
  });

  it("$repoint re-aims one view over many records", () => {
    const n = 10;
    const buf = new DataView(new ArrayBuffer(n * Ev.size));
    for (let i = 0; i < n; i++) buf.setUint32(i * Ev.size + 12, i * 3, true);
    const v = new Ev();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += v.$repoint(buf, i * Ev.size).pid;
    expect(sum).toBe(135);
    expect(v.$view).toBe(buf);
  });

  it("setters validate type and range, naming field and type", () => {
    const e = new Ev();
    expect(() => (e.event_type = 300)).toThrow(
      /field 'event_type' of struct exec_event: expected __u8 \(an integer in 0\.\.255\), got 300/,
    );
    expect(() => (e.timestamp = "1" as never)).toThrow(
      /'timestamp'.*expected __u64/,
    );
    expect(() => (e.pid = 1.5)).toThrow(BtfTypeError);
    expect(() => (e.pid = -1)).toThrow(BtfTypeError);
    expect(() => (e.retval = 2n ** 63n)).toThrow(BtfTypeError);
    expect(() => (e.comm = 5 as never)).toThrow(/'comm'.*char\[16\]/);
    e.timestamp = 5; // safe-integer numbers are accepted for 64-bit fields
    expect(e.timestamp).toBe(5n);
    e.retval = -3n;
    expect(e.retval).toBe(-3n);
    e.is_thread = true;
    expect(e.is_thread).toBe(true);
    expect(() => (e.is_thread = "yes" as never)).toThrow(/expected _Bool/);
  });

  it("char[N]: UTF-8, C-like truncation and NUL padding", () => {
    const e = new Ev();
    e.comm = "héllo";
    expect(e.comm).toBe("héllo");
    e.comm = "x";
    expect(e.$bytes()[21]).toBe(0); // rest NUL-padded
    e.comm = "0123456789abcdefXYZ";
    expect(e.comm).toBe("0123456789abcdef"); // 16 bytes, no terminator
    e.comm = "0123456789abcdeé"; // é does not fit: never a partial character
    expect(e.comm).toBe("0123456789abcde");
    e.comm = new Uint8Array([65, 66]);
    expect(e.comm).toBe("AB");
  });

  it("arrays: index get/set, length, iteration, toArray, nesting", () => {
    const N = btf.struct("nested_arrays");
    const n = new N();
    expect(n.matrix.length).toBe(3);
    expect(n.matrix[0].length).toBe(4);
    n.matrix[2][3] = 99;
    n.shorts.set(4, 7);
    expect(n.matrix[2][3]).toBe(99);
    expect([...n.shorts]).toEqual([0, 0, 0, 0, 7]);
    expect(n.matrix.toArray()[2]).toEqual([0, 0, 0, 99]);
    n.points[1].y = 5;
    expect(n.points[1].y).toBe(5);
    expect(() => n.shorts.set(5, 1)).toThrow(/index 5 out of range/);
    // Index writes outside 0..length-1 throw instead of adding a property.
    const shorts = n.shorts;
    expect(() => (shorts[5] = 1)).toThrow(
      /index 5 out of range for __u16\[5\]/,
    );
    expect(() => (shorts[-1] = 1)).toThrow(BtfTypeError);
    expect(() => (shorts[1.5] = 1)).toThrow(BtfTypeError);
    expect(shorts[5]).toBeUndefined(); // reads out of range: as typed arrays
    expect(Object.keys(shorts)).toEqual(["$view", "$offset"]);
    expect(() => n.matrix[0].get(4)).toThrow(
      /index 4 out of range for __u32\[4\]/,
    );
    expect(() => (n.shorts[0] = 70000)).toThrow(BtfTypeError);
    n.shorts = [1, 2, 3, 4, 5];
    expect(n.shorts.toArray()).toEqual([1, 2, 3, 4, 5]);
    // Logged as its elements, not as an empty object.
    expect(inspect(n.shorts)).toBe("[ 1, 2, 3, 4, 5 ]");
    expect(inspect(n.matrix).replace(/\s+/g, " ")).toMatch(
      /^\[ \[ 0, 0, 0, 0 \],/,
    );
    expect(() => (n.shorts = [1, 2])).toThrow(/an array of 5 elements/);
  });

  it("nested structs: views; setters copy from a view, a plain object or bytes", () => {
    const W = btf.struct("with_union");
    const w = new W();
    w.un.as_u32 = 0x01020304;
    expect(w.un.bytes[0]).toBe(4);
    const w2 = new W();
    w2.un = w.un;
    expect(w2.un.as_u32).toBe(0x01020304);
    w2.un = { as_s16: -2 };
    expect(w2.un.as_u32).toBe(0xfffe);
    expect(() => (w2.un = { nope: 1 } as never)).toThrow(/has no field 'nope'/);
    expect(() => (w2.un = 3 as never)).toThrow(BtfTypeError);
    const T = btf.struct("top_union");
    const t = new T();
    t.ev = { pid: 9, comm: "sh" };
    expect([t.ev.pid, t.ev.comm, t.halves[1]]).toEqual([9, "sh", 0]);
    const obj = t.toObject();
    t.ev.pid = 10;
    expect((obj.ev as { pid: number }).pid).toBe(9); // toObject is detached
  });

  it("enums: numbers, with enumerator names on the class", () => {
    const C = btf.struct("typedef_chain");
    const c = new C();
    c.type = 300;
    expect(c.type).toBe(300);
    expect(C.enums.type.EV_FORK).toBe(300);
    expect(C.enums.type[300]).toBe("EV_FORK");
    c.type = "EV_EXIT";
    expect(c.type).toBe(2);
    expect(() => (c.type = "EV_NOPE" as never)).toThrow(
      /EV_EXEC, EV_EXIT, EV_FORK/,
    );
    expect(C.enums.big.BIG_ONE).toBe(1n); // 8-byte enums are bigint
    c.ptr = 0xffff888000000000n;
    expect(c.ptr).toBe(0xffff888000000000n);
  });

  it("anonymous members are reachable directly and flattened in toObject", () => {
    const A = btf.struct("anon_members");
    const a = new A();
    a.x = 1;
    a.ip4 = 0xffffffff;
    expect(a.ip6[3]).toBe(255);
    expect(Object.keys(a.toObject())).toEqual([
      "id",
      "x",
      "y",
      "ip4",
      "ip6",
      "flags",
    ]);
  });
});

describe("arrays past the indexed accessors, degenerate types", () => {
  it("indexes beyond 4096 read and write through the same checks", () => {
    const b = new BtfBuilder();
    const u32 = b.int("u32", 4);
    const big = b.struct("big", 40_000, [
      { name: "a", type: b.array(u32, 10_000), bitOffset: 0 },
    ]);
    const Big = structClass(big);
    const v = new Big();
    const a = v.a;
    a[9_999] = 7;
    a[0] = 1;
    expect([a[9_999], a.get(9_999), a[0], a.length]).toEqual([7, 7, 1, 10_000]);
    expect(new DataView(v.$bytes().buffer).getUint32(39_996, true)).toBe(7);
    expect(() => (a[10_000] = 1)).toThrow(/index 10000 out of range/);
    expect(() => (a[5_000] = -1)).toThrow(/element \[5000\] of u32\[10000\]/);
    expect(a[10_000]).toBeUndefined();
    expect(a.toArray().length).toBe(10_000);
    expect([...a].length).toBe(10_000);
    a.extra = "ok"; // non-index properties stay ordinary
    expect(a.extra).toBe("ok");
  });

  it("arrays of zero-size elements and unallocatable structs stay bounded", () => {
    const b = new BtfBuilder();
    const empty = b.struct("empty", 0, []);
    const s = b.struct("s", 4, [
      { name: "many", type: b.array(empty, 0xffffffff), bitOffset: 0 },
    ]);
    const v = new (structClass(s))();
    expect(v.many).toBeInstanceOf(Uint8Array);
    expect(v.toObject()).toEqual({ many: new Uint8Array(0) });
    // A struct of 4 GiB builds a class; views need bytes that hold it.
    const huge = structClass(b.struct("huge", 0xffffffff, []));
    expect(huge.size).toBe(0xffffffff);
    expect(() => huge.from(new Uint8Array(8))).toThrow(BtfTypeError);
  });

  it("refuses anonymous members nested absurdly deep instead of dropping them", () => {
    const b = new BtfBuilder();
    let t = b.struct("", 1, [
      { name: "leaf", type: b.int("u8", 1), bitOffset: 0 },
    ]);
    for (let i = 0; i < 70; i++)
      t = b.struct("", 1, [{ name: "", type: t, bitOffset: 0 }]);
    expect(() => structClass(t)).toThrow(/nest deeper than 64 levels/);
  });
});

describe("hostile and colliding field names", () => {
  it("never evaluates names; colliding names reachable through $get/$set/toObject", () => {
    const t = new Table();
    const u = u32(t);
    const names = [
      'x"); throw new Error("pwned"); ("',
      "constructor",
      "__proto__",
      "toObject",
      "$view",
      "toString",
      "ok",
    ];
    const members = names.map((n, i) => new Member(t, n, u.id, i * 32, 0));
    const s = t.add((id) => new Struct(id, "evil", names.length * 4, members));
    const C = structClass(s);
    const v = new C();
    v.$set("__proto__", 1);
    v.$set("constructor", 2);
    v.$set("toObject", 3);
    v.$set("$view", 4);
    v.$set(names[0], 5);
    v.ok = 6;
    expect(v.$get("__proto__")).toBe(1);
    expect(v.$get("constructor")).toBe(2);
    expect(v[names[0]]).toBe(5);
    expect(v.$view).toBeInstanceOf(DataView);
    expect(typeof v.toObject).toBe("function");
    expect(String(v)).toBe("[object Object]");
    const o = v.toObject();
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(o, "__proto__")?.value).toBe(1);
    expect(o.constructor).toBe(2);
    expect(C.fields.filter((f) => !f.accessor).map((f) => f.name)).toEqual([
      "constructor",
      "__proto__",
      "toObject",
      "$view",
      "toString",
    ]);
  });

  it("rejects members outside the struct", () => {
    const t = new Table();
    const u = u32(t);
    const s = t.add(
      (id) => new Struct(id, "bad", 4, [new Member(t, "x", u.id, 32, 0)]),
    );
    expect(() => structClass(s)).toThrow(/lies outside its 4 bytes/);
  });
});

const hasClang = (() => {
  try {
    execFileSync("sh", ["-c", "command -v clang"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("big-endian BTF", () => {
  it.skipIf(
    !need(hasClang, "clang not installed: cannot build a bpfeb object"),
  )(
    "decodes clang's own bpfeb initializers, bitfields included",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-views-be-"));
      try {
        const src = join(dir, "be.bpf.c");
        const body =
          '#include "btf_types.h"\n' +
          "struct bitfields bf = { .a = 5, .b = 17, .c = -33, .d = 99999, .e = 0xABCDEF1234ULL, .f = 1, .tail = 0xBEEF };\n" +
          'struct exec_event ev = { .timestamp = 0x1122334455667788ULL, .pid = 4242, .comm = "bash", .retval = -2 };\n' +
          "struct signed_bitfields sb = { .big = -(1LL << 48) - 12345, .neg = -4096, .flag = 1, .tiny = -4, .kind = EV_FORK, .mid = -524288, .top = 0xfedcba9876543210ULL, .tail = 0x5a };\n" +
          "struct floats fl = { .f = 1.5f, .d = -0.1, .tail = 1 };\n" +
          "struct nested_arrays na = { .matrix = { { 0, 1 }, { 10, 11, 12, 13 } }, .shorts = { 1000 }, .points = { { 1, 100000 } } };\n";
        execFileSync("sh", ["-c", `cat > ${src}`], { input: body });
        for (const target of ["bpfeb", "bpfel"]) {
          const out = join(dir, `${target}.o`);
          execFileSync("clang", [
            "-g",
            "-O2",
            "-target",
            target,
            "-I/usr/include/x86_64-linux-gnu",
            `-I${ROOT}/fixtures`,
            "-c",
            src,
            "-o",
            out,
          ]);
          const b = Btf.fromFile(out);
          const elf = readElf(readFileBytes(out));
          const data = elf.section(".data")!.data;
          const at = (sym: string) => Number(elf.symbol(sym)!.value);
          const BF = b.struct("bitfields");
          expect(BF.littleEndian).toBe(target === "bpfel");
          const bf = BF.from(data, at("bf"));
          expect([bf.a, bf.b, bf.c, bf.d, bf.e, bf.f, bf.tail]).toEqual([
            5,
            17,
            -33,
            99999,
            0xabcdef1234n,
            1,
            0xbeef,
          ]);
          const copy = new BF();
          for (const [k, x] of Object.entries(bf.toObject())) copy[k] = x;
          expect(tohex(copy.$bytes())).toBe(tohex(bf.$bytes()));
          const ev = b.struct("exec_event").from(data, at("ev"));
          expect([ev.timestamp, ev.pid, ev.comm, ev.retval]).toEqual([
            0x1122334455667788n,
            4242,
            "bash",
            -2n,
          ]);
          const SB = b.struct("signed_bitfields");
          const sb = SB.from(data, at("sb"));
          expect(sb.toObject()).toEqual({
            big: -(1n << 48n) - 12345n,
            neg: -4096n,
            flag: true,
            tiny: -4,
            kind: 300,
            mid: -524288,
            top: 0xfedcba9876543210n,
            tail: 0x5a,
          });
          const sbCopy = new SB();
          for (const [k, x] of Object.entries(sb.toObject())) sbCopy[k] = x;
          expect(tohex(sbCopy.$bytes())).toBe(tohex(sb.$bytes()));
          const fl = b.struct("floats").from(data, at("fl"));
          expect([fl.f, fl.d, fl.tail]).toEqual([1.5, -0.1, 1]);
          const na = b.struct("nested_arrays").from(data, at("na"));
          expect(na.toObject()).toEqual({
            matrix: [
              [0, 1, 0, 0],
              [10, 11, 12, 13],
              [0, 0, 0, 0],
            ],
            shorts: [1000, 0, 0, 0, 0],
            points: [
              { x: 1, y: 100000 },
              { x: 0, y: 0 },
            ],
          });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});

describe("vmlinux", () => {
  const path = "/sys/kernel/btf/vmlinux";
  it.skipIf(!need(existsSync(path), `${path} missing: kernel without BTF`))(
    "task_struct and sk_buff views over zeroed bytes",
    () => {
      const k = Btf.kernel();
      const T = k.struct("task_struct");
      const t = new T();
      expect(t.pid).toBe(0);
      expect(t.comm).toBe("");
      t.pid = 1234;
      expect(t.toObject().pid).toBe(1234);
      const S = k.struct("sk_buff");
      const s = new S();
      const names = S.fields.map((f) => f.name);
      // sk_buff starts with an anonymous union of { next, prev, ... } and rbnode.
      expect(names).toContain("next");
      expect(names).toContain("rbnode");
      expect(s.next).toBe(0n);
      s.len = 60;
      expect(s.len).toBe(60);
      expect(typeof s.toObject()).toBe("object");
    },
    30_000,
  );
});
