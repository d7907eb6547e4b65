/**
 * Hostile names cannot inject code: random BTF (seeded) full of names made
 * to break out of strings, comments, templates and identifiers goes through
 * the writer, the parser and the generator; the module must compile, and
 * importing and exercising it must run nothing but the generated code.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { Btf } from "../../src/btf/btf.ts";
import { BtfBuilder } from "../../src/btf/marshal.ts";
import type { BtfType, Struct, Union } from "../../src/btf/types.ts";
import { generateTypes } from "../../codegen/types.ts";
import { prelude } from "../../codegen/prelude.ts";
import { ROOT } from "../_support/fixtures.ts";
import { prng } from "../_support/prng.ts";

const SEED = 0x7ab5eed;
const ROUNDS = 40;
const TIME_BUDGET_MS = 8_000;
const TYPECHECK_SAMPLE = 4;

const HOSTILE = [
  "class",
  "delete",
  "function",
  "new",
  "await",
  '"); globalThis.pwned = 1; ("',
  "'); globalThis.pwned = 1; ('",
  "`); globalThis.pwned = 1; (`",
  "*/ globalThis.pwned = 1; /*",
  "\n globalThis.pwned = 1; //",
  "\r\n}; globalThis.pwned = 1; {",
  "\u2028globalThis.pwned = 1",
  "${globalThis.pwned = 1}",
  "]; globalThis.pwned = 1; [",
  "\\",
  '\\"',
  "é",
  "日本語",
  "😀",
  "",
  "1abc",
  "0",
  "__proto__",
  "constructor",
  "toObject",
  "toString",
  "hasOwnProperty",
  "$view",
  "$get",
  "prototype",
  "size",
  "typeName",
  "Map",
  "Object",
  "Array",
  "a b",
  "</script>",
  "@link x",
  "x",
];

/** Builds one random BTF with hostile names. */
function randomBtf(rand: () => number): BtfBuilder {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const name = (): string => {
    const r = rand();
    if (r < 0.6) return pick(HOSTILE);
    if (r < 0.8) return pick(HOSTILE) + pick(HOSTILE);
    let s = "";
    for (let i = 1 + Math.floor(rand() * 6); i > 0; i--) {
      s += String.fromCodePoint(1 + (Math.floor(rand() * 0x2ffff) % 0xd7ff));
    }
    return s;
  };
  const b = new BtfBuilder();
  const scalars: [BtfType, number][] = [
    [b.int("unsigned char", 1), 1],
    [b.int("short", 2, { signed: true }), 2],
    [b.int("unsigned int", 4), 4],
    [b.int("long long", 8, { signed: true }), 8],
    [b.int("_Bool", 1, { bool: true }), 1],
    [b.float("double", 8), 8],
  ];
  const chr = b.int("char", 1, { signed: true });
  const values: [BtfType, number][] = [...scalars];
  for (let i = 0; i < 1 + Math.floor(rand() * 3); i++) {
    const vals = [];
    for (let k = Math.floor(rand() * 5); k > 0; k--) {
      vals.push({ name: name(), value: Math.floor(rand() * 1000) - 500 });
    }
    const wide = rand() < 0.3;
    const e = b.enum(wide ? name() : pick([name(), ""]), wide ? 8 : 4, vals, {
      signed: true,
    });
    values.push([e, wide ? 8 : 4]);
  }
  for (let i = 0; i < 2 + Math.floor(rand() * 4); i++) {
    const members = [];
    let bits = 0;
    for (let k = Math.floor(rand() * 7); k > 0; k--) {
      const r = rand();
      let type: BtfType;
      let size: number;
      let bitSize = 0;
      if (r < 0.15) {
        size = 1 + Math.floor(rand() * 20);
        type = b.array(chr, size);
      } else if (r < 0.25) {
        const [el, es] = pick(scalars);
        const n = 1 + Math.floor(rand() * 4);
        type = b.array(el, n);
        size = es * n;
      } else if (r < 0.35) {
        type = b.ptr(pick(values)[0]);
        size = 8;
      } else if (r < 0.45) {
        type = b.struct("", 4, [
          { name: name(), type: scalars[2]![0], bitOffset: 0 },
        ]);
        size = 4;
      } else if (r < 0.55) {
        type = scalars[2]![0];
        size = 0;
        bitSize = 1 + Math.floor(rand() * 31);
      } else {
        [type, size] = pick(values);
      }
      const memberName = rand() < 0.1 && type.kind === "struct" ? "" : name();
      members.push({ name: memberName, type, bitOffset: bits, bitSize });
      bits += bitSize ? 32 : size * 8;
    }
    const size = Math.ceil(bits / 64) * 8;
    const kind = rand() < 0.25 ? "union" : "struct";
    const composite =
      kind === "union"
        ? b.union(
            name(),
            size,
            members.map((m) => ({ ...m, bitOffset: 0 })),
          )
        : b.struct(name(), size, members);
    values.push([composite, size]);
    if (rand() < 0.4) b.typedef(name(), composite);
  }
  return b;
}

