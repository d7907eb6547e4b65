import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Btf } from "../../src/btf/btf.ts";
import { BtfBuilder } from "../../src/btf/marshal.ts";
import { generateTypes } from "../../codegen/types.ts";
import { fixture, ROOT, thrown } from "../_support/fixtures.ts";
import { moduleLoader } from "../_support/load_module.ts";

// What the classes of `tsbpf-gen types` run on
// (src/generated/struct_runtime.ts), checked against the runtime views of
// btf.struct() where both should behave alike.
const btf = Btf.fromFile(fixture("btf_types"));
const SOURCE = generateTypes(btf, { source: "btf_types.bpf.o" });
const TMP = join(ROOT, "build/test", `struct-runtime-${process.pid}`);
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** Writes `source` to a temp .ts file and imports it. */
const load = moduleLoader(TMP);

describe("nested struct setters", () => {
  it("refuse a view of another struct, as the runtime views do, and leave the bytes", async () => {
    const { TopUnion, ProcessStats, WithUnion } = await load(SOURCE);
    const u = new TopUnion();
    u.$bytes().fill(0xab);
    const e = thrown(() => (u.ev = new ProcessStats()));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(
      "field 'ev' of top_union: expected exec_event (a view of exec_event, a plain object or a Uint8Array of 112 bytes), got a view of process_stats",
    );
    expect(u.$bytes().every((b: number) => b === 0xab)).toBe(true);
    // A larger struct once failed inside the copy with a RangeError.
    expect(thrown(() => (new WithUnion().un = new TopUnion()))).toBeInstanceOf(
      TypeError,
    );
    const R = btf.struct("top_union");
    expect(() => (new R().ev = new (btf.struct("process_stats"))())).toThrow(
      /expected struct exec_event/,
    );
  });

  it("copy a view of the same type: this class, another module's, a runtime view", async () => {
    const a = await load(SOURCE);
    const b = await load(SOURCE);
    expect(a.ExecEvent).not.toBe(b.ExecEvent);
    const u = new a.TopUnion();
    for (const src of [
      new a.ExecEvent(),
      new b.ExecEvent(),
      new (btf.struct("exec_event"))(),
    ]) {
      src.pid = 42;
      src.comm = "sh";
      u.$bytes().fill(0);
      u.ev = src;
      expect([u.ev.pid, u.ev.comm]).toEqual([42, "sh"]);
    }
  });

  it("write a plain object like a C compound literal: checked first, then zeroed", async () => {
    const { NestedArrays } = await load(SOURCE);
    const R = btf.struct("nested_arrays");
    for (const n of [new NestedArrays(), new R()]) {
      n.$bytes().fill(0xab);
      n.points[1] = { y: 5 };
      expect([n.points[1].x, n.points[1].y]).toEqual([0, 5]);
      const before = n.$bytes().slice();
      expect(() => (n.points[0] = { y: 1, nope: 2 })).toThrow(
        /has no field .nope/,
      );
      expect(n.$bytes()).toEqual(before);
      n.points = [{ x: 1 }, { y: 2 }];
      expect(n.points.toArray()).toEqual([
        { x: 1, y: 0 },
        { x: 0, y: 2 },
      ]);
    }
    // A bad value leaves the struct as it was, too.
    const n = new NestedArrays();
    n.points[0] = { x: 1, y: 2 };
    expect(() => (n.points[0] = { x: 3, y: -1 })).toThrow(TypeError);
    expect(n.points[0].toObject()).toEqual({ x: 1, y: 2 });
  });
});

describe("array views", () => {
  it("throw for a write outside the array, as the runtime views do, and read undefined there", async () => {
    const { NestedArrays } = await load(SOURCE);
    const R = btf.struct("nested_arrays");
    for (const n of [new NestedArrays(), new R()]) {
      const a = n.shorts;
      for (const i of [5, 7, -1, 1.5]) {
        expect(() => (a[i] = 1)).toThrow(/index/);
        expect(a[i]).toBeUndefined();
      }
      expect(Object.keys(a)).not.toContain("7");
      a[4] = 9;
      expect([...a]).toEqual([0, 0, 0, 0, 9]);
      a.extra = "ok"; // other properties stay ordinary
      expect(a.extra).toBe("ok");
    }
  });

  it("serve indexes past the prototype accessors through the same checks", async () => {
    const b = new BtfBuilder();
    const u32 = b.int("u32", 4);
    b.struct("big", 40_000, [
      { name: "a", type: b.array(u32, 10_000), bitOffset: 0 },
    ]);
    const { Big } = await load(generateTypes(b));
    const v = new Big();
    const a = v.a;
    a[9_999] = 7;
    a[0] = 1;
    expect([a[9_999], a.get(9_999), a[0], a.length]).toEqual([7, 7, 1, 10_000]);
    expect(new DataView(v.$bytes().buffer).getUint32(39_996, true)).toBe(7);
    expect(() => (a[10_000] = 1)).toThrow(/index 10000 is outside/);
    expect(() => (a[5_000] = -1)).toThrow(/expected u32/);
    expect(a[10_000]).toBeUndefined();
    expect([...a].length).toBe(10_000);
  });
});

describe("errors, as the runtime views raise them", () => {
  it("an offset where the struct does not fit is a TypeError, for new C(view, o) too", async () => {
    const { ExecEvent, NestedArrays } = await load(SOURCE);
    const buf = new DataView(new ArrayBuffer(256));
    expect(new ExecEvent(buf, 144).$offset).toBe(144);
    for (const f of [
      () => new ExecEvent(buf, 250),
      () => new ExecEvent(buf, -1),
      () => ExecEvent.from(buf, 200),
      () => ExecEvent.from(buf, 0.5),
      () => new ExecEvent().$repoint(buf, 0.5),
      () => new ExecEvent().$repoint(buf, "8"),
      () => new NestedArrays().shorts.get(9),
    ]) {
      expect(thrown(f)).toBeInstanceOf(TypeError);
    }
    expect(() => new ExecEvent(buf, 250)).toThrow(
      "exec_event needs 112 bytes at byteOffset 250, but the buffer has 256",
    );
    expect(() => ExecEvent.from(buf, 0.5)).toThrow(
      "exec_event: byteOffset must be a non-negative integer, got 0.5",
    );
  });

  it("an enumerator's name for an enum field says to pass its number", async () => {
    const { TypedefChain, SignedBitfields, TopUnion, EventType } =
      await load(SOURCE);
    const e = thrown(() => (new TypedefChain().type = "EV_EXEC"));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(
      /for an enum field, pass the enumerator's number/,
    );
    const t = new TypedefChain();
    t.type = EventType.EV_EXEC;
    expect(t.type).toBe(1);
    expect(() => (new SignedBitfields().kind = "EV_FORK")).toThrow(
      /for an enum field, pass the enumerator's number/,
    );
    const b = new SignedBitfields();
    b.kind = EventType.EV_FORK;
    expect(b.kind).toBe(EventType.EV_FORK);
    expect(thrown(() => (new TopUnion().whole = 1.5)).message).not.toMatch(
      /enumerator/,
    );
  });

  it("a runtime struct field takes a generated view of its type", async () => {
    const { ExecEvent, ProcessStats } = await load(SOURCE);
    const u = new (btf.struct("top_union"))();
    const e = new ExecEvent();
    e.pid = 7;
    u.ev = e;
    expect(u.ev.pid).toBe(7);
    expect(() => (u.ev = new ProcessStats())).toThrow(
      /expected struct exec_event/,
    );
  });
});
