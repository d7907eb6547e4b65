/**
 * Runs an example's body and ends the process: exit 0 after a clean stop,
 * exit 1 with a one-paragraph message (and the library's hint) on an error.
 * The body cleans up in its own `finally`; the explicit exit matters because
 * signal listeners keep some runtimes alive.
 */
import process from "node:process";
import { privilegeMessage } from "./preflight.ts";

// errno values (asm-generic/errno-base.h)
const EPERM = 1;
const EACCES = 13;

/**
 * Runs `body`, then exits the process with 0 (done) or 1 (error). A
 * permission error from the kernel becomes the privilege message for
 * `kind` programs.
 */
export async function runTool(
  tool: string,
  kind: "tracing" | "networking",
  body: () => Promise<void> | void,
): Promise<never> {
  try {
    await body();
  } catch (e) {
    const err = e as { message?: string; hint?: string; errno?: number };
    if (err?.errno === EPERM || err?.errno === EACCES) {
      process.stderr.write(
        `${tool}: ${privilegeMessage(kind)}\n  (${err.message})\n`,
      );
      process.exit(1);
    }
    let msg = err?.message ?? String(e);
    if (err?.hint && !msg.includes(err.hint)) msg += `\n  hint: ${err.hint}`;
    process.stderr.write(`${tool}: ${msg}\n`);
    if (process.env.TSBPF_DEBUG && e instanceof Error) {
      process.stderr.write(`${e.stack}\n`);
    }
    process.exit(1);
  }
  process.exit(0);
}
