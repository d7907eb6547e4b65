/**
 * Resource lifetime across the FFI boundary: many open/use/close cycles
 * leave fds, memory and programs as they were; everything closed (or whose
 * object closed) raises ClosedError from every member.
 */
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { generateSkeleton } from "../../codegen/skeleton.ts";
import { libc } from "../../ffi/mod.ts";
import { ROOT, fixture, isRoot, need } from "../_support/fixtures.ts";
import { ClosedError } from "../../src/errors.ts";
import type { BpfLink } from "../../src/link.ts";
import { BpfMap } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
import type { BpfProgram } from "../../src/program.ts";
import { enableRunStats } from "../../src/program_info.ts";
import { PerfBuffer } from "../../src/perfbuf.ts";
import { RingBuffer } from "../../src/ringbuf.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");

interface Usage {
  fds: [number, number];
  rssKiB: [number, number];
  programs: number;
}

/** Runs a scenario of test/_support/lifetime_child.ts in this runtime. */
function cycles(scenario: string, n: number, warmUp: number): Usage {
  const script = join(ROOT, "test/_support/lifetime_child.ts");
  const args = [scenario, String(n), String(warmUp)];
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  const r = deno
    ? spawnSync(
        deno.execPath(),
        ["run", "-A", "--v8-flags=--expose-gc", script, ...args],
        { encoding: "utf8", timeout: 120_000 },
      )
    : spawnSync(process.execPath, [script, ...args], {
        encoding: "utf8",
        timeout: 120_000,
      });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(`${scenario} child failed (${r.status}): ${r.stderr}`);
  }
  return JSON.parse(line) as Usage;
}

describe.skipIf(!root)("many cycles in a child process", () => {
  // Bounds: the fds exactly (a runtime may open a couple of its own once),
  // RSS well under what one leaked object, reader or Worker per cycle adds.
  const cases: [string, number, number, number][] = [
    // scenario, cycles, warm-up cycles, RSS growth bound (MiB)
    ["object", 500, 50, 10],
    ["links", 300, 20, 6],
    ["readers", 100, 20, 8],
    ["maps", 5000, 2000, 6],
    // Bun: each reader's first wait used to start a Worker that loaded all
    // of libc's table, ~8 KiB of which Bun never gives back.
    ["waiters", 1000, 300, 4],
    // Standalone maps, pinned links and readers dropped unclosed: their
    // fds go when they are collected (~10 fds a cycle leaked before).
    ["dropped", 300, 20, 20],
    // Objects dropped unclosed with no link or reader open on them.
    ["objects", 300, 20, 20],
    // The same closed first: collected later, they close nothing again.
    ["closed", 40, 5, 20],
  ];
  for (const [scenario, n, warmUp, mib] of cases) {
    it(`${scenario}: ${n} cycles leave fds, programs and memory as they were`, () => {
      const u = cycles(scenario, n, warmUp);
      expect(u.fds[1]).toBeLessThanOrEqual(u.fds[0] + 2);
      expect(u.programs).toBe(0);
      expect((u.rssKiB[1] - u.rssKiB[0]) / 1024).toBeLessThan(mib);
    }, 120_000);
  }
});

/**
 * Every public method and property of a closed thing (or of one whose
 * owning object closed), enumerated from the prototype chain and own
 * fields, so that a method added later is covered without editing this
 * table: each must raise ClosedError (a rejected promise for async ones,
 * at the first `next()` for iterators). `args` gives arguments that pass a
 * method's own argument checks (default: none). Only what is plain JS state
 * with no native resource behind it may still answer (`allowed`).
 */
