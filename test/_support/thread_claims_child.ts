/**
 * For test/kernel/threads.test.ts: one live reader per ring buffer map
 * across the threads of a process. The main thread and a Worker
 * (thread_claims_worker.ts) in turn open a reader of the same map; a
 * Worker terminated with its reader open no longer holds the map. Prints
 * one JSON line of what each step gave.
 */
import { BpfObject } from "../../mod.ts";
import { fixture } from "./fixtures.ts";

const obj = BpfObject.open(fixture("ringbuf"));
obj.load();
const fd = obj.map("rb").fd;
const w = new Worker(
  new URL("./thread_claims_worker.ts", import.meta.url).href,
  { type: "module" },
);
const ask = (op: string) =>
  new Promise<string>((r) => {
    w.onmessage = (e) => r(e.data as string);
    w.postMessage({ op, fd });
  });
const tryMain = () => {
  try {
    obj.ringBuffer("rb").close();
    return "opened";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
};

const out: Record<string, string> = {};
const rb = obj.ringBuffer("rb");
out.workerWhileMainReads = await ask("open");
rb.close();
out.workerAfterMainClosed = await ask("open");
out.mainWhileWorkerReads = tryMain();
w.terminate();
// The Worker's thread exits a little after terminate() returns.
let after = tryMain();
for (let i = 0; i < 200 && after !== "opened"; i++) {
  await new Promise((r) => setTimeout(r, 10));
  after = tryMain();
}
out.mainAfterWorkerTerminated = after;
obj.close();
console.log(JSON.stringify(out));
