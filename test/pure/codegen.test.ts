import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { Btf } from "../../src/btf/btf.ts";
import { BtfBuilder } from "../../src/btf/marshal.ts";
import { BtfNotFoundError } from "../../src/errors.ts";
import { generateTypes } from "../../codegen/types.ts";
import { hintRunOnce, runOnceFunctions } from "../../codegen/run_once.ts";
import { plainLength } from "../../codegen/naming.ts";
import {
  pascalCase,
  docText,
  propertyKey,
  RESERVED_MEMBERS,
} from "../../codegen/names.ts";
import { prelude } from "../../codegen/prelude.ts";
import { fixture, need, ROOT } from "../_support/fixtures.ts";
import { moduleLoader } from "../_support/load_module.ts";
import { rawBtfBytes } from "../_support/raw_btf.ts";
import {
  hasCc,
  jsonish,
  layoutRef,
  tohex,
  unhex,
} from "../_support/layout_ref.ts";

const BIN = join(ROOT, "node_modules/.bin");
const OBJ = fixture("btf_types");
const btf = Btf.fromFile(OBJ);
const ref = need(hasCc(), "no host C compiler (cc)") ? layoutRef() : undefined;
const TMP = join(ROOT, "build/test", `codegen-${process.pid}`);
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** Writes `source` to a temp .ts file and imports it. */
const load = moduleLoader(TMP);

/** Runs the CLI under `runtime` and returns its output. */
function cli(runtime: "bun" | "deno", args: string[]) {
  const cmd =
    runtime === "bun"
      ? [join(BIN, "bun"), "codegen/cli.ts", ...args]
      : [join(BIN, "deno"), "run", "-A", "codegen/cli.ts", ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    cwd: ROOT,
    maxBuffer: 1 << 28,
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Export names declared by a generated module, by kind. */
function exportsOf(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(
    /^export (?:class|const|interface|type) ([A-Za-z0-9_$]+)/gm,
  )) {
    out.push(m[1]!);
  }
  for (const m of src.matchAll(/^export \{ \S+ as ([A-Za-z0-9_$]+) \};/gm)) {
    out.push(m[1]!);
  }
  return [...new Set(out)].sort();
}

/** Turns JSON sample values into what setters take (bigints from strings). */
function revive(template: unknown, v: unknown): unknown {
  if (typeof template === "bigint") return BigInt(v as string);
  if (Array.isArray(template))
    return (v as unknown[]).map((x, i) => revive(template[i], x));
  if (template && typeof template === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as object))
      out[k] = revive((template as Record<string, unknown>)[k], x);
    return out;
  }
  return v;
}

/**
 * `tsc --strict --noImplicitOverride --noEmit` on files in TMP, with no
 * ambient @types (the repo's would be picked up otherwise).
 */
function typecheck(files: string[]) {
  writeFileSync(
    join(TMP, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noImplicitOverride: true,
        noEmit: true,
        target: "es2022",
        lib: ["es2022"],
        types: [],
        allowImportingTsExtensions: true,
      },
      files,
    }),
  );
  return spawnSync(join(BIN, "tsc"), ["-p", join(TMP, "tsconfig.json")], {
    encoding: "utf8",
  });
}

const SOURCE = generateTypes(btf, { source: "btf_types.bpf.o" });