const ALWAYS_ALLOWED = new Set<PropertyKey>([
  "constructor",
  "close",
  "closed",
  Symbol.dispose,
  // plain JS state, kept after close
  "name",
  "description",
  "sectionName",
  "logHandler",
  "ringCount",
  "consumed",
  "lost",
  "loaded",
  "loadFailed",
  "standalone",
  "mode",
  "pinnedPath",
]);
const PIN = "/sys/fs/bpf/tsbpf-lifetime-never";
const ARGS: Record<string, unknown[]> = {
  program: ["produce"],
  map: ["rb"],
  ringBuffer: ["rb"],
  perfBuffer: ["events"],
  attachTracepoint: ["syscalls", "sys_enter_getpid"],
  attachRawTracepoint: ["sys_enter"],
  attachKprobe: ["do_nanosleep"],
  attachUprobe: [{ binaryPath: "/bin/true", symbol: "main" }],
  attachUsdt: [{ binaryPath: "/bin/true", provider: "p", name: "n" }],
  attachXdp: [1],
  attachTc: [1, "ingress"],
  attachTcx: [1],
  attachNetns: ["/proc/self/ns/net"],
  attachSockmap: [3],
  attachCgroup: ["/sys/fs/cgroup"],
  attachPerfEvent: [3],
  pin: [PIN],
  unpin: [PIN],
  get: [0],
  set: [0, 1],
  delete: [0],
  has: [0],
  lookupAndDelete: [0],
  push: [1],
  mayContain: [1],
  forEach: [() => {}],
  setMany: [[[0, 1]]],
  deleteMany: [[0]],
  withTypes: [{ key: "u32", value: "u32" }],
  update: [{ fd: 3 }],
  consume: [() => {}],
  consumeRaw: [() => {}],
  poll: [() => {}, 0],
  pollRaw: [() => {}, 0],
  add: [3],
};

/** Names of the public members of `o`: its prototypes' and its own fields. */
function publicMembers(o: object): PropertyKey[] {
  const keys = new Set<PropertyKey>(Object.keys(o));
  for (
    let p = Object.getPrototypeOf(o);
    p && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    for (const k of Reflect.ownKeys(p)) keys.add(k);
  }
  return [...keys];
}

