import { describe, expect, it } from "vitest";
import { UnsupportedError } from "../../src/errors.ts";
import { need } from "../_support/fixtures.ts";

const bun = (globalThis as { Bun?: unknown }).Bun !== undefined;

describe.skipIf(!need(bun, "not Bun: the worker waiter is Bun's"))(
  "Bun's worker waiter",
  () => {
    it("a worker that cannot start is an UnsupportedError, never a hang", async () => {
      // As in a `bun build --compile` binary, which has no worker module.
      const { WorkerWaiter } = await import("../../src/event_wait_bun.ts");
      const w = new WorkerWaiter(
        new URL("./no_such_worker.js", import.meta.url),
      );
      const hang = (p: Promise<unknown>) =>
        Promise.race([
          p,
          new Promise((r) => setTimeout(() => r("still waiting"), 3000)),
        ]);
      for (let i = 0; i < 2; i++) {
        const err = await hang(w.wait(10_000)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UnsupportedError);
        expect(String((err as Error).message)).toMatch(/TSBPF_WAIT=timer/);
      }
      w.close();
    });
  },
);
