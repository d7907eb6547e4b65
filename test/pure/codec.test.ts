import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { Btf } from "../../src/btf/btf.ts";
import { codecForLayout, codecForType } from "../../src/btf/codec.ts";
import { layout } from "../../src/btf/layout.ts";
import { isStructView, isViewClass } from "../../src/btf/views.ts";
import type { Struct } from "../../src/btf/types.ts";
import { codecOfSpec } from "../../src/map_codecs.ts";
import { BpfTypeError, BtfTypeError } from "../../src/errors.ts";
import { generateTypes } from "../../codegen/types.ts";
import { fixture, ROOT } from "../_support/fixtures.ts";

const btf = Btf.fromFile(fixture("btf_types"));
const TMP = join(ROOT, "build/test", `codec-${process.pid}`);
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
/** The helpers' module as a generated module in TMP imports it (`--import`). */
const RUNTIME = relative(TMP, join(ROOT, "src/generated/struct_runtime.ts"));

let seq = 0;
/** Writes `source` to `name` (default: a fresh .ts file) in TMP and imports it. */
async function load(
  source: string,
  name = `m${seq++}.ts`,
): Promise<Record<string, any>> {
  const file = join(TMP, name);
  writeFileSync(file, source);
  return await import(pathToFileURL(file).href);
}

function member(struct: string, name: string) {
  const s = btf.type(struct, "struct") as Struct;
  return s.members.find((m) => m.name === name)!.type;
}

describe("codecForLayout", () => {
  it("scalars: number ≤ 32 bits, bigint for 64-bit (safe numbers accepted)", () => {
    const u32 = codecForLayout("u32");
    expect([u32.size, u32.description]).toEqual([4, "u32"]);
    const b = new Uint8Array(8);
    u32.encode(0xdeadbeef, b, 4);
    expect(u32.decode(b, 4)).toBe(0xdeadbeef);
    expect(Array.from(b.subarray(4))).toEqual([0xef, 0xbe, 0xad, 0xde]);
    const u64 = codecForLayout("u64");
    u64.encode(7, b);
    expect(u64.decode(b)).toBe(7n);
    u64.encode(2n ** 64n - 1n, b);
    expect(u64.decode(b)).toBe(2n ** 64n - 1n);
    const s8 = codecForLayout("i8");
    s8.encode(-1, b);
    expect(s8.decode(b)).toBe(-1);
    expect(
      codecForLayout("f64").decode(
        new Uint8Array(new Float64Array([0.25]).buffer),
      ),
    ).toBe(0.25);
  });

  it("rejects bad values and sizes with BtfTypeError naming what was expected", () => {
    const b = new Uint8Array(8);
    expect(() => codecForLayout("u32").encode(-1, b)).toThrow(
      /value of type u32: expected u32 \(an integer in 0\.\.4294967295\), got -1/,
    );
    expect(() => codecForLayout("u64").encode(2 ** 60, b)).toThrow(
      BtfTypeError,
    ); // not a safe integer
    expect(() => codecForLayout("u64").encode("1" as never, b)).toThrow(
      /expected u64/,
    );
    expect(() => codecForLayout("u32").encode(new Uint8Array(3), b)).toThrow(
      BtfTypeError,
    );
    expect(() => codecForLayout("u64").encode(1n, b, 4)).toThrow(
      /needs 8 bytes at offset 4, buffer has 8/,
    );
    expect(() => codecForLayout("u64").decode(new Uint8Array(7))).toThrow(
      /decoding u64: needs 8 bytes/,
    );
  });

  it("a Uint8Array of exactly size is always accepted", () => {
    const b = new Uint8Array(16);
    codecForLayout("u32").encode(new Uint8Array([1, 0, 0, 0]), b, 12);
    expect(codecForLayout("u32").decode(b, 12)).toBe(1);
    const S = btf.struct("process_stats");
    const c = codecForLayout(S);
    const out = new Uint8Array(24);
    c.encode(new Uint8Array(24).fill(1), out);
    expect(out.every((x) => x === 1)).toBe(true);
  });

  it("strings and arrays", () => {
    const s = codecForLayout("char[16]");
    const b = new Uint8Array(16);
    s.encode("comm", b);
    expect(s.decode(b)).toBe("comm");
    const a = codecForLayout("u32[4]");
    const ab = new Uint8Array(16);
    a.encode([1, 2, 3, 4], ab);
    expect(a.decode(ab)).toEqual(new Uint32Array([1, 2, 3, 4]));
    a.encode(new Uint32Array([5, 6, 7, 8]), ab);
    expect(Array.from(a.decode(ab) as Uint32Array)).toEqual([5, 6, 7, 8]);
    expect(codecForLayout("u64[2]").decode(new Uint8Array(16))).toEqual(
      new BigUint64Array(2),
    );
    const m = codecForLayout("u16[2][2]");
    const mb = new Uint8Array(8);
    m.encode(
      [
        [1, 2],
        [3, 4],
      ],
      mb,
    );
    expect(m.decode(mb)).toEqual([
      new Uint16Array([1, 2]),
      new Uint16Array([3, 4]),
    ]);
    expect(() => a.encode([1, 2], ab)).toThrow(/an array of 4 elements/);
  });

  it("structs decode to a view over a copy; encode from views or plain objects", () => {
    const Ev = btf.struct("exec_event");
    const c = codecForLayout(Ev);
    expect([c.size, c.description]).toEqual([112, "struct exec_event"]);
    const e = new Ev();
    e.pid = 42;
    e.comm = "sh";
    const buf = new Uint8Array(200);
    c.encode(e, buf, 50);
    const d = c.decode(buf, 50) as InstanceType<typeof Ev>;
    expect(isStructView(d)).toBe(true);
    expect([d.pid, d.comm]).toEqual([42, "sh"]);
    buf.fill(0);
    expect(d.pid).toBe(42); // detached from the source bytes
    c.encode({ pid: 7, timestamp: 1n }, buf);
    expect((c.decode(buf) as InstanceType<typeof Ev>).toObject()).toMatchObject(
      { pid: 7, timestamp: 1n },
    );
    expect(() => c.encode({ pidd: 1 } as never, buf)).toThrow(
      /has no field 'pidd'/,
    );
    const L = codecForLayout({ key: "u32", tag: "char[4]" });
    const lb = new Uint8Array(L.size);
    L.encode({ key: 3, tag: "ab" }, lb);
    expect((L.decode(lb) as InstanceType<typeof Ev>).toObject()).toEqual({
      key: 3,
      tag: "ab",
    });
    expect(codecForLayout(layout({ a: "u8", b: "u64" })).size).toBe(16);
  });
});

