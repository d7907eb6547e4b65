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
import type { Struct, Union } from "../../src/btf/types.ts";
import { generateTypes } from "../../codegen/types.ts";
import { prelude } from "../../codegen/prelude.ts";
import { ROOT } from "../_support/fixtures.ts";
import { prng } from "../_support/prng.ts";
import { randomBtf } from "../_support/hostile_btf.ts";

const SEED = 0x7ab5eed;
const ROUNDS = 40;
const TIME_BUDGET_MS = 8_000;
const TYPECHECK_SAMPLE = 4;

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