/** Field names the views (and so the generated toObject) expose: first wins. */
function expectedFields(
  t: Struct | Union,
  out = new Set<string>(),
): Set<string> {
  for (const m of t.members) {
    if (m.name === "") {
      const r = m.type;
      if (r.kind === "struct" || r.kind === "union") expectedFields(r, out);
    } else out.add(m.name);
  }
  return out;
}

const TMP = join(ROOT, "build/test", `codegen-fuzz-${process.pid}`);
/** The runtime's helpers, as a module specifier from TMP. */
const RUNTIME = relative(TMP, join(ROOT, "src/generated/struct_runtime.ts"));
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe("codegen with hostile BTF names", () => {
  it("generates modules that compile and run only generated code", async () => {
    const rand = prng(SEED);
    const started = Date.now();
    const checkFiles: string[] = [];
    const g = globalThis as { pwned?: unknown };
    let rounds = 0;
    for (; rounds < ROUNDS && Date.now() - started < TIME_BUDGET_MS; rounds++) {
      const btf = Btf.fromBytes(randomBtf(rand).toBytes());
      const types = [...btf];
      const src = generateTypes(btf, {
        source: "fuzz */ globalThis.pwned = 1",
      });
      expect(
        generateTypes(btf, { source: "fuzz */ globalThis.pwned = 1" }),
      ).toBe(src);

      const syntax = ts.transpileModule(src, {
        reportDiagnostics: true,
        compilerOptions: { target: ts.ScriptTarget.ES2022 },
      });
      expect(
        (syntax.diagnostics ?? []).map((d) =>
          ts.flattenDiagnosticMessageText(d.messageText, "\n"),
        ),
      ).toEqual([]);

      const file = join(TMP, `fuzz${rounds}.ts`);
      writeFileSync(file, src);
      if (rounds < TYPECHECK_SAMPLE) checkFiles.push(file);

      // Importing the helpers: one import line from a fixed list, the same
      // declarations.
      const imported = generateTypes(btf, {
        source: "fuzz */ globalThis.pwned = 1",
        importFrom: RUNTIME,
      });
      const line =
        imported.match(/^import \{ [$\w, ]+ \} from "[^"\n]+";\n/m)?.[0] ?? "";
      expect(imported.replace(line, "")).toBe(
        src.replace(prelude(true) + (line ? "" : "\n"), ""),
      );
      const importedFile = join(TMP, `fuzz${rounds}_imported.ts`);
      writeFileSync(importedFile, imported);
      if (rounds < TYPECHECK_SAMPLE) checkFiles.push(importedFile);
      await import(pathToFileURL(importedFile).href);
      const mod = (await import(pathToFileURL(file).href)) as Record<
        string,
        unknown
      >;
      expect(g.pwned).toBeUndefined();

      const composites = types.filter(
        (t): t is Struct | Union => t.kind === "struct" || t.kind === "union",
      );
      const enums = types.filter(
        (t) => t.kind === "enum" || t.kind === "enum64",
      );
      const classes = new Set<unknown>();
      const enumObjects: object[] = [];
      for (const [k, v] of Object.entries(mod)) {
        expect(k).toMatch(/^[A-Za-z][A-Za-z0-9$_]*$/);
        if (typeof v === "function") classes.add(v);
        else {
          expect(typeof v).toBe("object");
          enumObjects.push(v as object);
        }
      }
      expect(classes.size).toBe(composites.length);
      expect(enumObjects.length).toBe(enums.length);

      for (const t of composites) {
        type Cls = {
          new (): Record<string, unknown> & {
            toObject(): object;
            $get(n: string): unknown;
            $set(n: string, v: unknown): void;
          };
          size: number;
          typeName: string;
        };
        const cls = [...classes].find(
          (c) =>
            (c as Cls).size === t.size &&
            (c as Cls).typeName === (t.name || (c as Cls).typeName),
        ) as Cls | undefined;
        expect(cls).toBeDefined();
      }
      for (const c of classes) {
        const Cls = c as {
          new (): {
            toObject(): object;
            $get(n: string): unknown;
            $set(n: string, v: unknown): void;
          };
          typeName: string;
        };
        const t = composites.find(
          (x) => x.name !== "" && x.name === Cls.typeName,
        );
        const obj = new Cls();
        const plain = obj.toObject();
        expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
        for (const k of Object.keys(plain)) obj.$set(k, obj.$get(k));
        if (t) {
          const names = [...expectedFields(t)].sort();
          const sameNamed = composites.filter((x) => x.name === t.name);
          if (sameNamed.length === 1)
            expect(Object.keys(plain).sort()).toEqual(names);
        }
      }
      for (const e of enums) {
        if (e.kind !== "enum" && e.kind !== "enum64") continue;
        const keys = [...new Set(e.values.map((v) => v.name))].sort();
        expect(
          enumObjects.some(
            (o) =>
              JSON.stringify(Object.keys(o).sort()) === JSON.stringify(keys),
          ),
        ).toBe(true);
      }
      expect(g.pwned).toBeUndefined();
    }
    expect(rounds).toBeGreaterThan(4);

    const program = ts.createProgram(checkFiles, {
      strict: true,
      noImplicitOverride: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts"],
      types: [],
      allowImportingTsExtensions: true,
    });
    const diags = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diags).toEqual([]);
  }, 60_000);
});
