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
 * The shebang runs it with Bun (`node_modules/.bin/tsbpf-gen` after an
 * install); Deno ignores the line, so `deno run -A codegen/cli.ts` works too.
 * The module goes to stdout; errors are one line on stderr and a non-zero
 * exit (`--debug` adds the stack).
 *
 * @module
 */
import { existsSync, writeSync } from "node:fs";
import process from "node:process";
import { Btf } from "../src/btf/btf.ts";
import { TsbpfError } from "../src/errors.ts";
import { readFileBytes } from "../src/io.ts";
import { writeTypeBytes } from "./types.ts";

const USAGE = `Usage: tsbpf-gen types FILE [--type NAME]... [--debug]
       tsbpf-gen skeleton FILE.bpf.o [--path PATH] [--import SPEC] [--debug]

Prints a TypeScript module with a class per struct/union and a const object
per enum in FILE's BTF. FILE is a BPF object (.bpf.o, with a .BTF section)
or a raw BTF file such as /sys/kernel/btf/vmlinux.

Options:
  --type NAME   only NAME (struct, union, enum or typedef) and the types it
                uses by value, transitively; repeatable

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
  if (command === "types" && (value.path || value.import)) {
    throw new UsageError("--path and --import are options of skeleton");
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

interface DenoLike {
  stdout: { writeSync(b: Uint8Array): number };
}
interface BunLike {
  write(dest: unknown, data: string): Promise<number>;
  stdout: unknown;
}

/** Writes all of `text` to stdout, the fastest way the runtime offers. */
async function writeStdout(text: string): Promise<void> {
  const g = globalThis as { Deno?: DenoLike; Bun?: BunLike };
  if (g.Bun) {
    await g.Bun.write(g.Bun.stdout, text);
  } else if (g.Deno) {
    const bytes = new TextEncoder().encode(text);
    for (let o = 0; o < bytes.length; ) {
      o += g.Deno.stdout.writeSync(bytes.subarray(o));
    }
  } else {
    await new Promise<void>((ok, fail) =>
      process.stdout.write(text, (e) => (e ? fail(e) : ok())),
    );
  }
}

/**
 * Writes chunks to stdout synchronously, as they come: the generator reuses
 * its buffer, and streaming avoids holding the whole module (vmlinux: >10 MB).
 */
function stdoutSink(): (chunk: Uint8Array) => void {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (deno) {
    return (b) => {
      for (let o = 0; o < b.length; ) o += deno.stdout.writeSync(b.subarray(o));
    };
  }
  return (b) => {
    for (let o = 0; o < b.length; ) {
      try {
        o += writeSync(1, b, o, b.length - o);
      } catch (e) {
        // A non-blocking pipe that is full: try again.
        if ((e as { code?: string }).code !== "EAGAIN") throw e;
      }
    }
  };
}

/** One line: the message, with a hint folded in. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, "; ");
}

/** Runs the CLI with `argv` (without the runtime and script); returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    const args = parseArgs(argv);
    if (args === "help") {
      await writeStdout(USAGE + "\n");
      return 0;
    }
    if (!existsSync(args.file)) {
      throw new UsageError(`no such file: ${args.file}`);
    }
    const source = args.file.split("/").pop() ?? args.file;
    if (args.command === "skeleton") {
      // Loaded on demand: `types` on vmlinux should not pay for it.
      const { generateSkeleton } = await import("./skeleton.ts");
      await writeStdout(
        generateSkeleton(readFileBytes(args.file), {
          fileName: source,
          path: args.path,
          importFrom: args.importFrom,
        }),
      );
      return 0;
    }
    const btf = Btf.fromFile(args.file);
    writeTypeBytes(
      btf,
      { only: args.only, littleEndian: btf.byteOrder !== "be", source },
      stdoutSink(),
    );
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError;
    // System errors (EACCES, EISDIR...) carry a code and a clear message.
    const known =
      usage ||
      e instanceof TsbpfError ||
      typeof (e as { code?: unknown })?.code === "string";
    process.stderr.write(
      `tsbpf-gen: ${known ? "" : "internal error: "}${oneLine(e)}` +
        (usage ? " (see --help)" : "") +
        "\n",
    );
    if (debug && e instanceof Error && e.stack) {
      process.stderr.write(e.stack + "\n");
    } else if (!known) {
      process.stderr.write("tsbpf-gen: run with --debug for the stack trace\n");
    }
    return usage ? 2 : 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
