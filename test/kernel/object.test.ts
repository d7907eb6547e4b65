/**
 * BpfObject: open from path and bytes, introspection, load, configure
 * before load, close/dispose, bad input, and no leaks over many cycles.
 */
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import {
  BpfError,
  BpfTypeError,
  BtfError,
  ClosedError,
  ElfError,
  NotFoundError,
  StateError,
  TsbpfError,
} from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import { ourPrograms } from "../_support/bpftool.ts";
import { withDanglingVar, withoutBtf } from "../_support/corrupt_btf.ts";
import { fixture, isRoot, need, thrown } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");

/**
 * Entries in /sys/fs/bpf, minus those of other processes on this machine
 * (their names carry their pid, e.g. tsbpf-bench-ringbuf-1238-map): other
 * test files and benches pin and unpin meanwhile; a leak of ours would not
 * carry another live process's pid.
 */
function ourPins(): string[] {
  const me = libc().getpid();
  return readdirSync("/sys/fs/bpf")
    .filter((n) => {
      const pids = (n.match(/\d+/g) ?? []).map(Number);
      return !pids.some((p) => p !== me && existsSync(`/proc/${p}`));
    })
    .sort();
}

/** Open fds with what they point to. */
function openFds(): string[] {
  return readdirSync("/proc/self/fd").map((fd) => {
    try {
      return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return fd; // the fd readdir itself used
    }
  });
}

/**
 * The fds a loader leak would show: BPF objects, links, perf events, files.
 * (Pipes and sockets come and go with the runtime's child processes.)
 */
function bpfFds(): string[] {
  return openFds()
    .filter((f) => /-> (anon_inode:(bpf|\[perf_event\])|\/)/.test(f))
    .sort();
}

