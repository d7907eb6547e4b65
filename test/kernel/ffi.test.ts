/**
 * The native layer: runtime detection, libbpf loading, optional symbols,
 * errno, strings, memory, callbacks, epoll/eventfd.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  CALLBACKS,
  LIBBPF,
  cstr,
  errno,
  hasNonblockingCalls,
  hasSymbol,
  libbpf,
  libbpfCandidates,
  libbpfVersionNumbers,
  libc,
  mmap,
  nativeCallback,
  pageSize,
  ptrAdd,
  ptrOf,
  readCString,
  readU32,
  readU64,
  runtimeName,
  viewMemory,
} from "../../ffi/mod.ts";
import { UnsupportedError } from "../../src/errors.ts";
import { existsSync } from "node:fs";
import { ROOT, need } from "../_support/fixtures.ts";

/** Loads libbpf in a child with TSBPF_LIBBPF=`path`; its JSON result. */
function loadWith(path: string): Record<string, string | boolean> {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  const child = `${ROOT}/test/_support/error_child.ts`;
  const r = spawnSync(
    process.execPath,
    isDeno ? ["run", "-A", child, "libbpf"] : ["run", child, "libbpf"],
    {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, TSBPF_LIBBPF: path },
    },
  );
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const EFD_NONBLOCK = 0o4000;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;

describe("ffi", () => {
  it("a buffer's native address stays put after its .buffer is touched", () => {
    // In Bun a small typed array's bytes move out of line on first .buffer.
    const buf = new Uint8Array(8);
    const before = ptrAdd(ptrOf(buf), 0);
    void new DataView(buf.buffer);
    buf[0] = 42;
    expect(viewMemory(before, 8)[0]).toBe(42);
  });

  it("detects the runtime and loads libbpf ≥ 1.1", () => {
    expect(["bun", "deno"]).toContain(runtimeName());
    expect(libbpfCandidates()[0]).toBe(
      process.env.TSBPF_LIBBPF ?? "libbpf.so.1",
    );
    const v = libbpfVersionNumbers();
    expect(v.major * 100 + v.minor).toBeGreaterThan(100);
    expect(readCString(libbpf().libbpf_version_string())).toMatch(/^v1\./);
  });

  it("TSBPF_LIBBPF overrides the library path; a bad one is a clear FfiError", () => {
    const bogus = "/nonexistent/tsbpf/libbpf.so.1";
    const bad = loadWith(bogus);
    expect(bad.ok).toBe(false);
    expect(bad.name).toBe("FfiError");
    expect(bad.message).toMatch(/cannot load libbpf/);
    expect(bad.message).toContain(bogus); // names what it tried
    expect(bad.hint).toMatch(/TSBPF_LIBBPF/);
    const real = "/usr/lib/x86_64-linux-gnu/libbpf.so.1";
    if (need(existsSync(real), `no ${real} to point TSBPF_LIBBPF at`)) {
      const good = loadWith(real);
      expect(good).toEqual({ ok: true, path: real });
    }
  });

  it("declares optional symbols; calling an absent one is UnsupportedError", () => {
    const optional = Object.entries(LIBBPF).filter(([, d]) => "since" in d) as [
      keyof typeof LIBBPF,
      { since: string },
    ][];
    expect(optional.length).toBeGreaterThan(5);
    const absent = optional.filter(([k]) => !hasSymbol(k));
    for (const [k, d] of absent) {
      expect(() => (libbpf()[k] as () => unknown)()).toThrow(UnsupportedError);
      expect(() => (libbpf()[k] as () => unknown)()).toThrow(
        new RegExp(`needs libbpf ≥ ${d.since.replace(".", "\\.")}`),
      );
    }
    expect(hasSymbol("bpf_object__load")).toBe(true);
  });

  it("reads errno right after a failing call", () => {
    const fd = libc().open(cstr("/nonexistent/x"), 0, 0);
    expect(fd).toBe(-1);
    expect(errno()).toBe(2);
  });

  it("passes strings and reads them back", () => {
    const b = cstr("héllo");
    expect(b[b.length - 1]).toBe(0);
    expect(readCString(ptrOf(b))).toBe("héllo");
    expect(readCString(ptrAdd(ptrOf(b), 3))).toBe("llo");
    expect(readCString(null)).toBe("");
  });

  it("maps and views native memory", () => {
    const m = mmap(-1, pageSize(), 3, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */)!;
    expect(m).not.toBeNull();
    m.bytes.set([1, 0, 0, 0, 2, 0, 0, 0]);
    expect(readU32(m.ptr)).toBe(1);
    expect(readU64(m.ptr)).toBe(0x200000001n);
    expect(viewMemory(m.ptr, 8, 4)[0]).toBe(2);
    m.unmap();
    m.unmap();
    expect(mmap(-1, pageSize(), 3, 0x1 /* MAP_SHARED, bad fd */)).toBeNull();
    expect(errno()).toBe(9);
  });

  it("calls JS back from C on the same thread (libbpf print)", () => {
    const seen: number[] = [];
    const cb = nativeCallback(CALLBACKS.libbpf_print, (level) => {
      seen.push(level);
      return 0;
    });
    try {
      const L = libbpf();
      // The first call that may print takes libbpf's print function for
      // this thread (and sets the log router's): take it before ours.
      L.libbpf_num_possible_cpus();
      const prev = L.libbpf_set_print(cb.ptr);
      L.bpf_object__open_file(cstr("/nonexistent.bpf.o"), null);
      L.libbpf_set_print(prev);
    } finally {
      cb.close();
    }
    expect(seen).toContain(0); // LIBBPF_WARN
  });

  it("waits on eventfd through epoll", async () => {
    const c = libc();
    const efd = c.eventfd(0, EFD_NONBLOCK);
    const ep = c.epoll_create1(0);
    expect(efd).toBeGreaterThan(0);
    try {
      const ev = new Uint8Array(12); // struct epoll_event, packed on x86_64
      const v = new DataView(ev.buffer);
      v.setUint32(0, EPOLLIN, true);
      v.setUint32(4, 7, true);
      expect(c.epoll_ctl(ep, EPOLL_CTL_ADD, efd, ev)).toBe(0);
      const out = new Uint8Array(12 * 4);
      expect(c.epoll_wait(ep, out, 4, 0)).toBe(0);
      const one = new Uint8Array(8);
      new DataView(one.buffer).setBigUint64(0, 1n, true);
      expect(c.write(efd, one, 8)).toBe(8);
      const n = hasNonblockingCalls()
        ? await c.epoll_wait_nb(ep, out, 4, 1000)
        : c.epoll_wait(ep, out, 4, 1000);
      expect(n).toBe(1);
      expect(new DataView(out.buffer).getUint32(4, true)).toBe(7);
    } finally {
      c.close(ep);
      c.close(efd);
    }
  });
});