describe("codecForType", () => {
  it("follows typedefs; enums are numbers; char arrays strings; u8 arrays bytes", () => {
    const type = codecForType(member("typedef_chain", "type"));
    expect(type.description).toBe("enum event_type");
    const b = new Uint8Array(4);
    type.encode("EV_FORK", b);
    expect(type.decode(b)).toBe(300);
    const cv = codecForType(member("typedef_chain", "cv"));
    expect(cv.size).toBe(8);
    cv.encode(5n, new Uint8Array(8));
    const comm = codecForType(member("exec_event", "comm"));
    const cb = new Uint8Array(16);
    comm.encode("hi", cb);
    expect([comm.description, comm.decode(cb)]).toEqual(["char[16]", "hi"]);
    const bytes = codecForType(member("anon_members", "flags"));
    expect(bytes.description).toBe("__u8");
    const u = (btf.type("with_union", "struct") as Struct).members[1].type;
    const un = codecForType(u);
    const ub = new Uint8Array(4);
    un.encode({ as_u32: 0x01020304 }, ub);
    expect(Array.from(ub)).toEqual([4, 3, 2, 1]);
    const arr = codecForType(member("nested_arrays", "points"));
    const pts = arr.decode(new Uint8Array(16)) as unknown[];
    expect(pts.length).toBe(2);
    expect(isStructView(pts[0])).toBe(true);
    expect(codecForType(btf.type("process_stats")).description).toBe(
      "struct process_stats",
    );
  });

  it("big-endian codecs follow the requested byte order", () => {
    const c = codecForLayout("u32", { littleEndian: false });
    const b = new Uint8Array(4);
    c.encode(1, b);
    expect(Array.from(b)).toEqual([0, 0, 0, 1]);
  });
});

