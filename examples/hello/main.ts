/**
 * hello: bcc's hello_world in TypeScript. A BPF program says hello with
 * bpf_printk on every execve; the tool reads the lines back from the
 * kernel's trace_pipe with tracePipe() (bcc's trace_fields()) and prints
 * the bpf_printk ones: time, comm, pid, message.
 *
 *   bun examples/hello/main.ts [--duration S]
 *   deno run --allow-ffi --allow-read --allow-env examples/hello/main.ts
 */
import process from "node:process";
import { stopSignal, tracePipe } from "../../mod.ts";
import { options } from "../_lib/args.ts";
import { requirePrivileges, requireTracefs } from "../_lib/preflight.ts";
import { runTool } from "../_lib/tool.ts";
import { open } from "./hello.skel.ts";

const TOOL = "hello";
const opts = options(TOOL, "Says hello on every exec(), via bpf_printk.", {
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
    // trace_pipe is the whole machine's: other programs' bpf_printk lines
    // (and other enabled events) come through too, as in bcc.
    using pipe = tracePipe({ signal: stop });
    process.stdout.write(
      `${"TIME(s)".padEnd(16)}${"COMM".padEnd(17)}${"PID".padEnd(8)}MESSAGE\n`,
    );
    for await (const line of pipe) {
      if (line.event !== "bpf_trace_printk") continue;
      process.stdout.write(
        `${line.timestamp!.toFixed(6).padEnd(16)}${line.task!.padEnd(17)}${String(line.pid).padEnd(8)}${line.message}\n`,
      );
    }
  } finally {
    skel.close();
  }
});
