/**
 * Maps of a loaded object (fixtures/maps.bpf.c): typed keys and values from
 * BTF, struct values written by a program on a real tracepoint, per-CPU,
 * array, LRU, stack trace, queue/stack and map-in-map maps, flag semantics,
 * error messages, and use before load / after close.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import type { AnyStructView } from "../../src/btf/views.ts";
import {
  BpfError,
  BpfTypeError,
  ClosedError,
  StateError,
} from "../../src/errors.ts";
import type { BpfLink } from "../../src/link.ts";
import { BpfMap, possibleCpus } from "../../src/map.ts";
import type { StackBuildIdFrame } from "../../src/map_codecs.ts";
import {
  BPF_EXIST,
  BPF_F_LOCK,
  BPF_NOEXIST,
  MAP_FLAGS,
} from "../../src/map_types.ts";
import { BpfObject } from "../../src/object.ts";
import { fixture, isRoot, need, thrown } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");

describe.skipIf(!root)("object maps before load", () => {
  it("maxEntries and pinPath set before load are what the kernel gets", () => {
    const dir = `/sys/fs/bpf/tsbpf-maps-test-${process.pid}`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    try {
      const open = () => {
        const obj = BpfObject.open(fixture("maps"));
        obj.program("on_getppid").autoload = false;
        obj.map("tiny").maxEntries = 6;
        obj.map("counts").pinPath = `${dir}/counts`;
        obj.load();
        return obj;
      };
      using a = open();
      const tiny = a.map("tiny");
      expect(tiny.maxEntries).toBe(6);
      for (let i = 0; i < 6; i++) tiny.set(i, 1n); // 4 in the C source
      expect(() => tiny.set(6, 1n)).toThrow(/E2BIG/);
      expect(existsSync(`${dir}/counts`)).toBe(true);
      a.map("counts").set(7, 70n);
      // A second object with the same pinPath reuses the pinned map.
      using b = open();
      expect(b.map("counts").id).toBe(a.map("counts").id);
      expect(b.map("counts").get(7)).toBe(70n);
      b.map("counts").unpin();
      expect(existsSync(`${dir}/counts`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a pinned map that differs from the object's says how to replace it", () => {
    const dir = `/sys/fs/bpf/tsbpf-maps-reuse-${process.pid}`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    try {
      const open = (maxEntries?: number) => {
        const obj = BpfObject.open(fixture("maps"));
        obj.program("on_getppid").autoload = false;
        obj.map("counts").pinPath = `${dir}/counts`;
        if (maxEntries) obj.map("counts").maxEntries = maxEntries;
        return obj;
      };
      using a = open();
      a.load();
      using b = open(5);
      const e = thrown(() => b.load()) as BpfError;
      expect(e.message).toMatch(/couldn't reuse pinned map/);
      expect(e.hint).toBe(
        `the map pinned at ${dir}/counts differs from the object's (type, key or value size, maxEntries, flags or inner map): unpin it (rm ${dir}/counts) to have load() create and pin a new one, or give this map another pinPath`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a pinPath off bpffs fails the load with the mount hint", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-not-bpffs-"));
    try {
      using obj = BpfObject.open(fixture("maps"));
      obj.program("on_getppid").autoload = false;
      obj.map("counts").pinPath = `${dir}/sub/counts`;
      const e = thrown(() => obj.load()) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect(e.message).toMatch(/map 'counts' pinPath .*: Invalid argument/);
      expect(e.hint).toMatch(
        `${dir}/sub/counts is not on a bpf filesystem: mount -t bpf bpf /sys/fs/bpf`,
      );
      // Checked before libbpf: no directory made, and a fixed path loads.
      expect(existsSync(`${dir}/sub`)).toBe(false);
      obj.map("counts").pinPath = null;
      obj.load();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("element access is a StateError until load", () => {
    using obj = BpfObject.open(fixture("maps"));
    const m = obj.map("counts");
    expect(m.type).toBe("hash");
    expect(m.keySize).toBe(4);
    expect(() => m.get(1)).toThrow(StateError);
    expect(() => m.set(1, 1n)).toThrow(
      /object not loaded: call obj.load\(\) first/,
    );
    expect(() => [...m.entries()]).toThrow(StateError);
    expect(() => m.fd).toThrow(StateError);
  });
});

describe.skipIf(!root)("object maps", () => {
  let obj: BpfObject;
  let link: BpfLink;
  const pid = root ? libc().getpid() : 0;
  /** Calls getppid `n` times: what the program counts (see maps.bpf.c). */
  const trigger = (n: number) => {
    for (let i = 0; i < n; i++) libc().getppid();
  };

  beforeAll(() => {
    obj = BpfObject.open(fixture("maps"));
    obj.globals.target_pid = pid;
    obj.load();
    link = obj
      .program("on_getppid")
      .attachTracepoint("syscalls", "sys_enter_getppid");
  });
  afterAll(() => {
    link?.close();
    obj?.close();
  });

  it("map<K, V>(name) says what the caller expects (typed entries, still checked at run time)", () => {
    const arr = obj.map<number, bigint>("arr");
    arr.set(1, 5n);
    const v: bigint | undefined = arr.get(1);
    expect(v).toBe(5n);
    const sum: bigint = [...arr.values()].reduce((a, b) => a + b, 0n);
    expect(sum).toBeGreaterThanOrEqual(5n);
    // The map's BTF still decides: a wrong key is refused as before.
    expect(() => obj.map<string, bigint>("arr").get("x")).toThrow(BpfTypeError);
    arr.set(1, 0n);
  });

  it("types a hash map from BTF: u32 → u64", () => {
    const m = obj.map("counts");
    expect(m.keyType).toBe("u32");
    expect(m.valueType).toBe("u64");
    expect(m.get(7)).toBeUndefined();
    m.set(7, 70n);
    m.set(8, 80); // a safe-integer number is accepted for u64
    m.set(new Uint8Array([9, 0, 0, 0]), new Uint8Array(8).fill(1));
    expect(m.get(7)).toBe(70n);
    expect(m.get(8)).toBe(80n);
    expect(m.get(9)).toBe(0x0101010101010101n);
    expect(m.has(8)).toBe(true);
    expect(m.has(10)).toBe(false);
    expect(m.count()).toBe(3);
    expect(new Map(m.entries())).toEqual(
      new Map<unknown, unknown>([
        [7, 70n],
        [8, 80n],
        [9, 0x0101010101010101n],
      ]),
    );
    expect([...m.keys()].sort()).toEqual([7, 8, 9]);
    expect([...m.values()].length).toBe(3);
    expect([...m].length).toBe(3);
    expect(m.delete(8)).toBe(true);
    expect(m.delete(8)).toBe(false);
    expect(m.lookupAndDelete(7)).toBe(70n);
    expect(m.get(7)).toBeUndefined();
    m.clear();
    expect(m.count()).toBe(0);
  });

  it("rejects keys and values of the wrong type or size, naming the map", () => {
    const m = obj.map("counts");
    const e = thrown(() => m.set("1" as never, 1n));
    expect(e).toBeInstanceOf(BpfTypeError);
    expect(e.message).toContain(
      "map 'counts': key must be u32 (number 0..4294967295) or a 4-byte Uint8Array; got string",
    );
    expect(() => m.get(-1)).toThrow(/key must be u32/);
    expect(() => m.get(2 ** 32)).toThrow(BpfTypeError);
    expect(() => m.get(1.5)).toThrow(BpfTypeError);
    expect(() => m.get(new Uint8Array(3))).toThrow(/got a 3-byte Uint8Array/);
    expect(() => m.set(1, "x")).toThrow(
      /map 'counts': value must be u64 .* or a 8-byte Uint8Array; got string "x"/,
    );
    expect(() => m.set(1, -1n)).toThrow(BpfTypeError);
    expect(() => m.set(1, 2n ** 64n)).toThrow(BpfTypeError);
    expect(() => m.set(1, 1n, "sometimes" as never)).toThrow(/flags must be/);
    expect(m.count()).toBe(0);
  });

  it("flags: noexist on an existing key is EEXIST, exist on a missing one ENOENT", () => {
    const m = obj.map("counts");
    m.set(1, 1n, "noexist");
    const e = thrown(() => m.set(1, 2n, "noexist")) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("EEXIST");
    expect(e.message).toContain("map 'counts'");
    expect(e.hint).toMatch(/already exists.*'any' to overwrite/);
    expect(m.get(1)).toBe(1n);
    m.set(1, 3n, "exist");
    expect(m.get(1)).toBe(3n);
    const e2 = thrown(() => m.set(2, 1n, BPF_EXIST)) as BpfError;
    expect(e2.code).toBe("ENOENT");
    expect(e2.hint).toMatch(/does not exist/);
    expect(() => m.set(1, 1n, BPF_NOEXIST)).toThrow(/EEXIST/);
    m.clear();
  });

  it("a full hash map says so (E2BIG)", () => {
    const m = obj.map("tiny");
    for (let i = 0; i < 4; i++) m.set(i, BigInt(i));
    const e = thrown(() => m.set(99, 1n)) as BpfError;
    expect(e.code).toBe("E2BIG");
    expect(e.hint).toMatch(/map is full.*maxEntries/);
    m.set(3, 33n); // updating an existing key still works
    expect(m.get(3)).toBe(33n);
    m.clear();
  });

  it("array maps: every index exists, delete is refused, clear zeroes", () => {
    const m = obj.map("arr");
    expect(m.get(0)).toBe(0n);
    m.set(3, 33n);
    expect(m.get(3)).toBe(33n);
    expect([...m.entries()].length).toBe(8);
    expect(m.count()).toBe(8);
    const e = thrown(() => m.delete(3)) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("EINVAL");
    expect(e.hint).toMatch(/array maps cannot delete/);
    const oob = thrown(() => m.set(8, 1n)) as BpfError;
    expect(oob.code).toBe("E2BIG");
    expect(oob.hint).toMatch(/index out of range.*0\.\.7/);
    m.setMany([
      [1, 11n],
      [2, 22n],
    ]);
    expect(m.get(2)).toBe(22n);
    m.clear();
    expect([...m.values()]).toEqual(new Array(8).fill(0n));
  });

  it("LRU hash maps evict instead of failing when full", () => {
    const m = obj.map("lru");
    expect(m.type).toBe("lru_hash");
    for (let i = 0; i < 500; i++) m.set(i, i);
    expect(m.count()).toBeLessThanOrEqual(64);
    expect(m.get(499)).toBe(499);
    m.clear();
    expect(m.count()).toBe(0);
  });

  it("struct values written by a tracepoint program read back as views", () => {
    trigger(3);
    const m = obj.map("stats");
    expect(m.valueType).toBe("struct process_stats");
    const v = m.get(pid) as AnyStructView;
    expect(v.pid).toBe(pid);
    expect(v.calls).toBeGreaterThanOrEqual(3);
    expect(typeof v.last_ns).toBe("bigint");
    const comm = readFileSync("/proc/thread-self/comm", "utf8").trim();
    expect(v.comm).toBe(comm.slice(0, 15));
    expect(v.toObject()).toEqual({
      pid,
      calls: v.calls,
      last_ns: v.last_ns,
      comm: v.comm,
    });
    // Detached: a view over a copy.
    v.calls = 1000;
    expect((m.get(pid) as AnyStructView).calls).not.toBe(1000);
    // Written back from a view or a plain object.
    m.set(pid, v);
    expect((m.get(pid) as AnyStructView).calls).toBeGreaterThanOrEqual(1000);
    m.set(12345, { pid: 12345, calls: 1, last_ns: 5n, comm: "x" });
    expect((m.get(12345) as AnyStructView).toObject()).toEqual({
      pid: 12345,
      calls: 1,
      last_ns: 5n,
      comm: "x",
    });
    const e = thrown(() => m.set(1, { pid: "no" }));
    expect(e).toBeInstanceOf(BpfTypeError);
    expect(e.message).toMatch(
      /map 'stats': value must be struct process_stats .* or a 32-byte Uint8Array/,
    );
    m.delete(12345);
  });

  it("per-CPU maps: one value per possible CPU, 4-byte values 8 apart", () => {
    const cpus = possibleCpus();
    const arr = obj.map("pcpu_arr");
    const before = (arr.get(0) as number[]).reduce((a, b) => a + b, 0);
    trigger(5);
    const after = arr.get(0) as number[];
    expect(after.length).toBe(cpus);
    expect(after.reduce((a, b) => a + b, 0) - before).toBe(5);
    arr.set(1, 7); // one value for all CPUs
    expect(arr.get(1)).toEqual(new Array(cpus).fill(7));
    const each = Array.from({ length: cpus }, (_, i) => i + 1);
    arr.set(2, each);
    expect(arr.get(2)).toEqual(each);
    expect(() =>
      arr.set(2, [1, 2, 3, 4, 5, 6, 7, 8, 9].slice(0, cpus + 1)),
    ).toThrow(new RegExp(`array of ${cpus} values \\(one per possible CPU\\)`));
    expect([...arr.entries()][2]).toEqual([2, each]);
    arr.clear();
    expect(arr.get(2)).toEqual(new Array(cpus).fill(0));

    const h = obj.map("pcpu_hash");
    const calls = (h.get(pid) as bigint[]).reduce((a, b) => a + b, 0n);
    expect(calls).toBeGreaterThanOrEqual(5n);
    expect(new Map(h.entries()).get(pid)).toEqual(h.get(pid));
  });

  it("drain() of a map a program counts in: what it counts afterwards stays for the next drain", () => {
    const h = obj.map("pcpu_hash");
    trigger(3);
    const sum = (v: unknown) => (v as bigint[]).reduce((a, b) => a + b, 0n);
    const first = new Map(h.drain());
    expect(sum(first.get(pid))).toBeGreaterThanOrEqual(3n);
    expect(h.has(pid)).toBe(false);
    trigger(2);
    const second = new Map(h.drain({ batchSize: 1 }));
    expect(sum(second.get(pid))).toBe(2n);
  });

  it("stack trace maps: a kernel stack from bpf_get_stackid", () => {
    trigger(1);
    const id = Number(obj.globals.last_stack_id);
    expect(id).toBeGreaterThanOrEqual(0);
    const m = obj.map("stacks");
    expect(m.type).toBe("stack_trace");
    const frames = m.get(id) as BigUint64Array;
    expect(frames).toBeInstanceOf(BigUint64Array);
    expect(frames.length).toBeGreaterThan(0);
    for (const ip of frames) expect(ip >= 0xffff800000000000n).toBe(true);
    // No batch lookup for stack maps: iteration walks get_next_key.
    expect([...m.keys()]).toContain(id);
    expect(m.delete(id)).toBe(true);
  });

  it("stack trace maps: a negative stack id (bpf_get_stackid's error) is a BpfTypeError saying which error and what to do", () => {
    const m = obj.map("stacks");
    const efault = thrown(() => m.get(-14)) as BpfTypeError;
    expect(efault).toBeInstanceOf(BpfTypeError);
    expect(efault.message.split("\n")[0]).toBe(
      "map 'stacks': stack id -14 is not an id but the error bpf_get_stackid() returned: EFAULT (Bad address)",
    );
    expect(efault.hint).toMatch(
      /no stack to take.*skip keys whose stack id is negative/,
    );
    const eexist = thrown(() => m.has(-17)) as BpfTypeError;
    expect(eexist.hint).toMatch(/max_entries.*BPF_F_REUSE_STACKID/);
    expect((thrown(() => m.delete(-12)) as BpfTypeError).hint).toMatch(
      /stack map is full/,
    );
    // Typed by hand, the same.
    using typed = BpfMap.fromId(m.id, { key: "u32" });
    expect(() => typed.get(-14)).toThrow(/stack id -14 is not an id/);
    // Not an errno at all: the plain u32 message.
    expect(() => m.get(-100000)).toThrow(/key must be u32/);
  });

  it("stack trace maps: an id past the map's buckets is absent for delete() and deleteMany(), as for get()", () => {
    const m = obj.map("stacks");
    // stackmap.c: lookup says ENOENT there, delete E2BIG.
    expect(m.get(1 << 20)).toBeUndefined();
    expect(m.has(1 << 20)).toBe(false);
    expect(m.delete(1 << 20)).toBe(false);
    expect(m.deleteMany([1 << 20, 2 ** 32 - 1])).toBe(0);
  });

  it("stack trace maps: set() is refused by the kernel, with a hint saying who writes stacks", () => {
    const m = obj.map("stacks");
    const e = thrown(() => m.set(0, new BigUint64Array([1n, 2n]))) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("EINVAL");
    expect(e.hint).toBe(
      "a stack_trace map takes its stacks from bpf_get_stackid() only: user space can read and delete them, not write them",
    );
  });

  it("stack trace maps of build ids (BPF_F_STACK_BUILD_ID): frames as build id + offset, or ip", () => {
    trigger(1);
    const id = Number(obj.globals.last_build_id_stack);
    expect(id).toBeGreaterThanOrEqual(0);
    const m = obj.map("build_id_stacks");
    expect(m.valueType).toBe("struct bpf_stack_build_id[32] (stack frames)");
    const frames = m.get(id) as StackBuildIdFrame[];
    expect(Array.isArray(frames)).toBe(true);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.length).toBeLessThanOrEqual(32);
    for (const f of frames) {
      if ("buildId" in f) {
        expect(f.buildId).toMatch(/^[0-9a-f]{40}$/);
        expect(typeof f.offset).toBe("bigint");
      } else {
        // The kernel could not read a build id: the user address instead.
        expect(f.ip > 0n && f.ip < 0x800000000000n).toBe(true);
      }
    }
    // The raw bytes say the same.
    using bytes = BpfMap.fromId(m.id, { key: "u32", value: m.valueSize });
    const raw = bytes.get(id) as Uint8Array;
    const dv = new DataView(raw.buffer);
    expect(dv.getInt32(frames.length * 32, true)).toBe(0); // EMPTY after the last
    expect(dv.getInt32(0, true)).toBe("buildId" in frames[0]! ? 1 : 2);
  });

  it("maps without BTF types use bytes; withTypes() types them", () => {
    const m = obj.map("raw");
    expect(m.keyType).toBe("3 bytes");
    m.set(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3, 4, 5]));
    expect(m.get(new Uint8Array([1, 2, 3]))).toEqual(
      new Uint8Array([1, 2, 3, 4, 5]),
    );
    expect(() => m.get(1 as never)).toThrow(
      /map 'raw': key must be 3 bytes .* or a 3-byte Uint8Array; got number 1/,
    );
    const t = m.withTypes({ key: "char[3]", value: "u8[5]" });
    expect(t.get("\x01\x02\x03")).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
    expect(() => m.withTypes({ value: "u64" })).toThrow(
      /value type u64 is 8 bytes but the map's values are 5 bytes/,
    );
    m.withTypes({ value: 5 }).clear();
    expect(m.count()).toBe(0);
  });

  it("queue and stack maps: push, pop, peek", () => {
    trigger(2);
    const q = obj.map("queue");
    expect(q.pop()).toBe(pid);
    q.clear();
    expect(q.pop()).toBeUndefined();
    q.push(1);
    q.push(2);
    expect(q.peek()).toBe(1);
    expect(q.pop()).toBe(1);
    expect(q.pop()).toBe(2);
    expect(() => [...q.keys()]).toThrow(/has no keys: use push\/pop\/peek/);
    const s = obj.map("lifo");
    s.push(1n);
    s.push(2n);
    expect(s.pop()).toBe(2n);
    expect(s.pop()).toBe(1n);
    expect(s.pop()).toBeUndefined();
    for (let i = 0; i < 16; i++) s.push(BigInt(i));
    expect(() => s.push(99n)).toThrow(BpfError);
    s.push(99n, "exist"); // BPF_EXIST: overwrite the oldest
    expect(s.pop()).toBe(99n);
    s.clear();
    expect(s.peek()).toBeUndefined();
  });

  it("map-in-map: set an inner map by BpfMap or fd, get returns its id", () => {
    const outer = obj.map("outer");
    expect(outer.get(0)).toBe(obj.map("inner1").id);
    expect(outer.get(1)).toBeUndefined();
    using inner = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u64",
      maxEntries: 8,
    });
    outer.set(1, inner);
    expect(outer.get(1)).toBe(inner.id);
    trigger(2); // the program counts into outer[1]
    expect(inner.get(pid)! >= 2n).toBe(true);
    expect(outer.delete(1)).toBe(true);
    outer.set(2, inner.fd);
    expect(outer.get(2)).toBe(inner.id);
    expect(() => outer.set(3, "x")).toThrow(/a BpfMap or a map fd/);
    outer.delete(2);

    const byHash = obj.map("outer_hash");
    byHash.set(42, inner);
    expect(new Map(byHash.entries())).toEqual(new Map([[42, inner.id]]));
    byHash.clear();
    expect(byHash.count()).toBe(0);
  });
});

