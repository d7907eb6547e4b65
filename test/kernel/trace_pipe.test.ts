/**
 * Reading trace_pipe (src/trace_pipe.ts): a real bpf_printk line
 * (fixtures/printk.bpf.c, on getppid of this process, with a cookie of this
 * run) arrives parsed; abort, close and leaving a loop end a pending wait
 * and free every fd; no tracefs, no root, or a second reader is a BpfError
 * with the fix. trace_pipe is machine-wide and consuming: other lines come
 * through, and before Linux 6.5 another reader could take ours, so the
 * tests trigger until they see theirs. While another process reads it
 * (one reader at a time since 6.5), they skip, naming it.
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AS_NOBODY,
  type ChildResult,
  inMountNamespace,
  runErrorChild,
} from "../_support/error_child_run.ts";
import { cstr, libc } from "../../ffi/mod.ts";
import { BpfError, BpfTypeError, ClosedError } from "../../src/errors.ts";
import type { BpfLink } from "../../src/link.ts";
import { BpfObject } from "../../src/object.ts";
import type { TraceLine } from "../../src/trace_line.ts";
import { TracePipe, tracePipe } from "../../src/trace_pipe.ts";
import {
  ROOT,
  fixture,
  isRoot,
  need,
  usableUnprivileged,
} from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const tracefs =
  root &&
  need(
    existsSync("/sys/kernel/tracing/trace_pipe") ||
      existsSync("/sys/kernel/debug/tracing/trace_pipe"),
    "tracefs not mounted (mount -t tracefs tracefs /sys/kernel/tracing)",
  );

/**
 * Whether trace_pipe is free: since Linux 6.5 one reader at a time may
 * open it, so while another process reads it these tests cannot.
 */
function tracePipeFree(): boolean {
  try {
    tracePipe().close();
    return true;
  } catch (e) {
    if ((e as BpfError).code !== "EBUSY") throw e;
    return need(false, `trace_pipe is busy: ${(e as BpfError).hint}`);
  }
}
const free = tracefs && tracePipeFree();

/** What this process's fds point to (trace_pipe, anon_inode:[eventpoll] ...). */
function fdTargets(): string[] {
  return fdTargetsOf("self");
}

/** What the fds of process `pid` point to. */
function fdTargetsOf(pid: number | "self"): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // the directory's own fd, closed by now
    }
  }
  return out;
}

/** How many fds of each kind a trace_pipe reader holds: the pipe, epoll, eventfd. */
function readerFds(): Record<string, number> {
  const t = fdTargets();
  const n = (s: string) => t.filter((x) => x.includes(s)).length;
  return {
    trace_pipe: n("trace_pipe"),
    eventpoll: n("[eventpoll]"),
    eventfd: n("[eventfd]"),
  };
}

