import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateSkeleton } from "../../codegen/skeleton.ts";
import { describeObject } from "../../codegen/object_info.ts";
import { autoAttaches } from "../../src/skeleton_attach.ts";
import { fixture, ROOT } from "../_support/fixtures.ts";

const BIN = join(ROOT, "node_modules/.bin");
const OBJ = fixture("skeleton");
const BYTES = readFileSync(OBJ);
const TMP = join(ROOT, "build/test", `skeleton-${process.pid}`);
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** The skeleton generated for fixture `name` (as built into build/fixtures). */
function skeletonOf(name: string): string {
  return generateSkeleton(readFileSync(fixture(name)), {
    fileName: `${name}.bpf.o`,
  });
}

const SKEL = generateSkeleton(BYTES, { fileName: "skeleton.bpf.o" });

/** tsc --strict --noEmit over `files` in TMP (root tsconfig: "tsbpf" → mod.ts). */
function tsc(files: string[]) {
  writeFileSync(
    join(TMP, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../tsconfig.json",
      compilerOptions: { strict: true, noEmit: true },
      include: files,
    }),
  );
  const r = spawnSync(join(BIN, "tsc"), ["-p", join(TMP, "tsconfig.json")], {
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** Line numbers (1-based) of the lines holding `marker`. */
function linesWith(src: string, marker: string): number[] {
  return src.split("\n").flatMap((l, i) => (l.includes(marker) ? [i + 1] : []));
}

describe("describeObject", () => {
  const info = describeObject(BYTES, "skeleton.bpf.o");
  it("finds maps with their key/value types, programs and globals", () => {
    expect(info.name).toBe("skeleton");
    const counts = info.maps.find((m) => m.name === "counts")!;
    expect(counts.type).toBe("hash");
    expect(String(counts.key)).toBe("__u32");
    expect(info.maps.find((m) => m.name === "pcpu")!.perCpu).toBe(true);
    expect(info.programs.map((p) => p.name).sort()).toEqual([
      "delete",
      "on_getppid",
    ]);
    const g = Object.fromEntries(info.globals.map((x) => [x.name, x]));
    expect(g.min_seq!.readonly).toBe(true);
    expect(g.runs!.readonly).toBe(false);
  });
  it("types ring buffers from __type(value) and from an _event_ anchor", () => {
    const ev = (n: string) => info.maps.find((m) => m.name === n)!.event;
    expect(String(ev("events"))).toBe("struct event");
    expect(String(ev("events2"))).toBe("struct event2");
    // The anchor is not a global of the skeleton.
    expect(info.globals.some((x) => x.name === "_event_events2")).toBe(false);
  });
});

describe("describeObject: struct_ops", () => {
  it('lists an ops table in SEC(".struct_ops") as a struct_ops map', () => {
    const ops = describeObject(
      readFileSync(fixture("struct_ops")),
      "struct_ops.bpf.o",
    );
    const m = ops.maps.find((x) => x.name === "tsbpf_cc")!;
    expect(m.type).toBe("struct_ops");
    expect(String(m.value)).toBe("struct tcp_congestion_ops");
    const skel = generateSkeleton(readFileSync(fixture("struct_ops")), {
      fileName: "struct_ops.bpf.o",
      path: "struct_ops.bpf.o",
    });
    expect(skel).toContain("readonly tsbpf_cc: $tsbpf.BpfMap;");
    expect(skel).toContain('{ name: "tsbpf_cc", kind: "struct_ops" }');
    // The table's type is the kernel's: no classes for it.
    expect(skel).not.toContain("class TcpCongestionOps");
  });
});

describe("skeleton map docs", () => {
  it("name what maps sized by key_size/value_size hold, not `?`", () => {
    const skel = skeletonOf("maps");
    expect(skel).toContain(
      "/** `stack_trace` map `stacks`: `u32` (stack id) → `u64[127]` (stack frames), 128 entries. */",
    );
    expect(skel).toContain(
      "/** `stack_trace` map `build_id_stacks`: `u32` (stack id) → `struct bpf_stack_build_id[32]` (stack frames), 16 entries. */",
    );
    expect(skel).toContain(
      "/** `hash` map `raw`: 3 bytes → 5 bytes, 16 entries. */",
    );
    expect(skel).toContain(
      "/** `array_of_maps` map `outer`: `__u32` → a map (its id), 4 entries. */",
    );
    expect(skel).not.toMatch(/`\?`/);
  });
});

describe("tsbpf-gen skeleton", () => {
  it("is deterministic, in process and through the CLI under Bun and Deno", () => {
    expect(generateSkeleton(BYTES, { fileName: "skeleton.bpf.o" })).toBe(SKEL);
    const bun = spawnSync(
      join(BIN, "bun"),
      ["codegen/cli.ts", "skeleton", OBJ],
      { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 },
    );
    expect(bun.status).toBe(0);
    expect(bun.stdout).toBe(SKEL);
    const deno = spawnSync(
      join(BIN, "deno"),
      ["run", "-A", "codegen/cli.ts", "skeleton", OBJ],
      { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 },
    );
    expect(deno.status).toBe(0);
    expect(deno.stdout).toBe(SKEL);
  }, 60_000);

  it("embeds the object by default, references it with --path", () => {
    expect(SKEL).toContain("const $OBJECT: $tsbpf.EmbeddedObject = { base64:");
    expect(SKEL).toContain('import * as $tsbpf from "tsbpf";');
    // The classes' helpers come from the runtime too, not a copy.
    expect(SKEL).toContain(
      'import { type $Plain, $Struct, $def, $install } from "tsbpf";',
    );
    expect(SKEL).not.toContain("class $Struct");
    const p = generateSkeleton(BYTES, {
      fileName: "skeleton.bpf.o",
      path: "../x/skeleton.bpf.o",
      importFrom: "../../mod.ts",
    });
    expect(p).toContain('new URL("../x/skeleton.bpf.o", import.meta.url)');
    expect(p).toContain('import * as $tsbpf from "../../mod.ts";');
    expect(p).toMatch(
      /^import \{ [^}]*\$Struct[^}]* \} from "\.\.\/\.\.\/mod\.ts";$/m,
    );
    expect(p).not.toContain("base64");
  });

  it('imports: "tsbpf" is this repository\'s mod.ts in every test runner', async () => {
    // Bun: tsconfig paths; Deno: deno.json; vitest: its alias (the package's
    // own exports name dist/, which only `npm pack` builds).
    const file = join(TMP, "import_by_name.skel.ts");
    writeFileSync(file, SKEL);
    const m = await import(pathToFileURL(file).href);
    expect(typeof m.open).toBe("function");
    const { Btf } = await import("../../mod.ts");
    expect((await import("tsbpf")).Btf).toBe(Btf);
  });

  it("keeps names special in JavaScript as plain keys and settles clashes", () => {
    expect(SKEL).toContain("readonly __proto__: $tsbpf.SkeletonMap<");
    expect(SKEL).toContain("readonly constructor: $tsbpf.SkeletonMap<");
    expect(SKEL).toContain("readonly delete: $tsbpf.BpfProgram;");
    // struct skeleton_maps took "SkeletonMaps": the maps interface moved aside.
    expect(SKEL).toContain("export class SkeletonMaps extends $Struct");
    expect(SKEL).toContain("export interface SkeletonMaps_2 {");
  });

  it("types prog_array and map-in-map values as an fd holder in, an id out", () => {
    const src = skeletonOf("tail_call");
    expect(src).toContain(
      "readonly jumps: $tsbpf.SkeletonMap<number, number, number, number | { readonly fd: number }>;",
    );
  });

  it("types stack_trace maps as the runtime decodes them: u32 stack ids to BigUint64Array frames", () => {
    const src = skeletonOf("maps");
    expect(src).toContain(
      "readonly stacks: $tsbpf.SkeletonMap<number, BigUint64Array, number, readonly bigint[] | BigUint64Array | Uint8Array>;",
    );
    expect(src).toContain(
      "readonly build_id_stacks: $tsbpf.SkeletonMap<number, $tsbpf.StackBuildIdFrame[], number, Uint8Array>;",
    );
    // Untyped bytes stay bytes.
    expect(src).toContain(
      "readonly raw: $tsbpf.SkeletonMap<Uint8Array, Uint8Array, Uint8Array, Uint8Array>;",
    );
  });

  it("errors with a clear message on an object without BTF", () => {
    const r = spawnSync(
      join(BIN, "bun"),
      ["codegen/cli.ts", "skeleton", join(ROOT, "package.json")],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^tsbpf-gen: /);
  });

  it("type-checks (tsc --strict, deno check); wrong uses are compile errors at their lines", () => {
    writeFileSync(join(TMP, "skeleton.skel.ts"), SKEL);
    const good = `import { open, type Event_, type Stats } from "./skeleton.skel.ts";
const skel = open();
skel.globals.min_seq = 2;
skel.globals.cfg = { level: 5 };
skel.maps.counts.map.maxEntries = 128;
const loaded = skel.load();
loaded.maps.counts.set(1, 2n);
const v: bigint | undefined = loaded.maps.counts.get(1);
loaded.maps.counts.get(1, { lock: true });
loaded.maps.counts.set(1, 2n, { mode: "exist", lock: true });
loaded.maps.pcpu.get(0, { lock: false });
const s: Stats | undefined = loaded.maps.stats.get({ pid: 1, nr: 2 });
const per: bigint | undefined = loaded.maps.pcpu.get(0)?.[0]?.packets;
loaded.maps.pcpu.setMany([[0, { packets: 1n }], [1, [{ bytes: 2n }]]]);
const taken: bigint | undefined = loaded.maps.pcpu.lookupAndDelete(0)?.[0]?.bytes;
loaded.globals.runs = 5n;
loaded.programs.delete.testRun;
loaded.maps.__proto__.get(0)?.x;
loaded.ringBuffers.events.consume((e: Event_) => void e.seq);
loaded.ringBuffer("events2").consume((e) => void e.b);
loaded.attach;
void [v, s, per, taken];
loaded.close();
`;
    const bad = `import { open } from "./skeleton.skel.ts";
const skel = open();
skel.maps.counts.set("abc", 1n); // @error wrong key type
skel.maps.counts.set(1, "x"); // @error wrong value type
const loaded = skel.load();
loaded.globals.min_seq = 3; // @error rodata after load
loaded.load(); // @error a loaded skeleton has no load()
loaded.maps.nope; // @error no such map
loaded.ringBuffer("counts"); // @error not a ring buffer
loaded.maps.stats.set({ pid: "1" }, { count: 1n }); // @error field type
loaded.maps.counts.get(1, { locked: true }); // @error not a lookup option
loaded.maps.counts.set(1, 2n, { mode: "sometimes" }); // @error no such mode
`;
    writeFileSync(join(TMP, "good.ts"), good);
    writeFileSync(join(TMP, "bad.ts"), bad);
    const ok = tsc(["skeleton.skel.ts", "good.ts"]);
    expect(ok.out).toBe("");
    expect(ok.status).toBe(0);
    const ko = tsc(["bad.ts"]);
    const errLines = [...ko.out.matchAll(/bad\.ts\((\d+),\d+\): error/g)].map(
      (m) => Number(m[1]),
    );
    expect([...new Set(errLines)]).toEqual(linesWith(bad, "// @error"));
    const deno = spawnSync(
      join(BIN, "deno"),
      ["check", "-q", join(TMP, "good.ts")],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(deno.stderr).toBe("");
    expect(deno.status).toBe(0);
    const denoBad = spawnSync(
      join(BIN, "deno"),
      ["check", "-q", join(TMP, "bad.ts")],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(denoBad.status).not.toBe(0);
  }, 120_000);
});

describe("array globals", () => {
  it("are typed as the live views they read as (scalar, enum, float and nested arrays)", () => {
    writeFileSync(join(TMP, "globals.skel.ts"), skeletonOf("skeleton_globals"));
    const good = `import type { ArrayView } from "tsbpf";
import { open } from "./globals.skel.ts";
const skel = open();
const slots: ArrayView<number> = skel.globals.slots;
skel.globals.slots[1] = 5;
void slots;
skel.globals.slots = [1, 2, 3, 4];
skel.globals.slots = new Uint32Array(4);
const l: bigint = skel.globals.limits[0]!;
skel.globals.limits = [1n, 2n, 3n];
const row: ArrayView<number> = skel.globals.grid.get(1);
const cell: number = skel.globals.grid[1]![2]!;
skel.globals.grid = [[1, 2, 3], [4, 5, 6]];
const f: number[] = skel.globals.fl.toArray() as number[];
const c: number = skel.globals.colors.get(0);
const byte: number = skel.globals.mat[1]![3]!;
skel.globals.mat[0]![0] = 7;
skel.globals.mat = [[1, 2, 3, 4], [5, 6, 7, 8]];
const name: string = skel.globals.names[1]!;
skel.globals.names = ["x", "y"];
const bits: boolean = skel.globals.flags[0]!;
skel.globals.bytes_val[1] = 7;
const sm: ArrayView<number> = skel.globals.small;
const version: number = skel.globals.LINUX_KERNEL_VERSION;
const bpf: boolean = skel.globals.CONFIG_BPF_SYSCALL;
skel.globals.flags = [false, true];
const loaded = skel.load();
const still: bigint = loaded.globals.limits.get(2) + loaded.globals.rpair.b;
skel.globals.rpair.b = 7n;
void [l, row, cell, f, c, still, byte, name, bits, version, bpf, sm];
`;
    const bad = `import { open } from "./globals.skel.ts";
const skel = open();
skel.globals.slots.subarray(1); // @error a live view, not a Uint32Array
skel.globals.grid.byteLength; // @error not bytes
skel.globals.limits = ["x"]; // @error element type
skel.globals.names.byteLength; // @error strings, not bytes
const loaded = skel.load();
loaded.globals.limits[0] = 1n; // @error .rodata after load
loaded.globals.rpair.b = 1n; // @error a .rodata struct's field after load
skel.globals.LINUX_KERNEL_VERSION = 1; // @error .kconfig is libbpf's to set
`;
    writeFileSync(join(TMP, "globals_good.ts"), good);
    writeFileSync(join(TMP, "globals_bad.ts"), bad);
    const ok = tsc(["globals.skel.ts", "globals_good.ts"]);
    expect(ok.out).toBe("");
    const ko = tsc(["globals_bad.ts"]);
    const errLines = [
      ...ko.out.matchAll(/globals_bad\.ts\((\d+),\d+\): error/g),
    ].map((m) => Number(m[1]));
    expect([...new Set(errLines)]).toEqual(linesWith(bad, "// @error"));
  }, 120_000);
});

describe("constant globals", () => {
  it("are readonly however deep once loaded: nested struct fields and array elements (@ts-expect-error under tsc and deno check)", () => {
    writeFileSync(join(TMP, "rodata.skel.ts"), skeletonOf("skeleton_rodata"));
    // Each @ts-expect-error fails the check if its line compiles; the
    // reads and the opened skeleton's writes must compile.
    const src = `import { open, type Inner } from "./rodata.skel.ts";
const skel = open();
skel.globals.rcfg.in.x = 1;
skel.globals.rcfg.in.arr[0] = 2;
skel.globals.rcfg.ins.get(1).arr.set(0, 3);
skel.globals.rcfg.vals[1]![1] = 4n;
skel.globals.rgrid[1]![2] = 5;
skel.globals.rinners[0]!.arr[1] = 6;
const loaded = skel.load();
const g = loaded.globals;
const reads: (number | bigint | string)[] = [
  g.rcfg.a, g.rcfg.in.x, g.rcfg.in.arr[1]!, g.rcfg.in.arr.get(2),
  g.rcfg.ins.get(1).x, g.rcfg.ins[0]!.arr[2]!, g.rcfg.vals[1]![0]!,
  g.rcfg.vals.get(0).get(1), g.rcfg.name, g.rgrid[1]![2]!, g.rgrid.length,
  g.rinners[1]!.arr[0]!, ...g.rgrid.get(0), g.rcfg.in.toObject().x,
];
for (const row of g.rgrid) void row[0];
const inner: Readonly<{ x: number }> = g.rinners[0]!;
void [reads, inner, g.rcfg.in.arr.toArray(), g.rgrid.toArray()];
// @ts-expect-error a field of a .rodata struct
g.rcfg.a = 1;
// @ts-expect-error a nested struct's field
g.rcfg.in.x = 1;
// @ts-expect-error an array field's element
g.rcfg.in.arr[0] = 2;
// @ts-expect-error an array field has no set()
g.rcfg.in.arr.set(0, 2);
// @ts-expect-error an element of an array of structs, a field of it
g.rcfg.ins[1]!.x = 3;
// @ts-expect-error the same through get()
g.rcfg.ins.get(1).arr[0] = 3;
// @ts-expect-error a nested array's element
g.rcfg.vals[1]![1] = 4n;
// @ts-expect-error a 2-D array global's element
g.rgrid[1]![2] = 5;
// @ts-expect-error its row's set()
g.rgrid.get(1).set(2, 5);
// @ts-expect-error the global array's own element
g.rgrid[0] = g.rgrid[1]!;
// @ts-expect-error an element of an array of .rodata structs
g.rinners[0]!.x = 6;
// @ts-expect-error an array inside one
g.rinners[0]!.arr[1] = 6;
// @ts-expect-error a string field
g.rcfg.name = "x";
// @ts-expect-error iteration hands out readonly rows
for (const row of g.rgrid) row[0] = 1;
// .data stays writable at every level.
g.wcfg.in.arr[0] = 1;
g.wcfg.ins.get(1).x = 2;
const plain: Inner = skel.globals.rinners[0]!;
void plain;
`;
    writeFileSync(join(TMP, "rodata_use.ts"), src);
    const ok = tsc(["rodata.skel.ts", "rodata_use.ts"]);
    expect(ok.out).toBe("");
    expect(ok.status).toBe(0);
    const deno = spawnSync(
      join(BIN, "deno"),
      ["check", "-q", join(TMP, "rodata_use.ts")],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(deno.stderr).toBe("");
    expect(deno.status).toBe(0);
  }, 120_000);
});

describe("global-data maps", () => {
  it("are in maps, named as bpftool names them (maps.rodata_cfg), by section where a map has the name, and type-check (with attach()'s byName)", () => {
    const globals = skeletonOf("skeleton_globals");
    for (const key of ["bss", "data", "kconfig", "rodata", "rodata_cfg"])
      expect(globals).toContain(`  readonly ${key}: $tsbpf.BpfMap;`);
    expect(globals).toContain(
      '{ name: "rodata_cfg", kind: "data", section: ".rodata.cfg" }',
    );
    // .ksyms has no map.
    expect(globals).not.toContain("ksyms: $tsbpf.BpfMap");
    // skeleton_rodata has a map named bss.
    const rodata = skeletonOf("skeleton_rodata");
    expect(rodata).toContain("  readonly bss: $tsbpf.SkeletonMap<");
    expect(rodata).toContain('  readonly ".bss": $tsbpf.BpfMap;');
    writeFileSync(join(TMP, "data_maps.skel.ts"), rodata);
    writeFileSync(
      join(TMP, "data_maps_use.ts"),
      `import { load } from "./data_maps.skel.ts";
const skel = load();
const frozen: boolean = skel.maps.rodata.frozen;
const n: bigint | undefined = skel.maps.bss.get(0);
const fd: number = skel.maps[".bss"].fd + skel.maps.data.fd;
void [frozen, n, fd];
// attach()'s links by program name, typed.
const links = skel.attach();
const link: { readonly closed: boolean } | undefined = links.byName.on_getppid;
// @ts-expect-error no program or map of that name
void links.byName.on_getpid;
void link;
`,
    );
    const ok = tsc(["data_maps.skel.ts", "data_maps_use.ts"]);
    expect(ok.out).toBe("");
    expect(ok.status).toBe(0);
  }, 120_000);
});

describe("autoAttaches", () => {
  it("is true for the SEC() names libbpf attaches by themselves, with a target", () => {
    for (const s of [
      "tp/syscalls/sys_enter_getpid",
      "tracepoint/sched/sched_switch",
      "raw_tp/sys_enter",
      "tp_btf/sched_switch",
      "fentry/do_nanosleep",
      "fexit.s/x",
      "freplace/handler",
      "lsm/file_open",
      "iter/task",
      "uprobe/libc.so.6:getppid",
      "usdt/libc.so.6:libc:setjmp",
      "ksyscall/getppid",
      "kprobe.multi/do_*",
    ])
      expect([s, autoAttaches(s)]).toEqual([s, true]);
    for (const s of [
      "xdp",
      "tc",
      "tcx/ingress",
      "netfilter",
      "cgroup/connect4",
      "lsm_cgroup/socket_bind",
      "uprobe",
      "kprobe",
      "usdt",
      "tp",
      "struct_ops/init",
      "syscall",
    ])
      expect([s, autoAttaches(s)]).toEqual([s, false]);
  });
});

describe("hostile names", () => {
  // Each placeholder of fixtures/hostile_names.bpf.c, overwritten in place
  // (same byte length) with text that would run or break out if pasted.
  const PAYLOADS = [
    '"]});globalThis.PWN=1;//',
    "*/globalThis.PWN=1;/*\n",
    "`${globalThis.PWN=1}`\u2028'",
    '\\"};globalThis.PWN=1;({ @x',
    "\n}\nglobalThis.PWN=1;\n{",
  ];
  const enc = new TextEncoder();
  function patched(seed: number): { bytes: Uint8Array; names: string[] } {
    const bytes = new Uint8Array(readFileSync(fixture("hostile_names")));
    const text = new TextDecoder("latin1").decode(bytes);
    const found = [...new Set(text.match(/PLACEHOLDER_[A-Z]+_0+/g))];
    const names = found.map((ph, i) => {
      let p = PAYLOADS[(i + seed) % PAYLOADS.length]!;
      while (enc.encode(p).length < ph.length) p += "x";
      while (enc.encode(p).length > ph.length) p = p.slice(0, -1);
      // A cut UTF-8 sequence is padded again.
      while (enc.encode(p).length < ph.length) p += "y";
      const to = enc.encode(p);
      for (let at = text.indexOf(ph); at >= 0; at = text.indexOf(ph, at + 1))
        bytes.set(to, at);
      return p;
    });
    return { bytes, names };
  }

  it("never run, and type-check, whatever the ELF and BTF names hold", async () => {
    for (let seed = 0; seed < PAYLOADS.length; seed++) {
      const { bytes, names } = patched(seed);
      const src = generateSkeleton(bytes, {
        fileName: "hostile_names.bpf.o",
        importFrom: "../../../mod.ts",
      });
      const info = describeObject(bytes, "hostile_names.bpf.o");
      // The names reach the skeleton unchanged.
      const seen = [
        ...info.maps.map((m) => m.name),
        ...info.programs.map((p) => p.name),
        ...info.globals.map((g) => g.name),
      ];
      expect(seen.filter((n) => names.includes(n)).length).toBe(seen.length);
      const file = `hostile_${seed}.skel.ts`;
      writeFileSync(join(TMP, file), src);
      const r = tsc([file]);
      expect(r.out).toBe("");
      delete (globalThis as { PWN?: number }).PWN;
      const m = await import(pathToFileURL(join(TMP, file)).href);
      expect(typeof m.open).toBe("function");
      expect((globalThis as { PWN?: number }).PWN).toBeUndefined();
    }
  }, 120_000);
});

describe("examples' committed skeletons", () => {
  const dirs = readdirSync(join(ROOT, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith("_"))
    .map((d) => d.name);
  for (const dir of dirs)
    it(`${dir} equals a fresh scripts/gen-skeletons.sh output`, () => {
      const src = readdirSync(join(ROOT, "examples", dir)).find((f) =>
        f.endsWith(".bpf.c"),
      )!;
      const obj = fixture(basename(src, ".bpf.c"), `examples/${dir}`);
      const fresh = generateSkeleton(readFileSync(obj), {
        fileName: basename(obj),
        path: `../../build/examples/${dir}/${basename(obj)}`,
        importFrom: "../../mod.ts",
      });
      const committed = readFileSync(
        join(ROOT, "examples", dir, `${dir}.skel.ts`),
        "utf8",
      );
      expect(committed).toBe(fresh);
    });
});