/** What using `key` of `o` gives: "ok", or the error's class name and message. */
async function outcome(
  o: object,
  key: PropertyKey,
  args: Record<string, unknown[]> = ARGS,
): Promise<string> {
  try {
    let r = Reflect.get(o, key, o) as unknown;
    if (typeof r === "function") {
      r = (r as (...a: unknown[]) => unknown).apply(
        o,
        args[String(key)] ?? ARGS[String(key)] ?? [],
      );
    }
    if (r instanceof Promise) r = await r;
    const it = r as { next?: () => unknown } | null;
    if (it && typeof it.next === "function") await it.next();
    return "ok";
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

/** Members of `o` that do not raise ClosedError (minus `allowed`). */
async function answering(
  o: object,
  allowed: readonly PropertyKey[] = [],
  args?: Record<string, unknown[]>,
): Promise<string[]> {
  const bad: string[] = [];
  for (const key of publicMembers(o)) {
    if (ALWAYS_ALLOWED.has(key) || allowed.includes(key)) continue;
    const r = await outcome(o, key, args);
    if (!r.startsWith("ClosedError")) bad.push(`${String(key)} → ${r}`);
  }
  return bad;
}

describe.skipIf(!root)("after close", () => {
  // Internal to the library (not in mod.ts's documented surface).
  const INTERNAL = [
    "handle",
    "loadedHandle",
    "adoptLink",
    "releaseLink",
    "releaseGlobalsMapping",
  ];

  it("every member of an object, its programs, maps, globals and readers is a ClosedError", async () => {
    const obj = BpfObject.open(fixture("ringbuf"));
    obj.load();
    const prog = obj.program("produce");
    const map = obj.map("ringbuf.bss");
    const globals = obj.globalVariables;
    const rb = obj.ringBuffer("rb");
    const rbLibbpf = obj.ringBuffer("rb2", null, { mode: "libbpf" });
    obj.close();
    expect(await answering(obj, INTERNAL)).toEqual([]);
    expect(await answering(prog)).toEqual([]);
    expect(await answering(map, INTERNAL)).toEqual([]);
    // Names and descriptions come from the BTF copy: nothing native.
    expect(
      await answering(globals, [
        "names",
        "describe",
        "has",
        "listed",
        "release",
        "releaseMapping",
        "writing",
      ]),
    ).toEqual([]);
    expect(await answering(rb)).toEqual([]);
    expect(await answering(rbLibbpf)).toEqual([]);
    // Closed comes first, whatever the arguments.
    for (const bad of [undefined, 5]) {
      expect(() => obj.ringBuffer(bad as never)).toThrow(ClosedError);
      expect(() => obj.perfBuffer(bad as never)).toThrow(ClosedError);
    }
  });

  it("every member of a program, map or reader closed on its own is a ClosedError", async () => {
    using obj = BpfObject.open(fixture("ringbuf"));
    obj.load();
    const prog = obj.program("produce");
    const map = obj.map("ringbuf.bss");
    const rb = obj.ringBuffer("rb");
    prog.close();
    map.close();
    rb.close();
    expect(await answering(prog)).toEqual([]);
    expect(await answering(map, INTERNAL)).toEqual([]);
    expect(await answering(rb)).toEqual([]);
  });

  it("every member of a perf buffer reader is a ClosedError, closed itself or with its object", async () => {
    const obj = BpfObject.open(fixture("perfbuf"));
    obj.load();
    const own = obj.perfBuffer("events");
    own.close();
    const withObject = obj.perfBuffer("events");
    obj.close();
    expect(await answering(own)).toEqual([]);
    expect(await answering(withObject)).toEqual([]);
    // The error names what was called, before any argument check.
    await expect(own.poll(() => {})).rejects.toThrow(/^poll: .* closed/);
    expect(() => own.consume(null as never)).toThrow(/^consume: .* closed/);
  });

  it("every member of a link is a ClosedError, closed itself or with its object", async () => {
    const obj = BpfObject.open(fixture("attach"));
    for (const p of obj.programs) p.autoload = p.name === "on_sys_enter";
    obj.load();
    const prog = obj.program("on_sys_enter");
    const own = prog.attachRawTracepoint("sys_enter");
    own.close();
    const withObject = prog.attachRawTracepoint("sys_enter");
    obj.close();
    expect(await answering(own)).toEqual([]);
    expect(await answering(withObject)).toEqual([]);
  });

  it("every member of a standalone map and of its reader is a ClosedError", async () => {
    const hash = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u32",
      maxEntries: 4,
    });
    hash.close();
    // A closed standalone map remembers its pin path: plain JS state.
    expect(await answering(hash, [...INTERNAL, "pinPath", "isPinned"])).toEqual(
      [],
    );
    const ring = BpfMap.create({ type: "ringbuf", maxEntries: 4096 });
    const rb = RingBuffer.open(ring);
    rb.close();
    ring.close();
    expect(await answering(rb)).toEqual([]);
  });

  it("every member of a closed generated skeleton, its typed maps, readers and globals is a ClosedError", async () => {
    const dir = join(ROOT, "build/test", `lifetime-skel-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "skel.ts");
    writeFileSync(
      file,
      generateSkeleton(readFileSync(fixture("skeleton")), {
        fileName: "skeleton.bpf.o",
        importFrom: join(ROOT, "mod.ts"),
      }),
    );
    try {
      const m = (await import(pathToFileURL(file).href)) as {
        load(): Record<string, unknown> & { close(): void };
      };
      const skel = m.load();
      const maps = skel.maps as Record<string, object>;
      const readers = skel.ringBuffers as Record<string, object>;
      const touched = [maps.counts!, maps.seen!, readers.events!];
      skel.close();
      skel.close();
      // Its records of maps, programs and readers are plain JS; it has no
      // perf buffer to name (perfBuffer(name) says so, closed or not).
      const plain = ["object", "maps", "programs", "ringBuffers", "globals"];
      expect(
        await answering(skel, [...plain, "perfBuffers", "perfBuffer"], {
          ringBuffer: ["events2"],
        }),
      ).toEqual([]);
      for (const t of touched) expect(await answering(t, ["map"])).toEqual([]);
      // Those not touched before close, and every global.
      for (const rec of [maps, readers, skel.globals as object]) {
        const open = Object.keys(rec).filter(
          (k) =>
            !(rec === maps && ["counts", "seen"].includes(k)) &&
            !(rec === readers && k === "events"),
        );
        for (const k of open) {
          expect(await outcome(rec, k)).toMatch(/^ClosedError/);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("run statistics: close is all there is, and it is idempotent", () => {
    const stats = enableRunStats();
    stats.close();
    stats.close();
    expect(stats.closed).toBe(true);
    expect(publicMembers(stats).filter((k) => !ALWAYS_ALLOWED.has(k))).toEqual(
      [],
    );
  });
});

describe.skipIf(!root)("borrowed fds", () => {
  it("closing a perf reader leaves alone the map that took the number of the fd it was given", () => {
    // libbpf's perf_buffer__free deletes each CPU's entry through the map
    // fd it was given: keys 0..n-1 of whatever map has that number now.
    using obj = BpfObject.open(fixture("perfbuf"));
    obj.load();
    const fd = libc().dup(obj.map("events").fd);
    const pb = PerfBuffer.open(fd);
    libc().close(fd);
    // Sizes, not types: a typed map would load a BTF object first, which
    // would take the fd number.
    using victim = BpfMap.create({
      type: "hash",
      key: 4,
      value: 4,
      maxEntries: 8,
    });
    expect(victim.fd).toBe(fd);
    const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
    for (let i = 0; i < 4; i++) victim.set(u32(i), u32(100 + i));
    pb.close();
    expect([...victim.keys()].map((k) => k[0]).sort()).toEqual([0, 1, 2, 3]);
  });

  for (const mode of ["mmap", "libbpf"] as const) {
    it(`a ring reader waits on its rings after the fd it was given is closed (${mode})`, async () => {
      // libbpf's ring_buffer__add watches the fd at once; a reader that
      // did so only at its first wait watched whatever the number was by
      // then (EBADF, or another file).
      using obj = BpfObject.open(fixture("ringbuf"));
      obj.load();
      const fd = libc().dup(obj.map("rb").fd);
      using rb = RingBuffer.open(fd, null, { mode });
      libc().close(fd);
      obj.globals.arg_count = 3;
      const later = setTimeout(
        () => obj.program("produce").testRun({ data: new Uint8Array(64) }),
        50,
      );
      try {
        let n = 0;
        expect(await rb.poll(() => void n++, 5000)).toBe(3);
        expect(n).toBe(3);
      } finally {
        clearTimeout(later);
      }
    });
  }
});

describe.skipIf(!root)("closed while in use", () => {
  const hash = () =>
    BpfMap.create({ type: "hash", key: "u32", value: "u64", maxEntries: 64 });

  it("setMany/deleteMany whose input closes the map: ClosedError, and another map on its fd is left alone", () => {
    for (const op of ["setMany", "deleteMany"] as const) {
      const a = hash();
      for (let i = 0; i < 8; i++) a.set(i, 1n);
      const fd = a.fd;
      let b: BpfMap | undefined;
      function* input(): Generator<[number, bigint] & number> {
        for (let i = 0; i < 8; i++) {
          if (i === 4) {
            a.close();
            // Takes the closed map's fd number.
            b = hash();
            for (let k = 0; k < 8; k++) b.set(k, 7n);
          }
          yield (op === "setMany" ? [i, 2n] : i) as never;
        }
      }
      try {
        expect(() =>
          op === "setMany" ? a.setMany(input()) : a.deleteMany(input()),
        ).toThrow(ClosedError);
        expect(b!.fd).toBe(fd);
        expect(b!.count()).toBe(8);
        expect([...b!.values()]).toEqual(Array(8).fill(7n));
      } finally {
        a.close();
        b?.close();
      }
    }
  });
  it("drain whose options close the map: ClosedError, and another map on its fd keeps its entries", () => {
    const a = hash();
    for (let i = 0; i < 8; i++) a.set(i, 1n);
    const fd = a.fd;
    let b: BpfMap | undefined;
    const options = {
      get batchSize() {
        a.close();
        // Takes the closed map's fd number.
        b = hash();
        for (let k = 0; k < 8; k++) b.set(k, 7n);
        return 4;
      },
    };
    try {
      expect(() => a.drain(options)).toThrow(ClosedError);
      expect(b!.fd).toBe(fd);
      expect(b!.count()).toBe(8);
    } finally {
      a.close();
      b?.close();
    }
  });
  it("a key or value whose getter closes the map: ClosedError before the syscall, never another map's memory", () => {
    // In a child: before the fix the lookup ran on the closed map's fd,
    // by then a map with 4 KiB values, which the kernel wrote into the
    // 8-byte value buffer (heap overflow; Bun crashed).
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-life-"));
    const script = join(dir, "child.ts");
    writeFileSync(
      script,
      `
      import { BpfMap } from ${JSON.stringify(join(ROOT, "src/map.ts"))};
      import { closeSync, openSync } from "node:fs";
      const spec = { type: "hash", key: { id: "u32", pad: "u32" }, maxEntries: 8 } as const;
      const out: string[] = [];
      for (const op of ["get", "get(flags)", "set", "delete", "has", "lookupAndDelete"]) {
        const a = BpfMap.create({ ...spec, value: { x: "u64" } });
        a.set({ id: 1, pad: 0 }, { x: 5n });
        // a's BTF object was loaded first and closed after: fill the fd
        // number it freed, so that b takes a's.
        const hole = openSync("/dev/null", "r");
        const fd = a.fd;
        let b: BpfMap | undefined;
        const key = {
          get id() {
            a.close();
            // Sizes, not types: no BTF object to take the fd number first.
            b = BpfMap.create({ type: "hash", key: 8, value: 4096, maxEntries: 8 });
            b.set(new Uint8Array(8), new Uint8Array(4096).fill(7));
            return 0;
          },
          pad: 0,
        };
        let r: string;
        try {
          op === "set" ? a.set(key, { x: 1n }) : op === "get(flags)" ? a.get(key, 0) : (a as any)[op](key);
          r = "ran";
        } catch (e) {
          r = (e as Error).name;
        }
        const kept = b!.fd === fd && b!.count() === 1 && b!.get(new Uint8Array(8))![0] === 7;
        out.push(op + ":" + r + ":" + kept);
        b!.close();
        closeSync(hole);
      }
      console.log(out.join(" "));
    `,
    );
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const r = deno
      ? spawnSync(deno.execPath(), ["run", "-A", script], { encoding: "utf8" })
      : spawnSync(process.execPath, [script], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stdout.trim()).toBe(
      "get:ClosedError:true get(flags):ClosedError:true set:ClosedError:true delete:ClosedError:true has:ClosedError:true lookupAndDelete:ClosedError:true",
    );
    expect(r.status).toBe(0);
  });
  it("a global's value whose getter closes the object: the write lands, then the object closes (it crashed both runtimes)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-life-"));
    const script = join(dir, "child.ts");
    writeFileSync(
      script,
      `
      import { BpfObject } from ${JSON.stringify(join(ROOT, "src/object.ts"))};
      const out: string[] = [];
      for (const load of [false, true]) {
        const o = BpfObject.open(${JSON.stringify(fixture("globals"))});
        if (load) o.load();
        const g = o.globals as Record<string, unknown>;
        g.pair_val = {
          get a() {
            o.close();
            // Reuses freed memory, so a write into it would show.
            const junk = [];
            for (let i = 0; i < 1000; i++) junk.push(new Uint8Array(4096));
            return 9;
          },
          b: 3n,
        };
        const during = o.closed;
        const pair = o.globals.pair_val as { a: number; b: bigint };
        out.push(\`\${load ? "loaded" : "open"}:\${during}:\${pair.a}:\${pair.b}\`);
        await Promise.resolve();
        out.push(String(o.closed));
      }
      console.log(out.join(" "));
    `,
    );
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const r = deno
      ? spawnSync(deno.execPath(), ["run", "-A", script], { encoding: "utf8" })
      : spawnSync(process.execPath, [script], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stdout.trim()).toBe("open:false:9:3 true loaded:false:9:3 true");
    expect(r.status).toBe(0);
  });
});

describe.skipIf(!root)("close order", () => {
  it("a program or map handle closed on its own leaves the object whole: its lists, load, globals and ring buffers", () => {
    using obj = BpfObject.open(fixture("ringbuf"));
    obj.map("ringbuf.bss").close();
    obj.map("rb").close();
    obj.program("produce").close();
    expect(obj.maps.every((m) => !m.closed)).toBe(true);
    expect(obj.programs.every((p) => !p.closed)).toBe(true);
    for (const p of obj.programs) p.autoload = true;
    obj.globals.arg_count = 2;
    obj.load(); // read every map's pin path and the ring buffer's sizes
    // Globals keep their own handles: closing the caller's changes nothing.
    obj.map("ringbuf.bss").close();
    expect(obj.globals.arg_count).toBe(2);
    using rb = obj.ringBuffer("rb");
    obj.program("produce").testRun({ data: new Uint8Array(64) });
    expect(rb.consume(() => {})).toBe(2);
  });

  it("a link or reader disposed after its object, and every close twice, is quiet", () => {
    let link: BpfLink;
    let rb: RingBuffer;
    let prog: BpfProgram;
    let map: BpfMap;
    {
      using obj = BpfObject.open(fixture("attach"));
      for (const p of obj.programs) p.autoload = p.name === "on_sys_enter";
      obj.load();
      prog = obj.program("on_sys_enter");
      map = obj.map("attach.bss");
      link = prog.attachRawTracepoint("sys_enter");
      obj.close();
      obj.close();
    }
    {
      using obj = BpfObject.open(fixture("ringbuf"));
      obj.load();
      rb = obj.ringBuffer("rb");
    }
    for (const x of [link, rb, prog, map]) {
      expect(x.closed).toBe(true);
      x.close();
      x[Symbol.dispose]();
    }
    // `using` in declaration order: the object is disposed first here.
    {
      using obj = BpfObject.open(fixture("ringbuf"));
      obj.load();
      using reader = obj.ringBuffer("rb");
      using ownMap = BpfMap.create({ type: "ringbuf", maxEntries: 4096 });
      using own = RingBuffer.open(ownMap);
      void reader;
      void own;
    }
  });
});

describe.skipIf(!root)("garbage collection mid-call", () => {
  const gc = () => {
    const g = globalThis as { Bun?: { gc(b: boolean): void }; gc?: () => void };
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
    // Without --expose-gc (deno test), enough garbage to force collections.
    const junk: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) junk.push(new Uint8Array(1024));
  };

  it("collections inside record callbacks, log handlers and between batches change nothing", async () => {
    for (const mode of ["libbpf", "mmap"] as const) {
      // Opened from bytes that are dropped at once: libbpf reads its copy.
      const obj = BpfObject.open(
        new Uint8Array(readFileSync(fixture("ringbuf"))),
      );
      gc();
      obj.load();
      try {
        const rb = obj.ringBuffer("rb", null, { mode });
        obj.globals.arg_count = 40;
        obj.globals.arg_fixed_len = 8; // 40 fit in the ring
        obj.program("produce").testRun({ data: new Uint8Array(64) });
        const seqs: number[] = [];
        rb.consume((r) => {
          seqs.push(new DataView(r.buffer, r.byteOffset).getUint32(0, true));
          if (seqs.length % 8 === 0) gc();
        });
        expect(seqs).toEqual([...Array(40).keys()]);
      } finally {
        obj.close();
      }
    }
    let lines = 0;
    const bad = BpfObject.open(fixture("bad_verifier"), {
      logHandler: () => {
        lines++;
        gc();
      },
    });
    try {
      expect(() => bad.load()).toThrow(/verifier/);
      expect(lines).toBeGreaterThan(0);
    } finally {
      bad.close();
    }
    using m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u64",
      maxEntries: 2048,
    });
    m.setMany(
      (function* () {
        for (let i = 0; i < 2000; i++) {
          if (i % 500 === 0) gc();
          yield [i, BigInt(i)] as [number, bigint];
        }
      })(),
    );
    let sum = 0n;
    let n = 0;
    for (const [, v] of m.entries({ batchSize: 64 })) {
      sum += v;
      if (++n % 256 === 0) gc();
    }
    expect(n).toBe(2000);
    expect(sum).toBe(BigInt((1999 * 2000) / 2));
  });
});