/** Resolves once `cond` holds, or fails after `ms`. */
async function eventually(cond: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!free)("tracePipe", () => {
  let obj: BpfObject;
  let link: BpfLink;
  const pid = tracefs ? libc().getpid() : 0;
  // A cookie of this run: another process's lines never match it.
  const cookie = BigInt(Date.now()) * 1000n + BigInt(pid % 1000);
  const mine = (l: TraceLine) =>
    l.event === "bpf_trace_printk" &&
    l.message.startsWith(`tsbpf-trace-pipe cookie=${cookie} `);

  /**
   * Reads until a line of ours (getppid() every 20 ms meanwhile: another
   * reader could take a line before 6.5), then leaves the loop (which
   * closes the pipe).
   */
  async function readOurLine(): Promise<TraceLine> {
    const ac = new AbortController();
    const timer = setInterval(() => libc().getppid(), 20);
    const limit = setTimeout(() => ac.abort(), 15_000);
    try {
      const pipe = tracePipe({ signal: ac.signal });
      for await (const line of pipe) {
        if (mine(line)) {
          expect(pipe.closed).toBe(false);
          return line;
        }
      }
      throw new Error("no line of ours within 15 s");
    } finally {
      clearInterval(timer);
      clearTimeout(limit);
    }
  }

  beforeAll(() => {
    obj = BpfObject.open(fixture("printk"));
    obj.globals.target_pid = pid;
    obj.globals.cookie = cookie;
    obj.load();
    link = obj.program("on_getppid").attach();
  });
  afterAll(() => {
    link?.close();
    obj?.close();
  });

  it("yields a bpf_printk line, parsed", async () => {
    const line = await readOurLine();
    const comm = readFileSync(
      `/proc/self/task/${line.pid}/comm`,
      "utf8",
    ).trim();
    expect(["<...>", comm]).toContain(line.task);
    // A thread of ours (Deno runs tests off the main thread): pid is the tid.
    expect(existsSync(`/proc/self/task/${line.pid}`)).toBe(true);
    expect(line.cpu).toBeGreaterThan(-1);
    expect(typeof line.flags).toBe("string");
    expect(line.timestamp).toBeGreaterThan(0);
    expect(line.message).toMatch(
      new RegExp(`^tsbpf-trace-pipe cookie=${cookie} seq=\\d+$`),
    );
    expect(line.raw).toContain(line.message);
  });

  it("leaving the loop, abort and close free the pipe, epoll and eventfd fds", async () => {
    // One reader first: Bun's waiter Worker (kept idle afterwards for the
    // next reader) has fds of its own.
    await readOurLine();
    const before = readerFds();
    expect(before.trace_pipe).toBe(0);

    // break
    await readOurLine();
    await eventually(() => readerFds().eventpoll === before.eventpoll);
    expect(readerFds()).toEqual(before);

    // abort while waiting (nothing of ours comes: the wait is pending)
    const ac = new AbortController();
    const pipe = tracePipe({ signal: ac.signal });
    expect(readerFds().trace_pipe).toBe(1);
    const loop = (async () => {
      let n = 0;
      for await (const _ of pipe) n++;
      return n;
    })();
    await new Promise((r) => setTimeout(r, 100));
    const t = performance.now();
    ac.abort();
    await loop;
    expect(performance.now() - t).toBeLessThan(1000);
    expect(pipe.closed).toBe(true);
    await eventually(() => readerFds().eventpoll === before.eventpoll);
    expect(readerFds()).toEqual(before);

    // close() from outside, while a loop waits
    {
      using p = tracePipe();
      const loop2 = (async () => {
        for await (const _ of p);
      })();
      await new Promise((r) => setTimeout(r, 50));
      p.close();
      await loop2;
    }
    await eventually(() => readerFds().eventpoll === before.eventpoll);
    expect(readerFds()).toEqual(before);
  });

  it("read() returns what is there without waiting; closed is an error", async () => {
    using pipe = tracePipe();
    const t = performance.now();
    expect(Array.isArray(pipe.read())).toBe(true);
    expect(performance.now() - t).toBeLessThan(500);
    let got: TraceLine | undefined;
    for (let i = 0; i < 200 && !got; i++) {
      libc().getppid();
      await new Promise((r) => setTimeout(r, 10));
      got = pipe.read().find(mine);
    }
    expect(existsSync(`/proc/self/task/${got?.pid}`)).toBe(true);
    pipe.close();
    expect(() => pipe.read()).toThrow(ClosedError);
    pipe.close(); // idempotent
    // A closed pipe's iteration ends at once.
    for await (const _ of pipe) throw new Error("yielded after close");
  });

  it("one reader at a time: a second is a BpfError (EBUSY) naming who reads", async () => {
    const first = tracePipe();
    let second;
    try {
      second = tracePipe();
    } catch (e) {
      second = e as BpfError;
    } finally {
      first.close();
    }
    if (!(second instanceof BpfError)) {
      // Before Linux 6.5 readers could share trace_pipe.
      second.close();
      need(false, "this kernel lets two readers open trace_pipe");
      return;
    }
    expect(second.code).toBe("EBUSY");
    expect(second.hint).toMatch(
      new RegExp(
        `^this process \\(pid ${pid}\\) reads .*trace_pipe already, through another TracePipe: close that one first`,
      ),
    );
    // Another process: named with its command.
    const path = first.path;
    const cat = spawn("cat", [path], { stdio: ["ignore", "ignore", "ignore"] });
    try {
      // cat has opened it once one of its fds points there.
      await eventually(() => fdTargetsOf(cat.pid!).includes(path));
      const err = (() => {
        try {
          tracePipe().close();
        } catch (e) {
          return e as BpfError;
        }
      })();
      expect(err?.code).toBe("EBUSY");
      expect(err?.hint).toContain(`pid ${cat.pid} (cat) reads ${path} already`);
    } finally {
      cat.kill();
      await new Promise((r) => cat.on("exit", r));
    }
    tracePipe().close(); // free again
  });

  it("an aborted signal gives a closed pipe; bad options are BpfTypeErrors", async () => {
    const pipe = tracePipe({ signal: AbortSignal.abort() });
    expect(pipe.closed).toBe(true);
    for await (const _ of pipe) throw new Error("yielded after abort");
    expect(readerFds().trace_pipe).toBe(0);
    const bad = [null, 5, { signal: "soon" }, { signal: {} }];
    for (const o of bad) {
      expect(() => tracePipe(o as never)).toThrow(BpfTypeError);
    }
    expect(readerFds().trace_pipe).toBe(0);
  });
});

