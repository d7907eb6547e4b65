/**
 * BpfLink and the attach family on the real kernel: tracepoint, raw
 * tracepoint, uprobe, fentry, kprobe (skipped without CONFIG_KPROBES), XDP,
 * tc, cgroup; pin/unpin; detach on close; links outlive their JS object.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ifNameToIndex, libc, perfEventOpen } from "../../ffi/mod.ts";
import {
  BpfError,
  BpfTypeError,
  ClosedError,
  UnsupportedError,
} from "../../src/errors.ts";
import { onlineCpus } from "../../src/cpus.ts";
import { BpfLink } from "../../src/link.ts";
import { BpfObject } from "../../src/object.ts";
import { bpftoolHasLink } from "../_support/bpftool.ts";
import {
  ROOT,
  fixture,
  isRoot,
  need,
  thrown,
  CGROUP2,
  HAS_IP,
} from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const tracefs = need(
  existsSync("/sys/kernel/tracing/events/syscalls"),
  "tracefs not mounted (mount -t tracefs tracefs /sys/kernel/tracing)",
);
const kprobes = need(
  existsSync("/sys/kernel/tracing/kprobe_events"),
  "kprobes compiled out (no /sys/kernel/tracing/kprobe_events)",
);
const hasCgroup2 = need(CGROUP2 !== undefined, "no cgroup v2 mount");
const hasIp = need(HAS_IP, "no `ip` tool for a veth pair");
const PIN_DIR = `/sys/fs/bpf/tsbpf-link-test-${process.pid}`;
const hasCc = need(
  spawnSync("sh", ["-c", "command -v cc"]).status === 0,
  "no C compiler (cc) to build the USDT target",
);

/**
 * Builds test/_support/usdt_target.c (a binary with USDT probes) into
 * build/test and returns its path; the caller removes it.
 */
function buildUsdtTarget(): string {
  const dir = `${ROOT}/build/test`;
  mkdirSync(dir, { recursive: true });
  const exe = `${dir}/usdt_target_${process.pid}`;
  execFileSync("cc", ["-O2", `${ROOT}/test/_support/usdt_target.c`, "-o", exe]);
  return exe;
}

/** Starts the USDT target (it waits for a line on stdin before firing). */
function startUsdtTarget(exe: string, ticks: number) {
  const child = spawn(exe, [String(ticks)], {
    stdio: ["pipe", "ignore", "inherit"],
  });
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  return { pid: child.pid!, go: () => child.stdin!.end("go\n"), exited };
}