describe("generated module for fixtures/btf_types", () => {
  it("has a class per struct/union and a const per enum, named in PascalCase", () => {
    const names = exportsOf(SOURCE);
    for (const n of [
      "ExecEvent",
      "ExecEventObject",
      "Bitfields",
      "WithUnion",
      "WithUnionUn",
      "PackedEv",
      "NestedArrays",
      "NestedArraysPoints",
      "AnonMembers",
      "AnonMembersAnon0",
      "AnonMembersAnon1",
      "TopUnion",
      "Floats",
      "EventType",
      "BigEnum",
      "ProcessStats",
    ]) {
      expect(names).toContain(n);
    }
    expect(SOURCE).not.toMatch(/^import /m);
    expect(SOURCE).toContain("  /** `__u32` @12 */ declare pid: number;\n");
    expect(SOURCE).toContain("bit offset 15, 17 bits");
  });

  it.skipIf(ref === undefined)(
    "decodes and encodes the C compiler's bytes",
    async () => {
      const m = await load(SOURCE);
      for (const [name, { size }] of Object.entries(ref!.layouts)) {
        expect([name, m[pascalCase(name)].size]).toEqual([name, size]);
        expect(m[pascalCase(name)].typeName).toBe(name);
      }
      for (const [name, sample] of Object.entries(ref!.samples)) {
        const Cls = m[pascalCase(name)];
        const bytes = unhex(sample.hex);
        const view = Cls.from(bytes);
        expect([name, jsonish(view.toObject())]).toEqual([name, sample.values]);
        const fresh = new Cls();
        const values = revive(view.toObject(), sample.values) as object;
        for (const [k, v] of Object.entries(values)) fresh[k] = v;
        expect([name, tohex(fresh.$bytes())]).toEqual([name, sample.hex]);
      }
    },
  );

  it("has the view shape: from, new, $repoint, $view, $offset, $bytes", async () => {
    const { ExecEvent, NestedArrays } = await load(SOURCE);
    const buf = new Uint8Array(ExecEvent.size * 2 + 3);
    const a = ExecEvent.from(buf, 3);
    a.pid = 7;
    expect(a.$view.getUint32(3 + 12, true)).toBe(7);
    expect(a.$offset).toBe(3);
    expect(a.$bytes().byteOffset).toBe(3);
    expect(a.$repoint(new DataView(buf.buffer), 3 + ExecEvent.size)).toBe(a);
    expect(a.pid).toBe(0);
    expect(() => ExecEvent.from(buf, ExecEvent.size + 4)).toThrow(
      /exec_event needs 112 bytes at byteOffset 116/,
    );
    expect(() => a.$repoint(new DataView(buf.buffer), -1)).toThrow(TypeError);
    const e = new ExecEvent();
    e.comm = "a-very-long-command-name";
    expect(e.comm).toBe("a-very-long-comm");
    e.comm = "héllo";
    expect(e.comm).toBe("héllo");
    expect(e.$get("comm")).toBe("héllo");
    e.$set("pid", 9);
    expect(e.pid).toBe(9);
    const n = new NestedArrays();
    n.matrix[1][2] = 5;
    expect(n.matrix.get(1).get(2)).toBe(5);
    n.points = [{ x: 1, y: 2 }, { x: 3 }];
    expect(n.points[0].y).toBe(2);
    expect(n.points[1].x).toBe(3);
    // As the runtime views: the whole array, not a prefix.
    expect(() => (n.points = [{ x: 1, y: 2 }])).toThrow(
      /expected an array of 2 elements/,
    );
    expect([...n.shorts]).toEqual([0, 0, 0, 0, 0]);
    expect(() => n.shorts.get(5)).toThrow(TypeError);
  });

  it.skipIf(
    !need(
      typeof (btf as { struct?: unknown }).struct === "function",
      "btf.struct() not available yet",
    ),
  )("agrees with the runtime views of btf.struct()", async () => {
    const m = await load(SOURCE);
    const names = ref
      ? Object.keys(ref.samples)
      : ["exec_event", "bitfields", "with_union", "nested_arrays"];
    for (const name of names) {
      const V = btf.struct(name);
      const G = m[pascalCase(name)];
      expect(G.size).toBe(V.size);
      const bytes = ref
        ? unhex(ref.samples[name]!.hex)
        : new Uint8Array(G.size).map((_, i) => i * 37);
      expect([name, jsonish(G.from(bytes).toObject())]).toEqual([
        name,
        jsonish(V.from(bytes).toObject()),
      ]);
      const viewFields = V.fields
        .filter((f: { accessor: boolean }) => f.accessor)
        .map((f: { name: string }) => f.name)
        .sort();
      const genFields = Object.getOwnPropertyNames(G.prototype)
        .filter((k) => k !== "constructor" && k !== "toObject")
        .sort();
      expect([name, genFields]).toEqual([name, viewFields]);
      for (const k of ["$view", "$offset"]) {
        expect(k in new G()).toBe(k in new V());
      }
      for (const k of ["$bytes", "$repoint", "$get", "$set", "toObject"]) {
        expect(typeof new G()[k]).toBe(typeof new V()[k]);
      }
    }
  });

  it("setters refuse exactly what the runtime views refuse, and write the same bytes", async () => {
    // Out-of-range values once wrapped (300 → 44 in a u8) in generated
    // classes while the runtime views threw.
    const m = await load(SOURCE);
    const bad: unknown[] = [
      2 ** 40,
      -(2 ** 40),
      300,
      -1,
      1.5,
      "3",
      null,
      true,
      2n ** 70n,
      -1n,
      5n,
      "x".repeat(40),
      [300],
      [1, 2],
      new Uint8Array(64),
      new Uint8Array(4),
      new Uint8Array(10),
      [1, 2, 3, 4, 5],
      [1, 2, 3],
      {},
    ];
    let refused = 0;
    for (const name of [
      "exec_event",
      "bitfields",
      "signed_bitfields",
      "nested_arrays",
      "floats",
      "signed_vals",
      "with_union",
      "packed_ev",
    ]) {
      const V = btf.struct(name);
      const G = m[pascalCase(name)];
      for (const f of V.fields.filter(
        (x: { accessor: boolean }) => x.accessor,
      )) {
        for (const x of bad) {
          const v = new V();
          const g = new G();
          let vErr: unknown;
          let gErr: unknown;
          try {
            v.$set(f.name, x);
          } catch (e) {
            vErr = e;
          }
          try {
            g.$set(f.name, x);
          } catch (e) {
            gErr = e;
          }
          const what = `${name}.${f.name} = ${String(x)}`;
          expect([what, gErr !== undefined]).toEqual([
            what,
            vErr !== undefined,
          ]);
          if (gErr) {
            refused++;
            expect(gErr).toBeInstanceOf(Error);
            expect([what, String(gErr)]).toEqual([
              what,
              expect.stringMatching(/expected|do not fit/),
            ]);
          } else {
            expect([what, [...g.$bytes()]]).toEqual([what, [...v.$bytes()]]);
          }
        }
      }
    }
    expect(refused).toBeGreaterThan(100);
  });

  it("type-checks with tsc --strict --noImplicitOverride and deno check", () => {
    const file = join(TMP, "check.ts");
    writeFileSync(file, SOURCE);
    const tsc = typecheck(["check.ts"]);
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
    const deno = spawnSync(join(BIN, "deno"), ["check", "-q", file], {
      encoding: "utf8",
      cwd: TMP,
    });
    expect(deno.stderr).not.toMatch(/error/i);
    expect(deno.status).toBe(0);
  }, 60_000);
});

