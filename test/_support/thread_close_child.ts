/**
 * For test/kernel/threads.test.ts: the main thread gives libbpf back
 * (closeAll()) with an object, a libbpf-mode ring buffer reader and a
 * perf buffer reader still open, a Worker (thread_close_worker.ts) then
 * loads an object and keeps it (holding libbpf), and the main thread
 * closes its handles. Prints one JSON line: what each close gave, and
 * how many fds the closes freed.
 */
import { readdirSync } from "node:fs";
import { BpfObject, closeAll } from "../../mod.ts";
import { fixture } from "./fixtures.ts";

const fds = () => readdirSync("/proc/self/fd").length;
const ring = BpfObject.open(fixture("ringbuf"));
ring.load();
const rb = ring.ringBuffer("rb", null, { mode: "libbpf" });
const perf = BpfObject.open(fixture("perfbuf"));
perf.load();
const pb = perf.perfBuffer("events");
await closeAll();

const w = new Worker(
  new URL("./thread_close_worker.ts", import.meta.url).href,
  { type: "module" },
);
const out: Record<string, unknown> = {
  worker: await new Promise((r) => {
    w.onmessage = (e) => r(e.data);
    w.postMessage("load");
  }),
};
const attempt = (what: string, fn: () => void) => {
  try {
    fn();
    out[what] = "closed";
  } catch (e) {
    out[what] = `${(e as Error).name}: ${(e as Error).message}`;
  }
};
const before = fds();
attempt("ringBuffer", () => rb.close());
attempt("perfBuffer", () => pb.close());
attempt("ringObject", () => ring.close());
attempt("perfObject", () => perf.close());
out.fdsFreed = before - fds();
w.terminate();
console.log(JSON.stringify(out));
