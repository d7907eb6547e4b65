/**
 * The helpers of generated modules, in the two forms a module can take them:
 * inlined (the default of `tsbpf-gen types`: the module imports nothing and
 * runs on Bun, Deno, Node and browsers alike) or imported from the tsbpf
 * runtime (skeletons, `--import SPEC`). Both come from one source,
 * src/generated/struct_runtime.ts: the inlined text is that file's, read at
 * generation time, with its one import replaced by the values it imports,
 * its `export`s dropped and `$LE` set to the data's byte order.
 */
import { TsbpfError } from "../src/errors.ts";
import { RESERVED_MEMBERS } from "./names.ts";

/**
 * The runtime module's source. The published package (this module compiled
 * to `.js`) ships it as text beside this module, under a name no import
 * resolves to: as `struct_runtime.ts` beside its `.d.ts`, tsc would check it
 * instead of the declarations, with the user's compiler options.
 */
const RUNTIME = import.meta.url.endsWith(".js")
  ? new URL("./struct_runtime.ts.txt", import.meta.url)
  : new URL("../src/generated/struct_runtime.ts", import.meta.url);

/** The runtime module's one import, which the inlined copy replaces. */
const IMPORT =
  'import { RESERVED_MEMBERS as $RESERVED } from "../btf/reserved_names.ts";\n';
const LE = "const $LE = true;\n";

interface DenoLike {
  readTextFileSync(path: URL): string;
}
interface ProcessLike {
  getBuiltinModule(id: "node:fs"): {
    readFileSync(path: URL, encoding: "utf8"): string;
  };
}

/**
 * The text of the runtime module. Under Deno through `Deno` only: importing
 * a `node:` module there loads Deno's Node layer, which costs the CLI more
 * start-up time than the rest of a small generation.
 */
function readRuntime(): string {
  try {
    const deno = (globalThis as { Deno?: DenoLike }).Deno;
    if (deno) return deno.readTextFileSync(RUNTIME);
    const proc = (globalThis as unknown as { process: ProcessLike }).process;
    return proc.getBuiltinModule("node:fs").readFileSync(RUNTIME, "utf8");
  } catch (e) {
    throw new TsbpfError(
      `cannot read ${RUNTIME.href}, the helpers generated modules inline`,
      {
        hint: "run tsbpf-gen from a local copy of the package (with its src/), or pass --import tsbpf",
        cause: e,
      },
    );
  }
}

let source: string | undefined;

/** The runtime module's code after its import, checked to have the expected shape. */
function runtimeBody(): string {
  if (source !== undefined) return source;
  const text = readRuntime();
  const at = text.indexOf(IMPORT);
  const body = text.slice(at + IMPORT.length);
  if (at < 0 || body.split(LE).length !== 2) {
    throw new TsbpfError(
      `${RUNTIME.href} does not have the shape codegen/prelude.ts inlines`,
      { hint: `it needs the lines ${JSON.stringify(IMPORT + LE)}` },
    );
  }
  return (source = body);
}

/** Source text of the helpers, inlined; `le` selects the byte order of the data. */
export function prelude(le: boolean): string {
  return (
    `const $RESERVED: ReadonlySet<string> = new Set(${JSON.stringify([...RESERVED_MEMBERS])});\n` +
    runtimeBody()
      .replace(LE, `const $LE = ${le};\n`)
      .replace(/^export /gm, "")
  );
}

/** A name the runtime module exports, and whether it is a type only. */
interface Helper {
  readonly name: string;
  readonly type: boolean;
}

let helpers: readonly Helper[] | undefined;

/** What the runtime module exports, from its text. */
function runtimeExports(): readonly Helper[] {
  helpers ??= [
    ...runtimeBody().matchAll(
      /^export (class|function|const|type|interface) (\$[A-Za-z0-9_]+)/gm,
    ),
  ]
    .map((m) => ({
      name: m[2]!,
      type: m[1] === "type" || m[1] === "interface",
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return helpers;
}

/**
 * The import (one line) of the helpers that `body` (generated declarations)
 * uses from `specifier`; "" when it uses none. A field
 * named like a helper can only add an unused name, never leave one out.
 */
export function helperImport(body: string, specifier: string): string {
  const used = runtimeExports().filter((h) =>
    new RegExp(`\\${h.name}\\b`).test(body),
  );
  if (!used.length) return "";
  const names = used.map((h) => (h.type ? `type ${h.name}` : h.name));
  return `import { ${names.join(", ")} } from ${JSON.stringify(specifier)};\n`;
}
