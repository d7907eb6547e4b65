/**
 * Errors: errno names, libbpf's own codes, hints, the libbpf log attached
 * to errors or routed to a handler, and the complete verifier log.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  AS_NOBODY,
  type ChildResult,
  inMountNamespace,
  runErrorChild,
} from "../_support/error_child_run.ts";
import { bpfError, reasonLine } from "../../src/bpf_error.ts";
import { Errno, errnoMessage, errnoName } from "../../src/errno.ts";
import { BpfError, BpfVerifierError, ElfError } from "../../src/errors.ts";
import {
  type LibbpfLogLevel,
  setLibbpfLogHandler,
} from "../../src/libbpf_log.ts";
import { BpfMap } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
import {
  ROOT,
  fixture,
  isRoot,
  need,
  usableUnprivileged,
  thrown,
} from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");

describe("errno", () => {
  it("maps numbers and names both ways", () => {
    expect(errnoName(1)).toBe("EPERM");
    expect(errnoName(-2)).toBe("ENOENT");
    expect(errnoName(7)).toBe("E2BIG");
    expect(errnoName(524)).toBe("ENOTSUPP");
    expect(errnoName(95)).toBe("EOPNOTSUPP");
    expect(errnoName(4007)).toBe("LIBBPF_ERRNO__VERIFY");
    expect(errnoName(9999)).toBe("E9999");
    expect(errnoName(88)).toBe("ENOTSOCK");
    expect(Errno.EEXIST).toBe(17);
    expect(errnoMessage(28)).toBe("No space left on device");
  });
});

describe.skipIf(!root)("BpfError", () => {
  it("carries errno, name, libbpf's message and a hint", () => {
    const e = bpfError("bpf_map_update_elem", -7, { kind: "map-update" });
    expect(e).toBeInstanceOf(BpfError);
    expect(e.errno).toBe(7);
    expect(e.code).toBe("E2BIG");
    expect(e.op).toBe("bpf_map_update_elem");
    expect(e.hint).toMatch(/raise maxEntries|LRU/);
    expect(bpfError("x", 4007).message).toMatch(
      /Kernel verifier blocks program loading/,
    );
    expect(bpfError("x", 95).hint).toMatch(/kernel lacks this feature/);
    expect(bpfError("x", 24).hint).toMatch(
      /out of file descriptors \(ulimit -n\)/,
    );
    // The RLIMIT_MEMLOCK warning is noise, but a failure naming it is not.
    expect(
      reasonLine(
        "libbpf: Failed to bump RLIMIT_MEMLOCK (err = -1), you might need to do it explicitly!\n" +
          "libbpf: Couldn't load trivial BPF program. Make sure your kernel supports BPF (CONFIG_BPF_SYSCALL=y) and/or that RLIMIT_MEMLOCK is set to big enough value.\n" +
          "libbpf: failed to load object 'x'\n",
      ),
    ).toMatch(/^Couldn't load trivial BPF program/);
    expect(bpfError("x", 1).hint).toMatch(/CAP_BPF/);
    expect(bpfError("pin", 22, { kind: "pin", path: "/tmp/x" }).hint).toMatch(
      /mount -t bpf bpf \/sys\/fs\/bpf/,
    );
    // ENOENT on bpffs: nothing pinned there, or no such directory.
    const pinned = (path: string) =>
      bpfError("bpf_obj_get", 2, { kind: "pin", path }).hint;
    expect(pinned("/sys/fs/bpf/tsbpf-none")).toBe(
      "nothing is pinned at /sys/fs/bpf/tsbpf-none: check the path (ls /sys/fs/bpf)",
    );
    expect(pinned("/sys/fs/bpf/tsbpf-nodir/x")).toMatch(
      /^the directory \/sys\/fs\/bpf\/tsbpf-nodir does not exist/,
    );
  });

  it("gives the complete verifier log on rejection", () => {
    const obj = BpfObject.open(fixture("bad_verifier"));
    try {
      const e = thrown(() => obj.load()) as BpfVerifierError;
      expect(e).toBeInstanceOf(BpfVerifierError);
      expect(e.program).toBe("bad_prog");
      expect(e.message).toMatch(/bad_prog/);
      expect(e.message).toMatch(/outside of the packet/);
      const log = e.verifierLog!;
      expect(log).toMatch(/invalid access to packet/);
      // Complete: from the first instruction to the verifier's summary.
      expect(log).toMatch(/^(func#0 @0\n)?0: R1=ctx/);
      expect(log.trimEnd()).toMatch(/processed \d+ insns .*$/);
      expect(e.libbpfLog).toMatch(/BEGIN PROG LOAD LOG/);
    } finally {
      obj.close();
    }
  });

  it("a common verifier rejection carries a hint saying what to change", () => {
    /** The error loading only program `name` of fixture `file`. */
    const reject = (file: string, name: string) => {
      using obj = BpfObject.open(fixture(file));
      for (const p of obj.programs) p.autoload = p.name === name;
      const e = thrown(() => obj.load()) as BpfVerifierError;
      expect(e).toBeInstanceOf(BpfVerifierError);
      expect(e.hint).toMatch(/error\.verifierLog holds the complete/);
      return e;
    };
    const nullValue = reject("verifier_hints", "null_value");
    expect(nullValue.message).toMatch(/invalid mem access 'map_value_or_null'/);
    expect(nullValue.hint).toMatch(
      /^check the result of bpf_map_lookup_elem \(or the helper returning it\) for NULL before using it/,
    );
    expect(reject("verifier_hints", "no_bounds").hint).toMatch(
      /^compare the end of what is read with the packet's end .*data_end/,
    );
    expect(reject("bad_verifier", "bad_prog").hint).toMatch(/data_end/);
    const leak = reject("verifier_hints", "leak");
    expect(leak.message).toMatch(/reference leak/);
    expect(leak.hint).toMatch(/bpf_ringbuf_submit or bpf_ringbuf_discard/);
    const loop = reject("verifier_hints", "forever");
    // The reason is the loop, not the last line (the states it compared).
    expect(loop.message).toMatch(
      /: infinite loop detected at insn \d+ \(EINVAL\)/,
    );
    expect(loop.hint).toMatch(/constant upper bound, or use bpf_loop\(\)/);
    const stack = reject("verifier_hints", "big_stack");
    expect(stack.message).toMatch(
      /combined stack size of \d+ calls is \d+\. Too large/,
    );
    expect(stack.hint).toMatch(/512 bytes of stack .*PERCPU_ARRAY/);
    const gpl = reject("verifier_nogpl", "gpl_helper");
    expect(gpl.message).toMatch(/GPL-restricted function/);
    expect(gpl.hint).toMatch(/char LICENSE\[\] SEC\("license"\) = "GPL"/);
  });

  it("gives all of a verifier log larger than libbpf's first 16 MiB buffer", () => {
    // libbpf 1.1 retries a failed load with a 16 MiB log buffer, doubling it
    // on ENOSPC (the kernel's log is then a truncated tail), and prints it
    // whole at WARN: we keep that one message as it is.
    using obj = BpfObject.open(fixture("big_verifier"));
    const e = thrown(() => obj.load()) as BpfVerifierError;
    expect(e).toBeInstanceOf(BpfVerifierError);
    const log = e.verifierLog!;
    expect(log.length).toBeGreaterThan(16 << 20);
    expect(log).toMatch(/^(func#0 @0\n)?0: R1=ctx/);
    expect(log).toMatch(/R1 offset is outside of the packet/);
    expect(log.trimEnd()).toMatch(/\nprocessed \d+ insns .*$/);
    expect(e.message).toMatch(/outside of the packet/);
  });

  it("after a failed load, says to open the object again", () => {
    using obj = BpfObject.open(fixture("bad_verifier"));
    expect(() => obj.load()).toThrow(BpfVerifierError);
    expect(obj.loadFailed).toBe(true);
    expect(() => obj.program("ok_prog").fd).toThrow(
      /load\(\) failed.*open the object again/,
    );
    expect(() => obj.load()).toThrow(/open it again/);
  });

  it("loads the rest when the bad program's autoload is off", () => {
    using obj = BpfObject.open(fixture("bad_verifier"));
    obj.program("bad_prog").autoload = false;
    obj.load();
    expect(obj.program("ok_prog").fd).toBeGreaterThan(0);
  });

  it("routes libbpf's log to a handler, globally and per object", () => {
    const lines: [LibbpfLogLevel, string][] = [];
    setLibbpfLogHandler((level, msg) => lines.push([level, msg]));
    try {
      using obj = BpfObject.open(fixture("minimal"));
      obj.load();
    } finally {
      setLibbpfLogHandler(null);
    }
    expect(lines.some(([l]) => l === "debug")).toBe(true);
    expect(lines.every(([, m]) => !m.endsWith("\n"))).toBe(true);

    const own: string[] = [];
    const obj = BpfObject.open(fixture("bad_verifier"), {
      logHandler: (_l, m) => own.push(m),
    });
    try {
      thrown(() => obj.load());
    } finally {
      obj.close();
    }
    expect(own.join("\n")).toMatch(/BEGIN PROG LOAD LOG/);
  });

  it("attaches the captured libbpf log to the error", () => {
    using obj = BpfObject.open(fixture("bad_verifier"));
    const e = thrown(() => obj.load()) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.libbpfLog).toMatch(/libbpf: /);
  });

  it("an error from a call that does not log carries no lines left by an earlier one", () => {
    // Loading the ringbuf fixture succeeds with a warning (libbpf 1.1 retries
    // creating its ring buffer maps without BTF); nobody takes those lines.
    const seen: string[] = [];
    using obj = BpfObject.open(fixture("ringbuf"), {
      logHandler: (_l, m) => seen.push(m),
    });
    obj.load();
    expect(seen.join("\n")).toMatch(/libbpf: /);
    const e = thrown(() => BpfMap.fromId(0x7ffffff0)) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("ENOENT");
    expect(e.libbpfLog).toBe("");
  });

  it("close() from a log handler waits for the libbpf call it interrupts", async () => {
    // libbpf logs while loading: freeing the object then was a use after free.
    const obj: BpfObject = BpfObject.open(fixture("bad_verifier"), {
      logHandler: () => obj.close(),
    });
    const e = thrown(() => obj.load());
    expect(e).toBeInstanceOf(BpfVerifierError);
    expect(e.message).toMatch(/rejected program 'bad_prog'/);
    expect(obj.closed).toBe(false);
    await Promise.resolve();
    expect(obj.closed).toBe(true);
  });

  it("refuses ELF files that are not BPF objects before libbpf reads them", () => {
    /** `bytes` with ELF e_type `type` (little-endian). */
    const withType = (bytes: Uint8Array, type: number) => {
      const b = new Uint8Array(bytes);
      new DataView(b.buffer).setUint16(16, type, true);
      return b;
    };
    for (const [bytes, why] of [
      [
        readFileSync("/proc/self/exe"),
        /is an x86-64 executable( or shared object)?, not a BPF object/,
      ],
      [
        withType(readFileSync(fixture("minimal")), 2),
        /of type 2, not a relocatable/,
      ],
    ] as const) {
      const e = thrown(() => BpfObject.open(new Uint8Array(bytes)));
      expect(e).toBeInstanceOf(ElfError);
      expect(e.message).toMatch(why);
    }
  });
});