// fentry/fexit need an ftrace trampoline; whether one can be made is only
// known by trying (here: EPERM with an empty verifier log, see the reason).
const fentryError: unknown = (() => {
  if (!isRoot()) return undefined;
  try {
    using obj = BpfObject.open(fixture("fentry"));
    obj.load();
    return undefined;
  } catch (e) {
    return e;
  }
})();
/** Whether reading ftrace's list of hookable functions is refused (EPERM). */
const ftraceFunctionsDenied = (() => {
  try {
    closeSync(openSync("/sys/kernel/tracing/available_filter_functions", "r"));
    return false;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
})();
const fentryOk = need(
  fentryError === undefined,
  `fentry/fexit cannot load on this kernel: ${(fentryError as Error)?.message}`,
);
/** libstdc++'s path when it has the libstdcxx:throw USDT probe. */
const cxxThrowProbe: string | undefined = (() => {
  const lib = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
  if (!existsSync(lib)) return undefined;
  const notes = spawnSync("readelf", ["-n", lib], { encoding: "utf8" });
  return /Provider: libstdcxx\s+Name: throw\b/.test(notes.stdout ?? "")
    ? lib
    : undefined;
})();
const VETH = `tsbl${process.pid % 100000}`;
const DENO = `${ROOT}/node_modules/.bin/deno`;

function openAttach(): BpfObject {
  const obj = BpfObject.open(fixture("attach"));
  obj.program("on_kprobe").autoload = !!kprobes;
  obj.load();
  return obj;
}

/** Kernel id of the calling thread, from /proc/thread-self. */
function threadId(): number {
  return Number(readlinkSync("/proc/thread-self").split("/").pop());
}

/** openAttach() with the uprobes counting only this thread's calls. */
function openAttachForThisThread(): BpfObject {
  const obj = openAttach();
  obj.globals.probe_tid = threadId();
  return obj;
}

function getpid(n = 1): void {
  for (let i = 0; i < n; i++) libc().getpid();
}

/**
 * The libc function the uprobe tests count calls of. Not getpid: Deno's
 * main thread calls that on its own (seen while it allocates), which an
 * exact count would take in. Neither runtime calls getppid.
 */
const PROBED = "getppid";

/** Calls {@link PROBED} `n` times. */
function callProbed(n: number): void {
  for (let i = 0; i < n; i++) libc().getppid();
}

function withVeth<T>(fn: (ifname: string) => T): T {
  execFileSync("ip", [
    "link",
    "add",
    VETH,
    "type",
    "veth",
    "peer",
    "name",
    `${VETH}p`,
  ]);
  try {
    execFileSync("ip", ["link", "set", VETH, "up"]);
    return fn(VETH);
  } finally {
    execFileSync("ip", ["link", "del", VETH]);
  }
}

function gc(): void {
  const g = globalThis as {
    gc?: () => void;
    Bun?: { gc(sync: boolean): void };
  };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}

/** A repository module's URL, quoted, for a script's import. */
const srcUrl = (p: string) =>
  JSON.stringify(new URL(`../../${p}`, import.meta.url).href);

/** `collect()` for a script: full collections, then turns for finalizers. */
const COLLECT = `
  const collect = async () => {
    for (let i = 0; i < 3; i++) {
      if (globalThis.Bun) Bun.gc(true); else globalThis.gc();
      await new Promise((r) => setTimeout(r, 5));
    }
  };`;

/**
 * Runs `script` in a child of this runtime that can force collections
 * (Deno: --expose-gc) and returns the JSON of its last line.
 */
function runCollecting(script: string): unknown {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-link-"));
  const file = join(dir, "gc.ts");
  try {
    writeFileSync(file, script);
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const r = deno
      ? spawnSync(
          deno.execPath(),
          ["run", "-A", "--v8-flags=--expose-gc", file],
          { encoding: "utf8", timeout: 60_000 },
        )
      : spawnSync(process.execPath, [file], {
          encoding: "utf8",
          timeout: 60_000,
        });
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!root)("BpfLink", () => {
  afterEach(() => rmSync(PIN_DIR, { recursive: true, force: true }));

  it.skipIf(!tracefs)(
    "attaches to a tracepoint by section and detaches on close",
    () => {
      using obj = openAttach();
      const link = obj.program("on_getpid").attach();
      expect(link.fd).toBeGreaterThan(0);
      getpid(5);
      const hits = obj.globals.tp_hits as bigint;
      expect(hits).toBeGreaterThanOrEqual(5n);
      link.close();
      link.close();
      expect(link.closed).toBe(true);
      expect(() => link.fd).toThrow(ClosedError);
      expect(() => link.pin(`${PIN_DIR}/x`)).toThrow(ClosedError);
      const after = obj.globals.tp_hits as bigint;
      getpid(5);
      expect(obj.globals.tp_hits).toBe(after);
    },
  );

  it.skipIf(!tracefs)(
    "attaches to an explicit tracepoint and explains a missing one",
    () => {
      using obj = openAttach();
      using _link = obj
        .program("on_getpid")
        .attachTracepoint("syscalls", "sys_enter_getpid");
      getpid(3);
      expect(obj.globals.tp_hits as bigint).toBeGreaterThanOrEqual(3n);
      let err: unknown;
      try {
        obj.program("on_getpid").attachTracepoint("nosuchcat", "nosuchtp");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BpfError);
      expect((err as BpfError).code).toBe("ENOENT");
      expect(String(err)).toMatch(/no tracepoint nosuchcat\/nosuchtp/);
    },
  );

  it("attaches to a raw tracepoint", () => {
    using obj = openAttach();
    using _l = obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
    getpid(3);
    expect(obj.globals.raw_tp_hits as bigint).toBeGreaterThanOrEqual(3n);
  });

  it.skipIf(!hasCc)(
    "attaches to USDT probes, with arguments, cookie and a pid filter",
    async () => {
      const exe = buildUsdtTarget();
      try {
        using obj = BpfObject.open(fixture("usdt"));
        obj.load();
        const a = startUsdtTarget(exe, 5);
        const b = startUsdtTarget(exe, 3);
        // tick: only in process a; done: in every process of the binary.
        using tick = obj.program("on_tick").attachUsdt({
          binaryPath: exe,
          provider: "tsbpf",
          name: "tick",
          pid: a.pid,
          cookie: 42n,
        });
        using done = obj.program("on_done").attachUsdt({
          binaryPath: exe,
          provider: "tsbpf",
          name: "done",
        });
        // A USDT link is many uprobes: no fd of its own to give out or pin.
        expect(() => tick.fd).toThrow(UnsupportedError);
        expect(() => tick.pin(`${PIN_DIR}/usdt`)).toThrow(/no link fd/);
        a.go();
        b.go();
        expect(await a.exited).toBe(0);
        expect(await b.exited).toBe(0);
        const g = obj.globals;
        expect(g.ticks).toBe(5n);
        expect(g.sum_a).toBe(15n); // 1 + ... + 5
        expect(g.sum_b).toBe(30n);
        expect(g.last_cookie).toBe(42n);
        expect(g.dones).toBe(2n);
        void done;

        const e = thrown(() =>
          obj.program("on_tick").attachUsdt({
            binaryPath: exe,
            provider: "tsbpf",
            name: "nope",
          }),
        ) as BpfError;
        expect(e).toBeInstanceOf(BpfError);
        expect(e.hint).toMatch(/no USDT probe tsbpf:nope in .*readelf -n/);
      } finally {
        rmSync(exe, { force: true });
      }
    },
  );

  it.skipIf(
    !need(
      cxxThrowProbe !== undefined,
      "no libstdc++ with USDT probes (libstdcxx:throw)",
    ),
  )(
    'attach() of a SEC("usdt/binary:provider:name") program: a link with no fd of its own',
    () => {
      using obj = BpfObject.open(fixture("usdt"));
      obj.load();
      using link = obj.program("on_cxx_throw").attach();
      // libbpf's USDT link has no kernel link: its "fd" was 0 (stdin).
      expect(() => link.fd).toThrow(UnsupportedError);
      expect(() => link.info()).toThrow(UnsupportedError);
      expect(() => link.info()).toThrow(/^info: a USDT link/);
      expect(() => link.pin(`${PIN_DIR}/usdt-auto`)).toThrow(/no link fd/);
      link.close();
      expect(link.closed).toBe(true);
    },
  );

  it("attaches uprobes to a libc function by name", () => {
    using obj = openAttachForThisThread();
    const pid = libc().getpid();
    using _u = obj.program("on_uprobe").attachUprobe({
      binaryPath: "libc.so.6",
      symbol: PROBED,
      pid,
    });
    using _r = obj.program("on_uretprobe").attachUprobe({
      binaryPath: "libc.so.6",
      symbol: PROBED,
      pid,
      retprobe: true,
    });
    callProbed(4);
    expect(obj.globals.uprobe_hits).toBe(4n);
    expect(obj.globals.uretprobe_hits).toBe(4n);
  });

  it("attaches a uprobe by file offset, and only for the pid given", () => {
    using obj = openAttachForThisThread();
    const libcPath = readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .map((l) => l.split(/\s+/)[5])
      .find((p) => p && /\/libc\.so\.6$/.test(p));
    expect(libcPath).toBeDefined();
    const offset = fileOffsetOf(libcPath!, PROBED);
    const pid = libc().getpid();
    using _u = obj.program("on_uprobe").attachUprobe({
      binaryPath: libcPath!,
      offset,
      pid,
    });
    callProbed(3);
    expect(obj.globals.uprobe_hits).toBe(3n);
    // A probe for another process does not see our calls.
    const child = spawn("sleep", ["5"], { stdio: "ignore" });
    try {
      using _other = obj.program("on_uretprobe").attachUprobe({
        binaryPath: libcPath!,
        symbol: PROBED,
        pid: child.pid!,
        retprobe: true,
      });
      callProbed(3);
      expect(obj.globals.uretprobe_hits).toBe(0n);
      expect(obj.globals.uprobe_hits).toBe(6n);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("explains an unknown uprobe symbol", () => {
    using obj = openAttach();
    expect(() =>
      obj.program("on_uprobe").attachUprobe({
        binaryPath: "libc.so.6",
        symbol: "no_such_function_tsbpf",
      }),
    ).toThrow(BpfError);
  });

  it.skipIf(!fentryOk)("attaches fentry", () => {
    using obj = BpfObject.open(fixture("fentry"));
    obj.load();
    using _l = obj.program("on_nanosleep").attachTrace();
    execFileSync("sleep", ["0.01"]);
    expect(obj.globals.fentry_hits as bigint).toBeGreaterThanOrEqual(1n);
  });

  it.skipIf(fentryOk)("says why fentry cannot load here", () => {
    expect(fentryError).toBeInstanceOf(BpfError);
    const hint = (fentryError as BpfError).hint ?? "";
    expect(hint).toMatch(/fentry\/fexit/);
    // Where the kernel closes ftrace's function interface to root too
    // (as on this project's machines), the hint says that is the cause.
    if (ftraceFunctionsDenied) {
      expect(hint).toMatch(
        /reading \/sys\/kernel\/tracing\/available_filter_functions is refused \(EPERM\) here too/i,
      );
    }
  });

  it("attaches an LSM program, or says why it cannot load here", () => {
    const obj = BpfObject.open(fixture("lsm"));
    try {
      let loadError: unknown;
      try {
        obj.load();
      } catch (e) {
        loadError = e;
      }
      if (loadError !== undefined) {
        // Like fentry, an LSM program runs from a BPF trampoline: a kernel
        // that refuses those refuses it at load, before the verifier.
        expect(loadError).toBeInstanceOf(BpfError);
        expect((loadError as BpfError).hint).toMatch(
          /lsm programs run from a BPF trampoline/,
        );
        console.log(`SKIP: LSM attach: ${(loadError as BpfError).message}`);
        return;
      }
      using link = obj.program("on_file_open").attachLsm();
      readFileSync("/proc/self/status");
      expect(obj.globals.opens as bigint).toBeGreaterThan(0n);
      expect(link.info().type).toBe("tracing");
    } finally {
      obj.close();
    }
  });

  it.skipIf(!kprobes)("attaches a kprobe", () => {
    using obj = openAttach();
    using _l = obj.program("on_kprobe").attachKprobe("do_nanosleep");
    execFileSync("sleep", ["0.01"]);
    expect(obj.globals.kprobe_hits as bigint).toBeGreaterThanOrEqual(1n);
  });

  it.skipIf(kprobes)("says kprobes are compiled out", () => {
    using obj = openAttach();
    let err: unknown;
    try {
      obj.program("on_uprobe").attachKprobe("do_nanosleep");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect(String(err)).toMatch(/CONFIG_KPROBES/);
    // fentry is no way out where ftrace is closed too.
    if (ftraceFunctionsDenied) {
      expect((err as BpfError).hint).not.toMatch(/use fentry/);
      expect((err as BpfError).hint).toMatch(/tracepoint, raw_tp or tp_btf/);
    }
    expect(() =>
      obj.program("on_uprobe").attachKprobe("do_nanosleep", { retprobe: true }),
    ).toThrow(/CONFIG_KPROBES/);
  });

  it.skipIf(kprobes)(
    "says kprobes are compiled out for ksyscall and kprobe.multi sections too",
    () => {
      using obj = BpfObject.open(fixture("kprobe_kinds"));
      obj.load();
      const sys = thrown(() => obj.program("on_getppid").attach()) as BpfError;
      expect(sys).toBeInstanceOf(BpfError);
      expect(sys.hint).toMatch(/CONFIG_KPROBES/);
      const multi = thrown(() =>
        obj.program("on_nanosleep_multi").attach(),
      ) as BpfError;
      expect(multi).toBeInstanceOf(BpfError);
      // The section names its functions: not "names no attach target".
      expect(multi.hint).not.toMatch(/names no attach target/);
      expect(multi.hint).toMatch(/CONFIG_KPROBES/);
    },
  );

  it("pins and unpins a link", () => {
    using obj = openAttach();
    mkdirSync(PIN_DIR, { recursive: true });
    const link = obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
    const path = `${PIN_DIR}/link`;
    link.pin(path);
    try {
      expect(existsSync(path)).toBe(true);
      expect(link.pinnedPath).toBe(path);
    } finally {
      link.unpin();
      link.close();
    }
    expect(existsSync(path)).toBe(false);
  });

  it("refuses a second pin of a link (it would outlive the process)", () => {
    using obj = openAttach();
    mkdirSync(PIN_DIR, { recursive: true });
    // A raw-tracepoint link (libbpf's) and an XDP link with a mode (a bare
    // link fd): the second used to take a second pin and forget the first.
    using raw = obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
    using xdp = obj.program("xdp_filter").attachXdp("lo", { mode: "skb" });
    for (const [link, name] of [
      [raw, "raw"],
      [xdp, "xdp"],
    ] as const) {
      link.pin(`${PIN_DIR}/${name}1`);
      try {
        expect(() => link.pin(`${PIN_DIR}/${name}2`)).toThrow(
          /is pinned at .*1 already: unpin\(\) it first/,
        );
        expect(existsSync(`${PIN_DIR}/${name}2`)).toBe(false);
      } finally {
        link.unpin();
      }
      expect(existsSync(`${PIN_DIR}/${name}1`)).toBe(false);
    }
    // A bare-fd link checks for bpffs as libbpf's links do.
    expect(() => xdp.pin("/tmp/not-bpffs-pin")).toThrow(/bpffs/);
  });

  it("pins every kind of link into a new directory, as libbpf's links do", () => {
    using obj = openAttach();
    mkdirSync(PIN_DIR, { recursive: true });
    // A libbpf link (raw tracepoint) and a bare link fd (XDP with a mode):
    // libbpf makes a missing parent directory; the bare fd failed ENOENT.
    using raw = obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
    using xdp = obj.program("xdp_filter").attachXdp("lo", { mode: "skb" });
    for (const [link, name] of [
      [raw, "raw"],
      [xdp, "xdp"],
    ] as const) {
      const path = `${PIN_DIR}/${name}/link`;
      link.pin(path);
      expect(existsSync(path)).toBe(true);
      link.unpin();
      expect(existsSync(path)).toBe(false);
    }
  });

  it("reopens a pinned link: info, unpin", () => {
    using obj = openAttach();
    mkdirSync(PIN_DIR, { recursive: true });
    const prog = obj.program("on_sys_enter");
    const path = `${PIN_DIR}/reopen`;
    const link = prog.attachRawTracepoint("sys_enter");
    link.pin(path);
    link.close(); // pinned: stays attached
    using again = BpfLink.fromPinned(path);
    try {
      expect(again.pinnedPath).toBe(path);
      const info = again.info();
      expect(info.type).toBe("raw_tracepoint");
      expect(info.programId).toBe(prog.id);
      expect(again.id).toBe(info.id);
      expect(again.description).toBe(`pinned raw_tracepoint link ${path}`);
      const before = obj.globals.raw_tp_hits as bigint;
      getpid(3);
      expect(obj.globals.raw_tp_hits as bigint).toBeGreaterThan(before);
      expect(() => again.detach()).toThrow(
        /a raw_tracepoint link cannot be detached while open/,
      );
      expect(() => again.update(prog)).toThrow(
        /a raw_tracepoint link cannot swap its program/,
      );
    } finally {
      again.unpin();
    }
    expect(existsSync(path)).toBe(false);
    const mapPin = `${PIN_DIR}/map`;
    obj.maps[0]!.pin(mapPin);
    try {
      expect(() => BpfLink.fromPinned(mapPin)).toThrow(
        `${mapPin} is a map pinned on bpffs, not a link`,
      );
    } finally {
      obj.maps[0]!.unpin(mapPin);
    }
  });

  it("update() swaps the program of a live link; detach() ends it", () => {
    using obj = BpfObject.open(fixture("tail_call"));
    obj.load();
    const entry = obj.program("entry");
    const drop = obj.program("drop_all");
    using link = entry.attachXdp("lo", { mode: "skb" });
    expect(link.info()).toMatchObject({ type: "xdp", programId: entry.id });
    link.update(drop);
    expect(link.info().programId).toBe(drop.id);
    using other = openAttach();
    const e = thrown(() => link.update(other.program("on_sys_enter")));
    expect((e as BpfError).hint).toMatch(/same type and attach type/);
    expect(() => link.update({} as never)).toThrow(/give the new program/);
    // Past i32 Bun wrapped the fd (2^32 + fd swapped in that program).
    expect(() => link.update({ fd: 2 ** 32 + drop.fd })).toThrow(
      /give the new program/,
    );
    // An XDP link detaches while open (pinned or not).
    link.detach();
    expect(
      execFileSync("ip", ["-d", "link", "show", "lo"], { encoding: "utf8" }),
    ).not.toMatch(/xdp/);
  });

  it("keeps links attached until the object closes, even when dropped", () => {
    const obj = openAttach();
    (() => {
      obj.program("on_sys_enter").attachRawTracepoint("sys_enter"); // dropped
    })();
    gc();
    const before = obj.globals.raw_tp_hits as bigint;
    getpid(3);
    expect(obj.globals.raw_tp_hits as bigint).toBeGreaterThan(before);
    const prog = obj.program("on_sys_enter");
    const id = bpftoolLinkCount(prog.fd);
    expect(id).toBe(1);
    obj.close();
  });

  it.skipIf(!need(existsSync(DENO), `no deno binary at ${DENO}`))(
    "Deno with --expose-gc: a collected link object leaves the program attached",
    () => {
      const script = `
        import { BpfObject } from ${JSON.stringify(new URL("../../src/object.ts", import.meta.url).href)};
        import { libc } from ${JSON.stringify(new URL("../../ffi/mod.ts", import.meta.url).href)};
        const obj = BpfObject.open(${JSON.stringify(fixture("attach"))});
        obj.program("on_kprobe").autoload = false;
        obj.load();
        let collected = false;
        const reg = new FinalizationRegistry(() => { collected = true; });
        (() => {
          // A JS wrapper around the link's fd, dropped at once: only it can die.
          const link = obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
          reg.register({ fd: link.fd }, "x");
        })();
        for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
        const before = obj.globals.raw_tp_hits;
        for (let i = 0; i < 3; i++) libc().getpid();
        const after = obj.globals.raw_tp_hits;
        obj.close();
        console.log(JSON.stringify({ collected, grew: after > before }));
      `;
      const r = spawnSync(DENO, ["run", "-A", "--v8-flags=--expose-gc", "-"], {
        input: script,
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(r.stderr).not.toMatch(/error/i);
      const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
        collected: boolean;
        grew: boolean;
      };
      expect(res.collected).toBe(true); // the GC did run
      expect(res.grew).toBe(true); // and the program stayed attached
    },
  );

  it("a link opened from a pin and dropped: collected, its fd is closed while pinned, kept (attached) once unpinned", () => {
    const dir = `${PIN_DIR}-gc`;
    const script = `
      import { readdirSync, readlinkSync } from "node:fs";
      import { BpfLink } from ${srcUrl("src/link.ts")};
      import { BpfObject } from ${srcUrl("src/object.ts")};
      import { libc } from ${srcUrl("ffi/mod.ts")};
      ${COLLECT}
      const linkFds = () => readdirSync("/proc/self/fd").filter((fd) => {
        try { return /bpf.link/.test(readlinkSync("/proc/self/fd/" + fd)); } catch { return false; }
      }).length;
      const obj = BpfObject.open(${JSON.stringify(fixture("attach"))});
      for (const p of obj.programs) p.autoload = p.name === "on_sys_enter";
      obj.load();
      const own = obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
      own.pin(${JSON.stringify(`${dir}/link`)});
      const base = linkFds();
      (() => {
        for (let i = 0; i < 20; i++) BpfLink.fromPinned(${JSON.stringify(`${dir}/link`)}).info();
      })();
      await collect();
      const pinnedLeft = linkFds() - base;
      (() => BpfLink.fromPinned(${JSON.stringify(`${dir}/link`)}).unpin())();
      own.close(); // now only the dropped handle's fd holds the link
      await collect();
      const before = obj.globals.raw_tp_hits;
      for (let i = 0; i < 3; i++) libc().getpid();
      const grew = obj.globals.raw_tp_hits > before;
      console.log(JSON.stringify({ pinnedLeft, grew, kept: linkFds() }));
      obj.close();
    `;
    mkdirSync(dir, { recursive: true });
    try {
      const res = runCollecting(script) as {
        pinnedLeft: number;
        grew: boolean;
        kept: number;
      };
      expect(res.pinnedLeft).toBeLessThanOrEqual(1); // not 20
      expect(res.grew).toBe(true); // unpinned and dropped: still attached
      expect(res.kept).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an object dropped with a link attached: collected, it stays loaded and attached", () => {
    const res = runCollecting(`
      import { BpfMap } from ${srcUrl("src/map.ts")};
      import { BpfObject } from ${srcUrl("src/object.ts")};
      import { libc } from ${srcUrl("ffi/mod.ts")};
      ${COLLECT}
      let bssId = 0;
      let collected = false;
      const reg = new FinalizationRegistry(() => { collected = true; });
      (() => {
        const obj = BpfObject.open(${JSON.stringify(fixture("attach"))});
        for (const p of obj.programs) p.autoload = p.name === "on_sys_enter";
        obj.load();
        obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
        const bss = obj.maps.find((m) => m.name.endsWith(".bss"));
        bssId = bss.id;
        reg.register(obj, 0);
      })();
      await collect();
      const bss = BpfMap.fromId(bssId); // ENOENT had the object been freed
      const before = bss.get(0).slice();
      for (let i = 0; i < 3; i++) libc().getpid();
      const ran = bss.get(0).some((b, i) => b !== before[i]);
      console.log(JSON.stringify({ collected, ran }));
    `) as { collected: boolean; ran: boolean };
    expect(res.collected).toBe(true);
    expect(res.ran).toBe(true);
  });

  it.skipIf(!hasIp)(
    "attaches XDP (default and skb mode) and detaches on close",
    () => {
      withVeth((ifname) => {
        using obj = openAttach();
        const prog = obj.program("xdp_filter");
        const link = prog.attachXdp(ifname);
        expect(
          execFileSync("ip", ["link", "show", ifname], { encoding: "utf8" }),
        ).toMatch(/xdp/);
        link.close();
        expect(
          execFileSync("ip", ["link", "show", ifname], { encoding: "utf8" }),
        ).not.toMatch(/xdp/);
        const skb = prog.attachXdp(ifname, { mode: "skb" });
        expect(
          execFileSync("ip", ["link", "show", ifname], { encoding: "utf8" }),
        ).toMatch(/xdpgeneric/);
        expect(skb.fd).toBeGreaterThan(0);
        obj.close(); // destroys the skb link
        expect(
          execFileSync("ip", ["link", "show", ifname], { encoding: "utf8" }),
        ).not.toMatch(/xdp/);
      });
    },
  );

  it.skipIf(!hasIp)(
    "attaches tc ingress and egress, removing the qdisc it created",
    () => {
      withVeth((ifname) => {
        using obj = openAttach();
        const prog = obj.program("on_tc");
        const ing = prog.attachTc(ifname, "ingress");
        const eg = prog.attachTc(ifname, "egress", { priority: 7 });
        const show = (dir: string) =>
          execFileSync("tc", ["filter", "show", "dev", ifname, dir], {
            encoding: "utf8",
          });
        expect(show("ingress")).toMatch(/on_tc/);
        expect(show("egress")).toMatch(/pref 7/);
        expect(() => ing.fd).toThrow(UnsupportedError);
        // Each call names itself, not the fd it needed ("fd: ..." from info()).
        const calls: [string, () => unknown][] = [
          ["info", () => ing.info()],
          ["id", () => ing.id],
          ["update", () => ing.update(prog)],
          ["detach", () => ing.detach()],
        ];
        for (const [op, call] of calls) {
          const e = thrown(call);
          expect(e).toBeInstanceOf(UnsupportedError);
          expect(e.message).toMatch(
            new RegExp(
              `^${op}: tc filters attached through netlink have no link fd`,
            ),
          );
        }
        ing.close();
        expect(show("ingress")).not.toMatch(/on_tc/);
        expect(
          execFileSync("tc", ["qdisc", "show", "dev", ifname], {
            encoding: "utf8",
          }),
        ).toMatch(/clsact/);
        eg.close();
        expect(
          execFileSync("tc", ["qdisc", "show", "dev", ifname], {
            encoding: "utf8",
          }),
        ).not.toMatch(/clsact/);
      });
    },
  );

  it.skipIf(!hasIp)("runs tc filters in priority order, lowest first", () => {
    withVeth((ifname) => {
      const peer = `${ifname}p`;
      execFileSync("ip", ["link", "set", peer, "up"]);
      execFileSync("ip", ["addr", "add", "10.253.81.1/24", "dev", ifname]);
      // The tcx fixture's programs return TC_ACT_UNSPEC (TCX_NEXT): the
      // next filter runs too, and `first` tells which one ran first.
      using obj = BpfObject.open(fixture("tcx"));
      obj.load();
      let target = 2;
      for (const [one, two, expected] of [
        [2, 1, 2n],
        [1, 2, 1n],
      ] as const) {
        const a = obj
          .program("ingress_one")
          .attachTc(peer, "ingress", { priority: one });
        const b = obj
          .program("ingress_two")
          .attachTc(peer, "ingress", { priority: two });
        obj.globals.first = 0n;
        spawnSync("ping", ["-c", "1", "-W", "0.3", `10.253.81.${target++}`]);
        expect(obj.globals.first).toBe(expected);
        a.close();
        b.close();
      }
    });
  });

  it.skipIf(!hasIp)(
    "XDP by interface index and tc ingress/egress see real packets",
    () => {
      withVeth((ifname) => {
        const peer = `${ifname}p`;
        execFileSync("ip", ["link", "set", peer, "up"]);
        execFileSync("ip", ["addr", "add", "10.253.77.1/24", "dev", ifname]);
        using obj = openAttach();
        const peerIndex = ifNameToIndex(peer);
        expect(peerIndex).toBeGreaterThan(0);
        const xdp = obj.program("xdp_filter").attachXdp(peerIndex);
        using _e = obj.program("on_tc").attachTc(ifname, "egress");
        // ARP requests for 10.253.77.2 leave ifname (tc egress) and arrive
        // on the peer (XDP); nobody answers.
        spawnSync("ping", ["-c", "2", "-i", "0.2", "-W", "0.3", "10.253.77.2"]);
        expect(obj.globals.xdp_hits as bigint).toBeGreaterThan(0n);
        const egress = obj.globals.tc_hits as bigint;
        expect(egress).toBeGreaterThan(0n);
        xdp.close(); // it drops broadcasts (first byte 0xff) before tc ingress
        using _i = obj.program("on_tc").attachTc(peer, "ingress");
        spawnSync("ping", ["-c", "1", "-W", "0.3", "10.253.77.3"]);
        // Each ARP request now counts twice: egress on ifname, ingress on peer.
        expect((obj.globals.tc_hits as bigint) - egress).toBeGreaterThanOrEqual(
          2n,
        );
      });
    },
  );

  it("checks tc and XDP options before the kernel sees them", () => {
    using obj = openAttach();
    const tc = obj.program("on_tc");
    for (const options of [
      { priority: 1.5 },
      { priority: 70000 },
      { priority: -1 },
      { handle: 2 ** 32 },
      { handle: "1" },
    ]) {
      expect(() => tc.attachTc("lo", "ingress", options as never)).toThrow(
        BpfTypeError,
      );
    }
    // Nothing was attached, and no clsact qdisc was left on lo.
    expect(
      execFileSync("tc", ["qdisc", "show", "dev", "lo"], { encoding: "utf8" }),
    ).not.toMatch(/clsact/);
    const xdp = obj.program("xdp_filter");
    expect(() => xdp.attachXdp("lo", null as never)).toThrow(
      /attachXdp: options are \{ mode\?, flags\? \}, got null/,
    );
    expect(() => tc.attachTc("lo", "ingress", null as never)).toThrow(
      BpfTypeError,
    );
    for (const flags of [1.5, -1, "2", 2 ** 32]) {
      expect(() => xdp.attachXdp("lo", { flags } as never)).toThrow(
        /attachXdp: flags must be an integer from 0 to 2\^32-1/,
      );
    }
    expect(
      execFileSync("ip", ["link", "show", "lo"], { encoding: "utf8" }),
    ).not.toMatch(/xdp/);
  });

  it("attachTc takes the options it checked, read once: getters of a class instance, and one that changes", () => {
    using obj = openAttach();
    const tc = obj.program("on_tc");
    class Options {
      reads = 0;
      get priority(): number {
        // 70000 on a second read: only the checked value may reach libbpf.
        return this.reads++ === 0 ? 7 : 70000;
      }
    }
    const options = new Options();
    const link = tc.attachTc("lo", "ingress", options);
    try {
      expect(options.reads).toBe(1);
      expect(
        execFileSync("tc", ["filter", "show", "dev", "lo", "ingress"], {
          encoding: "utf8",
        }),
      ).toMatch(/pref 7 bpf/);
    } finally {
      link.close();
    }
  });

  // On a veth of its own: a clsact qdisc on lo is shared with whatever else
  // attaches there, and the one who made it removes it with our filter.
  it.skipIf(!hasIp)(
    "attachTc takes its direction and options in one object too, as attachTcx does",
    () => {
      withVeth((ifname) => {
        using obj = openAttach();
        const tc = obj.program("on_tc");
        const show = (what: string, dir?: string) =>
          execFileSync(
            "tc",
            [what, "show", "dev", ifname, ...(dir ? [dir] : [])],
            {
              encoding: "utf8",
            },
          );
        let reads = 0;
        const options = {
          get direction() {
            // "sideways" on a second read: only the checked value may be used.
            return reads++ === 0 ? ("egress" as const) : ("sideways" as never);
          },
          priority: 9,
        };
        const link = tc.attachTc(ifname, options);
        try {
          expect(reads).toBe(1);
          expect(show("filter", "egress")).toMatch(/pref 9 bpf/);
          expect(show("filter", "ingress")).not.toMatch(/on_tc/);
        } finally {
          link.close();
        }
        expect(show("qdisc")).not.toMatch(/clsact/);
        const attach = tc.attachTc as (...args: unknown[]) => unknown;
        for (const [args, message] of [
          [[{ priority: 1 }], /SEC\("tc"\) names no direction/],
          [
            [{ direction: "sideways" }],
            /direction must be "ingress" or "egress"/,
          ],
          [
            [{ direction: "ingress", priority: 70000 }],
            /priority must be an integer from 0 to 65535/,
          ],
          [
            [{ direction: "ingress" }, { priority: 1 }],
            /everything goes in it/,
          ],
        ] as const) {
          const e = thrown(() => attach.call(tc, ifname, ...args));
          expect(e).toBeInstanceOf(BpfTypeError);
          expect((e as Error).message).toMatch(message);
        }
        // Nothing was attached: no clsact qdisc was made.
        expect(show("qdisc")).not.toMatch(/clsact/);
      });
    },
  );

  it.skipIf(!hasIp)(
    'attachTc takes its direction from SEC("tc/ingress") and SEC("tc/egress") when none is given',
    () => {
      withVeth((ifname) => {
        using obj = BpfObject.open(fixture("tcx"));
        obj.load();
        const show = (dir: string) =>
          execFileSync("tc", ["filter", "show", "dev", ifname, dir], {
            encoding: "utf8",
          });
        using _i = obj.program("tc_in_count").attachTc(ifname);
        using _e = obj.program("tc_eg_count").attachTc(ifname, { priority: 5 });
        expect(show("ingress")).toMatch(/tc_in_count/);
        expect(show("ingress")).not.toMatch(/tc_eg_count/);
        expect(show("egress")).toMatch(/pref 5 bpf .*tc_eg_count/s);
        expect(show("egress")).not.toMatch(/tc_in_count/);
        // A direction given wins over the section's.
        using _x = obj
          .program("tc_in_count")
          .attachTc(ifname, "egress", { priority: 6 });
        expect(show("egress")).toMatch(/pref 6 bpf .*tc_in_count/s);
        // SEC("tc") names none: a BpfTypeError saying how to give one.
        using tcObj = openAttach();
        const tc = tcObj.program("on_tc");
        for (const attach of [
          () => tc.attachTc(ifname),
          () => tc.attachTc(ifname, { priority: 1 }),
        ]) {
          const e = thrown(attach) as BpfTypeError;
          expect(e).toBeInstanceOf(BpfTypeError);
          expect(e.message.split("\n")[0]).toBe(
            'attachTc: SEC("tc") names no direction (only SEC("tc/ingress") and SEC("tc/egress") do): give one',
          );
          expect(e.hint).toMatch(/attachTc\(ifname, "ingress" \| "egress"/);
        }
        expect(show("ingress")).not.toMatch(/on_tc/);
      });
    },
  );

  it("explains an unknown interface", () => {
    using obj = openAttach();
    expect(() => obj.program("xdp_filter").attachXdp("nosuchif0")).toThrow(
      /no network interface 'nosuchif0'/,
    );
    // By index (the kernel's bare EINVAL or ENODEV before).
    const gone = 0x7ffffff0;
    const unknown = new RegExp(`no network interface has index ${gone}`);
    for (const attach of [
      () => obj.program("xdp_filter").attachXdp(gone),
      () => obj.program("xdp_filter").attachXdp(gone, { mode: "skb" }),
      () => obj.program("on_tc").attachTc(gone, "ingress"),
      () => obj.program("on_tc").attachTcx(gone, { direction: "ingress" }),
    ]) {
      const e = thrown(attach) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect(e.hint).toMatch(unknown);
    }
    // One tcx link per program and hook.
    using tcx = obj.program("on_tc").attachTcx("lo", { direction: "ingress" });
    expect(
      (
        thrown(() =>
          obj.program("on_tc").attachTcx("lo", { direction: "ingress" }),
        ) as BpfError
      ).hint,
    ).toMatch(/'on_tc' is attached to tcx ingress of lo already/);
    void tcx;
  });

  it("attaches to a perf event (software cpu-clock on this thread)", () => {
    using obj = openAttach();
    const attr = new Uint8Array(112); // PERF_ATTR_SIZE_VER5
    const v = new DataView(attr.buffer);
    v.setUint32(0, 1, true); // PERF_TYPE_SOFTWARE
    v.setUint32(4, attr.length, true);
    v.setBigUint64(8, 0n, true); // PERF_COUNT_SW_CPU_CLOCK
    v.setBigUint64(16, 100_000n, true); // sample every 100 µs of CPU
    const pfd = perfEventOpen(attr, 0, -1);
    expect(pfd).toBeGreaterThan(0);
    const link = obj.program("on_perf_event").attachPerfEvent(pfd);
    const end = performance.now() + 30;
    let x = 0;
    while (performance.now() < end) x++;
    link.close(); // also closes pfd (the link owns it)
    expect(obj.globals.perf_hits as bigint).toBeGreaterThan(0n);
    expect(x).toBeGreaterThan(0);
  });

  it("opens and attaches a perf event from options, once per CPU", () => {
    using obj = openAttach();
    const p = obj.program("on_perf_event");
    const links = onlineCpus().map((cpu) =>
      p.attachPerfEvent({
        type: "software",
        config: "cpu-clock",
        frequency: 1000,
        cpu,
      }),
    );
    try {
      const end = performance.now() + 50;
      let x = 0;
      while (performance.now() < end) x++;
      expect(x).toBeGreaterThan(0);
      expect(obj.globals.perf_hits as bigint).toBeGreaterThan(0n);
    } finally {
      for (const l of links) l.close();
    }
    // This thread only, every 100 µs of its CPU time.
    using own = p.attachPerfEvent({
      type: "software",
      config: "task-clock",
      period: 100_000,
      pid: 0,
    });
    void own;
    expect(() =>
      p.attachPerfEvent({
        type: "software",
        config: "cpu-clock",
        frequency: 99,
      }),
    ).toThrow(
      /pid -1 \(every process\) needs a cpu: attach once for each cpu of onlineCpus\(\)/,
    );
    expect(() =>
      p.attachPerfEvent({ type: "software", config: "cpu-clok", period: 1 }),
    ).toThrow(/unknown software event 'cpu-clok': one of cpu-clock/);
    expect(() =>
      p.attachPerfEvent({ type: "software", config: "cpu-clock", cpu: 0 }),
    ).toThrow(/either frequency .* or period/);
    const e = thrown(() =>
      p.attachPerfEvent({ type: "software", config: 0, period: 1, cpu: 4096 }),
    );
    expect(e).toBeInstanceOf(BpfError);
    expect(e.message).toMatch(
      /cannot open software event 0 \(pid -1, cpu 4096\)/,
    );
    expect((e as BpfError).hint).toMatch(
      /CPU 4096 is not online \(\/sys\/devices\/system\/cpu\/online: [0-9,-]+\): attach on the CPUs onlineCpus\(\) lists/,
    );
  });

  it.skipIf(!hasIp)(
    "attaches tcx programs (sections libbpf 1.1 does not know) in order, and detaches them",
    () => {
      withVeth((ifname) => {
        const peer = `${ifname}p`;
        execFileSync("ip", ["link", "set", peer, "up"]);
        execFileSync("ip", ["addr", "add", "10.253.78.1/24", "dev", ifname]);
        using obj = BpfObject.open(fixture("tcx"));
        expect(obj.program("ingress_one").type).toBe("sched_cls");
        obj.load();
        const one = obj.program("ingress_one").attachTcx(peer);
        // Put in front of the one attached before it: it sees packets first.
        const two = obj
          .program("ingress_two")
          .attachTcx(peer, { order: "first" });
        const eg = obj.program("egress_count").attachTcx(ifname);
        const links = [one, two, eg];
        expect(links.map((l) => l.info().type)).toEqual(["tcx", "tcx", "tcx"]);
        const ids = links.map((l) => l.id);
        for (const id of ids) expect(bpftoolHasLink(id)).toBe(true);
        // Only packets sent from here on count (the interfaces just came
        // up: IPv6 ones may have gone through between the two attaches).
        obj.globals.first = 0n;
        // ARP requests for .2 leave ifname (egress) and reach the peer.
        spawnSync("ping", ["-c", "1", "-W", "0.3", "10.253.78.2"]);
        expect(obj.globals.first).toBe(2n);
        expect(obj.globals.ingress_hits as bigint).toBeGreaterThanOrEqual(2n);
        expect(obj.globals.egress_hits as bigint).toBeGreaterThan(0n);
        // A SEC("tc") program goes through tcx too, given its direction.
        using tcObj = openAttach();
        const tc = tcObj.program("on_tc");
        expect(() => tc.attachTcx(ifname)).toThrow(
          /SEC\("tc"\) names no tcx direction: attachTcx\(ifname, \{ direction: "ingress" \| "egress" \}\)/,
        );
        using tcLink = tc.attachTcx(ifname, { direction: "egress" });
        expect(tcLink.info().type).toBe("tcx");
        expect(() =>
          tc.attachTcx(ifname, { direction: "sideways" as never }),
        ).toThrow(BpfTypeError);
        expect(() =>
          tc.attachTcx(ifname, {
            direction: "egress",
            order: "middle" as never,
          }),
        ).toThrow(/order is "first" or "last"/);
        for (const l of links) l.close();
        for (const id of ids) expect(bpftoolHasLink(id)).toBe(false);
      });
    },
  );

  it("attaches a netfilter program to a hook, detaches it on close", () => {
    using obj = BpfObject.open(fixture("netfilter"));
    const prog = obj.program("count_packets");
    expect(prog.type).toBe("netfilter");
    obj.load();
    expect(() => prog.attach()).toThrow(
      /attach this netfilter program with attachNetfilter\(/,
    );
    const link = prog.attachNetfilter({
      family: "ipv4",
      hook: "output",
      priority: 100,
    });
    const id = link.id;
    expect(link.info().type).toBe("netfilter");
    expect(bpftoolHasLink(id)).toBe(true);
    // Each ping to loopback sends at least one IPv4 packet through OUTPUT.
    spawnSync("ping", ["-c", "2", "-i", "0.2", "-W", "0.3", "127.0.0.1"]);
    expect(obj.globals.nf_hits as bigint).toBeGreaterThanOrEqual(2n);
    link.close();
    expect(bpftoolHasLink(id)).toBe(false);
    const before = obj.globals.nf_hits as bigint;
    spawnSync("ping", ["-c", "1", "-W", "0.3", "127.0.0.1"]);
    expect(obj.globals.nf_hits).toBe(before);
    // Defragmented packets, on IPv6 input.
    using defrag = prog.attachNetfilter({
      family: "ipv6",
      hook: "input",
      priority: -100,
      defrag: true,
    });
    expect(defrag.info().type).toBe("netfilter");
    // One BPF program per hook and priority.
    expect(
      (
        thrown(() =>
          prog.attachNetfilter({
            family: "ipv6",
            hook: "input",
            priority: -100,
          }),
        ) as BpfError
      ).hint,
    ).toMatch(/ipv6\/input has a BPF program at priority -100 already/);
    // A netfilter link cannot swap its program, but detaches.
    expect(() => defrag.update(prog)).toThrow(
      /a netfilter link cannot swap its program/,
    );
    defrag.detach();
    for (const bad of [
      { family: "ipx", hook: "output", priority: 1 },
      { family: "ipv4", hook: "outbound", priority: 1 },
      { family: "ipv4", hook: "output", priority: 1.5 },
      { family: "ipv4", hook: "output", priority: -(2 ** 31) },
    ]) {
      expect(() => prog.attachNetfilter(bad as never)).toThrow(BpfTypeError);
    }
    // The kernel's own rule: a defrag hook must run after defragmentation.
    const e = thrown(() =>
      prog.attachNetfilter({
        family: "ipv4",
        hook: "input",
        priority: -500,
        defrag: true,
      }),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.hint).toMatch(/priority above -400/);
    using attachObj = openAttach();
    expect(() =>
      attachObj
        .program("on_getpid")
        .attachNetfilter({ family: "ipv4", hook: "output", priority: 1 }),
    ).toThrow(/attachNetfilter attaches SEC\("netfilter"\) programs/);
  });

  it("attachNetfilter whose options close the object: ClosedError, and the program that took its fd stays unattached", () => {
    const obj = BpfObject.open(fixture("netfilter"));
    obj.load();
    const prog = obj.program("count_packets");
    let other: BpfObject | undefined;
    const options = {
      family: "ipv4" as const,
      hook: "output" as const,
      get priority() {
        if (!obj.closed) {
          obj.close();
          // Takes the closed program's fd number, or tries to.
          other = BpfObject.open(fixture("netfilter"));
          other.load();
        }
        return 100;
      },
    };
    try {
      expect(() => prog.attachNetfilter(options)).toThrow(ClosedError);
      const theirs = other!.program("count_packets");
      // Not attached: a second attach at the same hook and priority works.
      using link = theirs.attachNetfilter({
        family: "ipv4",
        hook: "output",
        priority: 100,
      });
      expect(link.info().type).toBe("netfilter");
    } finally {
      obj.close();
      other?.close();
    }
  });

  it.skipIf(!hasCgroup2)(
    "a directory that is not cgroup v2 gets the cgroup2 hint",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-not-cgroup-"));
      try {
        using obj = openAttach();
        const e = thrown(() =>
          obj.program("on_cgroup_egress").attachCgroup(dir),
        ) as BpfError;
        expect(e).toBeInstanceOf(BpfError);
        expect(e.code).toBe("EBADF");
        expect(e.hint).toMatch(`${dir} is not a cgroup v2 directory`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(!hasCgroup2)("attaches to a cgroup", () => {
    const dir = `${CGROUP2}/tsbpf-link-test-${process.pid}`;
    mkdirSync(dir);
    try {
      using obj = openAttach();
      using link = obj.program("on_cgroup_egress").attachCgroup(dir);
      expect(link.fd).toBeGreaterThan(0);
      expect(obj.globals.cgroup_hits).toBe(0n);
      // A shell that moves itself into the cgroup and connects to a closed
      // local port: its SYN leaves through the cgroup's egress hook.
      spawnSync("bash", [
        "-c",
        `echo $$ > ${dir}/cgroup.procs; exec 3<>/dev/tcp/127.0.0.1/9 || true`,
      ]);
      expect(obj.globals.cgroup_hits as bigint).toBeGreaterThan(0n);
      expect(() =>
        obj.program("on_cgroup_egress").attachCgroup(`${dir}/nope`),
      ).toThrow(/no such cgroup/);
    } finally {
      rmdirSync(dir);
    }
  });
});

describe.skipIf(!root)("iterator links", () => {
  afterEach(() => rmSync(PIN_DIR, { recursive: true, force: true }));

  it("runs an iter/task program and reads what it printed", () => {
    using obj = BpfObject.open(fixture("iter"));
    obj.load();
    using link = obj.program("dump_task").attachIter();
    const pid = libc().getpid();
    const text = link.read();
    const mine = text.split("\n").find((l) => l.startsWith(`${pid} ${pid} `));
    expect(mine).toBeDefined();
    expect(text).toMatch(/^2 2 kthreadd$/m);
    const again = link.readBytes();
    expect(again.length).toBeGreaterThan(0);
    link.close();
    expect(() => link.read()).toThrow(ClosedError);
  });

  it("iterates the elements of a map given at attach (iter/bpf_map_elem)", () => {
    using obj = BpfObject.open(fixture("iter"));
    obj.load();
    const elems = obj.map("elems");
    for (const [k, v] of [
      [1, 10n],
      [2, 20n],
      [7, 1n << 40n],
    ] as const)
      elems.set(k, v);
    const prog = obj.program("dump_elems");
    using link = prog.attachIter({ map: elems });
    expect(link.info().type).toBe("iter");
    expect(link.read().split("\n").filter(Boolean).sort()).toEqual([
      "1=10",
      "2=20",
      `7=${1n << 40n}`,
    ]);
    elems.delete(2);
    expect(link.read().split("\n").filter(Boolean).sort()).toEqual([
      "1=10",
      `7=${1n << 40n}`,
    ]);
    // A map fd does as well as the map.
    using byFd = prog.attachIter({ map: elems.fd });
    expect(byFd.read()).toMatch(/^1=10$/m);
    // Without its map the kernel has nothing to walk: say what to give.
    const e = thrown(() => prog.attachIter()) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.hint).toMatch(/iterates over a map: attachIter\(\{ map \}\)/);
    // Every map iterator, whatever its name.
    expect(
      (thrown(() => obj.program("dump_sockmap").attachIter()) as BpfError).hint,
    ).toMatch(/SEC\("iter\/sockmap"\) iterates over a map/);
    // So does attach(), which takes the iterator from the section.
    expect((thrown(() => prog.attach()) as BpfError).hint).toMatch(
      /iterates over a map: attachIter\(\{ map \}\)/,
    );
    expect(() => prog.attachIter({ map: "elems" } as never)).toThrow(
      /attachIter: map is a BpfMap or a map fd/,
    );
  });

  it("walks only one process's threads with attachIter({ task: { pid } })", () => {
    using obj = BpfObject.open(fixture("iter"));
    obj.load();
    const pid = libc().getpid();
    using link = obj.program("dump_task").attachIter({ task: { pid } });
    const lines = link.read().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(new RegExp(`^${pid} \\d+ `));
    expect(lines.some((l) => l.startsWith(`${pid} ${pid} `))).toBe(true);
    const tid = threadId();
    using one = obj.program("dump_task").attachIter({ task: { tid } });
    expect(one.read()).toMatch(new RegExp(`^${pid} ${tid} [^\n]*\n$`));
    expect(() =>
      obj.program("dump_task").attachIter({ task: { pid, tid } }),
    ).toThrow(/give one of task.tid, task.pid or task.pidFd/);
  });

  it.skipIf(!need(existsSync("/sys/fs/bpf"), "bpffs not mounted"))(
    "a pinned iterator link reads as a file, and reopens",
    () => {
      using obj = BpfObject.open(fixture("iter"));
      obj.load();
      obj.map("elems").set(3, 33n);
      mkdirSync(PIN_DIR, { recursive: true });
      const path = `${PIN_DIR}/elems_iter`;
      const link = obj
        .program("dump_elems")
        .attachIter({ map: obj.map("elems") });
      const id = link.id;
      link.pin(path);
      try {
        expect(readFileSync(path, "utf8")).toBe("3=33\n");
        using again = BpfLink.fromPinned(path);
        expect(again.read()).toBe("3=33\n");
        expect(bpftoolHasLink(id)).toBe(true);
      } finally {
        link.unpin();
        link.close();
      }
      expect(existsSync(path)).toBe(false);
      expect(bpftoolHasLink(id)).toBe(false);
    },
  );

  it.skipIf(!hasCgroup2)(
    "walks a cgroup subtree with attachIter({ cgroup: { path, order } })",
    () => {
      const dir = `${CGROUP2}/tsbpf-iter-test-${process.pid}`;
      mkdirSync(`${dir}/child`, { recursive: true });
      try {
        using obj = BpfObject.open(fixture("iter"));
        obj.load();
        const prog = obj.program("dump_cgroup");
        // A cgroup's id is its directory's inode number on cgroup2.
        const id = BigInt(statSync(dir).ino);
        const child = BigInt(statSync(`${dir}/child`).ino);
        const ids = (l: BpfLink) =>
          l.read().split("\n").filter(Boolean).map(BigInt);
        using self = prog.attachIter({ cgroup: { path: dir } });
        expect(ids(self)).toEqual([id]);
        using pre = prog.attachIter({
          cgroup: { id, order: "descendants-pre" },
        });
        expect(ids(pre)).toEqual([id, child]);
        using up = prog.attachIter({
          cgroup: { path: `${dir}/child`, order: "ancestors-up" },
        });
        expect(ids(up).slice(0, 2)).toEqual([child, id]);
        expect(() =>
          prog.attachIter({ cgroup: { path: dir, order: "up" as never } }),
        ).toThrow(/cgroup.order is "self", "descendants-pre"/);
        expect(() => prog.attachIter({ cgroup: {} })).toThrow(
          /give one of cgroup.path .* or cgroup.id/,
        );
      } finally {
        rmdirSync(`${dir}/child`);
        rmdirSync(dir);
      }
    },
  );

  it("refuses options an iterator does not take (the kernel would read them as its own)", () => {
    using obj = BpfObject.open(fixture("iter"));
    obj.load();
    const elems = obj.map("elems");
    // The link info is a union: a map fd given to a task iterator was
    // taken as a thread id, a pid given to a map iterator as a map fd.
    expect(() => obj.program("dump_task").attachIter({ map: elems })).toThrow(
      /SEC\("iter\/task"\) takes \{ task \}, not \{ map \}/,
    );
    expect(() =>
      obj.program("dump_elems").attachIter({ task: { pid: 1 } }),
    ).toThrow(/SEC\("iter\/bpf_map_elem"\) takes \{ map \}, not \{ task \}/);
    expect(() => obj.program("dump_cgroup").attachIter({ map: elems })).toThrow(
      /SEC\("iter\/cgroup"\) takes \{ cgroup \}, not \{ map \}/,
    );
  });

  it("says a non-iterator link cannot be read", () => {
    using obj = openAttach();
    using l = obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
    expect(() => l.read()).toThrow(/not an iterator/);
  });
});

/** File offset of `symbol` in an ELF shared object (its vaddr mapped through PT_LOAD). */
function fileOffsetOf(path: string, symbol: string): number {
  const syms = execFileSync("nm", ["-D", "--defined-only", path], {
    encoding: "utf8",
  });
  const re = new RegExp(`^([0-9a-f]+) [TtWi] ${symbol}(@|$)`);
  const hit = syms
    .split("\n")
    .map((l) => re.exec(l))
    .find((m) => m);
  const vaddr = parseInt(hit![1]!, 16);
  const phdrs = execFileSync("readelf", ["-lW", path], { encoding: "utf8" });
  for (const l of phdrs.split("\n")) {
    const m =
      /^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+\S+\s+0x([0-9a-f]+)/.exec(l);
    if (!m) continue;
    const [off, va, size] = [m[1]!, m[2]!, m[3]!].map((x) => parseInt(x, 16));
    if (vaddr >= va! && vaddr < va! + size!) return vaddr - va! + off!;
  }
  throw new Error(`${symbol} not in a LOAD segment of ${path}`);
}

/** Links bpftool sees for a program fd's id. */
function bpftoolLinkCount(progFd: number): number {
  const info = execFileSync("bpftool", ["link", "list", "-j"], {
    encoding: "utf8",
  });
  const fdinfo = execFileSync(
    "cat",
    [`/proc/${libc().getpid()}/fdinfo/${progFd}`],
    {
      encoding: "utf8",
    },
  );
  const progId = Number(/prog_id:\s*(\d+)/.exec(fdinfo)?.[1]);
  return (JSON.parse(info) as { prog_id: number }[]).filter(
    (l) => l.prog_id === progId,
  ).length;
}
