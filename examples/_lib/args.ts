/**
 * Command-line options of the examples: `node:util` parseArgs (Bun and
 * Deno both have it) with numbers checked and a usage message on mistakes.
 */
import process from "node:process";
import { parseArgs } from "node:util";

/** One option: a number, a string or a flag. */
export interface OptionSpec {
  readonly type: "number" | "string" | "boolean";
  /** Help text. */
  readonly help: string;
}

/** The parsed value of each option (absent when not given). */
export type Parsed<S extends Record<string, OptionSpec>> = {
  [K in keyof S]?: S[K]["type"] extends "number"
    ? number
    : S[K]["type"] extends "string"
      ? string
      : boolean;
};

/** Parses `process.argv`; prints usage and exits 2 on a mistake, 0 on --help. */
export function options<S extends Record<string, OptionSpec>>(
  tool: string,
  summary: string,
  spec: S,
): Parsed<S> {
  const usage = () =>
    `Usage: ${tool} [options]\n${summary}\n\nOptions:\n` +
    Object.entries(spec)
      .map(
        ([k, s]) =>
          `  --${k}${s.type === "boolean" ? "" : s.type === "number" ? " N" : " VALUE"}`.padEnd(
            24,
          ) + s.help,
      )
      .join("\n") +
    "\n" +
    "  -h, --help".padEnd(24) +
    "this help\n";
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        help: { type: "boolean", short: "h" },
        ...Object.fromEntries(
          Object.entries(spec).map(([k, s]) => [
            k,
            { type: s.type === "boolean" ? "boolean" : "string" } as const,
          ]),
        ),
      },
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    process.stderr.write(`${tool}: ${(e as Error).message}\n${usage()}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(usage());
    process.exit(0);
  }
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(spec)) {
    const v = values[k];
    if (v === undefined) continue;
    if (s.type === "number") {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) {
        process.stderr.write(
          `${tool}: --${k} needs a non-negative number, got '${v}'\n`,
        );
        process.exit(2);
      }
      out[k] = n;
    } else out[k] = v;
  }
  return out as Parsed<S>;
}
