/**
 * A Worker of test/_support/thread_close_child.ts: loads an object and
 * keeps it open, so this thread holds libbpf; answers "loaded" or the
 * error's name and message.
 */
import { BpfObject } from "../../mod.ts";
import { fixture } from "./fixtures.ts";

declare const self: {
  onmessage: (() => void) | null;
  postMessage(m: unknown): void;
};

const kept: BpfObject[] = [];
self.onmessage = () => {
  try {
    const obj = BpfObject.open(fixture("minimal"));
    obj.load();
    kept.push(obj);
    self.postMessage("loaded");
  } catch (err) {
    self.postMessage(`${(err as Error).name}: ${(err as Error).message}`);
  }
};
