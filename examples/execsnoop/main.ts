/**
 * execsnoop: one line per exec (time, pid, ppid, comm, filename), from a
 * ring buffer, in bcc's columns; `--json` prints one JSON object per line.
 *
 *   bun examples/execsnoop/main.ts [--duration SECONDS] [--json]
 *   deno run --allow-ffi --allow-read --allow-env examples/execsnoop/main.ts
 */
import process from "node:process";
import { stopSignal } from "../../mod.ts";
import { options } from "../_lib/args.ts";
import { requirePrivileges, requireTracefs } from "../_lib/preflight.ts";
import { runTool } from "../_lib/tool.ts";
import { type ExecEvent, open } from "./execsnoop.skel.ts";

const TOOL = "execsnoop";
const opts = options(TOOL, "Traces exec() calls, one line each.", {
  duration: { type: "number", help: "stop after this many seconds" },
  json: { type: "boolean", help: "one JSON object per exec" },
  "min-pid": {
    type: "number",
    help: "only processes whose pid is at least this",
  },
});

/** HH:MM:SS now (bcc prints wall-clock time). */
function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

function format(e: ExecEvent): string {
  if (opts.json) {
    return JSON.stringify({
      time: new Date().toISOString(),
      pid: e.pid,
      ppid: e.ppid,
      uid: e.uid,
      comm: e.comm,
      filename: e.filename,
    });
  }
  const pad = (v: unknown, n: number) => String(v).padEnd(n);
  return `${clock()} ${pad(e.comm, 16)} ${pad(e.pid, 7)} ${pad(e.ppid, 7)} ${e.filename}`;
}

await runTool(TOOL, "tracing", async () => {
  requirePrivileges(TOOL, "tracing");
  requireTracefs(TOOL);
  using stop = stopSignal({
    timeout: (opts.duration ?? Infinity) * 1000,
    stdoutClosed: true,
  });
  const skel = open();
  try {
    skel.globals.min_pid = opts["min-pid"] ?? 0;
    skel.load().attach();
    if (!opts.json) {
      process.stdout.write(
        `${"TIME".padEnd(8)} ${"PCOMM".padEnd(16)} ${"PID".padEnd(7)} ${"PPID".padEnd(7)} FILENAME\n`,
      );
    }
    const events = skel.ringBuffers.events;
    let out = "";
    while (!stop.aborted) {
      // The record is a view valid only during the callback: format it here.
      await events.poll((e) => {
        out += format(e) + "\n";
      }, 100);
      if (out) {
        process.stdout.write(out);
        out = "";
      }
    }
    const dropped = skel.globals.dropped;
    if (dropped > 0n) {
      process.stderr.write(
        `${TOOL}: ${dropped} events dropped (ring buffer full)\n`,
      );
    }
  } finally {
    skel.close();
  }
});
