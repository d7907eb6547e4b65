/**
 * For test/kernel/threads.test.ts: the main thread holds libbpf (a loaded
 * object) while a Worker reads its ring buffer by fd and two maps by id
 * (thread_reader.ts). Prints one JSON line: what the Worker reported, and
 * what a failed load on the main thread gave after (its verifier log).
 */
import { BpfMap, BpfObject } from "../../mod.ts";
import { badLoadOutcome } from "./bad_load.ts";
import { fixture } from "./fixtures.ts";

const obj = BpfObject.open(fixture("ringbuf"));
obj.load();
using hash = BpfMap.create({
  type: "hash",
  key: "u32",
  value: "u64",
  maxEntries: 4,
});
hash.set(7, 49n);
using cpus = BpfMap.create({
  type: "percpu_array",
  key: "u32",
  value: "u64",
  maxEntries: 1,
});

const w = new Worker(new URL("./thread_reader.ts", import.meta.url).href, {
  type: "module",
});
const messages: unknown[] = [];
const next = () =>
  new Promise<unknown>((r) => {
    w.onmessage = (e) => {
      messages.push(e.data);
      r(e.data);
    };
  });
let reply = next();
w.postMessage({ ringFd: obj.map("rb").fd, hashId: hash.id, cpusId: cpus.id });
await reply;
reply = next();
obj.globals.arg_count = 5;
obj.program("produce").testRun({ data: new Uint8Array(64) });
const report = await reply;
w.terminate();
obj.close();

const main = badLoadOutcome();
console.log(JSON.stringify({ report, main }));