describe("the helpers: one source, inlined or imported", () => {
  const RUNTIME = join(ROOT, "src/generated/struct_runtime.ts");
  const text = readFileSync(RUNTIME, "utf8");
  /** The runtime module's code after its one import, without `export`s. */
  const code = text
    .slice(text.indexOf("\n", text.indexOf("\nimport ") + 1) + 1)
    .replace(/^export /gm, "");
  /** The module specifier of the runtime from TMP, where `load` writes. */
  const spec = relative(TMP, RUNTIME);

  it("inlines src/generated/struct_runtime.ts by default", () => {
    expect(code).toContain("\nconst $LE = true;\n");
    expect(SOURCE).toContain(code);
    expect(SOURCE).toContain(
      `const $RESERVED: ReadonlySet<string> = new Set(${JSON.stringify([...RESERVED_MEMBERS])});`,
    );
    // The runtime's helpers read little-endian: big-endian data keeps them inline.
    const be = generateTypes(btf, {
      littleEndian: false,
      importFrom: "tsbpf",
      only: ["exec_event"],
    });
    expect(be).toContain(
      code.replace("const $LE = true;", "const $LE = false;"),
    );
    expect(be).not.toMatch(/^import /m);
  });

  it("--import imports what the module uses; the classes share its $Struct", async () => {
    const a = cli("bun", ["types", OBJ, "--import", spec]);
    const b = cli("deno", ["types", OBJ, "--import", spec]);
    expect(a.stderr).toBe("");
    expect(a.status).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const src = a.stdout;
    expect(src).toBe(
      generateTypes(btf, { source: "btf_types.bpf.o", importFrom: spec }),
    );
    const imp = `import { $ArrayView, type $Plain, $Struct, $def, $install } from ${JSON.stringify(spec)};\n`;
    expect(src).toContain(imp);
    expect(src).not.toContain("class $Struct");
    // The same declarations as the self-contained module.
    expect(src.replace(imp, "")).toBe(SOURCE.replace(prelude(true), ""));
    const m = await load(src);
    const self = await load(SOURCE);
    const rt = await import(pathToFileURL(RUNTIME).href);
    expect(new m.ExecEvent()).toBeInstanceOf(rt.$Struct);
    expect(new self.ExecEvent()).not.toBeInstanceOf(rt.$Struct);
    const bytes = new Uint8Array(m.NestedArrays.size).map((_, i) => i * 37);
    expect(jsonish(m.NestedArrays.from(bytes).toObject())).toEqual(
      jsonish(self.NestedArrays.from(bytes).toObject()),
    );
    // Only enums: nothing to import.
    const enums = generateTypes(btf, {
      importFrom: spec,
      only: ["event_type"],
    });
    expect(enums).not.toMatch(/^import /m);
    writeFileSync(join(TMP, "imported.ts"), src);
    const tsc = typecheck(["imported.ts"]);
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
    const deno = spawnSync(
      join(BIN, "deno"),
      ["check", "-q", join(TMP, "imported.ts")],
      { encoding: "utf8", cwd: TMP },
    );
    expect(deno.stderr).not.toMatch(/error/i);
    expect(deno.status).toBe(0);
  }, 60_000);
});

