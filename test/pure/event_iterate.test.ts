/**
 * The async iteration shared by ring and perf buffer readers
 * (`events()`, `for await`): with a source that never runs dry, timers and
 * an `AbortSignal.timeout()` still get their turn.
 */
import { describe, expect, it } from "vitest";
import { iterateDetached } from "../../src/event_iterate.ts";
import type { EventWaiter } from "../../src/event_wait.ts";

/** A waiter that is always ready at once (a promise, not an event-loop turn). */
const readyWaiter: EventWaiter = {
  epollFd: -1,
  waiting: false,
  add() {},
  hold() {},
  wait: () => Promise.resolve("ready"),
  wake() {},
  close() {},
};

describe("iterateDetached", () => {
  it("lets timers and abort signals run while records keep coming", async () => {
    const record = new Uint8Array(8);
    // Full batches, then a few records and an empty drain (so a wait that
    // resolves at once, as a self-traced reader's does), over and over.
    let call = 0;
    const source = {
      closed: () => false,
      drain(take: (r: unknown) => boolean) {
        const k = call++ % 4;
        if (k < 2) while (take(record));
        else if (k === 2) for (let i = 0; i < 3; i++) take(record);
      },
      waiter: readyWaiter,
    };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const start = performance.now();
    let n = 0;
    try {
      for await (const _ of iterateDetached<Uint8Array>(
        source,
        AbortSignal.timeout(50),
      )) {
        // A starved event loop never fires the abort: stop the test anyway.
        if (++n > 20_000_000) break;
      }
    } finally {
      clearInterval(timer);
    }
    expect(n).toBeLessThan(20_000_000);
    expect(performance.now() - start).toBeLessThan(5000);
    expect(ticks).toBeGreaterThan(0);
  });
});
