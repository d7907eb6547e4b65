/**
 * A Worker of test/_support/thread_claims_child.ts: opens a reader of the
 * ring buffer map fd it is sent and keeps it open; answers "opened" or the
 * error's name and message.
 */
import { RingBuffer } from "../../mod.ts";

declare const self: {
  onmessage: ((e: { data: { op: string; fd: number } }) => void) | null;
  postMessage(m: unknown): void;
};

const kept: RingBuffer[] = [];
self.onmessage = (e) => {
  try {
    kept.push(RingBuffer.open(e.data.fd));
    self.postMessage("opened");
  } catch (err) {
    self.postMessage(`${(err as Error).name}: ${(err as Error).message}`);
  }
};