describe("tsbpf-gen CLI", () => {
  it("prints the same bytes under Bun and Deno, run after run", () => {
    const a = cli("bun", ["types", OBJ]);
    const b = cli("bun", ["types", OBJ]);
    const c = cli("deno", ["types", OBJ]);
    expect(a.stderr).toBe("");
    expect(a.status).toBe(0);
    expect(c.status).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).toBe(a.stdout);
    expect(a.stdout).toBe(SOURCE);
    expect(
      generateTypes(Btf.fromFile(OBJ), { source: "btf_types.bpf.o" }),
    ).toBe(SOURCE);
  }, 60_000);

  it("--type exec_event emits only what it uses", async () => {
    const r = cli("bun", ["types", OBJ, "--type", "exec_event"]);
    expect(r.status).toBe(0);
    expect(exportsOf(r.stdout)).toEqual(["ExecEvent", "ExecEventObject"]);
    const both = generateTypes(btf, { only: ["with_union", "typedef_chain"] });
    expect(exportsOf(both)).toEqual([
      "BigEnum",
      "EventType",
      "TypedefChain",
      "TypedefChainObject",
      "WithUnion",
      "WithUnionObject",
      "WithUnionUn",
      "WithUnionUnObject",
    ]);
    const top = generateTypes(btf, { only: ["top_union"] });
    expect(exportsOf(top)).toEqual([
      "ExecEvent",
      "ExecEventObject",
      "TopUnion",
      "TopUnionObject",
    ]);
    const m = await load(top);
    expect(Object.keys(m).sort()).toEqual(["ExecEvent", "TopUnion"]);
  });

  it("fails with one clear line and a non-zero exit", () => {
    const missing = cli("bun", ["types", "/nonexistent/x.o"]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(
      /^tsbpf-gen: no such file: \/nonexistent\/x.o/,
    );
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);

    const unknown = cli("bun", ["types", OBJ, "--type", "exec_evnt"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(
      /no struct, union, enum or typedef named 'exec_evnt' in the BTF; similar: exec_event/,
    );
    // A typedef of a scalar is there, but has no class.
    const scalar = cli("bun", ["types", OBJ, "--type", "timestamp_t"]);
    expect(scalar.status).toBe(1);
    expect(scalar.stderr).toMatch(
      /'timestamp_t' is a typedef of .*, not of a struct, union or enum/,
    );
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknown.stdout).toBe("");

    const bad = join(TMP, "bad.btf");
    writeFileSync(bad, new Uint8Array(64).fill(7));
    const garbage = cli("bun", ["types", bad]);
    expect(garbage.status).toBe(1);
    expect(garbage.stderr.trim().split("\n")).toHaveLength(1);
    expect(garbage.stderr).not.toMatch(/\n\s+at /);

    // A skeleton needs an object: raw BTF is pointed at `types`.
    const rawSkel = cli("bun", ["skeleton", "/sys/kernel/btf/vmlinux"]);
    expect(rawSkel.status).toBe(2);
    expect(rawSkel.stderr).toMatch(
      /is raw BTF, not a BPF object: .*run 'tsbpf-gen types \/sys\/kernel\/btf\/vmlinux'/,
    );

    const usage = cli("bun", ["frobnicate"]);
    expect(usage.status).toBe(2);
    expect(cli("bun", ["--help"]).stdout).toMatch(
      /^Usage: tsbpf-gen types FILE/,
    );
  }, 30_000);

  it("a C source file: says it is C source and how to build the object", () => {
    const src = join(TMP, "prog.bpf.c");
    writeFileSync(src, "#include <linux/bpf.h>\nint x;\n");
    for (const runtime of ["bun", "deno"] as const) {
      for (const cmd of ["skeleton", "types"]) {
        const r = cli(runtime, [cmd, src]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(
          /prog\.bpf\.c is C source, not a compiled BPF object: build it first: clang -g -O2 -target bpf -c \S*prog\.bpf\.c -o \S*prog\.bpf\.o/,
        );
        expect(r.stderr).toContain(`tsbpf-gen ${cmd} `);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
    }
  }, 30_000);

  it("an executable: named for what it is, not told to compile with -g", () => {
    // `types` said so already; `skeleton` said "ls has no .BTF section",
    // with a hint to build the BPF program with -g.
    for (const cmd of ["skeleton", "types"]) {
      const r = cli("bun", [cmd, "/bin/ls"]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(
        /\bls is an? [\w-]+ executable.*, not a BPF object, and has no \.BTF section/,
      );
      expect(r.stderr).not.toMatch(/compile the BPF program with -g/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 30_000);

  it("accepts a raw BTF file (same output as the object's BTF)", () => {
    const raw = join(TMP, "raw.btf");
    writeFileSync(raw, btf.bytes);
    const r = cli("bun", ["types", raw, "--type", "exec_event"]);
    expect(r.status).toBe(0);
    expect(r.stdout.replace(/from \S+\./, "")).toBe(
      cli("bun", ["types", OBJ, "--type", "exec_event"]).stdout.replace(
        /from \S+\./,
        "",
      ),
    );
  }, 30_000);
});

/** True when `/usr/bin:/bin` has bun or deno (the bin would take it). */
const systemRuntime =
  spawnSync("/bin/sh", ["-c", "command -v bun || command -v deno"], {
    env: { PATH: "/usr/bin:/bin" },
  }).status === 0;

describe("the tsbpf-gen package bin", () => {
  const SHIM = join(ROOT, "codegen/tsbpf-gen");
  const bare = need(
    !systemRuntime,
    "bun or deno is installed in /usr/bin or /bin",
  );
  /** Runs the bin as npm links it into `dir`/node_modules/.bin, with only `path` on PATH. */
  function linked(dir: string, runtimes: string[], path: string) {
    const bin = join(dir, "node_modules/.bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(SHIM, join(bin, "tsbpf-gen"));
    for (const rt of runtimes) symlinkSync(join(BIN, rt), join(bin, rt));
    return spawnSync(
      join(bin, "tsbpf-gen"),
      ["types", OBJ, "--type", "exec_event"],
      {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: path, HOME: dir },
      },
    );
  }

  it.skipIf(!bare)(
    "runs the CLI under a project's bun, else its deno",
    () => {
      const expected = cli("bun", [
        "types",
        OBJ,
        "--type",
        "exec_event",
      ]).stdout;
      const withBun = linked(join(TMP, "with-bun"), ["bun"], "/usr/bin:/bin");
      expect(withBun.stderr).toBe("");
      expect(withBun.stdout).toBe(expected);
      const withDeno = linked(
        join(TMP, "with-deno"),
        ["deno"],
        "/usr/bin:/bin",
      );
      expect(withDeno.status).toBe(0);
      expect(withDeno.stdout).toBe(expected);
    },
    60_000,
  );

  it.skipIf(!bare)("without Bun or Deno, says what it needs", () => {
    const r = spawnSync("/bin/sh", [SHIM, "--help"], {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin" },
    });
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/tsbpf-gen: needs Bun or Deno to run/);
  });
});

describe("the CLI's JIT hint for run-once code", () => {
  it("covers the generator's methods and applies (or is a no-op) in every runtime", async () => {
    const fns = runOnceFunctions();
    const names = new Set(fns.map((f) => f.name));
    for (const n of ["fields", "emitClass", "claim", "sortByName", "putUint"]) {
      expect(names.has(n)).toBe(true);
    }
    expect(fns.every((f) => typeof f === "function")).toBe(true);
    await hintRunOnce();
    // The generator still works after the hint.
    const b = new BtfBuilder();
    b.struct("after_hint", 4, [
      { name: "v", type: b.int("unsigned int", 4), bitOffset: 0 },
    ]);
    expect(generateTypes(b)).toContain("export class AfterHint");
  });
});

describe("split BTF", () => {
  it.skipIf(
    !need(
      existsSync("/sys/kernel/btf/vmlinux"),
      "/sys/kernel/btf/vmlinux missing",
    ),
  )(
    "emits only the module's own types and what they hold by value",
    async () => {
      const base = Btf.kernel();
      const listHead = base.findIds("list_head", "struct")[0]!;
      const int = base.findIds("int", "int")[0]!;
      const own = "\0tsbpf_split\0l\0n\0";
      const s = (name: string) =>
        base.strings.end + own.indexOf(`\0${name}\0`) + 1;
      const words = [
        // struct tsbpf_split { struct list_head l; int n; }
        s("tsbpf_split"),
        (4 << 24) | 2,
        24,
        s("l"),
        listHead,
        0,
        s("n"),
        int,
        128,
      ];
      const bytes = rawBtfBytes(words, new TextEncoder().encode(own));
      const src = generateTypes(Btf.fromBytes(bytes, { base }));
      expect(exportsOf(src)).toEqual([
        "ListHead",
        "ListHeadObject",
        "TsbpfSplit",
        "TsbpfSplitObject",
      ]);
      const m = await load(src);
      const x = new m.TsbpfSplit();
      x.n = 5;
      expect(x.toObject()).toEqual({ l: { next: 0n, prev: 0n }, n: 5 });
    },
  );
});

describe("names", () => {
  it("PascalCase and sanitizing", () => {
    expect(pascalCase("exec_event")).toBe("ExecEvent");
    expect(pascalCase("packed_ev")).toBe("PackedEv");
    expect(pascalCase("exec_event__un")).toBe("ExecEventUn");
    expect(pascalCase("")).toBe("Anon");
    expect(pascalCase("1st")).toBe("T1st");
    expect(pascalCase('a"b')).toBe("A$22b");
    expect(propertyKey("class")).toBe("class");
    expect(propertyKey("a b")).toBe('"a b"');
    expect(docText("x */ y\nz@")).toBe("x *\\/ y\\u{a}z\\@");
  });

  it("settles clashes deterministically", async () => {
    const b = new BtfBuilder();
    const u32 = b.int("unsigned int", 4);
    const m = [{ name: "v", type: u32, bitOffset: 0 }];
    b.union("foo", 4, m);
    b.struct("foo", 4, m);
    b.struct("FooBar", 4, m);
    b.struct("foo_bar", 4, m);
    b.struct("Map", 4, m);
    b.struct("object", 4, m);
    b.struct("foo_object", 4, m);
    const anon = b.struct("", 4, m);
    b.typedef("foo_t", b.types[2]!);
    b.typedef("Map", anon);
    b.typedef("object_t", b.types[6]!);
    b.typedef("foo", b.types[2]!);
    const parent = b.struct("parent", 12, [
      { name: "", type: b.struct("", 4, m), bitOffset: 0 },
      { name: "", type: b.union("", 4, m), bitOffset: 32 },
      { name: "inner", type: b.struct("", 4, m), bitOffset: 64 },
    ]);
    void parent;
    const src = generateTypes(b);
    expect(src).toBe(generateTypes([...b.types].reverse()));
    expect(exportsOf(src)).toEqual(
      [
        "Foo",
        "FooObject",
        "Foo_2",
        "Foo_2Object",
        "FooBar",
        "FooBarObject",
        "FooBar_2",
        "FooBar_2Object",
        "Map_",
        "Map_Object",
        "Map_2",
        "Map_2Object",
        "FooObject_2",
        "FooObject_2Object",
        "Object_",
        "Object_Object",
        "ObjectT",
        "FooT",
        "Parent",
        "ParentObject",
        "ParentAnon0",
        "ParentAnon0Object",
        "ParentAnon1",
        "ParentAnon1Object",
        "ParentInner",
        "ParentInnerObject",
      ].sort(),
    );
    const mod = await load(src);
    expect(mod.Foo.typeName).toBe("foo");
    expect(new mod.Foo()).toBeInstanceOf(mod.Foo);
    expect(mod.FooT).toBe(mod.Foo);
    expect(mod.Foo_2.typeName).toBe("foo");
    expect(mod.Map_2.typeName).toBe("Map");
    expect(mod.ParentAnon1.typeName).toBe("parent__anon1");
    expect(mod.ParentInner.typeName).toBe("parent__inner");
  });

  it("a name without leading underscores claims its PascalCase first", async () => {
    // vmlinux has both: `__sk_buff` (the UAPI context, sorted first) and
    // `sk_buff`; a user of the kernel's types means `sk_buff` by SkBuff.
    const b = new BtfBuilder();
    const u32 = b.int("unsigned int", 4);
    const m = [{ name: "v", type: u32, bitOffset: 0 }];
    b.struct("__sk_buff", 4, m);
    b.struct("_sk_buff", 4, m);
    b.struct("sk_buff", 4, m);
    b.struct("__only_underscored", 4, m);
    const mod = await load(generateTypes(b));
    expect(mod.SkBuff.typeName).toBe("sk_buff");
    expect(mod.SkBuff_2.typeName).toBe("__sk_buff");
    expect(mod.SkBuff_3.typeName).toBe("_sk_buff");
    expect(mod.OnlyUnderscored.typeName).toBe("__only_underscored");
    // The same names whatever `only` selects: SkBuff never means __sk_buff.
    const alone = generateTypes(b, { only: ["__sk_buff"] });
    expect(alone).toMatch(/export class SkBuff_2 extends/);
    expect(alone).not.toMatch(/export class SkBuff extends/);
    const both = generateTypes(b, { only: ["__sk_buff", "sk_buff"] });
    expect(both).toMatch(/export class SkBuff_2 extends/);
    expect(both).toMatch(/export class SkBuff extends/);
  });

  it("reads plain names from string bytes, never past their end", () => {
    const s = new TextEncoder().encode("\0abc\0a b\0x1$\0tail");
    expect(plainLength(s, 1)).toBe(3);
    expect(plainLength(s, 5)).toBe(-1); // "a b": not plain
    expect(plainLength(s, 9)).toBe(3); // "x1$"
    expect(plainLength(s, 0)).toBe(0); // empty
    expect(plainLength(s, 13)).toBe(-1); // no NUL before the end
    expect(plainLength(s, 99)).toBe(-1);
  });

  it("orders declarations by C name as strings compare, non-ASCII too", () => {
    const b = new BtfBuilder();
    const u32 = b.int("unsigned int", 4);
    const m = [{ name: "v", type: u32, bitOffset: 0 }];
    // A longer name can sort first: "㑄뼞" < "莡" (U+3444 < U+83A1).
    const cNames = ["莡", "㑄뼞", "zz", "é", "a", "㑄"];
    for (const n of cNames) b.struct(n, 4, m);
    const src = generateTypes(b);
    const order = [...src.matchAll(/^\$def\([^,]+, 4, "([^"]*)"/gm)].map(
      (x) => x[1],
    );
    expect(order).toEqual([...cNames].sort());
    expect(generateTypes(Btf.fromBytes(b.toBytes()))).toBe(src);
  });

  it("names anonymous types by use and keeps reserved field names reachable", async () => {
    const b = new BtfBuilder();
    const u8 = b.int("unsigned char", 1);
    const s = b.struct("r", 4, [
      { name: "toObject", type: u8, bitOffset: 0 },
      { name: "__proto__", type: u8, bitOffset: 8 },
      { name: "constructor", type: u8, bitOffset: 16 },
      { name: "x", type: u8, bitOffset: 24 },
      { name: "x", type: u8, bitOffset: 16 },
    ]);
    void s;
    const m = await load(generateTypes(b));
    const r = m.R.from(new Uint8Array([1, 2, 3, 4]));
    expect(r.$get("toObject")).toBe(1);
    expect(r.$get("__proto__")).toBe(2);
    expect(r.x).toBe(4);
    const o = r.toObject();
    expect(Object.keys(o)).toEqual([
      "toObject",
      "__proto__",
      "constructor",
      "x",
    ]);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(o.__proto__).toBe(2);
    r.$set("constructor", 9);
    expect(r.$get("constructor")).toBe(9);
    expect(existsSync(TMP)).toBe(true);
  });
});
