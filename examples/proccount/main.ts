/**
 * proccount: how many processes each process forked, from a hash map keyed
 * by pid (sched_process_fork as tp_btf, which tells new threads apart and
 * needs no tracefs). Prints the top forkers every interval and at the end.
 *
 *   bun examples/proccount/main.ts [--interval S] [--top N] [--duration S]
 *   deno run --allow-ffi --allow-read --allow-env examples/proccount/main.ts
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { stopSignal } from "../../mod.ts";
import { options } from "../_lib/args.ts";
import { requirePrivileges } from "../_lib/preflight.ts";
import { sleep } from "../_lib/stop.ts";
import { runTool } from "../_lib/tool.ts";
import { open } from "./proccount.skel.ts";

const TOOL = "proccount";
const opts = options(TOOL, "Counts forks per parent process.", {
  interval: { type: "number", help: "seconds between reports (default 5)" },
  top: { type: "number", help: "rows to show (default 10)" },
  duration: { type: "number", help: "stop after this many seconds" },
});

/** The process's name, or "?" once it has exited. */
function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

await runTool(TOOL, "tracing", async () => {
  requirePrivileges(TOOL, "tracing");
  using stop = stopSignal({
    timeout: (opts.duration ?? Infinity) * 1000,
    stdoutClosed: true,
  });
  const skel = open();
  try {
    skel.load().attach();
    process.stdout.write("Counting forks per process... Hit Ctrl-C to end.\n");
    const report = () => {
      const rows = [...skel.maps.process_count.entries()].sort((a, b) =>
        b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0] - b[0],
      );
      let out = `\n[${new Date().toTimeString().slice(0, 8)}]\n${"PID".padEnd(8)}${"COMM".padEnd(17)}${"FORKS".padStart(8)}\n`;
      for (const [pid, n] of rows.slice(0, opts.top ?? 10)) {
        out += `${String(pid).padEnd(8)}${comm(pid).padEnd(17)}${String(n).padStart(8)}\n`;
      }
      process.stdout.write(out);
    };
    while (!stop.aborted) {
      await sleep((opts.interval ?? 5) * 1000, stop);
      report();
    }
  } finally {
    skel.close();
  }
});
