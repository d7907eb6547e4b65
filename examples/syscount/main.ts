/**
 * syscount: the busiest syscalls per process, refreshed in place every
 * interval (counts and total time within the interval).
 *
 *   bun examples/syscount/main.ts [--pid PID] [--interval S] [--top N] [--duration S] [--no-clear]
 *   deno run --allow-ffi --allow-read --allow-env examples/syscount/main.ts
 */
import process from "node:process";
import { stopSignal } from "../../mod.ts";
import { options } from "../_lib/args.ts";
import { requirePrivileges, requireTracefs } from "../_lib/preflight.ts";
import { sleep } from "../_lib/stop.ts";
import { runTool } from "../_lib/tool.ts";
import { SYSCALLS } from "./syscall_table.ts";
import { open } from "./syscount.skel.ts";

const TOOL = "syscount";
const opts = options(TOOL, "Counts syscalls per process and syscall.", {
  pid: { type: "number", help: "trace only this process" },
  interval: { type: "number", help: "seconds between refreshes (default 1)" },
  top: { type: "number", help: "rows to show (default 10)" },
  duration: { type: "number", help: "stop after this many seconds" },
  "no-clear": { type: "boolean", help: "print each refresh below the last" },
});
const CLEAR = "\x1b[2J\x1b[H";

/** One row: a process's use of one syscall during the interval. */
interface Row {
  pid: number;
  comm: string;
  nr: number;
  count: bigint;
  totalNs: bigint;
}

function table(rows: Row[], top: number): string {
  rows.sort((a, b) =>
    b.count > a.count
      ? 1
      : b.count < a.count
        ? -1
        : a.pid - b.pid || a.nr - b.nr,
  );
  const head = `[${new Date().toTimeString().slice(0, 8)}] top ${top} of ${rows.length} (pid, syscall) pairs\n`;
  const cols = `${"PID".padEnd(8)}${"COMM".padEnd(17)}${"SYSCALL".padEnd(22)}${"COUNT".padStart(10)}${"TIME(us)".padStart(12)}\n`;
  const body = rows
    .slice(0, top)
    .map(
      (r) =>
        `${String(r.pid).padEnd(8)}${r.comm.padEnd(17)}${(SYSCALLS[r.nr] ?? `[${r.nr}]`).padEnd(22)}` +
        `${String(r.count).padStart(10)}${String(r.totalNs / 1000n).padStart(12)}\n`,
    )
    .join("");
  return head + cols + body;
}

await runTool(TOOL, "tracing", async () => {
  requirePrivileges(TOOL, "tracing");
  requireTracefs(TOOL);
  const intervalMs = (opts.interval ?? 1) * 1000;
  const top = opts.top ?? 10;
  const clear = !opts["no-clear"] && process.stdout.isTTY === true;
  using stop = stopSignal({
    timeout: (opts.duration ?? Infinity) * 1000,
    stdoutClosed: true,
  });
  const skel = open();
  try {
    skel.globals.filter_pid = opts.pid ?? 0;
    skel.load().attach();
    if (!clear)
      process.stdout.write(`${TOOL}: tracing syscalls, Ctrl-C to stop\n`);
    while (!stop.aborted) {
      await sleep(intervalMs, stop);
      const rows: Row[] = [];
      for (const [k, v] of skel.maps.stats.entries()) {
        rows.push({
          pid: k.pid,
          nr: k.nr,
          comm: v.comm,
          count: v.count,
          totalNs: v.total_ns,
        });
      }
      // Counts are per interval: start the next one from zero.
      skel.maps.stats.clear();
      process.stdout.write((clear ? CLEAR : "\n") + table(rows, top));
    }
  } finally {
    skel.close();
  }
});
