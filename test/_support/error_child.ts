/**
 * Run by test/kernel/errors.test.ts in a child process with fewer
 * privileges or fewer mounts: does one thing (argv[2]) and prints the
 * resulting error as JSON on the last line of stdout.
 */
import { libbpf, libbpfPath } from "../../ffi/mod.ts";
import { Btf } from "../../src/btf/btf.ts";
import { BpfMap } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";

const [action, objectPath, pinPath] = ((
  globalThis as { Deno?: { args: string[] } }
).Deno?.args ?? process.argv.slice(2)) as [string, string, string?];

function run(): Record<string, unknown> | void {
  if (action === "load") {
    using obj = BpfObject.open(objectPath);
    obj.load();
  } else if (action === "tracepoint") {
    using obj = BpfObject.open(objectPath);
    obj.program("on_kprobe").autoload = false;
    obj.load();
    obj.program("on_getpid").attachTracepoint("syscalls", "sys_enter_getpid");
  } else if (action === "pin") {
    using m = BpfMap.create({
      type: "array",
      key: "u32",
      value: "u32",
      maxEntries: 1,
    });
    m.pin(pinPath!);
  } else if (action === "kernel-btf") {
    Btf.kernel();
  } else if (action === "libbpf") {
    libbpf();
    return { path: libbpfPath() };
  } else {
    throw new Error(`unknown action ${action}`);
  }
}

let result: Record<string, unknown> = { ok: true };
try {
  result = { ok: true, ...run() };
} catch (e) {
  const err = e as Error & { code?: string; hint?: string; errno?: number };
  result = {
    ok: false,
    name: err.name,
    code: err.code,
    errno: err.errno,
    message: err.message,
    hint: err.hint,
  };
}
console.log(JSON.stringify(result));
