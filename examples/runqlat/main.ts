/**
 * runqlat: how long tasks wait on a run queue before they run, as a log2
 * histogram of microseconds, printed like bcc's print_log2_hist.
 *
 *   bun examples/runqlat/main.ts [--interval S] [--duration S]
 *   deno run --allow-ffi --allow-read --allow-env examples/runqlat/main.ts
 */
import process from "node:process";
import { stopSignal } from "../../mod.ts";
import { options } from "../_lib/args.ts";
import { requirePrivileges } from "../_lib/preflight.ts";
import { sleep } from "../_lib/stop.ts";
import { runTool } from "../_lib/tool.ts";
import { log2Histogram } from "./histogram.ts";
import { open } from "./runqlat.skel.ts";

const TOOL = "runqlat";
const opts = options(TOOL, "Summarizes run queue latency as a histogram.", {
  interval: {
    type: "number",
    help: "print a histogram every S seconds (default: once, at the end)",
  },
  duration: { type: "number", help: "stop after this many seconds" },
});

await runTool(TOOL, "tracing", async () => {
  // tp_btf programs attach through BTF, not tracefs.
  requirePrivileges(TOOL, "tracing");
  using stop = stopSignal({
    timeout: (opts.duration ?? Infinity) * 1000,
    stdoutClosed: true,
  });
  const skel = open();
  try {
    skel.load().attach();
    process.stdout.write("Tracing run queue latency... Hit Ctrl-C to end.\n");
    const print = () => {
      const hist = skel.maps.hists.get(0);
      const slots = hist ? Array.from(hist.slots) : [];
      process.stdout.write("\n" + log2Histogram(slots, "usecs"));
      // Each interval starts from an empty histogram.
      skel.maps.hists.set(0, new Uint8Array(skel.maps.hists.map.valueSize));
    };
    while (!stop.aborted) {
      await sleep((opts.interval ?? Infinity) * 1000, stop);
      print();
    }
  } finally {
    skel.close();
  }
});