describe.skipIf(!root)("BpfObject", () => {
  it("opens a file and lists programs and maps", () => {
    const obj = BpfObject.open(fixture("globals"));
    try {
      expect(obj.name).toBe("globals");
      expect(obj.loaded).toBe(false);
      expect(obj.programs.map((p) => p.name)).toEqual(["count_getppid"]);
      expect(obj.maps.map((m) => m.name)).toEqual([
        "globals.rodata",
        "globals.data",
        ".data.custom",
        "globals.bss",
      ]);
      expect(obj.map("globals.bss").type).toBe("array");
      const bss = obj.btf.find(".bss", "datasec");
      expect(bss).toBeDefined();
      // libbpf's fixed-up copy: sizes are filled in (0 in the .o file).
      expect((bss as { size: number }).size).toBeGreaterThan(0);
    } finally {
      obj.close();
    }
  });

  it("opens from bytes with a name", () => {
    const bytes = new Uint8Array(readFileSync(fixture("minimal")));
    const obj = BpfObject.open(bytes, { name: "frombytes" });
    try {
      expect(obj.name).toBe("frombytes");
      obj.load();
      expect(obj.loaded).toBe(true);
      expect(obj.program("xdp_pass").fd).toBeGreaterThan(0);
    } finally {
      obj.close();
    }
  });

  it("opens a file: URL, as a script names a file beside it (new URL(..., import.meta.url))", () => {
    const url = pathToFileURL(fixture("minimal"));
    {
      using obj = BpfObject.open(url);
      expect(obj.name).toBe("minimal");
      obj.load();
      expect(obj.program("xdp_pass").fd).toBeGreaterThan(0);
    }
    const http = thrown(() =>
      BpfObject.open(new URL("https://example.com/x.bpf.o")),
    );
    expect(http).toBeInstanceOf(BpfTypeError);
    expect(http.message).toMatch(/file: URL.*https:/);
    expect(() => BpfObject.open(new URL("./nope.bpf.o", url))).toThrow(
      /no such file .*nope\.bpf\.o.*ENOENT/,
    );
  });

  it("opens a path from the bytes it checked, named as libbpf names the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-open-"));
    try {
      for (const [file, name, data] of [
        ["globals.bpf.o", "globals", "globals.data"],
        [
          "a_very_long_object_name.v2.bpf.o",
          "a_very_long_obj",
          "a_very_l.data",
        ],
        ["noext", "noext", "noext.data"],
      ]) {
        const path = join(dir, file!);
        writeFileSync(path, readFileSync(fixture("globals")));
        const log: string[] = [];
        using obj = BpfObject.open(path, {
          logHandler: (_level, line) => void log.push(line),
        });
        // libbpf took our bytes: a file replaced after the check is never opened.
        expect(log.join("")).toMatch(/loading object '[^']+' from buffer/);
        expect(log.join("")).not.toContain(path);
        expect(obj.name).toBe(name);
        expect(obj.maps.map((m) => m.name)).toContain(data);
        // The given name wins, as for bytes.
        using named = BpfObject.open(path, { name: "given" });
        expect(named.name).toBe("given");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("configures autoload and maxEntries before load only", () => {
    const obj = BpfObject.open(fixture("attach"));
    try {
      const p = obj.program("on_kprobe");
      expect(p.autoload).toBe(true);
      p.autoload = false;
      expect(p.autoload).toBe(false);
      const bss = obj.map("attach.bss");
      expect(bss.maxEntries).toBe(1);
      expect(() => p.fd).toThrow(StateError);
      obj.load();
      expect(() => p.fd).toThrow(/not loaded/);
      expect(obj.program("on_getpid").fd).toBeGreaterThan(0);
      expect(() => (p.autoload = true)).toThrow(StateError);
      expect(() => (bss.maxEntries = 2)).toThrow(StateError);
      expect(() => obj.load()).toThrow(StateError);
    } finally {
      obj.close();
    }
  });

  it("names what exists when a program or map is unknown", () => {
    const obj = BpfObject.open(fixture("minimal"));
    try {
      expect(() => obj.program("nope")).toThrow(NotFoundError);
      expect(() => obj.program("nope")).toThrow(/available: xdp_pass/);
      expect(() => obj.map("nope")).toThrow(
        /no map named 'nope'; there are none/,
      );
    } finally {
      obj.close();
    }
  });

  it("is a ClosedError after close, never a crash; close is idempotent", () => {
    const obj = BpfObject.open(fixture("globals"));
    const prog = obj.program("count_getppid");
    const map = obj.map("globals.bss");
    obj.load();
    obj.close();
    obj.close();
    expect(obj.closed).toBe(true);
    expect(() => obj.programs).toThrow(ClosedError);
    expect(() => obj.program("count_getppid")).toThrow(ClosedError);
    expect(() => obj.btf).toThrow(ClosedError);
    expect(() => obj.load()).toThrow(ClosedError);
    expect(() => prog.fd).toThrow(ClosedError);
    expect(() => prog.attach()).toThrow(ClosedError);
    expect(() => prog.testRun()).toThrow(ClosedError);
    expect(() => map.fd).toThrow(ClosedError);
    expect(() => map.maxEntries).toThrow(ClosedError);
    expect(() => obj.globals.counter).toThrow(ClosedError);
  });

  it("closes handles of programs and maps on their own", () => {
    const obj = BpfObject.open(fixture("minimal"));
    try {
      const p = obj.program("xdp_pass");
      p.close();
      expect(() => p.type).toThrow(ClosedError);
      expect(obj.program("xdp_pass").type).toBe("xdp"); // a fresh handle
      obj.load();
      expect(obj.program("xdp_pass").fd).toBeGreaterThan(0);
    } finally {
      obj.close();
    }
  });

  it("disposes with `using`", () => {
    let seen: BpfObject;
    {
      using obj = BpfObject.open(fixture("minimal"));
      seen = obj;
      obj.load();
    }
    expect(seen.closed).toBe(true);
  });

  it("rejects non-ELF and corrupt input clearly", () => {
    expect(() => BpfObject.open(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(
      ElfError,
    );
    expect(() => BpfObject.open(new Uint8Array(0))).toThrow(/not an ELF file/);
    const truncated = new Uint8Array(readFileSync(fixture("minimal"))).slice(
      0,
      300,
    );
    // Our ELF reader sees the damage before libbpf does.
    const cut = thrown(() => BpfObject.open(truncated));
    expect(cut).toBeInstanceOf(ElfError);
    expect((cut as ElfError).hint).toMatch(/damaged or truncated/);
    // A dangling BTF type id crashes libbpf 1.1's open: refused before it.
    const dangling = withDanglingVar(readFileSync(fixture("maps")));
    const bad = thrown(() => BpfObject.open(dangling));
    expect(bad).toBeInstanceOf(BtfError);
    expect(bad.message).toMatch(/its BTF is corrupt: type \d+ refers to type/);
    const path = join(dirname(fixture("maps")), `corrupt-${process.pid}.bpf.o`);
    writeFileSync(path, dangling);
    try {
      expect(() => BpfObject.open(path)).toThrow(/its BTF is corrupt/);
    } finally {
      rmSync(path, { force: true });
    }
    expect(() => BpfObject.open("/nonexistent/x.bpf.o")).toThrow(/ENOENT/);
    // Built without -g: libbpf says ENOENT ("BTF is required") with no
    // hint; the maps of SEC(".maps") need BTF, so the fix is -g.
    const noBtf = thrown(() =>
      BpfObject.open(withoutBtf(readFileSync(fixture("maps")))),
    );
    expect(noBtf).toBeInstanceOf(BtfError);
    expect(noBtf.message).toMatch(/has no BTF .* SEC\("\.maps"\)/);
    expect((noBtf as BtfError).hint).toMatch(/clang -g /);
    // A directory, or a file we may not read: a TsbpfError naming the path.
    const dir = dirname(fixture("minimal"));
    expect(() => BpfObject.open(dir)).toThrow(TsbpfError);
    expect(() => BpfObject.open(dir)).toThrow(
      `cannot read '${dir}': it is a directory`,
    );
    const host = readFileSync("/proc/self/exe").subarray(0, 4);
    expect(host[0]).toBe(0x7f);
  });

  it("leaves fds, programs and pins as they were after 200 cycles", () => {
    const path = fixture("attach");
    const bytes = new Uint8Array(readFileSync(path));
    const cycle = (i: number) => {
      const obj = BpfObject.open(i % 2 ? path : bytes);
      for (const p of obj.programs) {
        p.autoload = p.name === "on_sys_enter" || p.name === "on_getpid";
      }
      obj.globals.raw_tp_hits = BigInt(i);
      obj.load();
      const link = obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
      // A tracepoint detach costs the kernel ~60 ms (RCU): only some cycles.
      if (i % 25 === 0) obj.program("on_getpid").attach();
      void obj.globals.tp_hits; // mmaps the .bss
      if (i % 3 === 0) link.close();
      obj.close(); // destroys the links still open
    };
    // Warm-up: the first cycle loads libbpf, libc and the runtime's lazies;
    // a first spawn (bpftool) opens the runtime's child-process fds.
    cycle(0);
    const progs = ourPrograms();
    const fds = bpfFds();
    const total = openFds().length;
    const pins = ourPins();
    for (let i = 1; i <= 200; i++) cycle(i);
    expect(bpfFds()).toEqual(fds);
    // A per-cycle leak would add ≥ 200; allow the runtime a few of its own.
    expect(openFds().length).toBeLessThan(total + 5);
    expect(ourPrograms()).toBe(progs);
    // Nothing new (what others unpinned meanwhile may be gone).
    expect(ourPins().filter((n) => !pins.includes(n))).toEqual([]);
  }, 60_000);
});
