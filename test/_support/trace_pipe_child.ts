/**
 * Run by test/kernel/trace_pipe.test.ts in a child process without tracefs
 * or without root: opens trace_pipe and prints the error (or success) as
 * JSON on the last line of stdout.
 */
import { tracePipe } from "../../src/trace_pipe.ts";

let result: Record<string, unknown>;
try {
  tracePipe().close();
  result = { ok: true };
} catch (e) {
  const err = e as Error & { code?: string; hint?: string };
  result = {
    ok: false,
    name: err.name,
    code: err.code,
    message: err.message,
    hint: err.hint,
  };
}
console.log(JSON.stringify(result));
