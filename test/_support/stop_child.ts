/**
 * Child of test/pure/stop_signal.test.ts: `mode` says what it does with a
 * stopSignal(); it prints "ready" once its handlers are in place.
 */
import process from "node:process";
import { stopSignal } from "../../src/stop_signal.ts";

const mode = process.argv[2];
const say = (s: string) => process.stdout.write(s + "\n");
const aborted = (s: AbortSignal) =>
  new Promise<void>((r) => s.addEventListener("abort", () => r()));

if (mode === "stop") {
  // Stops on the first SIGINT; a second one (during "clean-up") is taken
  // too; leaving the scope removes the handlers, and the process ends.
  {
    using stop = stopSignal();
    say("ready");
    await aborted(stop);
    say(`stopped: ${stop.reason}`);
    say("cleaning");
    await new Promise((r) => setTimeout(r, 600));
    say("cleaned");
  }
} else if (mode === "disposed") {
  // After dispose, SIGINT has its default effect again: the process dies.
  {
    using _stop = stopSignal();
  }
  say("ready");
  await new Promise((r) => setTimeout(r, 5000));
  say("still alive");
} else if (mode === "undisposed") {
  // Handlers left installed do not keep the process alive.
  stopSignal({ signals: ["SIGTERM"] });
  say("ready");
} else if (mode === "epipe") {
  using stop = stopSignal({ stdoutClosed: true });
  while (!stop.aborted) {
    process.stdout.write("x".repeat(4096) + "\n");
    await new Promise((r) => setTimeout(r, 1));
  }
  process.stderr.write(`stopped: ${stop.reason}\n`);
}
