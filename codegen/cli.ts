#!/usr/bin/env bun
/**
 * `tsbpf-gen`: the code generator's command line.
 *
 * ```sh
 * bun codegen/cli.ts types prog.bpf.o > types.ts
 * bun codegen/cli.ts skeleton prog.bpf.o > prog.skel.ts
 * deno run -A codegen/cli.ts types /sys/kernel/btf/vmlinux --type task_struct
 * ```
 *
 * The shebang runs it with Bun when executed directly; Deno ignores the
 * line, so `deno run -A codegen/cli.ts` works too. The package bin
 * (`tsbpf-gen`) is the shell shim codegen/tsbpf-gen, which picks bun or deno.
 * The module goes to stdout; errors are one line on stderr and a non-zero
 * exit (`--debug` adds the stack).
 *
 * @module
 */
import { TsbpfError } from "../src/errors.ts";
import { btfByteOrder } from "../src/btf/header.ts";
import { cSourceMessage } from "./c_source.ts";
import type { ByteSink } from "./output.ts";
import type { RawBtf } from "./type_graph.ts";
import type { GenerateOptions } from "./types.ts";
import { writeTypeBytesWasm } from "./wasm_types.ts";

const USAGE = `Usage: tsbpf-gen types FILE [--type NAME]... [--import SPEC] [--debug]
       tsbpf-gen skeleton FILE.bpf.o [--path PATH] [--import SPEC] [--debug]

Prints a TypeScript module with a class per struct/union and a const object
per enum in FILE's BTF. FILE is a BPF object (.bpf.o, with a .BTF section)
or a raw BTF file such as /sys/kernel/btf/vmlinux.

Options:
  --type NAME   only NAME (struct, union, enum or typedef) and the types it
                uses by value, transitively; repeatable
  --import SPEC import the classes' helpers ($Struct, $def, ...) from the
                tsbpf runtime at module specifier SPEC (e.g. tsbpf) instead
                of inlining them (the default: the module imports nothing)

skeleton prints a typed module for the BPF object FILE: open()/load(),
typed .maps, .programs, .globals and .ringBuffers/.perfBuffers.

Options:
  --path PATH   reference the object at PATH, relative to the generated
                module, instead of embedding its bytes (base64)
  --import SPEC module specifier of the runtime (default: tsbpf)
  --debug       print stack traces on errors
  -h, --help    this help`;

/** A command-line mistake: printed with a pointer to --help, exit code 2. */
class UsageError extends Error {}

interface Args {
  readonly command: string;
  readonly file: string;
  readonly only?: string[];
  readonly path?: string;
  readonly importFrom?: string;
  readonly debug: boolean;
}

function parseArgs(argv: readonly string[]): Args | "help" {
  const positional: string[] = [];
  const only: string[] = [];
  let debug = false;
  const value: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") return "help";
    if (a === "--debug") debug = true;
    else if (/^--(path|import)(=|$)/.test(a)) {
      const [opt, inline] = a.includes("=") ? a.split(/=(.*)/s) : [a];
      const v = inline ?? argv[++i];
      if (!v) throw new UsageError(`${opt} needs a value`);
      value[opt!.slice(2)] = v;
    } else if (a === "--type" || a.startsWith("--type=")) {
      const v = a === "--type" ? argv[++i] : a.slice("--type=".length);
      if (!v) throw new UsageError("--type needs a type name");
      only.push(v);
    } else if (a.startsWith("-") && a !== "-") {
      throw new UsageError(`unknown option ${a}`);
    } else positional.push(a);
  }
  const [command, file, ...rest] = positional;
  if (!command) throw new UsageError("missing command (types, skeleton)");
  if (command !== "types" && command !== "skeleton") {
    throw new UsageError(`unknown command '${command}'`);
  }
  if (!file) throw new UsageError("missing FILE");
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (command === "types" && value.path) {
    throw new UsageError("--path is an option of skeleton");
  }
  if (command === "skeleton" && only.length) {
    throw new UsageError("--type is an option of types");
  }
  return {
    command,
    file,
    only: only.length ? only : undefined,
    path: value.path,
    importFrom: value.import,
    debug,
  };
}