describe.skipIf(!root)("threads", () => {
  it("a Worker refused libbpf while the main thread has it: an FfiError, never a crash once it ends", () => {
    // libbpf has one print function per process. A Worker that installed
    // its own JS callback over the main thread's left libbpf calling it
    // from the main thread after the Worker ended: both runtimes crashed.
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-life-"));
    const worker = join(dir, "worker.ts");
    const script = join(dir, "child.ts");
    const mod = JSON.stringify(join(ROOT, "mod.ts"));
    writeFileSync(
      worker,
      `
      import { BpfObject } from ${mod};
      let r = "loaded";
      try {
        using o = BpfObject.open(${JSON.stringify(fixture("minimal"))});
        o.load();
      } catch (e) {
        r = (e as Error).name + ": " + (e as Error).message;
      }
      postMessage(r);
    `,
    );
    writeFileSync(
      script,
      `
      import { BpfObject } from ${mod};
      const first = BpfObject.open(${JSON.stringify(fixture("minimal"))});
      first.load();
      first.close();
      const w = new Worker(new URL(${JSON.stringify(pathToFileURL(worker).href)}).href, { type: "module" });
      const said = await new Promise<string>((r) => (w.onmessage = (e) => r(e.data)));
      w.terminate();
      await new Promise((r) => setTimeout(r, 100));
      // libbpf prints a verifier log through the print function now.
      const bad = BpfObject.open(${JSON.stringify(fixture("bad_verifier"))});
      let main = "loaded";
      try {
        bad.load();
      } catch (e) {
        main = (e as Error).name + " " + ((e as { verifierLog?: string }).verifierLog ?? "").length;
      }
      bad.close();
      console.log(JSON.stringify({ said, main }));
    `,
    );
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const r = deno
      ? spawnSync(deno.execPath(), ["run", "-A", script], { encoding: "utf8" })
      : spawnSync(process.execPath, [script], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
      said: string;
      main: string;
    };
    expect(out.said).toMatch(
      /^FfiError: libbpf is in use by another JavaScript thread/,
    );
    expect(out.main).toMatch(/^BpfVerifierError [1-9]/);
  });
});
