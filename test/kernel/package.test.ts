import { afterAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fixture, isRoot, need, ROOT } from "../_support/fixtures.ts";

// The package as a user gets it: `npm pack` (whose prepack compiles dist/),
// installed from the tarball into a project outside this repository (so no
// tsconfig paths, deno.json import map or self-reference can stand in for
// the package), then used from Bun, Deno, Node, the bin and tsc.

const BIN = join(ROOT, "node_modules/.bin");
const ENV = { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}` };
const OBJ = fixture("skeleton");
const npm = spawnSync("npm", ["--version"]).status === 0;
const TMP = mkdtempSync(join(tmpdir(), "tsbpf-package-"));
const APP = join(TMP, "app");

/** Runs `cmd` in the app; its stdout, or a failure with its output. */
function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, {
    cwd: APP,
    env: ENV,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")}: ${r.status}\n${r.stdout}${r.stderr}`,
    );
  }
  return r.stdout;
}

/** Packs the repository and installs the tarball into APP; the file list. */
function install(): string[] {
  const out = execFileSync(
    "npm",
    ["pack", "--silent", "--pack-destination", TMP],
    {
      cwd: ROOT,
      env: ENV,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const tgz = join(TMP, out.trim().split("\n").pop()!);
  const files = execFileSync("tar", ["tzf", tgz], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  mkdirSync(APP);
  writeFileSync(
    join(APP, "package.json"),
    JSON.stringify({ name: "app", private: true, type: "module" }),
  );
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", tgz]);
  return files;
}
// At load, not in beforeAll: packing takes longer than a hook's default timeout.
const files = npm ? install() : [];
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe.skipIf(!need(npm, "no npm: the package tests pack with it"))(
  "the npm package",
  () => {
    it("ships compiled JavaScript, declarations and the bin, no tests or build output", () => {
      for (const f of [
        "package/dist/mod.js",
        "package/dist/mod.d.ts",
        "package/dist/codegen/mod.js",
        "package/dist/codegen/cli.js",
        "package/dist/src/event_wait_worker.js",
        "package/dist/codegen/struct_runtime.ts.txt",
        "package/codegen/tsbpf-gen",
        "package/README.md",
        "package/LICENSE",
        "package/CHANGELOG.md",
      ]) {
        expect(files).toContain(f);
      }
      const stray = files.filter((f) =>
        /^package\/(test|bench|build|fixtures|examples|scripts|\.ci|src|ffi)\//.test(
          f,
        ),
      );
      expect(stray).toEqual([]);
      // TypeScript sources: Deno refuses them under node_modules, and tsc
      // prefers one to a .d.ts beside it and checks it with the user's options.
      expect(files.filter((f) => /(?<!\.d)\.ts$/.test(f))).toEqual([]);
    });

    it("tsbpf-gen makes types and skeletons that import the package by name", () => {
      writeFileSync(
        join(APP, "types.ts"),
        run(join(APP, "node_modules/.bin/tsbpf-gen"), ["types", OBJ]),
      );
      const skel = run(join(APP, "node_modules/.bin/tsbpf-gen"), [
        "skeleton",
        OBJ,
      ]);
      expect(skel).toContain('from "tsbpf";');
      writeFileSync(join(APP, "prog.skel.ts"), skel);
      // The bin's Deno path, on the compiled CLI.
      const cli = join(APP, "node_modules/tsbpf/dist/codegen/cli.js");
      expect(run(join(BIN, "deno"), ["run", "-A", cli, "types", OBJ])).toBe(
        run(join(BIN, "bun"), [cli, "types", OBJ]),
      );
    }, 60_000);

    it("the bin runs the compiled CLI on Node when there is no Bun or Deno", () => {
      const node = execFileSync("sh", ["-c", "command -v node"], {
        encoding: "utf8",
      }).trim();
      const path = `${dirname(node)}:/usr/bin:/bin`;
      const noRuntime = spawnSync(
        "sh",
        ["-c", "command -v bun || command -v deno"],
        { env: { PATH: path } },
      );
      if (!need(noRuntime.status !== 0, "bun or deno beside node on PATH"))
        return;
      const r = spawnSync(
        join(APP, "node_modules/.bin/tsbpf-gen"),
        ["types", OBJ, "--type", "event"],
        { cwd: APP, encoding: "utf8", env: { PATH: path } },
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(
        run(join(BIN, "bun"), [
          join(APP, "node_modules/tsbpf/dist/codegen/cli.js"),
          "types",
          OBJ,
          "--type",
          "event",
        ]),
      );
    });

    it("imports on Node (the pure parts), and type-checks with tsc --strict", () => {
      writeFileSync(
        join(APP, "pure.mjs"),
        [
          `import { Btf, ElfFile } from "tsbpf";`,
          `import { generateTypes } from "tsbpf/codegen";`,
          `const btf = Btf.fromFile(${JSON.stringify(OBJ)});`,
          `console.log(btf.struct("event").size, generateTypes(btf).length > 0);`,
        ].join("\n"),
      );
      expect(run("node", ["pure.mjs"])).toBe("24 true\n");
      writeFileSync(
        join(APP, "use.ts"),
        [
          `import { BpfObject, Btf, BpfMap } from "tsbpf";`,
          `import { Pair } from "./types";`,
          `import { open } from "./prog.skel";`,
          `export async function use(): Promise<number> {`,
          `  using skel = open();`,
          `  skel.globals.min_seq = 1;`,
          `  const loaded = skel.load();`,
          `  let n: number = Number(new Pair().bytes);`,
          `  await loaded.ringBuffers.events.poll((e) => { n += e.seq; }, 10);`,
          `  const m = BpfMap.create({ type: "hash", key: "u32", value: "u64", maxEntries: 8 });`,
          `  const v: bigint | undefined = m.get(1);`,
          `  return n + Number(v ?? 0n) + (Btf.fromFile("x").type("pair")?.size ?? 0) + BpfObject.length;`,
          `}`,
        ].join("\n"),
      );
      writeFileSync(
        join(APP, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "ESNext",
            moduleResolution: "Bundler",
            lib: ["ES2023", "ESNext.Disposable", "DOM"],
            types: [],
            strict: true,
            noEmit: true,
          },
          files: ["use.ts"],
        }),
      );
      run(join(BIN, "tsc"), ["-p", "."]);
    }, 60_000);

    it.skipIf(!need(isRoot(), "not root: loads the skeleton's programs"))(
      "loads, waits on and reads a ring buffer under Bun and Deno",
      () => {
        writeFileSync(
          join(APP, "main.ts"),
          [
            `import { open } from "./prog.skel.ts";`,
            `using skel = open();`,
            `skel.globals.min_seq = 1;`,
            `const loaded = skel.load();`,
            `const seqs: number[] = [];`,
            // An empty ring: the reader waits (Bun: in its worker module)
            // until the abort.
            `const signal = AbortSignal.timeout(100);`,
            `for await (const e of loaded.ringBuffers.events.events({ signal })) seqs.push(e.seq);`,
            `for (let i = 0; i < 3; i++) loaded.programs.delete.testRun({ data: new Uint8Array(64) });`,
            `await loaded.ringBuffers.events.poll((e) => seqs.push(e.seq), 1000);`,
            `console.log(seqs.join(","));`,
          ].join("\n"),
        );
        expect(run(join(BIN, "bun"), ["main.ts"])).toBe("1,2\n");
        expect(run(join(BIN, "deno"), ["run", "-A", "main.ts"])).toBe("1,2\n");
      },
      60_000,
    );
  },
);