describe.skipIf(!root)("prog_array: tail calls", () => {
  it("set a program (or its fd), get its id, delete falls through", () => {
    using obj = BpfObject.open(fixture("tail_call"));
    obj.load();
    const jumps = obj.map("jumps");
    const entry = obj.program("entry");
    const target = obj.program("drop_all");
    const pkt = new Uint8Array(64);
    const XDP_DROP = 1;
    const XDP_PASS = 2;
    expect(entry.testRun({ data: pkt }).retval).toBe(XDP_PASS);
    jumps.set(0, target);
    expect(jumps.get(0)).toBe(target.id);
    expect(entry.testRun({ data: pkt }).retval).toBe(XDP_DROP);
    expect(jumps.delete(0)).toBe(true);
    expect(entry.testRun({ data: pkt }).retval).toBe(XDP_PASS);
    jumps.set(1, target.fd);
    expect([...jumps.keys()]).toEqual([1]);
    expect(() => jumps.set(2, "x" as never)).toThrow(
      /a BpfProgram or a program fd/,
    );
    // Past maxEntries: an index out of range, not "the map is full".
    expect(() => jumps.set(9, target)).toThrow(
      /index out of range: 'jumps' has indices 0\.\.3/,
    );
  });
});

describe.skipIf(!root)("object maps: pinning and read-only errors", () => {
  it("a failed pin() leaves no pin path behind; a pinned map moves by unpin()", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-not-bpffs-"));
    const first = `/sys/fs/bpf/tsbpf-maps-test-${process.pid}-a`;
    const second = `/sys/fs/bpf/tsbpf-maps-test-${process.pid}-b`;
    try {
      using obj = BpfObject.open(fixture("maps"));
      obj.program("on_getppid").autoload = false;
      obj.load();
      const m = obj.map("counts");
      const e = thrown(() => m.pin(`${dir}/counts`)) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect(e.hint).toMatch(/not on a bpf filesystem/);
      expect(m.pinPath).toBeNull();
      m.pin(first);
      expect(existsSync(first)).toBe(true);
      expect(() => m.pin(second)).toThrow(
        new RegExp(`pinned at ${first}: unpin\\(\\) it first`),
      );
      m.unpin();
      m.pin(second);
      expect(m.pinPath).toBe(second);
      expect(existsSync(second)).toBe(true);
      m.unpin();
      expect(existsSync(second)).toBe(false);
      // Through a symlink to a bpffs directory, as the kernel allows.
      mkdirSync(first);
      symlinkSync(first, `${dir}/link`);
      m.pin(`${dir}/link/counts`);
      expect(existsSync(`${first}/counts`)).toBe(true);
      m.unpin();
    } finally {
      rmSync(first, { recursive: true, force: true });
      rmSync(second, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a write to a read-only map says why it is read-only", () => {
    using obj = BpfObject.open(fixture("maps"));
    obj.program("on_getppid").autoload = false;
    obj.load();
    const rodata = obj.maps.find((m) => m.name.endsWith(".rodata"))!;
    const frozen = thrown(() =>
      rodata.set(0, new Uint8Array(rodata.valueSize)),
    ) as BpfError;
    expect(frozen.code).toBe("EPERM");
    expect(frozen.hint).toMatch(
      /freezes '.*\.rodata' at load.*before load\(\)/,
    );
    expect(rodata.frozen).toBe(true);
    rodata.freeze(); // frozen already: nothing to do
    using m = BpfMap.create({
      type: "array",
      key: "u32",
      value: "u32",
      maxEntries: 1,
      flags: MAP_FLAGS.rdonly,
    });
    expect(m.flags & MAP_FLAGS.rdonly).toBe(MAP_FLAGS.rdonly);
    expect(m.get(0)).toBe(0);
    const e = thrown(() => m.set(0, 1)) as BpfError;
    expect(e.code).toBe("EPERM");
    expect(e.hint).toMatch(/created read-only for user space \(BPF_F_RDONLY/);
    const take = thrown(() => m.lookupAndDelete(0)) as BpfError;
    expect(take.code).toBe("EPERM");
    expect(take.hint).toMatch(/created read-only for user space/);
  });

  it("a read of a write-only map says why it cannot be read", () => {
    using m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u32",
      maxEntries: 1,
      flags: MAP_FLAGS.wronly,
    });
    m.set(0, 1);
    for (const read of [() => m.get(0), () => [...m.keys()]]) {
      const e = thrown(read) as BpfError;
      expect(e.code).toBe("EPERM");
      expect(e.hint).toMatch(
        /created write-only for user space \(BPF_F_WRONLY, MAP_FLAGS.wronly\)/,
      );
    }
    expect(m.delete(0)).toBe(true);
  });

  it("BPF_F_LOCK: a spin-locked value is written and read whole under its lock", () => {
    using obj = BpfObject.open(fixture("maps"));
    obj.program("on_getppid").autoload = false;
    obj.load();
    const m = obj.map("locked");
    m.set(1, { a: 1n, b: 2n }, BPF_F_LOCK);
    const v = m.get(1, BPF_F_LOCK) as AnyStructView;
    expect([v.a, v.b]).toEqual([1n, 2n]);
    expect(m.get(2, BPF_F_LOCK)).toBeUndefined();
    expect((m.get(1) as AnyStructView).b).toBe(2n);
    m.set(3, { a: 3n, b: 4n });
    for (const batch of [true, false]) {
      const all = [...m.entries({ lock: true, batch })].map(([k, x]) => [
        k,
        (x as AnyStructView).a,
        (x as AnyStructView).b,
      ]);
      expect(all.sort()).toEqual([
        [1, 1n, 2n],
        [3, 3n, 4n],
      ]);
    }
    const bad = thrown(() => m.get(1, 8)) as BpfError;
    expect(bad.code).toBe("EINVAL");
    expect(bad.hint).toMatch(/a lookup does not take: only BPF_F_LOCK/);
    expect(() => m.get(1, "lock" as never)).toThrow(
      /flags of a lookup are BPF_F_LOCK or 0/,
    );
    const plain = thrown(() =>
      obj.map("counts").get(1, BPF_F_LOCK),
    ) as BpfError;
    expect(plain.code).toBe("EINVAL");
    expect(plain.hint).toMatch(
      /BPF_F_LOCK needs a value type with a struct bpf_spin_lock/,
    );
    obj.map("counts").set(1, 1n);
    const listed = thrown(() => [
      ...obj.map("counts").entries({ lock: true }),
    ]) as BpfError;
    expect(listed.code).toBe("EINVAL");
    expect(listed.hint).toMatch(/BPF_F_LOCK needs a value type/);
  });

  it("lock flags take options as iteration does: get(k, { lock: true }), set(k, v, { mode, lock }), setMany", () => {
    using obj = BpfObject.open(fixture("maps"));
    obj.program("on_getppid").autoload = false;
    obj.load();
    const m = obj.map("locked");
    const ab = (x: unknown) => [(x as AnyStructView).a, (x as AnyStructView).b];
    m.set(1, { a: 1n, b: 2n }, { lock: true });
    expect(ab(m.get(1, { lock: true }))).toEqual([1n, 2n]);
    expect(m.get(2, { lock: true })).toBeUndefined();
    expect(ab(m.get(1, { lock: false }))).toEqual([1n, 2n]);
    m.set(1, { a: 5n, b: 6n }, { mode: "exist", lock: true });
    expect(ab(m.get(1, BPF_F_LOCK))).toEqual([5n, 6n]);
    m.setMany([[3, { a: 3n, b: 4n }]], { lock: true });
    expect(ab(m.get(3, { lock: true }))).toEqual([3n, 4n]);
    // The mode reaches the kernel as BPF_EXIST/BPF_NOEXIST.
    const absent = thrown(() =>
      m.set(9, { a: 0n, b: 0n }, { mode: "exist", lock: true }),
    ) as BpfError;
    expect(absent.code).toBe("ENOENT");
    const present = thrown(() =>
      m.set(1, { a: 0n, b: 0n }, { mode: "noexist" }),
    ) as BpfError;
    expect(present.code).toBe("EEXIST");
    expect(present.hint).toMatch(/only creates/);
    // And the lock: a value without a bpf_spin_lock refuses it.
    const counts = obj.map("counts");
    counts.set(1, 1n);
    for (const f of [
      () => counts.get(1, { lock: true }),
      () => counts.set(1, 2n, { lock: true }),
    ]) {
      const e = thrown(f) as BpfError;
      expect(e.code).toBe("EINVAL");
      expect(e.hint).toMatch(/BPF_F_LOCK needs a value type/);
    }
    // Options that are not options are typed errors, and change nothing.
    for (const bad of [
      { lock: 1 },
      { locked: true },
      { mode: "sometimes" },
      null,
      [],
    ]) {
      expect(() => m.set(1, { a: 7n, b: 7n }, bad as never)).toThrow(
        /flags must be "any", "noexist", "exist", \{ mode\?, lock\? \}/,
      );
    }
    for (const bad of [{ lock: "yes" }, { mode: "exist" }, null]) {
      expect(() => m.get(1, bad as never)).toThrow(BpfTypeError);
    }
    expect(ab(m.get(1))).toEqual([5n, 6n]);
  });

  it("lookupAndDelete and drain take { lock: true } (BPF_F_LOCK) on a hash map of spin-locked values", () => {
    using obj = BpfObject.open(fixture("maps"));
    obj.program("on_getppid").autoload = false;
    obj.load();
    const m = obj.map("locked");
    const ab = (x: unknown) => [(x as AnyStructView).a, (x as AnyStructView).b];
    m.set(1, { a: 1n, b: 2n });
    m.set(2, { a: 3n, b: 4n });
    expect(ab(m.lookupAndDelete(1, { lock: true }))).toEqual([1n, 2n]);
    expect(m.has(1)).toBe(false);
    expect(m.lookupAndDelete(1, { lock: true })).toBeUndefined();
    expect(ab(m.lookupAndDelete(2, BPF_F_LOCK))).toEqual([3n, 4n]);
    expect(m.count()).toBe(0);
    m.set(1, { a: 1n, b: 2n });
    m.set(3, { a: 5n, b: 6n });
    const drained = m
      .drain({ lock: true })
      .map(([k, v]) => [k, ...ab(v)])
      .sort();
    expect(drained).toEqual([
      [1, 1n, 2n],
      [3, 5n, 6n],
    ]);
    expect(m.count()).toBe(0);
    // A value without a bpf_spin_lock: the kernel's EINVAL, explained; the
    // entry stays in the map.
    const counts = obj.map("counts");
    counts.set(1, 1n);
    for (const f of [
      () => counts.lookupAndDelete(1, { lock: true }),
      () => counts.drain({ lock: true }),
    ]) {
      const e = thrown(f) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect(e.code).toBe("EINVAL");
      expect(e.hint).toMatch(/BPF_F_LOCK needs a value type/);
    }
    expect(counts.get(1)).toBe(1n);
    // Map types that cannot hold a bpf_spin_lock or cannot lookup-and-delete
    // one: a typed error before the kernel is asked; nothing taken.
    obj.map("lru").set(1, 1);
    obj.map("queue").push(7);
    for (const [f, type] of [
      [() => obj.map("lru").lookupAndDelete(1, { lock: true }), "lru_hash"],
      [() => obj.map("lru").drain({ lock: true }), "lru_hash"],
      [() => obj.map("pcpu_hash").drain({ lock: true }), "percpu_hash"],
      [
        () => obj.map("queue").lookupAndDelete(null as never, BPF_F_LOCK),
        "queue",
      ],
    ] as const) {
      const e = thrown(f) as BpfTypeError;
      expect(e).toBeInstanceOf(BpfTypeError);
      expect(e.message).toContain(`is a ${type} map`);
      expect(e.message).toMatch(/lock.*hash maps only/);
    }
    expect(obj.map("lru").get(1)).toBe(1);
    expect(obj.map("queue").peek()).toBe(7);
    // Options that are not options.
    for (const bad of [{ lock: 1 }, { locked: true }, "lock", null]) {
      expect(() => m.lookupAndDelete(1, bad as never)).toThrow(
        /the flags of a lookup-and-delete are BPF_F_LOCK or 0, or \{ lock\?: boolean \}/,
      );
    }
    expect(() => m.drain({ lock: "yes" } as never)).toThrow(BpfTypeError);
  });

  it("an operation a map type does not offer user space says so, not that the kernel lacks it", () => {
    using obj = BpfObject.open(fixture("maps"));
    obj.program("on_getppid").autoload = false;
    obj.load();
    const store = thrown(() => [...obj.map("task_store").keys()]) as BpfError;
    expect(store).toBeInstanceOf(BpfError);
    expect(store.code).toBe("ENOTSUPP");
    expect(store.message).toMatch(/map 'task_store'/);
    expect(store.hint).toMatch(
      /task_storage maps are keyed by an fd \(a pidfd\).*cannot list/,
    );
    using events = BpfMap.create({
      type: "perf_event_array",
      key: "u32",
      value: "u32",
      maxEntries: 1,
    });
    const read = thrown(() => events.get(0)) as BpfError;
    expect(read.code).toBe("ENOTSUPP");
    expect(read.hint).toMatch(/perf_event_array.*PerfBuffer/);
    expect(read.hint).not.toMatch(/kernel lacks/);
    using xsk = BpfMap.create({
      type: "xskmap",
      key: "u32",
      value: "u32",
      maxEntries: 1,
    });
    const x = thrown(() => xsk.get(0)) as BpfError;
    expect(x.code).toBe("EOPNOTSUPP");
    expect(x.hint).toMatch(/user space cannot read .* xskmap map/);
    using arr = BpfMap.create({
      type: "array",
      key: "u32",
      value: "u32",
      maxEntries: 1,
    });
    const take = thrown(() => arr.lookupAndDelete(0)) as BpfError;
    expect(take.hint).toMatch(/array maps cannot delete elements/);
  });
});

describe.skipIf(!root)("object maps after close", () => {
  it("are ClosedError", () => {
    const obj = BpfObject.open(fixture("maps"));
    obj.load();
    const m = obj.map("counts");
    m.set(1, 1n);
    const it = m.entries();
    obj.close();
    expect(() => m.get(1)).toThrow(ClosedError);
    expect(() => m.set(1, 1n)).toThrow(ClosedError);
    expect(() => it.next()).toThrow(ClosedError);
    expect(m.closed).toBe(true);
  });

  it("a closed map handle is ClosedError while the object lives", () => {
    using obj = BpfObject.open(fixture("maps"));
    obj.load();
    const m = obj.map("counts");
    m.set(1, 1n);
    m.close();
    expect(() => m.get(1)).toThrow(ClosedError);
  });
});
