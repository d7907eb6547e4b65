/**
 * profile: a CPU profiler, like bcc's profile. A perf event (software
 * cpu-clock) on every online CPU samples what runs; the BPF program counts
 * samples per process and kernel + user stack. Every interval (and at the
 * end) the hottest stacks are printed: kernel frames named from
 * /proc/kallsyms, user frames from the process's own files.
 *
 *   bun examples/profile/main.ts [--frequency HZ] [--pid PID] [--interval S] [--top N] [--duration S]
 *   deno run -A examples/profile/main.ts
 *
 * User stacks unwind through frame pointers: code built without them
 * (most distributions' libraries) shows its innermost frame only.
 */
import process from "node:process";
import {
  KernelSymbols,
  onlineCpus,
  ProcessSymbols,
  stopSignal,
  TsbpfError,
} from "../../mod.ts";
import { options } from "../_lib/args.ts";
import { requirePrivileges } from "../_lib/preflight.ts";
import { sleep } from "../_lib/stop.ts";
import { runTool } from "../_lib/tool.ts";
import { open, type SampleKey } from "./profile.skel.ts";

const TOOL = "profile";
const opts = options(TOOL, "Samples on-CPU stacks and prints the hottest.", {
  frequency: {
    type: "number",
    help: "samples per second per CPU (default 99)",
  },
  pid: { type: "number", help: "profile this process only" },
  interval: {
    type: "number",
    help: "print the stacks every S seconds (default: once, at the end)",
  },
  top: { type: "number", help: "stacks to print each time (default 10)" },
  duration: { type: "number", help: "stop after this many seconds" },
});

// bpf_get_stackid's errors, as the program stores them (asm-generic/errno).
const EFAULT = -14;
const EEXIST = -17;

await runTool(TOOL, "tracing", async () => {
  requirePrivileges(TOOL, "tracing");
  using stop = stopSignal({
    timeout: (opts.duration ?? Infinity) * 1000,
    stdoutClosed: true,
  });
  const ksyms = KernelSymbols.load();
  const skel = open();
  try {
    if (opts.pid !== undefined) skel.globals.target_pid = opts.pid;
    const loaded = skel.load();
    const frequency = opts.frequency ?? 99;
    for (const cpu of onlineCpus()) {
      // The links close with the skeleton.
      loaded.programs.do_sample.attachPerfEvent({
        type: "software",
        config: "cpu-clock",
        frequency,
        cpu,
      });
    }
    process.stdout.write(
      `Sampling on-CPU stacks at ${frequency} Hz on ${onlineCpus().length} CPUs... Hit Ctrl-C to end.\n`,
    );

    /** The frames of stack `id`, innermost first, each named by `name`. */
    const frames = (id: number, name: (ip: bigint) => string): string[] => {
      const ips = loaded.maps.stacks.get(id);
      return ips ? Array.from(ips, (ip) => `    ${name(ip)}`) : [];
    };

    const report = () => {
      // drain(): read and reset in one step, so no sample counts twice.
      const rows = loaded.maps.samples
        .drain()
        .sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
      const users = new Map<number, ProcessSymbols | undefined>();
      const user = (pid: number) => {
        if (!users.has(pid)) {
          try {
            users.set(pid, ProcessSymbols.load(pid));
          } catch (e) {
            // Exited since the sample: its frames stay addresses.
            if (!(e instanceof TsbpfError)) throw e;
            users.set(pid, undefined);
          }
        }
        return users.get(pid);
      };
      const hex = (ip: bigint) => `0x${ip.toString(16)}`;
      let collisions = 0;
      let out = "";
      for (const [k, count] of rows.slice(0, opts.top ?? 10)) {
        const key: SampleKey = k;
        const lines: string[] = [];
        if (key.kernel_stack >= 0)
          lines.push(...frames(key.kernel_stack, (ip) => ksyms.format(ip)));
        else if (key.kernel_stack !== EFAULT)
          lines.push("    [Missed Kernel Stack]");
        if (key.kernel_stack >= 0 && key.user_stack >= 0) lines.push("    --");
        if (key.user_stack >= 0) {
          const syms = user(key.pid);
          lines.push(
            ...frames(key.user_stack, (ip) => syms?.format(ip) ?? hex(ip)),
          );
        } else if (key.user_stack !== EFAULT)
          lines.push("    [Missed User Stack]");
        out += `${lines.join("\n")}\n    -                ${key.comm} (${key.pid})\n        ${count}\n\n`;
      }
      for (const [k] of rows) {
        if (k.kernel_stack === EEXIST || k.user_stack === EEXIST) collisions++;
      }
      // The counts are reset: the stacks they named can go too.
      loaded.maps.stacks.clear();
      const total = rows.reduce((n, [, c]) => n + c, 0n);
      out += `${total} samples, ${rows.length} distinct stacks (${new Date().toTimeString().slice(0, 8)})\n`;
      if (collisions > 0)
        out += `WARNING: ${collisions} stacks were lost to hash collisions in the stack map\n`;
      if (loaded.globals.dropped > 0n)
        out += `WARNING: ${loaded.globals.dropped} samples found no room in the counts map\n`;
      process.stdout.write(`\n${out}`);
    };
    while (!stop.aborted) {
      await sleep((opts.interval ?? Infinity) * 1000, stop);
      report();
    }
  } finally {
    skel.close();
  }
});
