/**
 * Wrong arguments, as plain JavaScript (or a cast) can pass them: each gets
 * a typed error naming the argument, before anything reaches libbpf or the
 * kernel, and leaves nothing changed behind (no directories, no maps with
 * broken types, no attached programs).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpfError,
  BpfTypeError,
  BtfTypeError,
  StateError,
  TsbpfError,
} from "../../src/errors.ts";
import { BpfMap } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
import { PerfBuffer } from "../../src/perfbuf.ts";
import { RingBuffer } from "../../src/ringbuf.ts";
import { fixture, isRoot, need, thrown } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");

// deno-lint-ignore no-explicit-any
const any = (x: unknown) => x as any;

describe.skipIf(!root)("wrong arguments get typed errors", () => {
  let obj: BpfObject;
  let dir: string;
  beforeAll(() => {
    obj = BpfObject.open(fixture("attach"));
    obj.program("on_kprobe").autoload = false;
    obj.load();
    dir = mkdtempSync(join(tmpdir(), "tsbpf-bad-args-"));
  });
  afterAll(() => {
    obj?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opening: not a path or bytes, null options", () => {
    expect(() => BpfObject.open(any(null))).toThrow(
      /BpfObject.open takes a path, a file: URL or the bytes/,
    );
    expect(() => BpfObject.open(any(5))).toThrow(BpfTypeError);
    // null options mean none, as undefined does.
    BpfObject.open(fixture("minimal"), any(null)).close();
    expect(() =>
      BpfObject.open(fixture("minimal"), { logHandler: any(5) }),
    ).toThrow(/logHandler must be a function/);
    expect(() =>
      BpfObject.open(fixture("minimal"), { pinRoot: any(5) }),
    ).toThrow(/pinRoot must be a string/);
  });

  it("a string argument that is not a string never reaches C", () => {
    // Before, the buffer for a non-string had no NUL byte: Deno segfaulted
    // and Bun's libbpf read (and created directories named after) memory.
    const p = obj.program("on_getpid");
    for (const f of [
      () => p.pin(any(5)),
      () => p.unpin(any({})),
      () => obj.map("attach.bss").pin(any(5)),
      () => BpfMap.fromPinned(any(5)),
      () =>
        obj.program("on_uprobe").attachUprobe({
          binaryPath: any(5),
          symbol: "getppid",
        }),
      () => p.pin("/sys/fs/bpf/a\0b"),
    ]) {
      const e = thrown(f);
      expect(e).toBeInstanceOf(BpfTypeError);
      expect(e.message).toMatch(/expected a string|contains a NUL/);
    }
    using fresh = BpfObject.open(fixture("attach"));
    expect(() => (fresh.map("attach.bss").pinPath = any(5))).toThrow(
      BpfTypeError,
    );
  });

  it("a pin path off bpffs is refused before libbpf creates its directories", () => {
    const rel = `tsbpf-bad-args-${process.pid}/x/y`;
    const abs = join(dir, "a/b");
    for (const path of [rel, abs]) {
      for (const f of [
        () => obj.program("on_getpid").pin(path),
        () => obj.map("attach.bss").pin(path),
      ]) {
        const e = thrown(f) as BpfError;
        expect(e).toBeInstanceOf(BpfError);
        expect(e.hint).toMatch(/is not on a bpf filesystem/);
      }
    }
    expect(existsSync(`tsbpf-bad-args-${process.pid}`)).toBe(false);
    expect(existsSync(join(dir, "a"))).toBe(false);
    expect(obj.map("attach.bss").pinPath).toBeNull();
  });

  it("attach options out of their range", () => {
    const tc = obj.program("on_tc");
    const xdp = obj.program("xdp_filter");
    const up = obj.program("on_uprobe");
    expect(() => tc.attachTc("lo", any("sideways"))).toThrow(
      /direction must be "ingress" or "egress", got sideways/,
    );
    expect(() => xdp.attachXdp("lo", { mode: any("bogus") })).toThrow(
      /mode must be "skb", "drv", "hw" or omitted/,
    );
    expect(() => xdp.attachXdp(-3)).toThrow(/interface index is a positive/);
    expect(() => xdp.attachXdp(any({}))).toThrow(
      /expected an interface name or index/,
    );
    expect(() =>
      up.attachUprobe({ binaryPath: "/bin/ls", offset: -1 }),
    ).toThrow(/offset must be an integer ≥ 0, got -1/);
    expect(() => up.attachUprobe(any(undefined))).toThrow(
      /attachUprobe needs options/,
    );
    // An empty symbol was taken for none: the probe went to file offset 0
    // (the ELF header), attached without a word.
    for (const offset of [undefined, 0, 16]) {
      const e = thrown(() =>
        up.attachUprobe({ binaryPath: "/bin/ls", symbol: "", offset }),
      );
      expect(e).toBeInstanceOf(BpfTypeError);
      expect(e.message).toMatch(/attachUprobe: symbol is a function name/);
    }
    expect(() =>
      up.attachUprobe({ binaryPath: "/bin/ls", symbol: any(5) }),
    ).toThrow(/attachUprobe: symbol is a function name .*got number 5/);
    // A number cookie was a raw ToBigInt TypeError; -1n and 2^64 wrapped.
    for (const cookie of [5, -1n, 1n << 64n]) {
      expect(() =>
        up.attachUprobe({
          binaryPath: "/bin/ls",
          symbol: "main",
          cookie: any(cookie),
        }),
      ).toThrow(/attachUprobe: cookie must be a u64 bigint/);
    }
    // Past i32, Bun's FFI wrapped these (pid 2^32 probed this process).
    expect(() =>
      up.attachUprobe({ binaryPath: "/bin/ls", symbol: "main", pid: 2 ** 32 }),
    ).toThrow(/pid must be an integer/);
    expect(() =>
      obj.program("on_perf_event").attachPerfEvent({
        type: "software",
        config: "cpu-clock",
        frequency: 99,
        cpu: 2 ** 32,
      }),
    ).toThrow(/cpu must be an integer from -1 to 2\^31-1/);
    expect(() => obj.program("on_perf_event").attachPerfEvent(2 ** 32)).toThrow(
      /a perf event fd is a non-negative integer/,
    );
    expect(() => obj.program("on_getpid").testRun({ repeat: -1 })).toThrow(
      /repeat is an integer from 0/,
    );
    expect(() => xdp.testRun({ data: any("abc") })).toThrow(
      /data is a Uint8Array/,
    );
  });

  it("globals, signals, iterables, skeleton sources and BTF names", async () => {
    using g = BpfObject.open(fixture("globals"));
    const globals = any(g.globals);
    expect(() => delete globals.counter).toThrow(
      /cannot be deleted or redefined/,
    );
    expect(() =>
      Object.defineProperty(globals, "counter", { value: 1 }),
    ).toThrow(BpfTypeError);
    using m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u64",
      maxEntries: 8,
    });
    expect(() => m.setMany(any(5))).toThrow(/takes an iterable/);
    expect(() => m.deleteMany(any(null))).toThrow(/takes an iterable/);
    using o = BpfObject.open(fixture("ringbuf"));
    o.load();
    using rb = o.ringBuffer(o.maps.find((x) => x.type === "ringbuf")!.name);
    let err: unknown;
    await rb
      .events({ signal: any(5) })
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => (err = e));
    expect(String(err)).toMatch(/signal is an AbortSignal/);
    const { openSkeleton } = await import("../../src/skeleton.ts");
    for (const source of [null, {}, { base64: "!!" }]) {
      expect(() => openSkeleton(any(source), any({}))).toThrow(BpfTypeError);
    }
    const { Btf } = await import("../../src/btf/btf.ts");
    expect(() => Btf.kernelModule(any(5))).toThrow(
      /is not a kernel module name/,
    );
  });

  it("autoload takes a boolean", () => {
    using o = BpfObject.open(fixture("attach"));
    expect(() => (o.program("on_getpid").autoload = any("x"))).toThrow(
      /is true or false, got string/,
    );
    expect(o.program("on_getpid").autoload).toBe(true);
  });

  it("event readers take a struct class or null", async () => {
    using o = BpfObject.open(fixture("ringbuf"));
    o.load();
    const name = o.maps.find((m) => m.type === "ringbuf")!.name;
    expect(() => o.ringBuffer(name, any(5))).toThrow(BtfTypeError);
    using rb = o.ringBuffer(name);
    let err: unknown;
    await rb.poll(() => {}, any(NaN)).catch((e) => (err = e));
    expect(err).toBeInstanceOf(BpfTypeError);
    expect(String(err)).toMatch(/timeoutMs is a number/);
    // A callback that is not one fails at once, not when a record comes.
    expect(() => rb.consume(any(5))).toThrow(/callback must be a function/);
    expect(() => rb.consumeRaw(any(null))).toThrow(
      /consumeRaw: the callback must be a function/,
    );
    await expect(rb.poll(any("x"), 0)).rejects.toThrow(BpfTypeError);
    // Timeouts epoll cannot take are no limit (Infinity was 0 in Bun: a
    // busy loop) or whole milliseconds (Deno threw a raw TypeError).
    for (const t of [0.5, 1.5]) expect(await rb.poll(() => {}, t)).toBe(0);
    const ac = Promise.race([
      rb.poll(() => {}, Infinity),
      new Promise((r) => setTimeout(() => r("waiting"), 50)),
    ]);
    expect(await ac).toBe("waiting");
    rb.close(); // ends the wait
    using p = BpfObject.open(fixture("perfbuf"));
    p.load();
    const perfName = p.maps.find((m) => m.type === "perf_event_array")!.name;
    expect(() => p.perfBuffer(perfName, null, { onLost: any(5) })).toThrow(
      /onLost must be a function/,
    );
  });

  it("event readers name what they take instead of a map", () => {
    using o = BpfObject.open(fixture("ringbuf"));
    o.load();
    for (const bad of [undefined, null, "rb", 1.5, -1, {}]) {
      expect(() => RingBuffer.open(any(bad))).toThrow(
        /RingBuffer: give the ringbuf map \(a BpfMap\) or its fd, got/,
      );
      expect(() => PerfBuffer.open(any(bad))).toThrow(BpfTypeError);
    }
    for (const bad of [undefined, null, 5, {}, [], [1]]) {
      expect(() => o.ringBuffer(any(bad))).toThrow(
        /obj.ringBuffer: give a ring buffer map's name/,
      );
    }
    expect(() => o.perfBuffer(any(undefined))).toThrow(
      /obj.perfBuffer: give the perf_event_array map's name, got undefined/,
    );
    using rb = o.ringBuffer("rb");
    expect(() => rb.add(any(undefined))).toThrow(BpfTypeError);
  });
});

describe.skipIf(!root)(
  "standalone maps: wrong arguments change nothing",
  () => {
    const hash = () =>
      BpfMap.create({ type: "hash", key: "u32", value: "u64", maxEntries: 8 });

    it("a lock on values without a spin lock: the error names the call made, and the entry stays", () => {
      using m = hash();
      m.set(1, 5n);
      for (const [take, op] of [
        [() => m.lookupAndDelete(1, { lock: true }), "lookupAndDelete"],
        [() => m.drain({ lock: true }), "drain"],
      ] as const) {
        const e = thrown(take) as BpfError;
        expect(e).toBeInstanceOf(BpfError);
        expect(e.code).toBe("EINVAL");
        // drain's one-by-one path named the call without its flags.
        expect(`${op}: ${e.message}`).toMatch(
          /^\w+: bpf_map_lookup_and_delete_elem_flags: /,
        );
        expect(e.hint).toMatch(/struct bpf_spin_lock/);
      }
      expect([...m]).toEqual([[1, 5n]]);
    });

    it("create and fromId check their numbers", () => {
      expect(() => BpfMap.create(any(undefined))).toThrow(
        /BpfMap.create needs options/,
      );
      expect(() =>
        BpfMap.create({
          type: "array",
          key: "u32",
          value: "u64",
          maxEntries: 2 ** 32 + 4,
        }),
      ).toThrow(/maxEntries must be an integer from 0 to 2\^32-1/);
      const base = { type: "hash", key: "u32", value: "u64", maxEntries: 8 };
      for (const key of ["flags", "numaNode"]) {
        for (const x of ["x", -1, 2 ** 32, 1.5]) {
          expect(() => BpfMap.create(any({ ...base, [key]: x }))).toThrow(
            new RegExp(`${key} must be an integer from 0 to 2\\^32-1`),
          );
        }
      }
      for (const x of ["x", -1, -1n, 1n << 64n]) {
        expect(() => BpfMap.create(any({ ...base, mapExtra: x }))).toThrow(
          /mapExtra must be a u64/,
        );
      }
      // Deno's FFI threw a raw TypeError past u32; Bun wrapped the size.
      expect(() => BpfMap.create(any({ ...base, key: 2 ** 40 }))).toThrow(
        /key size must be a byte count from 0 to 2\^30, got 1099511627776/,
      );
      expect(() => BpfMap.create(any({ ...base, value: 2 ** 33 }))).toThrow(
        /value size must be a byte count/,
      );
      for (const id of [-1, 2 ** 32 + 1, any("x")]) {
        expect(() => BpfMap.fromId(id)).toThrow(
          /a map id is a positive integer/,
        );
      }
    });

    it("a bad batchSize is refused instead of looping forever", () => {
      using m = hash();
      m.set(1, 1n);
      for (const batchSize of [0, -1, 1.5, any("x")]) {
        expect(() => [...m.entries({ batchSize })]).toThrow(
          /batchSize must be a positive integer/,
        );
      }
      expect([...m.entries({ batchSize: 1 })]).toEqual([[1, 1n]]);
      // A huge batch is lowered, not allocated (it was a raw RangeError).
      expect([...m.entries({ batchSize: 2 ** 32 - 1 })]).toEqual([[1, 1n]]);
      using big = BpfMap.create({
        type: "hash",
        key: "u32",
        value: 8192,
        maxEntries: 4,
      });
      big.set(1, new Uint8Array(8192));
      expect([...big.keys({ batchSize: 2 ** 20 })]).toEqual([1]);
    });

    it("iteration and drain options that are no object are refused, not taken for none", () => {
      using m = hash();
      m.set(1, 1n);
      for (const bad of [5, "x", null, true]) {
        for (const call of [
          () => m.entries(any(bad)),
          () => m.keys(any(bad)),
          () => m.values(any(bad)),
          () => m.forEach(() => {}, any(bad)),
          () => m.drain(any(bad)),
        ]) {
          const e = thrown(call);
          expect(e).toBeInstanceOf(BpfTypeError);
          expect((e as Error).message).toMatch(/options are \{ batch/);
        }
      }
      // Nothing was taken out by a refused drain.
      expect([...m.entries()]).toEqual([[1, 1n]]);
    });

    it("withTypes that do not fit keep the map's types", () => {
      using m = hash();
      m.set(1, 5n);
      expect(() => m.withTypes({ key: "u16" })).toThrow(BpfTypeError);
      expect(() => m.withTypes({ value: any("nope") })).toThrow(TsbpfError);
      expect(m.get(1)).toBe(5n);
      expect(m.keyType).toBe("u32");
    });

    it("push/pop/peek on a keyed map, and unknown flag bits, say what to use", () => {
      using m = hash();
      expect(() => m.push(any(1n))).toThrow(
        /push\/pop\/peek are for queue, stack and bloom_filter maps/,
      );
      expect(() => m.pop()).toThrow(BpfTypeError);
      const e = thrown(() => m.set(1, 1n, any(99))) as BpfError;
      expect(e.code).toBe("EINVAL");
      expect(e.hint).toMatch(/flags 99 has bits an update does not take/);
    });

    it("map settings after a failed load say to open the object again", () => {
      // A map pinned where `counts` wants to be, of another type: libbpf
      // cannot reuse it, and the load fails after it began.
      const pin = `/sys/fs/bpf/tsbpf-bad-args-${process.pid}`;
      using other = BpfMap.create({
        type: "array",
        key: "u32",
        value: "u32",
        maxEntries: 1,
      });
      other.pin(pin);
      using o = BpfObject.open(fixture("maps"));
      o.map("counts").pinPath = pin;
      try {
        expect(() => o.load()).toThrow(BpfError);
      } finally {
        rmSync(pin, { force: true });
      }
      expect(() => (o.map("counts").maxEntries = 5)).toThrow(StateError);
      expect(() => (o.map("counts").maxEntries = 5)).toThrow(
        /open the object again/,
      );
      expect(() => (o.program("on_getppid").autoload = false)).toThrow(
        /open the object again/,
      );
    });
  },
);
