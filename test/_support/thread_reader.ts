/**
 * A Worker of test/_support/thread_rings_child.ts, reading while the main
 * thread holds libbpf: a ring buffer by the map fd the main thread passed,
 * a per-CPU map and a hash map by their ids. Answers "waiting", then the
 * records it got, what it read from the maps, and what opening an object
 * here gave.
 */
import { BpfMap, BpfObject, RingBuffer } from "../../mod.ts";
import { fixture } from "./fixtures.ts";

declare const self: {
  onmessage:
    | ((e: {
        data: { ringFd: number; hashId: number; cpusId: number };
      }) => void)
    | null;
  postMessage(m: unknown): void;
};

self.onmessage = async (e) => {
  const out: Record<string, unknown> = {};
  try {
    using reader = RingBuffer.open(e.data.ringFd);
    using hash = BpfMap.fromId(e.data.hashId);
    using cpus = BpfMap.fromId(e.data.cpusId);
    out.hash = String(hash.get(7));
    out.cpus = (cpus.get(0) as unknown[]).length;
    try {
      BpfObject.open(fixture("minimal")).close();
      out.object = "opened";
    } catch (err) {
      out.object = (err as Error).name;
    }
    self.postMessage("waiting");
    let records = 0;
    while (records < 5) {
      const got = await reader.poll(() => {
        records++;
      }, 5000);
      if (got === 0) break;
    }
    out.records = records;
  } catch (err) {
    out.error = `${(err as Error).name}: ${(err as Error).message}`;
  }
  self.postMessage(out);
};
