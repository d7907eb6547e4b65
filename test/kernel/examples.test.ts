import { describe, expect, it } from "vitest";
import {
  type ChildProcess,
  execFileSync,
  spawn,
  spawnSync,
} from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describeObject } from "../../codegen/object_info.ts";
import {
  fixture,
  isRoot,
  need,
  ROOT,
  usableUnprivileged,
} from "../_support/fixtures.ts";

const BIN = join(ROOT, "node_modules/.bin");
const RUNTIMES = ["bun", "deno"] as const;
type Runtime = (typeof RUNTIMES)[number];

const tracefs = existsSync("/sys/kernel/tracing/events");
const canRun = need(isRoot(), "not root: the examples load BPF programs");
const unprivileged =
  canRun &&
  need(
    usableUnprivileged(),
    "uid 65534 cannot read this checkout or run the runtime (a clone under a 0700 directory?)",
  );

/**
 * Number of loaded BPF programs named like `names` (the kernel keeps 15
 * characters). Other tests may load programs meanwhile: only the example's
 * own count.
 */
function progCount(names: readonly string[]): number {
  const out = execFileSync("bpftool", ["prog", "list", "-j"], {
    encoding: "utf8",
  });
  const want = new Set(names.map((n) => n.slice(0, 15)));
  return (JSON.parse(out || "[]") as { name?: string }[]).filter(
    (p) => p.name !== undefined && want.has(p.name),
  ).length;
}

/**
 * The network namespaces xdp-counter run as process `pid` made (and must
 * have removed): only its own, as other processes may run the example.
 */
function netnsList(pid: number | undefined): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .filter(
      (l) => l === `tsbpf-xdp-${pid}` || l.startsWith(`tsbpf-xdp-${pid} `),
    );
}

/** The command line running `examples/<name>/main.ts` under `rt`. */
function runtimeArgs(rt: Runtime, name: string, args: string[]): string[] {
  const script = join("examples", name, "main.ts");
  return rt === "bun"
    ? [join(BIN, "bun"), script, ...args]
    : [join(BIN, "deno"), "run", "-A", script, ...args];
}

/** Starts `examples/<name>/main.ts` under `rt`; collects its output. */
function start(rt: Runtime, name: string, args: string[] = []) {
  const cmd = runtimeArgs(rt, name, args);
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => resolve(code)),
  );
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
  };
}