const CHILD = `${ROOT}/test/_support/error_child.ts`;
const hasSetpriv = need(
  existsSync("/usr/bin/setpriv"),
  "no setpriv (util-linux) to drop privileges in a child",
);
const unprivileged =
  hasSetpriv &&
  need(
    usableUnprivileged(),
    "uid 65534 cannot read this checkout or run the runtime (a clone under a 0700 directory?)",
  );
const hasUnshare = need(
  existsSync("/usr/bin/unshare"),
  "no unshare (util-linux) for a private mount namespace",
);

/** Runs test/_support/error_child.ts `args` (see runErrorChild). */
function child(
  wrap: readonly string[],
  args: string[],
  denoFlags: string[] = ["-A"],
): ChildResult {
  return runErrorChild(CHILD, wrap, args, denoFlags);
}

describe.skipIf(!root)("hints for the environment (child processes)", () => {
  it.skipIf(!unprivileged)("an unprivileged user is told about CAP_BPF", () => {
    const r = child(AS_NOBODY, ["load", fixture("minimal")]);
    expect(r.ok).toBe(false);
    expect(r.name).toBe("BpfError");
    expect(r.code).toBe("EPERM");
    expect(r.hint).toMatch(/missing CAP_BPF\/CAP_PERFMON/);
    expect(r.hint).toMatch(/setcap/);
  });

  it.skipIf(!hasSetpriv)(
    "the same hint under Deno's narrowest flags (no --allow-sys)",
    () => {
      // Telling root from not once took process.getuid(), which Deno
      // refuses without --allow-sys: its NotCapable replaced the BpfError.
      const r = child(
        ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"],
        ["load", fixture("minimal")],
        ["--allow-ffi", "--allow-read", "--allow-env"],
      );
      expect(r.name).toBe("BpfError");
      expect(r.code).toBe("EPERM");
      expect(r.hint).toMatch(/although running as root: CAP_BPF/);
    },
  );

  it.skipIf(!hasSetpriv)(
    "root without capabilities is told they may be dropped",
    () => {
      const r = child(
        ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"],
        ["load", fixture("minimal")],
      );
      expect(r.ok).toBe(false);
      expect(r.code).toBe("EPERM");
      expect(r.hint).toMatch(/although running as root: CAP_BPF/);
    },
  );

  it.skipIf(!hasUnshare)("tracefs not mounted: says the mount command", () => {
    const r = child(
      inMountNamespace(
        'umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; exec "$@"',
      ),
      ["tracepoint", fixture("attach")],
    );
    expect(r.ok).toBe(false);
    expect(r.hint).toMatch(/mount -t tracefs tracefs \/sys\/kernel\/tracing/);
  });

  it.skipIf(!hasUnshare)(
    "no kernel BTF: Btf.kernel() says what the kernel needs",
    () => {
      const r = child(
        inMountNamespace('mount -t tmpfs tmpfs /sys/kernel/btf && exec "$@"'),
        ["kernel-btf"],
      );
      expect(r.ok).toBe(false);
      expect(r.name).toBe("BtfNotFoundError");
      expect(r.message).toMatch(/exposes no BTF/);
      expect(r.hint).toMatch(/CONFIG_DEBUG_INFO_BTF=y/);
    },
  );

  it.skipIf(!hasUnshare)(
    "bpffs not mounted: a pin says the mount command",
    () => {
      const r = child(
        inMountNamespace('umount /sys/fs/bpf 2>/dev/null; exec "$@"'),
        ["pin", "-", "/sys/fs/bpf/tsbpf-errors-test"],
      );
      expect(r.ok).toBe(false);
      expect(r.hint).toMatch(/mount -t bpf bpf \/sys\/fs\/bpf/);
      expect(existsSync("/sys/fs/bpf/tsbpf-errors-test")).toBe(false);
    },
  );
});
