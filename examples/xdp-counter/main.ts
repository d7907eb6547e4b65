/**
 * xdp-counter: packets and bytes per IP protocol seen by an XDP program,
 * on a veth pair in a network namespace this example creates (and removes
 * on exit), with pings sent across it. Per-CPU counters are summed.
 *
 *   bun examples/xdp-counter/main.ts [--interval S] [--duration S]
 *   deno run --allow-ffi --allow-read --allow-write --allow-env --allow-run examples/xdp-counter/main.ts
 */
import process from "node:process";
import { stopSignal } from "../../mod.ts";
import { options } from "../_lib/args.ts";
import { requirePrivileges } from "../_lib/preflight.ts";
import { sleep } from "../_lib/stop.ts";
import { runTool } from "../_lib/tool.ts";
import { createTestNet } from "./netns.ts";
import { open } from "./xdp-counter.skel.ts";

const TOOL = "xdp-counter";
const opts = options(TOOL, "Counts packets and bytes per protocol with XDP.", {
  interval: { type: "number", help: "seconds between reports (default 1)" },
  duration: { type: "number", help: "stop after this many seconds" },
});

// IANA protocol numbers; 0 is where the program counts non-IP frames (ARP...).
const PROTOCOLS: Record<number, string> = {
  0: "non-IP",
  1: "ICMP",
  6: "TCP",
  17: "UDP",
  58: "ICMPv6",
};

await runTool(TOOL, "networking", async () => {
  requirePrivileges(TOOL, "networking");
  using stop = stopSignal({
    timeout: (opts.duration ?? Infinity) * 1000,
    stdoutClosed: true,
  });
  const net = createTestNet(process.pid);
  const skel = open();
  try {
    skel.load();
    skel.programs.xdp_count.attachXdp(net.hostIf);
    net.startTraffic();
    process.stdout.write(
      `Counting packets on ${net.hostIf} (netns ${net.ns} pings ${net.peerAddr})... Hit Ctrl-C to end.\n`,
    );
    while (!stop.aborted) {
      await sleep((opts.interval ?? 1) * 1000, stop);
      let out = `\n${"PROTO".padEnd(10)}${"PACKETS".padStart(10)}${"BYTES".padStart(12)}\n`;
      for (const [proto, perCpu] of skel.maps.stats.entries()) {
        let packets = 0n;
        let bytes = 0n;
        for (const s of perCpu) {
          packets += s.packets;
          bytes += s.bytes;
        }
        if (packets === 0n) continue;
        out += `${(PROTOCOLS[proto] ?? String(proto)).padEnd(10)}${String(packets).padStart(10)}${String(bytes).padStart(12)}\n`;
      }
      process.stdout.write(out);
    }
  } finally {
    skel.close();
    net.remove();
  }
});
