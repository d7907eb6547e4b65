import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Btf } from "../../src/btf/btf.ts";
import { codecForLayout } from "../../src/btf/codec.ts";
import { layout } from "../../src/btf/layout.ts";
import { BtfBuilder } from "../../src/btf/marshal.ts";
import { MemberTypes, PRE, PRE_END } from "../../codegen/member_types.ts";
import { docText } from "../../codegen/names.ts";
import { typeGraph, type TypeGraph } from "../../codegen/type_graph.ts";
import { BtfValidationError } from "../../src/errors.ts";
import { fixture, need } from "../_support/fixtures.ts";

/** Types whose C spelling needs a declarator, with what btf_dump would write. */
function declarators(): { btf: Btf; expected: Map<number, string> } {
  const b = new BtfBuilder();
  const expected = new Map<number, string>();
  const is = (t: { id: number }, s: string) => expected.set(t.id, s);
  const u32 = b.typedef("__u32", b.int("unsigned int", 4));
  const int = b.int("int", 4, { signed: true });
  const chr = b.int("char", 1, { signed: true });
  const void_ = 0;
  is(b.array(b.array(u32, 4), 3), "__u32[3][4]");
  is(b.const(b.ptr(b.const(chr))), "const char *const");
  is(b.ptr(b.const(chr)), "const char *");
  is(b.ptr(b.ptr(chr)), "char **");
  is(b.ptr(b.const(b.ptr(chr))), "char *const *");
  is(b.ptr(b.array(int, 4)), "int (*)[4]");
  is(b.array(b.ptr(chr), 4), "char *[4]");
  is(b.restrict(b.ptr(int)), "int *restrict");
  is(b.const(b.volatile(int)), "const volatile int");
  is(b.volatile(b.ptr(b.volatile(int))), "volatile int *volatile");
  is(b.ptr(b.typeTag("user", int)), "int *");
  is(b.ptr(void_), "void *");
  const cb = b.funcProto(int, [
    { name: "", type: b.ptr(void_) },
    { name: "", type: int },
    { name: "", type: void_ },
  ]);
  is(b.ptr(cb), "int (*)(void *, int, ...)");
  is(b.ptr(b.funcProto(b.ptr(chr), [])), "char *(*)(void)");
  const named = b.funcProto(void_, [
    { name: "ctx", type: b.ptr(void_) },
    { name: "cb", type: b.ptr(cb) },
  ]);
  is(b.ptr(named), "void (*)(void *ctx, int (*cb)(void *, int, ...))");
  is(
    b.array(b.ptr(b.funcProto(void_, [{ name: "", type: int }])), 2),
    "void (*[2])(int)",
  );
  is(b.ptr(b.ptr(b.array(b.array(chr, 2), 3))), "char (**)[3][2]");
  is(b.struct("", 0, []), "struct (anon)");
  is(b.ptr(b.fwd("later", "union")), "union later *");
  is(b.enum("e", 4, [{ name: "A", value: 1 }]), "enum e");
  return { btf: Btf.fromBytes(b.toBytes()), expected };
}

/** What codegen writes in a field's doc for type `id` (both of its paths). */
function codegenSpellings(g: TypeGraph, id: number): [string, string] {
  const mt = new MemberTypes(g, () => undefined);
  const rec = mt.typeInfo(id);
  const snip = new TextDecoder().decode(
    mt.snips.buf.subarray(mt.info[rec + PRE]!, mt.info[rec + PRE_END]!),
  );
  return [snip, mt.spellingOrUnknown(id)];
}

describe("C spelling of types", () => {
  it("writes declarators in C order, as btf_dump does", () => {
    const { btf, expected } = declarators();
    for (const [id, s] of expected)
      expect([id, String(btf.typeById(id))]).toEqual([id, s]);
  });

  it("is the same in codegen's doc comments (raw and model graphs)", () => {
    const { btf, expected } = declarators();
    for (const g of [typeGraph(btf), typeGraph([...btf])]) {
      g.flat; // what the generator builds before asking for spellings
      for (const [id, s] of expected)
        expect([id, ...codegenSpellings(g, id)]).toEqual([
          id,
          `  /** \`${docText(s)}\` @`,
          s,
        ]);
    }
  });

  it("is what views, codecs and validate show", () => {
    const fx = Btf.fromFile(fixture("btf_types"));
    const matrix = fx
      .struct("nested_arrays")
      .fields.find((f) => f.name === "matrix")!;
    expect(matrix.description).toBe("__u32[3][4]");
    expect(codecForLayout("u32[2][3]").description).toBe("u32[2][3]");
    expect(layout({ m: "u32[2][3]" }).fields[0].description).toBe("u32[2][3]");
    const v = new (fx.struct("nested_arrays"))();
    expect(() => v.matrix.set(0, [1])).toThrow(
      /element \[0\] of __u32\[3\]\[4\]/,
    );
    try {
      fx.validate("nested_arrays", {
        matrix: "u32[4][3]",
        shorts: "u16[5]",
        points: [{ x: "u8", y: "u32" }, 2],
      });
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(BtfValidationError);
      const [m] = (e as BtfValidationError).mismatches;
      expect([m.expected, m.actual, m.fix]).toEqual([
        "__u32[3][4] (48 bytes)",
        "u32[4][3] (48 bytes)",
        "use 'u32[3][4]'",
      ]);
    }
  });

  it.skipIf(
    !need(existsSync("/sys/kernel/btf/vmlinux"), "no /sys/kernel/btf/vmlinux"),
  )(
    "agrees between runtime and codegen for every member type of vmlinux",
    () => {
      const k = Btf.kernel();
      const g = typeGraph(k);
      const F = g.flat;
      const mt = new MemberTypes(g, () => undefined);
      const seen = new Set<number>();
      const differ: string[] = [];
      const decoder = new TextDecoder();
      for (let id = 1; id <= k.count; id++) {
        const kind = F.kind[id];
        if (kind !== 4 && kind !== 5) continue; // struct, union
        for (let i = 0; i < F.vlen[id]!; i++) {
          const t = F.mType[F.first[id]! + i]!;
          if (seen.has(t)) continue;
          seen.add(t);
          const rec = mt.typeInfo(t);
          const doc = decoder.decode(
            mt.snips.buf.subarray(mt.info[rec + PRE]!, mt.info[rec + PRE_END]!),
          );
          const want = `  /** \`${docText(String(k.typeById(t)))}\` @`;
          if (doc !== want) differ.push(`${t}: ${doc} vs ${want}`);
        }
      }
      expect(differ.slice(0, 10)).toEqual([]);
      expect(seen.size).toBeGreaterThan(1000);
    },
  );
});
