/**
 * Runs Workers using tsbpf in a process of their own, for
 * test/kernel/threads.test.ts: `thread_child.ts <end> <cycles>`. Each
 * cycle a Worker opens an object, a link, a reader and a map, then ends
 * as `<end>` says (see thread_worker.ts). Then the main thread loads an
 * object whose verifier log libbpf prints (through the log callback).
 * Prints one JSON line: fds after the first and the last cycle, what the
 * Workers said, what the main thread got while a Worker held libbpf
 * (when it terminates them) and after.
 */
import { readdirSync } from "node:fs";
import { BpfObject } from "../../mod.ts";
import { fixture } from "./fixtures.ts";

const args =
  (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  process.argv.slice(2);
const end = args[0]!;
const cycles = Number(args[1] ?? 3);
const fds = () => readdirSync("/proc/self/fd").length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const said: string[] = [];
const during: string[] = [];
const counts: number[] = [];
for (let i = 0; i < cycles; i++) {
  const w = new Worker(new URL("./thread_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const ended = new Promise<void>((r) =>
    w.addEventListener("close", () => r()),
  );
  const reply = new Promise<string>((r) => (w.onmessage = (e) => r(e.data)));
  w.postMessage(end);
  said.push(await reply);
  if (end === "terminate") {
    // Refused while the Worker holds libbpf: an error to retry, not for good.
    try {
      BpfObject.open(fixture("minimal")).close();
      during.push("opened");
    } catch (e) {
      during.push((e as Error).name);
    }
  }
  if (end === "terminate" || end === "closeAll") w.terminate();
  // Deno fires no "close" on the parent's side: give the thread time.
  await Promise.race([ended, sleep(500)]);
  await sleep(50);
  counts.push(fds());
}

const bad = BpfObject.open(fixture("bad_verifier"));
let main = "loaded";
try {
  bad.load();
} catch (e) {
  const log = (e as { verifierLog?: string }).verifierLog ?? "";
  main = `${(e as Error).name} ${log.length}`;
}
bad.close();
console.log(
  JSON.stringify({ first: counts[0], last: counts.at(-1), said, during, main }),
);