/** The tracefs directory, for a tracing instance of a test's own. */
const TRACEFS = existsSync("/sys/kernel/tracing/instances")
  ? "/sys/kernel/tracing"
  : "/sys/kernel/debug/tracing";

describe.skipIf(!tracefs)(
  "TracePipe over a tracing instance of its own",
  () => {
    const dir = `${TRACEFS}/instances/tsbpf-trace-pipe-${process.pid}`;
    let pipe: TracePipe | undefined;
    /** A TracePipe over the instance's trace_pipe (not the machine's). */
    const openInstance = (signal?: AbortSignal) => {
      const path = `${dir}/trace_pipe`;
      const fd = libc().open(cstr(path), 0o4000 | 0o2000000, 0);
      expect(fd).toBeGreaterThan(-1);
      return (pipe = new TracePipe(path, fd, signal));
    };

    beforeAll(() => mkdirSync(dir));
    afterAll(() => {
      pipe?.close();
      rmdirSync(dir);
    });

    it("with the block option (poll always ready, reads EAGAIN): waits without spinning, abort ends it", async () => {
      // options/block: "reading trace_pipe will not block when polled", so
      // every wait returns at once with nothing to read. An iteration that
      // went straight back to waiting starved the event loop: its
      // AbortSignal.timeout never fired, at 100 % of a core.
      writeFileSync(`${dir}/options/block`, "1");
      const p = openInstance(AbortSignal.timeout(500));
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const got: string[] = [];
      setTimeout(() => writeFileSync(`${dir}/trace_marker`, "marked\n"), 100);
      for await (const line of p) got.push(line.message);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      expect(got).toEqual(["marked"]);
      expect(wall).toBeLessThan(2000);
      // Polled from timers at most every 50 ms: a few % of a core at most.
      expect((cpu.user + cpu.system) / 1000 / wall).toBeLessThan(0.25);
      expect(p.closed).toBe(true);
    });
  },
);

// In a child: without tracefs (a private mount namespace), or as nobody.
const hasUnshare = need(
  existsSync("/usr/bin/unshare"),
  "no unshare (util-linux) for a private mount namespace",
);
const unprivileged =
  root &&
  need(existsSync("/usr/bin/setpriv"), "no setpriv (util-linux)") &&
  need(
    usableUnprivileged(),
    "uid 65534 cannot read this checkout or run the runtime (a clone under a 0700 directory?)",
  );

/** Runs test/_support/trace_pipe_child.ts under this runtime, after `wrap`. */
function child(wrap: readonly string[]): ChildResult {
  return runErrorChild(`${ROOT}/test/_support/trace_pipe_child.ts`, wrap);
}

describe.skipIf(!root)("tracePipe errors", () => {
  it.skipIf(!hasUnshare)("tracefs not mounted: says the mount command", () => {
    const r = child(
      inMountNamespace(
        'umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; exec "$@"',
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.name).toBe(BpfError.name);
    expect(r.code).toBe("ENOENT");
    expect(r.message).toMatch(/cannot open \/sys\/kernel\/tracing\/trace_pipe/);
    expect(r.hint).toBe(
      "tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing",
    );
  });

  it.skipIf(!unprivileged)("not root: says tracefs is root's", () => {
    const r = child(AS_NOBODY);
    expect(r.ok).toBe(false);
    expect(r.name).toBe(BpfError.name);
    expect(r.code).toMatch(/^(EACCES|EPERM)$/);
    expect(r.hint).toMatch(/tracefs is root's: run as root to read/);
  });
});
