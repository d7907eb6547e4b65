/**
 * A Worker of test/_support/thread_child.ts: opens what a user's Worker
 * would (a loaded object with a link on, a ring buffer reader, a
 * standalone map), answers "ready" (or the error), then ends the way the
 * message says: "closeAll" (closeAll(), then the parent terminates it),
 * "exit" (process.exit), "self-close" (self.close()), "terminate" (the
 * parent terminates it, nothing closed).
 */
import * as tsbpf from "../../mod.ts";
import { fixture } from "./fixtures.ts";

declare const self: {
  onmessage: ((e: { data: string }) => void) | null;
  postMessage(m: unknown): void;
  close(): void;
};

const kept: unknown[] = [];
self.onmessage = async (e) => {
  const end = e.data;
  try {
    const attach = tsbpf.BpfObject.open(fixture("attach"));
    attach.load();
    attach.program("on_sys_enter").attachRawTracepoint("sys_enter");
    const rings = tsbpf.BpfObject.open(fixture("ringbuf"));
    rings.load();
    const reader = tsbpf.RingBuffer.open(rings.map("rb"));
    const map = tsbpf.BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u64",
      maxEntries: 8,
    });
    map.set(1, 2n);
    kept.push(attach, rings, reader, map);
    // A wait that times out, then one left pending (in Bun each runs on a
    // waiter Worker of the reader's).
    await reader.poll(() => {}, 20);
    void reader.poll(() => {});
  } catch (err) {
    self.postMessage(`${(err as Error).name}: ${(err as Error).message}`);
    return;
  }
  if (end === "closeAll") await tsbpf.closeAll();
  self.postMessage("ready");
  if (end === "exit") {
    (
      globalThis as unknown as { process: { exit(c: number): void } }
    ).process.exit(0);
  } else if (end === "self-close") self.close();
};