/**
 * The process as the CLI sees it. Under Deno it uses the `Deno` namespace
 * only: importing any `node:` module there loads Deno's Node compatibility
 * layer, which costs more start-up time (~19 ms) than reading and parsing
 * vmlinux. Elsewhere (Bun, Node) `process` is a global and `node:fs` is
 * loaded on first use.
 */
interface Host {
  readonly args: readonly string[];
  /** The file's bytes; throws the runtime's error. */
  read(path: string): Uint8Array | Promise<Uint8Array>;
  /** Writes all of `b` to fd 1 or 2, synchronously. */
  write(fd: 1 | 2, b: Uint8Array): void;
  setExitCode(code: number): void;
}

interface DenoLike {
  args: string[];
  readFileSync(path: string): Uint8Array;
  statSync(path: string): { isFile: boolean };
  stdout: { writeSync(b: Uint8Array): number };
  stderr: { writeSync(b: Uint8Array): number };
  exitCode: number;
}
interface ProcessLike {
  argv: string[];
  exitCode?: number;
}
type WriteSync = (fd: number, b: Uint8Array, o: number, n: number) => number;

async function host(): Promise<Host> {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (deno) {
    return {
      args: deno.args,
      read(path) {
        // A FIFO would block forever: the library's reader explains.
        if (!deno.statSync(path).isFile) throw new Error("not a regular file");
        return deno.readFileSync(path);
      },
      write(fd, b) {
        const f = fd === 1 ? deno.stdout : deno.stderr;
        for (let o = 0; o < b.length; ) o += f.writeSync(b.subarray(o));
      },
      setExitCode(code) {
        deno.exitCode = code;
      },
    };
  }
  const proc = (globalThis as unknown as { process: ProcessLike }).process;
  const fs = (await import("node:fs")) as unknown as {
    readFileSync(path: string): Uint8Array;
    statSync(path: string): { isFile(): boolean };
    writeSync: WriteSync;
  };
  return {
    args: proc.argv.slice(2),
    read(path) {
      if (!fs.statSync(path).isFile()) throw new Error("not a regular file");
      const b = fs.readFileSync(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
    write(fd, b) {
      for (let o = 0; o < b.length; ) {
        try {
          o += fs.writeSync(fd, b, o, b.length - o);
        } catch (e) {
          // A non-blocking pipe that is full: try again.
          if ((e as { code?: string }).code !== "EAGAIN") throw e;
        }
      }
    },
    setExitCode(code) {
      proc.exitCode = code;
    },
  };
}

const encoder = new TextEncoder();

/** True for ENOENT (Node, Bun) or NotFound (Deno). */
function notFound(e: unknown): boolean {
  const x = e as { code?: unknown; name?: unknown } | null;
  return x?.code === "ENOENT" || x?.name === "NotFound";
}

/** A file under /sys/kernel/btf other than vmlinux: split BTF (see Btf.fromFile). */
function isKernelModulePath(path: string): boolean {
  const prefix = "/sys/kernel/btf/";
  return (
    path.startsWith(prefix) &&
    path !== `${prefix}vmlinux` &&
    !path.slice(prefix.length).includes("/")
  );
}

/** The TypeScript generator (loaded only when the wasm one does not do it). */
async function generate(
  btf: RawBtf,
  options: GenerateOptions,
  out: ByteSink,
): Promise<void> {
  const { writeTypeBytes } = await import("./types.ts");
  // After the generator's modules are loaded: they register their code.
  const { hintRunOnce } = await import("./run_once.ts");
  await hintRunOnce();
  writeTypeBytes(btf, options, out);
}

/** One line: the message, with a hint folded in. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, "; ");
}

/**
 * Runs the CLI with `argv` (without the runtime and script); returns the
 * exit code.
 */
export async function main(
  argv: readonly string[],
  io?: Host,
): Promise<number> {
  const h = io ?? (await host());
  const text = (fd: 1 | 2, s: string) => h.write(fd, encoder.encode(s));
  const debug = argv.includes("--debug");
  try {
    const args = parseArgs(argv);
    if (args === "help") {
      text(1, USAGE + "\n");
      return 0;
    }
    let bytes: Uint8Array;
    try {
      bytes = await h.read(args.file);
    } catch (e) {
      if (notFound(e)) throw new UsageError(`no such file: ${args.file}`);
      // The library's message for everything else (EACCES, EISDIR...).
      const { readFileBytes } = await import("../src/io.ts");
      bytes = readFileBytes(args.file);
    }
    const source = args.file.split("/").pop() ?? args.file;
    const cSource = cSourceMessage(bytes, args.file, args.command);
    if (cSource) throw new UsageError(cSource);
    if (args.command === "skeleton") {
      if (btfByteOrder(bytes)) {
        throw new UsageError(
          `${args.file} is raw BTF, not a BPF object: a skeleton is made from a .bpf.o; for the types of raw BTF, run 'tsbpf-gen types ${args.file}'`,
        );
      }
      // Loaded on demand: `types` on vmlinux should not pay for it.
      const { generateSkeleton } = await import("./skeleton.ts");
      text(
        1,
        generateSkeleton(bytes, {
          fileName: source,
          path: args.path,
          importFrom: args.importFrom,
        }),
      );
      return 0;
    }
    // Raw BTF (vmlinux) goes to the wasm generator as it is, with nothing
    // else loaded; ELF objects and kernel modules' split BTF go through the
    // Btf class. When the wasm generator does not take the input (or gives
    // up), the TypeScript generator runs.
    const order = btfByteOrder(bytes);
    const input =
      order && !isKernelModulePath(args.file)
        ? bytes
        : (await import("../src/btf/btf.ts")).Btf.fromFile(args.file);
    const options: GenerateOptions = {
      only: args.only,
      littleEndian:
        input instanceof Uint8Array ? order === "le" : input.byteOrder !== "be",
      source,
      importFrom: args.importFrom,
    };
    const out = (b: Uint8Array) => h.write(1, b);
    if (!writeTypeBytesWasm(input, options, out)) {
      const btf =
        input instanceof Uint8Array
          ? (await import("./type_graph.ts")).rawBtf(input)
          : input;
      await generate(btf, options, out);
    }
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError;
    // System errors (EACCES, EISDIR...) carry a code and a clear message.
    const known =
      usage ||
      e instanceof TsbpfError ||
      typeof (e as { code?: unknown })?.code === "string";
    text(
      2,
      `tsbpf-gen: ${known ? "" : "internal error: "}${oneLine(e)}` +
        (usage ? " (see --help)" : "") +
        "\n",
    );
    if (debug && e instanceof Error && e.stack) {
      text(2, e.stack + "\n");
    } else if (!known) {
      text(2, "tsbpf-gen: run with --debug for the stack trace\n");
    }
    return usage ? 2 : 1;
  }
}

/**
 * Whether this module is the program being run: `import.meta.main` in Bun
 * and Deno (and Node ≥ 24.2); in older Node, which leaves it undefined,
 * whether argv[1] is this file (the package's compiled `cli.js`).
 */
async function isMain(): Promise<boolean> {
  const main = (import.meta as { main?: boolean }).main;
  if (main !== undefined) return main;
  const file = (globalThis as { process?: ProcessLike }).process?.argv[1];
  if (file === undefined) return false;
  const { realpathSync } = await import("node:fs");
  const { pathToFileURL } = await import("node:url");
  try {
    return pathToFileURL(realpathSync(file)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (await isMain()) {
  const h = await host();
  h.setExitCode(await main(h.args, h));
}
