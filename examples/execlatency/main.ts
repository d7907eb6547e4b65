/**
 * execlatency: time from fork to the child's first exec, per process. The
 * BPF side keeps fork timestamps in one map and the finished deltas in
 * another; this prints each new delta once and removes it.
 *
 *   bun examples/execlatency/main.ts [--interval S] [--duration S]
 *   deno run --allow-ffi --allow-read --allow-env examples/execlatency/main.ts
 */
import process from "node:process";
import { stopSignal } from "../../mod.ts";
import { options } from "../_lib/args.ts";
import { requirePrivileges, requireTracefs } from "../_lib/preflight.ts";
import { sleep } from "../_lib/stop.ts";
import { runTool } from "../_lib/tool.ts";
import { open } from "./execlatency.skel.ts";

const TOOL = "execlatency";
const opts = options(TOOL, "Measures fork→exec latency per process.", {
  interval: { type: "number", help: "seconds between reads (default 0.5)" },
  duration: { type: "number", help: "stop after this many seconds" },
});

await runTool(TOOL, "tracing", async () => {
  requirePrivileges(TOOL, "tracing");
  requireTracefs(TOOL);
  using stop = stopSignal({
    timeout: (opts.duration ?? Infinity) * 1000,
    stdoutClosed: true,
  });
  const skel = open();
  try {
    skel.load().attach();
    process.stdout.write(
      `${"PID".padEnd(8)}${"PPID".padEnd(8)}${"COMM".padEnd(17)}${"FORK->EXEC(us)".padStart(14)}\n`,
    );
    const latency = skel.maps.latency;
    const drain = () => {
      let out = "";
      for (const [pid, l] of latency.entries()) {
        out += `${String(pid).padEnd(8)}${String(l.ppid).padEnd(8)}${l.comm.padEnd(17)}${(Number(l.delta_ns) / 1000).toFixed(1).padStart(14)}\n`;
        latency.delete(pid);
      }
      if (out) process.stdout.write(out);
    };
    while (!stop.aborted) {
      await sleep((opts.interval ?? 0.5) * 1000, stop);
      drain();
    }
  } finally {
    skel.close();
  }
});
