/**
 * Standalone maps (BpfMap.create / fromPinned / fromId): types from layout
 * strings, layouts and struct classes; per-CPU; batch iteration and bulk
 * writes over 10k+ entries against element-wise access; pinning, reuse of
 * LIBBPF_PIN_BY_NAME maps across objects; map-in-map; close.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import { layout } from "../../src/btf/layout.ts";
import type { AnyStructView } from "../../src/btf/views.ts";
import {
  BpfError,
  BpfTypeError,
  ClosedError,
  StateError,
} from "../../src/errors.ts";
import { BpfMap, possibleCpus } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
import { ROOT, fixture, isRoot, need, thrown } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const bpffs = root && existsSync("/sys/fs/bpf");
const PIN_DIR = `/sys/fs/bpf/tsbpf_maps_test_${root ? libc().getpid() : 0}`;

const N = 12_000;

describe.skipIf(!root)("BpfMap.create", () => {
  it("creates a typed hash map", () => {
    using m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u64",
      maxEntries: 1024,
      name: "counts",
    });
    expect(m.standalone).toBe(true);
    expect(m.name).toBe("counts");
    expect([m.type, m.keySize, m.valueSize, m.maxEntries]).toEqual([
      "hash",
      4,
      8,
      1024,
    ]);
    expect(m.info().name).toBe("counts");
    expect(m.id).toBeGreaterThan(0);
    m.set(1, 10n);
    const v: bigint | undefined = m.get(1); // typed from the options
    expect(v).toBe(10n);
    expect(() => m.set("a" as never, 1n)).toThrow(
      "map 'counts': key must be u32 (number 0..4294967295) or a 4-byte Uint8Array; got string",
    );
    expect(() => (m.maxEntries = 5)).toThrow(StateError);
  });

  it("takes char[N] keys, layouts and struct classes", () => {
    const Stats = layout({ pid: "u32", calls: "u32", comm: "char[16]" });
    using m = BpfMap.create({
      type: "hash",
      key: "char[16]",
      value: Stats,
      maxEntries: 16,
    });
    expect(m.name).toBe("hash");
    expect(m.valueSize).toBe(24);
    m.set("bash", { pid: 1, calls: 2, comm: "bash" });
    const v = m.get("bash") as AnyStructView;
    expect(v.toObject()).toEqual({ pid: 1, calls: 2, comm: "bash" });
    expect([...m.keys()]).toEqual(["bash"]);
    expect(() => m.set("x", { pid: -1 })).toThrow(
      /map 'hash': value must be .* or a 24-byte Uint8Array/,
    );
    using h = BpfMap.create({
      type: "hash",
      key: { a: "u16", b: "u8" },
      value: 3,
      maxEntries: 4,
    });
    expect(h.keySize).toBe(4);
    h.set({ a: 1, b: 2 }, new Uint8Array([1, 2, 3]));
    expect((h.keys().next().value as AnyStructView).toObject()).toEqual({
      a: 1,
      b: 2,
    });
  });

  it("rejects bad names and attributes with clear errors", () => {
    expect(() =>
      BpfMap.create({
        type: "hash",
        key: "u32",
        value: "u32",
        maxEntries: 1,
        name: "bad name!",
      }),
    ).toThrow(BpfTypeError);
    const e = thrown(() =>
      BpfMap.create({ type: "array", key: "u64", value: "u32", maxEntries: 4 }),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("EINVAL");
    expect(e.hint).toMatch(/array maps need 4-byte keys/);
    expect(() =>
      BpfMap.create({ type: "array_of_maps", key: "u32", maxEntries: 4 }),
    ).toThrow(/needs innerMap/);
    // An unknown type lists the names, or names the one meant.
    const create = (type: string) =>
      thrown(() =>
        BpfMap.create({
          type: type as "hash",
          key: "u32",
          value: "u32",
          maxEntries: 1,
        }),
      ) as BpfTypeError;
    expect(create("hashh")).toBeInstanceOf(BpfTypeError);
    expect(create("hashh").hint).toMatch(/^map types: hash, array, .*ringbuf/);
    expect(create("BPF_MAP_TYPE_LRU_HASH").hint).toMatch(/^use 'lru_hash'/);
  });

  it("per-CPU arrays: values rounded to 8 bytes per CPU", () => {
    const cpus = possibleCpus();
    using m = BpfMap.create({
      type: "percpu_array",
      key: "u32",
      value: "u16",
      maxEntries: 4,
    });
    const each = Array.from({ length: cpus }, (_, i) => 100 + i);
    m.set(1, each);
    const got: number[] | undefined = m.get(1);
    expect(got).toEqual(each);
    m.set(2, 5);
    expect(m.get(2)).toEqual(new Array(cpus).fill(5));
    const raw = new Uint8Array(8 * cpus);
    raw[0] = 9;
    m.set(3, raw);
    expect(m.get(3)![0]).toBe(9);
    expect([...m.values()].length).toBe(4);
  });

  it("queue: push and pop in order", () => {
    using q = BpfMap.create({ type: "queue", value: "u32", maxEntries: 4 });
    expect(q.keySize).toBe(0);
    q.push(1);
    q.push(2);
    expect(q.pop()).toBe(1);
    expect(q.pop()).toBe(2);
    expect(q.pop()).toBeUndefined();
    expect(() => q.get(0 as never)).toThrow(/has no keys: use push\/pop\/peek/);
    expect(() => q.set(0 as never, 1)).toThrow(
      /has no keys: use push\/pop\/peek/,
    );
  });

  it("bloom filter: push values, test them with mayContain", () => {
    using bloom = BpfMap.create({
      type: "bloom_filter",
      value: "u32",
      maxEntries: 100,
    });
    expect(bloom.mayContain(42)).toBe(false);
    bloom.push(42);
    bloom.push(43);
    expect(bloom.mayContain(42)).toBe(true);
    expect(bloom.mayContain(43)).toBe(true);
    // A false positive here has odds of about 1e-12 (1024 bits, 5 hashes).
    expect(bloom.mayContain(7)).toBe(false);
    // The last pushed value is not "in" the filter by being in a buffer.
    expect(bloom.mayContain(44)).toBe(false);
    for (const read of [() => bloom.peek(), () => bloom.pop()]) {
      const e = thrown(read);
      expect(e).toBeInstanceOf(BpfTypeError);
      expect((e as BpfTypeError).hint).toMatch(/mayContain\(value\)/);
    }
    expect(() => bloom.has(42)).toThrow(/push\(value\) and mayContain/);
    using hash = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u32",
      maxEntries: 4,
    });
    expect(() => hash.mayContain(1)).toThrow(/not a bloom filter/);
  });

  it("map-in-map: an inner map template, set by map or fd, get gives ids", () => {
    using tmpl = BpfMap.create({
      type: "array",
      key: "u32",
      value: "u64",
      maxEntries: 2,
    });
    using outer = BpfMap.create({
      type: "hash_of_maps",
      key: "u32",
      innerMap: tmpl,
      maxEntries: 4,
    });
    using a = BpfMap.create({
      type: "array",
      key: "u32",
      value: "u64",
      maxEntries: 2,
    });
    outer.set(1, a);
    outer.set(2, tmpl.fd);
    expect(outer.get(1)).toBe(a.id);
    expect(outer.get(2)).toBe(tmpl.id);
    using back = BpfMap.fromId(outer.get(1) as number, {
      key: "u32",
      value: "u64",
    });
    back.set(0, 5n);
    expect(a.get(0)).toBe(5n);
  });

  it("close: use after close is a ClosedError; close is idempotent", () => {
    const m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u32",
      maxEntries: 4,
    });
    m.set(1, 1);
    m.close();
    m.close();
    expect(m.closed).toBe(true);
    expect(() => m.get(1)).toThrow(ClosedError);
    expect(() => m.fd).toThrow(ClosedError);
    expect(() => [...m.entries()]).toThrow(ClosedError);
  });
});

describe.skipIf(!root)("batch iteration and bulk writes", () => {
  const kinds = ["hash", "lru_hash", "array", "percpu_hash"] as const;
  for (const type of kinds) {
    it(`${type}: batch entries() equal element-wise iteration and get()`, () => {
      // LRU maps may evict before they are full (per-CPU free lists): room.
      const maxEntries = type === "lru_hash" ? 2 * N : N;
      using m = BpfMap.create({ type, key: "u32", value: "u64", maxEntries });
      const want = new Map<number, unknown>();
      const entries: [number, bigint][] = [];
      for (let i = 0; i < N; i++) entries.push([i, BigInt(i) * 7n + 1n]);
      m.setMany(entries);
      for (const [k] of entries) want.set(k, m.get(k));
      const batch = new Map(m.entries());
      const walk = new Map(m.entries({ batch: false }));
      expect(batch.size).toBe(N);
      expect(batch).toEqual(want);
      expect(walk).toEqual(want);
      // Tiny batches: hash buckets larger than the batch grow it (ENOSPC).
      expect(new Map(m.entries({ batchSize: 1 }))).toEqual(want);
      // keys() and values() walk the same chunks as entries(), across
      // chunk boundaries; leaving early ends the walk.
      const small = [...m.entries({ batchSize: 7 })];
      expect([...m.keys({ batchSize: 7 })]).toEqual(small.map((e) => e[0]));
      expect([...m.values({ batchSize: 7 })]).toEqual(small.map((e) => e[1]));
      const it = m.entries({ batchSize: 7 });
      for (let i = 0; i < 10; i++) expect(it.next().value).toEqual(small[i]);
      expect(it.return!().done).toBe(true);
      expect(it.next().done).toBe(true);
      let n = 0;
      m.forEach((v, k) => {
        if (v === undefined || k === undefined) throw new Error("bad entry");
        n++;
      });
      expect(n).toBe(N);
      expect(m.count()).toBe(N);
    });
  }

  it("an iteration resumed after close is a ClosedError before any syscall (its fd may be another map's by then)", () => {
    // In a child: before the fix the resumed iteration ran
    // BPF_MAP_LOOKUP_BATCH on the reused fd, and the kernel wrote the new
    // map's 32 KiB values into buffers sized for u32s (heap overflow).
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-map-"));
    const script = join(dir, "child.ts");
    writeFileSync(
      script,
      `
      import { BpfMap } from ${JSON.stringify(join(ROOT, "src/map.ts"))};
      const a = BpfMap.create({ type: "array", key: "u32", value: "u32", maxEntries: 256 });
      const it = a.entries({ batchSize: 16 });
      it.next();
      const fd = a.fd;
      a.close();
      const b = BpfMap.create({ type: "array", key: "u32", value: 32768, maxEntries: 256 });
      let err;
      try {
        for (let i = 0; i < 64; i++) it.next();
      } catch (e) {
        err = e;
      }
      const junk = [];
      for (let i = 0; i < 100000; i++) junk.push({ i, s: "x" + i, a: new Uint8Array(32) });
      console.log("reused:", b.fd === fd, "resumed:", err?.name);
      b.close();
    `,
    );
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const r = deno
      ? spawnSync(deno.execPath(), ["run", "-A", script], { encoding: "utf8" })
      : spawnSync(process.execPath, [script], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stdout + r.stderr).toContain("reused: true resumed: ClosedError");
    expect(r.status).toBe(0);
  });

  it("deleteMany skips absent keys and counts the deleted", () => {
    using m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u32",
      maxEntries: N,
    });
    m.setMany(Array.from({ length: N }, (_, i) => [i, i] as [number, number]));
    const keys = [
      N + 5,
      ...Array.from({ length: N / 2 }, (_, i) => i * 2),
      N + 6,
    ];
    expect(m.deleteMany(keys)).toBe(N / 2);
    expect(m.count()).toBe(N / 2);
    expect(m.has(1)).toBe(true);
    expect(m.has(2)).toBe(false);
    m.clear();
    expect(m.count()).toBe(0);
  });

  it("setMany with noexist stops at an existing key and says how far it got", () => {
    using m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u32",
      maxEntries: 64,
    });
    m.set(5, 0);
    const e = thrown(() =>
      m.setMany(
        Array.from({ length: 10 }, (_, i) => [i, i] as [number, number]),
        "noexist",
      ),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("EEXIST");
    expect(e.message).toMatch(/5 entries written/);
  });

  it("setMany with a bad entry says which, and how many were written before it", () => {
    using m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u32",
      maxEntries: N,
    });
    const entries: [number, unknown][] = Array.from({ length: N }, (_, i) => [
      i,
      i,
    ]);
    entries[10_000]![1] = "x";
    const e = thrown(() =>
      m.setMany(entries as [number, number][]),
    ) as BpfTypeError;
    expect(e).toBeInstanceOf(BpfTypeError);
    const written = Number(
      /the first (\d+) entries were written/.exec(e.message)?.[1],
    );
    expect(e.message).toMatch(/^setMany: entry 10000: /);
    expect(written).toBeLessThanOrEqual(10_000);
    expect(m.count()).toBe(written);
    const notPair = thrown(() => m.setMany([5 as unknown as [number, number]]));
    expect(notPair).toBeInstanceOf(BpfTypeError);
    m.clear();
    m.setMany(
      Array.from({ length: 100 }, (_, i) => [i, i] as [number, number]),
    );
    const badKey = thrown(() =>
      m.deleteMany([...Array.from({ length: 100 }, (_, i) => i), "x" as never]),
    );
    expect(badKey).toBeInstanceOf(BpfTypeError);
    expect(badKey.message).toMatch(/^deleteMany: key 100: /);
    expect(badKey.message).toMatch(/\(nothing was deleted\)/);
    expect(m.count()).toBe(100);
    expect(notPair.message).toMatch(
      /entry 0: an entry is a \[key, value\] array, got number 5 \(nothing was written\)/,
    );
  });

  it("a full map in setMany is E2BIG with the map-full hint", () => {
    using m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u32",
      maxEntries: 8,
    });
    const e = thrown(() =>
      m.setMany(
        Array.from({ length: 9 }, (_, i) => [i, i] as [number, number]),
      ),
    ) as BpfError;
    expect(e.code).toBe("E2BIG");
    expect(e.hint).toMatch(/map is full/);
  });
});

describe.skipIf(!root)("pinning", () => {
  afterEach(() => {
    rmSync(PIN_DIR, { recursive: true, force: true });
  });

  it.skipIf(!need(bpffs, "no bpffs at /sys/fs/bpf"))(
    "pins a standalone map and opens it again (bytes unless typed)",
    () => {
      mkdirSync(PIN_DIR, { recursive: true });
      const path = `${PIN_DIR}/counts`;
      using m = BpfMap.create({
        type: "hash",
        key: "u32",
        value: "u64",
        maxEntries: 8,
      });
      m.set(1, 11n);
      m.pin(path);
      expect(m.isPinned).toBe(true);
      expect(m.pinPath).toBe(path);
      {
        using raw = BpfMap.fromPinned(path);
        expect(raw.get(new Uint8Array([1, 0, 0, 0]))).toEqual(
          new Uint8Array([11, 0, 0, 0, 0, 0, 0, 0]),
        );
        using typed = BpfMap.fromPinned(path, { key: "u32", value: "u64" });
        expect(typed.get(1)).toBe(11n);
        typed.set(2, 22n);
      }
      expect(m.get(2)).toBe(22n);
      const e = thrown(() => m.pin(path)) as BpfError;
      expect(e.code).toBe("EEXIST");
      m.unpin();
      expect(existsSync(path)).toBe(false);
      expect(m.isPinned).toBe(false);
      expect(() => BpfMap.fromPinned(path)).toThrow(BpfError);
    },
  );

  it.skipIf(!bpffs)("fromPinned of a pinned program says so", () => {
    mkdirSync(PIN_DIR, { recursive: true });
    const path = `${PIN_DIR}/prog`;
    using obj = BpfObject.open(fixture("minimal"));
    obj.load();
    obj.programs[0]!.pin(path);
    try {
      const e = thrown(() => BpfMap.fromPinned(path));
      expect(e).toBeInstanceOf(BpfTypeError);
      expect(e.message).toBe(`${path} is a program pinned on bpffs, not a map`);
    } finally {
      obj.programs[0]!.unpin(path);
    }
  });

  it.skipIf(!need(bpffs, "no bpffs at /sys/fs/bpf"))(
    "an object map pinned by hand reopens typed from its kernel BTF",
    () => {
      mkdirSync(PIN_DIR, { recursive: true });
      const path = `${PIN_DIR}/stats`;
      using obj = BpfObject.open(fixture("maps"));
      obj.load();
      obj.map("stats").set(3, { pid: 3, calls: 4, last_ns: 5n, comm: "c" });
      obj.map("stats").pin(path);
      try {
        using m = BpfMap.fromPinned(path);
        expect(m.keyType).toBe("u32");
        expect(m.valueType).toBe("struct process_stats");
        expect((m.get(3) as AnyStructView).toObject()).toEqual({
          pid: 3,
          calls: 4,
          last_ns: 5n,
          comm: "c",
        });
      } finally {
        obj.map("stats").unpin(path);
      }
    },
  );

  it.skipIf(!need(bpffs, "no bpffs at /sys/fs/bpf"))(
    "LIBBPF_PIN_BY_NAME: the second object reuses the first one's map",
    () => {
      mkdirSync(PIN_DIR, { recursive: true });
      const a = BpfObject.open(fixture("maps_pinned"), { pinRoot: PIN_DIR });
      const b = BpfObject.open(fixture("maps_pinned"), { pinRoot: PIN_DIR });
      try {
        a.load();
        expect(existsSync(`${PIN_DIR}/shared`)).toBe(true);
        expect(a.map("shared").isPinned).toBe(true);
        b.load();
        expect(b.map("shared").id).toBe(a.map("shared").id);
        a.map("shared").set(1, 100n);
        expect(b.map("shared").get(1)).toBe(100n);
        b.map("shared").set(2, 200n);
        a.close();
        expect(b.map("shared").get(2)).toBe(200n);
        using viaPin = BpfMap.fromPinned(`${PIN_DIR}/shared`);
        expect(viaPin.get(1)).toBe(100n); // typed from the map's kernel BTF
        b.map("shared").unpin();
      } finally {
        a.close();
        b.close();
      }
      expect(readdirSync(PIN_DIR)).toEqual([]);
    },
  );
});