/** Resolves once `pred(output)` holds (or rejects after `ms`). */
async function until(
  get: () => string,
  pred: (s: string) => boolean,
  ms: number,
  kick?: () => void,
): Promise<void> {
  const end = Date.now() + ms;
  while (!pred(get())) {
    if (Date.now() > end)
      throw new Error(`timed out; output so far:\n${get()}`);
    kick?.();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `true` a few times: exec, fork and syscall activity. */
function activity(): void {
  for (let i = 0; i < 3; i++) execFileSync("/bin/true");
}

/** Stops `child` with SIGINT and returns its exit code. */
async function interrupt(run: {
  child: ChildProcess;
  exited: Promise<number | null>;
}): Promise<number | null> {
  // process.kill, not child.kill: Deno's ChildProcess.kill reports the
  // signal it sent as the exit reason even when the child handled it.
  process.kill(run.child.pid!, "SIGINT");
  const t = setTimeout(() => run.child.kill("SIGKILL"), 10_000);
  const code = await run.exited;
  clearTimeout(t);
  return code;
}

interface Case {
  name: string;
  args?: string[];
  /** Output that shows the tool saw the activity. */
  expect: RegExp;
  needsTracefs?: boolean;
}

const CASES: Case[] = [
  {
    name: "execsnoop",
    expect: /\btrue\s+\d+\s+\d+\s+\/(usr\/)?bin\/true/,
    needsTracefs: true,
  },
  {
    name: "syscount",
    args: ["--no-clear", "--interval", "0.5"],
    expect: /PID\s+COMM\s+SYSCALL[\s\S]*\d+\s+\S+\s+\w+\s+\d+/,
    needsTracefs: true,
  },
  {
    name: "runqlat",
    args: ["--interval", "0.5"],
    expect: /usecs\s+: count\s+distribution\n\s+0 -> 1\s+: \d+\s+\|/,
  },
  {
    name: "proccount",
    args: ["--interval", "0.5"],
    expect: /PID\s+COMM\s+FORKS\n\d+/,
  },
  {
    name: "execlatency",
    args: ["--interval", "0.3"],
    expect: /\d+\s+\d+\s+true\s+\d+\.\d/,
    needsTracefs: true,
  },
  {
    name: "hello",
    expect:
      /\d+\.\d{6}\s+\S+\s+\d+\s+Hello, World! \S+ \(pid \d+\) calls execve/,
    needsTracefs: true,
  },
  {
    name: "profile",
    args: ["--interval", "0.5"],
    // A stack's closing line, then its sample count.
    expect:
      /\n {4}- {16}\S.* \(\d+\)\n {8}\d+\n[\s\S]*\d+ samples, \d+ distinct stacks/,
  },
  {
    name: "xdp-counter",
    args: ["--interval", "0.5"],
    expect: /ICMP\s+\d+\s+\d+/,
  },
];

describe.skipIf(!canRun)("examples", () => {
  for (const rt of RUNTIMES) {
    for (const c of CASES) {
      const skip = c.needsTracefs && !need(tracefs, "tracefs not mounted");
      it.skipIf(skip)(
        `${c.name} under ${rt}: shows real activity, exits 0 on SIGINT, leaves nothing loaded`,
        async () => {
          const obj = fixture(
            c.name === "xdp-counter" ? "xdp_counter" : c.name,
            `examples/${c.name}`,
          );
          const names = describeObject(readFileSync(obj), obj).programs.map(
            (p) => p.name,
          );
          const before = progCount(names);
          const run = start(rt, c.name, c.args);
          try {
            await until(
              () => run.out(),
              (s) => c.expect.test(s),
              20_000,
              activity,
            );
          } catch (e) {
            run.child.kill("SIGKILL");
            throw new Error(`${(e as Error).message}\nstderr:\n${run.err()}`);
          }
          expect(await interrupt(run)).toBe(0);
          expect(run.err()).toBe("");
          // The kernel frees programs after an RCU grace period: give it a moment.
          await until(
            () => String(progCount(names)),
            (n) => n === String(before),
            3_000,
          ).catch(() => {});
          expect(progCount(names)).toBe(before);
          expect(netnsList(run.child.pid)).toEqual([]);
        },
        60_000,
      );
    }
  }

  for (const rt of RUNTIMES) {
    it.skipIf(!need(tracefs, "tracefs not mounted"))(
      `execsnoop under ${rt} into a pipe that closes (| head): exits 0, quietly`,
      async () => {
        const run = start(rt, "execsnoop");
        try {
          await until(
            () => run.out(),
            (s) => s.includes("\n"),
            20_000,
          );
        } catch (e) {
          run.child.kill("SIGKILL");
          throw e;
        }
        run.child.stdout!.destroy();
        const t = setTimeout(() => run.child.kill("SIGKILL"), 15_000);
        const kick = setInterval(activity, 200);
        const code = await run.exited;
        clearInterval(kick);
        clearTimeout(t);
        expect(run.err()).toBe("");
        expect(code).toBe(0);
      },
      30_000,
    );
  }

  it("execsnoop --json prints one JSON object per exec; --duration ends it with 0", async () => {
    const run = start("bun", "execsnoop", ["--json", "--duration", "3"]);
    await until(
      () => run.out(),
      (s) => /"comm":"true"/.test(s),
      10_000,
      activity,
    );
    expect(await run.exited).toBe(0);
    const line = run
      .out()
      .split("\n")
      .find((l) => l.includes('"comm":"true"'))!;
    const ev = JSON.parse(line);
    expect(typeof ev.pid).toBe("number");
    expect(ev.filename).toMatch(/true$/);
  }, 30_000);

  it("a bad option prints usage and exits 2", async () => {
    const run = start("bun", "syscount", ["--bogus"]);
    expect(await run.exited).toBe(2);
    expect(run.err()).toMatch(/Usage: syscount/);
  });

  for (const rt of RUNTIMES) {
    it.skipIf(!unprivileged)(
      `without privileges (${rt}): a clear message and exit 1`,
      async () => {
        const r = spawnSync(
          "setpriv",
          [
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            ...runtimeArgs(rt, "execsnoop", ["--duration", "1"]),
          ],
          { cwd: ROOT, encoding: "utf8" },
        );
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/needs root \(or CAP_BPF and CAP_PERFMON\)/);
      },
    );
  }

  it("without tracefs: tells the mount command and exits 1", () => {
    // A private mount namespace: the host keeps its tracefs.
    const r = spawnSync(
      "unshare",
      [
        "-m",
        "sh",
        "-c",
        'umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; exec "$@"',
        "sh",
        ...runtimeArgs("bun", "execsnoop", ["--duration", "1"]),
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("mount -t tracefs tracefs /sys/kernel/tracing");
  });

  it.skipIf(!need(tracefs, "tracefs not mounted"))(
    "execlatency still measures after more forks that never exec than its start map holds",
    async () => {
      // Threads and forks without exec leave their fork timestamp behind:
      // with a plain hash map the tool stops recording once it is full.
      const { open } = await import(
        "../../examples/execlatency/execlatency.skel.ts"
      );
      using skel = open();
      skel.maps.fork_ts.map.maxEntries = 64;
      skel.maps.parent.map.maxEntries = 64;
      skel.load().attach();
      execFileSync("sh", ["-c", "for i in $(seq 200); do (:); done"]);
      const child = spawn("/bin/true");
      await new Promise((r) => child.on("exit", r));
      expect(skel.maps.latency.get(child.pid!)?.comm).toBe("true");
    },
    30_000,
  );

  it.skipIf(!need(tracefs, "tracefs not mounted"))(
    "syscount still counts new processes after more exits than its start map holds",
    async () => {
      // exit_group never returns: each process exit leaves its entry
      // timestamp behind, and a full plain hash refused every new thread.
      const { open } = await import("../../examples/syscount/syscount.skel.ts");
      using skel = open();
      skel.maps.start.map.maxEntries = 128;
      skel.load().attach();
      execFileSync("sh", ["-c", "for i in $(seq 300); do /bin/true; done"]);
      const child = spawn("/bin/true");
      await new Promise((r) => child.on("exit", r));
      const pids = [...skel.maps.stats.keys()].map((k) => k.pid);
      expect(pids).toContain(child.pid);
    },
    30_000,
  );

  it.skipIf(!need(tracefs, "tracefs not mounted"))(
    "syscount counts rt_sigreturn under its own number",
    async () => {
      // The kernel sets the syscall number to -1 inside rt_sigreturn, so
      // sys_exit's id cannot name it: the entry's number must.
      const { open } = await import("../../examples/syscount/syscount.skel.ts");
      const { SYSCALLS } = await import(
        "../../examples/syscount/syscall_table.ts"
      );
      using skel = open();
      skel.load().attach();
      const child = spawn("sh", [
        "-c",
        'trap ":" USR1; kill -USR1 $$; kill -USR1 $$',
      ]);
      await new Promise((r) => child.on("exit", r));
      const names = [...skel.maps.stats.keys()]
        .filter((k) => k.pid === child.pid)
        .map((k) => SYSCALLS[k.nr] ?? String(k.nr));
      expect(names).toContain("rt_sigreturn");
      expect(names).not.toContain(String(2 ** 32 - 1));
    },
    30_000,
  );

  it("proccount counts forks per process: not new threads, not per thread", async () => {
    const { open } = await import("../../examples/proccount/proccount.skel.ts");
    using skel = open();
    skel.load().attach();
    const exited = (c: ChildProcess) => new Promise((r) => c.on("exit", r));
    const sh = spawn("sh", ["-c", "for i in 1 2 3; do (:); done"]);
    await exited(sh);
    // New threads, and one fork from one of them.
    const threads = spawn(join(BIN, "bun"), [
      "-e",
      "new Worker('data:text/javascript,Bun.spawnSync([\"/bin/true\"]);process.exit(0)'); await Bun.sleep(300)",
    ]);
    await exited(threads);
    expect(skel.maps.process_count.get(sh.pid!)).toBe(3n);
    expect(skel.maps.process_count.get(threads.pid!)).toBe(1n);
  }, 30_000);
});
