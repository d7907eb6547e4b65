/**
 * Runs Workers using tsbpf in a process of their own, for
 * test/kernel/threads.test.ts: `thread_child.ts <end> <cycles>`. Each
 * cycle a Worker opens an object, a link, a reader and a map, then ends
 * as `<end>` says (see thread_worker.ts; "handover": the main thread
 * loads an object and calls closeAll() first, and the Workers end with
 * closeAll()). Then the main thread loads an
 * object whose verifier log libbpf prints (through the log callback).
 * Prints one JSON line: fds (and threads) after the first and the last
 * cycle, what the
 * Workers said, what the main thread got while a Worker held libbpf
 * (when it terminates them) and after.
 */
import { readdirSync } from "node:fs";
import { BpfObject, closeAll } from "../../mod.ts";
import { badLoadOutcome } from "./bad_load.ts";
import { fixture } from "./fixtures.ts";

const args =
  (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  process.argv.slice(2);
const end = args[0]!;
const cycles = Number(args[1] ?? 3);
const fds = () => readdirSync("/proc/self/fd").length;
const threads = () => readdirSync("/proc/self/task").length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// "handover": the main thread loads an object first, then gives libbpf
// back (its object stays open) for Workers that end with closeAll().
const first = end === "handover" ? BpfObject.open(fixture("minimal")) : null;
first?.load();
if (first) await closeAll();
const workerEnd = end === "handover" ? "closeAll" : end;

const said: string[] = [];
const during: string[] = [];
const counts: number[] = [];
const threadCounts: number[] = [];
for (let i = 0; i < cycles; i++) {
  const w = new Worker(new URL("./thread_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const ended = new Promise<void>((r) =>
    w.addEventListener("close", () => r()),
  );
  const reply = new Promise<string>((r) => (w.onmessage = (e) => r(e.data)));
  w.postMessage(workerEnd);
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
  if (end === "terminate" || workerEnd === "closeAll") w.terminate();
  // Deno fires no "close" on the parent's side, and frees a Worker's own
  // fds after its thread ended: wait until the count settles.
  await Promise.race([ended, sleep(500)]);
  let n = fds();
  for (let t = 0; t < 20; t++) {
    await sleep(50);
    const now = fds();
    if (now === n) break;
    n = now;
  }
  counts.push(n);
  threadCounts.push(threads());
}

const main = badLoadOutcome();
first?.close();
console.log(
  JSON.stringify({
    first: counts[0],
    last: counts.at(-1),
    threads: [threadCounts[0], threadCounts.at(-1)],
    said,
    during,
    main,
  }),
);