describe("struct classes generated by tsbpf-gen types", () => {
  const only = ["process_stats", "exec_event"];
  const modules = [
    ["helpers inlined", undefined],
    ["helpers imported", RUNTIME],
  ] as const;

  it("are codecs as btf.struct() classes are: views over a copy out; views, objects, bytes in", async () => {
    for (const [how, importFrom] of modules) {
      const { ProcessStats, ExecEvent } = await load(
        generateTypes(btf, { only: [...only], importFrom }),
      );
      expect([how, isViewClass(ProcessStats)]).toEqual([how, true]);
      const c = codecForLayout(ProcessStats);
      expect([c.size, c.description]).toEqual([24, "process_stats"]);
      const b = new Uint8Array(40).fill(0xff);
      c.encode({ total_time: 5n }, b, 8);
      const v = c.decode(b, 8) as InstanceType<typeof ProcessStats>;
      expect(v).toBeInstanceOf(ProcessStats);
      // Like a C compound literal, as the runtime codec: unset fields zero.
      expect(v.toObject()).toEqual({
        syscall_count: 0n,
        total_time: 5n,
        max_latency: 0n,
      });
      b.fill(0);
      expect(v.total_time).toBe(5n); // detached from the source bytes
      const rt = new (btf.struct("process_stats"))();
      rt.max_latency = 9n;
      for (const src of [rt, ProcessStats.from(rt.$bytes())]) {
        c.encode(src, b);
        expect(codecForLayout(btf.struct("process_stats")).decode(b)).toEqual(
          expect.objectContaining({ max_latency: 9n }),
        );
      }
      for (const bad of [
        { nope: 1 },
        { total_time: -1n },
        new ExecEvent(),
        5,
        null,
        [1, 2, 3],
        new Uint8Array(3),
      ]) {
        const before = b.slice();
        expect(() => c.encode(bad as never, b)).toThrow(BtfTypeError);
        expect(b).toEqual(before);
      }
      expect(() => c.encode({ nope: 1 } as never, b)).toThrow(
        /value of type process_stats: process_stats has no field "nope"/,
      );
    }
  });

  it("type map keys and values; errors name the map", async () => {
    const { ProcessStats } = await load(
      generateTypes(btf, { only, importFrom: RUNTIME }),
    );
    const m = codecOfSpec(ProcessStats, { map: "stats", role: "value" });
    const buf = new Uint8Array(24);
    const dv = new DataView(buf.buffer);
    m.write(dv, buf, 0, { syscall_count: 3n });
    expect(
      (m.read(dv, buf, 0) as { syscall_count: bigint }).syscall_count,
    ).toBe(3n);
    expect(() => m.write(dv, buf, 0, { syscall_count: "x" })).toThrow(
      BpfTypeError,
    );
    expect(() => m.write(dv, buf, 0, { syscall_count: "x" })).toThrow(
      /^map 'stats': value must be process_stats \(.*\) or a 24-byte Uint8Array; got an object \(value of type process_stats: field 'syscall_count' of process_stats: expected u64/,
    );
  });

  it("type-check wherever btf.struct() classes do: maps, ring and perf buffers", async () => {
    for (const [name, importFrom] of [
      ["inlined.ts", undefined],
      ["imported.ts", "tsbpf"],
    ] as const) {
      writeFileSync(
        join(TMP, name),
        generateTypes(btf, { only: [...only], importFrom }),
      );
    }
    writeFileSync(
      join(TMP, "use.ts"),
      [
        `import { BpfMap, BpfObject, codecForLayout } from "tsbpf";`,
        `import { ExecEvent, ProcessStats } from "./inlined.ts";`,
        `import { ExecEvent as ExecEventI } from "./imported.ts";`,
        `export function use(obj: BpfObject): number {`,
        `  const m = BpfMap.create({ type: "hash", key: "u32", value: ProcessStats, maxEntries: 8 });`,
        `  m.set(1, new ProcessStats());`,
        // Values come out typed as the class, not unknown.
        `  const got: ProcessStats | undefined = m.get(1);`,
        `  if (got) got.syscall_count = 1n;`,
        `  m.withTypes({ value: ExecEventI });`,
        `  codecForLayout(ExecEvent);`,
        `  let n = 0;`,
        `  obj.ringBuffer("events", ExecEventI).consume((e) => { n += e.pid; });`,
        `  obj.perfBuffer("events", ExecEvent).consume((e) => { n += e.pid; });`,
        `  return n;`,
        `}`,
        ``,
      ].join("\n"),
    );
    const rel = relative(TMP, ROOT);
    writeFileSync(
      join(TMP, "tsconfig.json"),
      JSON.stringify({
        extends: join(rel, "tsconfig.json"),
        compilerOptions: {
          paths: { tsbpf: [join(rel, "mod.ts")] },
        },
        include: [],
        files: ["use.ts"],
      }),
    );
    const tsc = spawnSync(
      join(ROOT, "node_modules/.bin/tsc"),
      ["-p", join(TMP, "tsconfig.json")],
      { encoding: "utf8" },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  }, 60_000);
});
