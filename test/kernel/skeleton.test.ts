import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateSkeleton } from "../../codegen/skeleton.ts";
import { BpfMap } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
import {
  BpfError,
  BpfTypeError,
  ClosedError,
  StateError,
} from "../../src/errors.ts";
import { BPF_F_LOCK } from "../../src/map_types.ts";
import { fixture, isRoot, need, ROOT, thrown } from "../_support/fixtures.ts";
import { ArrayView } from "../../src/btf/cells.ts";

const OBJ = fixture("skeleton");
const TMP = join(ROOT, "build/test", `skeleton-kernel-${process.pid}`);
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

// The default import ("tsbpf") checks both runtimes resolve the package
// name: Bun through tsconfig paths / the package's self-reference, Deno
// through deno.json's import map.
const embedded = join(TMP, "embedded.skel.ts");
writeFileSync(
  embedded,
  generateSkeleton(readFileSync(OBJ), { fileName: "skeleton.bpf.o" }),
);
const byPath = join(TMP, "path.skel.ts");
writeFileSync(
  byPath,
  generateSkeleton(readFileSync(OBJ), {
    fileName: "skeleton.bpf.o",
    path: "../../fixtures/skeleton.bpf.o",
    importFrom: "../../../mod.ts",
  }),
);

// deno-lint-ignore no-explicit-any
type Skel = any;
const mod = async (file: string): Promise<{ open(): Skel; load(): Skel }> =>
  await import(pathToFileURL(file).href);

/**
 * The skeleton module generated for fixture `name`, written to `file` in
 * TMP (a file name of its own per test: a module is imported once).
 */
async function skeletonModule(
  name: string,
  file: string,
): Promise<{ open(): Skel; load(): Skel }> {
  const path = join(TMP, file);
  writeFileSync(
    path,
    generateSkeleton(readFileSync(fixture(name)), {
      fileName: `${name}.bpf.o`,
    }),
  );
  return await mod(path);
}

const PACKET = new Uint8Array(64);

describe.skipIf(!need(isRoot(), "not root: skeleton tests load BPF programs"))(
  "generated skeleton",
  () => {
    it("opens, sets globals before load, runs, reads typed maps and ring buffers", async () => {
      const m = await mod(embedded);
      const skel = m.open();
      try {
        expect(skel.loaded).toBe(false);
        skel.globals.min_seq = 1;
        skel.globals.cfg = { level: 5, flags: 2 };
        expect(skel.globals.cfg.level).toBe(5);
        skel.maps.counts.map.maxEntries = 32;
        const loaded = skel.load();
        expect(loaded).toBe(skel);
        expect(skel.maps.counts.map.maxEntries).toBe(32);
        for (let i = 0; i < 4; i++)
          skel.programs.delete.testRun({ data: PACKET });
        // seq 0 is below min_seq: 3 runs counted.
        expect(skel.maps.counts.get(7)).toBe(3n);
        expect(skel.globals.runs).toBe(4n);
        const perCpu = skel.maps.pcpu.get(0);
        let packets = 0n;
        let bytes = 0n;
        for (const p of perCpu) {
          packets += p.packets;
          bytes += p.bytes;
        }
        expect(packets).toBe(3n);
        expect(bytes).toBe(15n);
        const seqs: number[] = [];
        skel.ringBuffers.events.consume((e: Skel) => {
          expect(e.tag).toBe("skel");
          seqs.push(e.seq);
        });
        expect(seqs).toEqual([1, 2, 3]);
        const bs: number[] = [];
        skel.ringBuffer("events2").consume((e: Skel) => void bs.push(e.a));
        expect(bs).toEqual([1, 2, 3]);
        // The skeleton's reader is the map's one reader in this process.
        expect(() => skel.object.ringBuffer("events2")).toThrow(
          /already read by another RingBuffer/,
        );
        // A field write on a struct global reaches the kernel after load.
        skel.globals.cfg.level = 10;
        expect(skel.globals.cfg.level).toBe(10);
        skel.programs.delete.testRun({ data: PACKET });
        let bytesAfter = 0n;
        for (const p of skel.maps.pcpu.get(0)) bytesAfter += p.bytes;
        expect(bytesAfter).toBe(25n);
        // BpfMap's options pass through: BPF_F_LOCK reaches the kernel
        // (which refuses it for a value without a bpf_spin_lock), and
        // drain's batchSize is checked.
        const noLock =
          /BPF_F_LOCK needs a value type with a struct bpf_spin_lock/;
        expect(() => skel.maps.counts.get(7, BPF_F_LOCK)).toThrow(noLock);
        expect(() => skel.maps.pcpu.get(0, BPF_F_LOCK)).toThrow(BpfError);
        expect(() => [...skel.maps.counts.entries({ lock: true })]).toThrow(
          noLock,
        );
        expect(() => [...skel.maps.counts.keys({ batchSize: 0 })]).toThrow(
          /batchSize must be a positive integer/,
        );
        expect(() => [...skel.maps.counts.values({ lock: true })]).toThrow(
          noLock,
        );
        expect(() => skel.maps.counts.drain({ batchSize: 0 })).toThrow(
          /batchSize must be a positive integer/,
        );
        expect([...skel.maps.counts.entries()]).toEqual([[7, 4n]]);
        expect(() => (skel.globals.min_seq = 9)).toThrow(StateError);
        expect(() => skel.ringBuffer("counts")).toThrow(/ring buffer/);
      } finally {
        skel.close();
      }
      expect(skel.object.closed).toBe(true);
    });

    it("hands struct keys and values out as the generated classes", async () => {
      const m = await mod(byPath);
      const skel = m.load();
      try {
        const stats = skel.maps.stats;
        stats.set({ pid: 1, nr: 2 }, { count: 5n, total: 7n, comm: "abc" });
        const v = stats.get({ pid: 1, nr: 2 });
        expect(v.constructor.name).toBe("Stats");
        expect(v.toObject()).toEqual({ count: 5n, total: 7n, comm: "abc" });
        const [[k, v2]] = [...stats.entries()];
        expect(k.constructor.name).toBe("Key");
        expect(k.toObject()).toEqual({ pid: 1, nr: 2 });
        expect(v2.count).toBe(5n);
        v2.count = 6n;
        stats.set(k, v2);
        expect(stats.get(k).count).toBe(6n);
        expect(stats.has({ pid: 9, nr: 9 })).toBe(false);
        expect(stats.delete(k)).toBe(true);
        expect([...stats.keys()]).toEqual([]);
        // Names that are special in JavaScript are ordinary here.
        skel.maps.__proto__.set(1, { x: 42 });
        expect(skel.maps.__proto__.get(1).x).toBe(42);
        skel.maps.constructor.set(0, 3);
        expect(skel.maps.constructor.get(0)).toBe(3);
        expect(Object.keys(skel.maps)).toContain("__proto__");
        expect(skel.globals.toString).toBe(0);
        // obj.globals leaves `then` to runtimes; the skeleton reads it.
        expect(skel.globals.then).toBe(7);
        skel.globals.then = 8;
        expect(skel.object.globalVariables.get("then")).toBe(8);
      } finally {
        skel.close();
      }
    });

    it("types struct globals and arrays of structs as the generated classes", async () => {
      const m = (await mod(byPath)) as unknown as Record<string, Skel>;
      const skel = m.open();
      try {
        // Before load: instances over libbpf's initial values.
        expect(skel.globals.cfg).toBeInstanceOf(m.Config);
        expect(skel.globals.cfgs.map((c: Skel) => c.toObject())).toEqual([
          { level: 1, flags: 2 },
          { level: 3, flags: 4 },
        ]);
        skel.globals.cfgs = [{ level: 5 }, new m.Config()];
        skel.load();
        const cfgs = skel.globals.cfgs;
        expect(cfgs[0]).toBeInstanceOf(m.Config);
        expect(cfgs.map((c: Skel) => c.level)).toEqual([5, 0]);
        // Element fields are live: the write reaches the kernel's copy.
        cfgs[1].flags = 8;
        expect(skel.globals.cfgs[1].flags).toBe(8);
        expect(skel.globals.cfg).toBeInstanceOf(m.Config);
        expect(skel.globals.cfg).toBe(skel.globals.cfg);
        // A global the object does not have is named, with the ones it has.
        expect(() => (skel.globals.nope = 1)).toThrow(
          /no global variable named 'nope'; available: .*cfgs/,
        );
        // A view of another struct (here the same size) is refused, and
        // view members are not fields.
        expect(() => (skel.globals.cfg = new m.Key())).toThrow(
          /expected a struct config, got a view of struct key/,
        );
        expect(() => (skel.globals.cfg = { toObject: 1 })).toThrow(
          /struct config has no field 'toObject'/,
        );
        expect(() => (skel.globals.cfg = { level: -1 })).toThrow(BpfTypeError);
        // A misspelt field is an error, not dropped.
        expect(() => (skel.globals.cfg = { levle: 1 })).toThrow(
          /struct config has no field 'levle'/,
        );
        expect(() => (skel.globals.cfgs = [{ level: 1 }])).toThrow(
          /expected 2 struct config/,
        );
        // A map of struct arrays: arrays of instances out; instances,
        // plain objects or bytes in.
        const triples = skel.maps.triples;
        triples.set(1, [
          { packets: 1n, bytes: 2n },
          new m.Pair(),
          new Uint8Array(16).fill(1),
        ]);
        const got = triples.get(1);
        expect(got).toHaveLength(3);
        expect(got[0]).toBeInstanceOf(m.Pair);
        expect(got.map((p: Skel) => p.packets)).toEqual([
          1n,
          0n,
          0x0101010101010101n,
        ]);
        expect(() =>
          skel.maps.stats.set({ pid: 1, nr: 2 }, { count: 1n, bogus: 2 }),
        ).toThrow(/struct stats has no field 'bogus'/);
        // Keyed maps have the bulk calls; queues and bloom filters theirs.
        const stats = skel.maps.stats;
        stats.setMany([
          [{ pid: 1, nr: 1 }, { count: 1n }],
          [{ pid: 2, nr: 2 }, { count: 2n }],
        ]);
        expect(stats.count()).toBe(2);
        expect(stats.lookupAndDelete({ pid: 1, nr: 1 })).toBeInstanceOf(
          m.Stats,
        );
        expect(stats.deleteMany([{ pid: 2, nr: 2 }])).toBe(1);
        stats.set({ pid: 4, nr: 4 }, { count: 4n });
        const [[k, v], ...rest] = stats.drain();
        expect(rest).toEqual([]);
        expect(k).toBeInstanceOf(m.Key);
        expect(v).toBeInstanceOf(m.Stats);
        expect([k.pid, v.count]).toEqual([4, 4n]);
        expect(stats.count()).toBe(0);
        expect(() =>
          stats.setMany([[{ pid: 3, nr: 3 }, { count: 3n }], 5 as never]),
        ).toThrow(
          /^setMany: entry 1: an entry is a \[key, value\] array, got number 5 \(nothing was written\)/,
        );
        expect(() =>
          stats.setMany([[{ pid: 3, nr: 3 }, { count: "x" as never }]]),
        ).toThrow(/^setMany: entry 0: struct stats: /);
        const pending = skel.maps.pending;
        pending.push({ packets: 7n, bytes: 8n });
        expect(pending.peek()).toBeInstanceOf(m.Pair);
        expect(pending.pop().toObject()).toEqual({ packets: 7n, bytes: 8n });
        expect(pending.pop()).toBeUndefined();
        skel.maps.seen.push(42);
        expect(skel.maps.seen.mayContain(42)).toBe(true);
        expect(skel.maps.seen.mayContain(43)).toBe(false);
      } finally {
        skel.close();
      }
    });

    it("attach() attaches what libbpf can by section name and close() detaches", async () => {
      const m = await mod(embedded);
      const skel = m.load();
      try {
        const links = skel.attach();
        // on_getppid (tracepoint) attaches; delete (xdp) needs an interface.
        expect(links.length).toBe(1);
        const before = skel.globals.toString;
        const { spawnSync } = await import("node:child_process");
        spawnSync("sh", ["-c", "echo $PPID"]);
        expect(skel.globals.toString).toBeGreaterThan(before);
      } finally {
        skel.close();
      }
    });

    it("attach()'s links are disposable: \`using links = skel.attach()\` detaches them at the end of the block", async () => {
      const skel = (await mod(embedded)).load();
      try {
        const { spawnSync } = await import("node:child_process");
        let kept;
        {
          using links = skel.attach();
          expect(links.length).toBe(1);
          kept = [...links];
        }
        expect(kept[0].closed).toBe(true);
        const before = skel.globals.toString;
        spawnSync("sh", ["-c", "echo $PPID"]);
        expect(skel.globals.toString).toBe(before);
        // attach() makes them again, and the object stays usable.
        using again = skel.attach();
        expect(again.length).toBe(1);
        expect(again[0]).not.toBe(kept[0]);
        spawnSync("sh", ["-c", "echo $PPID"]);
        expect(skel.globals.toString).toBeGreaterThan(before);
      } finally {
        skel.close();
      }
    });

    it("attach() skips programs without an automatic attach point, each with its reason", async () => {
      const skel = (await mod(embedded)).load();
      try {
        const links = skel.attach();
        expect(links.length).toBe(1);
        expect(links.skipped).toEqual([
          {
            program: "delete",
            section: "xdp",
            reason: expect.stringMatching(/attachXdp/),
          },
        ]);
        // Options that are not { onError } are a typed error, not a
        // TypeError from reading them or a silent default.
        for (const bad of [null, "skip", { onError: "ignore" }]) {
          const e = thrown(() => skel.attach(bad));
          expect(e).toBeInstanceOf(BpfTypeError);
          expect((e as Error).message).toMatch(/^attach: /);
        }
        expect(skel.attach().length).toBe(1);
      } finally {
        skel.close();
      }
    });

    it("attach()'s links are also by program name (byName), skipped ones absent, kept ones again", async () => {
      const skel = (await mod(embedded)).load();
      try {
        const links = skel.attach();
        expect(Object.keys(links.byName)).toEqual(["on_getppid"]);
        expect(links.byName.on_getppid).toBe(links[0]);
        expect(links.byName.on_getppid!.info().programId).toBe(
          skel.programs.on_getppid.id,
        );
        expect(links.byName.delete).toBeUndefined();
        // Not an own list of the array: spread and JSON stay the links.
        expect(Object.keys(links)).toEqual(["0"]);
        const again = skel.attach();
        expect(again.byName.on_getppid).toBe(links.byName.on_getppid);
      } finally {
        skel.close();
      }
    });

    it("attach() throws a kernel's refusal (EOPNOTSUPP too) unless told to skip it", async () => {
      // kprobe.multi names its target: libbpf attaches it on its own, so an
      // EOPNOTSUPP is the kernel refusing (no CONFIG_FPROBE / kprobes), not
      // "nothing to attach".
      const skeleton = await skeletonModule(
        "kprobe_kinds",
        "kprobe_kinds.skel.ts",
      );
      const open = async () => {
        const s = skeleton.open();
        s.programs.on_getppid.autoload = false;
        return s.load();
      };
      let skel = await open();
      try {
        let links;
        try {
          links = skel.attach();
        } catch (e) {
          expect(e).toBeInstanceOf(BpfError);
          expect((e as Error).message).toContain("on_nanosleep_multi");
        }
        // Where the kernel takes kprobe_multi links, the program attached.
        if (links) expect(links.length).toBe(1);
      } finally {
        skel.close();
      }
      skel = await open();
      try {
        const links = skel.attach({ onError: "skip" });
        if (links.length === 0) {
          expect(links.skipped).toEqual([
            {
              program: "on_getppid",
              section: "ksyscall/getppid",
              reason: "autoload is off",
            },
            {
              program: "on_nanosleep_multi",
              section: "kprobe.multi/do_nanosleep*",
              reason: expect.stringContaining("EOPNOTSUPP"),
              error: expect.any(BpfError),
            },
          ]);
        }
      } finally {
        skel.close();
      }
    });

    it("typed maps pass lookup flags and iteration options on (BPF_F_LOCK, lock, batchSize)", async () => {
      const skel = (await skeletonModule("maps", "maps.skel.ts")).open();
      try {
        skel.programs.on_getppid.autoload = false;
        skel.load();
        const locked = skel.maps.locked;
        const counts0 = () => skel.maps.counts;
        counts0().set(1, 1n);
        locked.set(1, { a: 1n, b: 2n }, BPF_F_LOCK);
        locked.set(3, { a: 3n, b: 4n }, BPF_F_LOCK);
        const v = locked.get(1, BPF_F_LOCK);
        expect(v.constructor.name).toBe("LockedPair");
        expect([v.a, v.b]).toEqual([1n, 2n]);
        // The options spelling, as entries({ lock: true }) takes it.
        locked.set(5, { a: 5n, b: 6n }, { mode: "noexist", lock: true });
        const w = locked.get(5, { lock: true });
        expect(w.constructor.name).toBe("LockedPair");
        expect([w.a, w.b]).toEqual([5n, 6n]);
        expect(locked.delete(5)).toBe(true);
        expect(thrown(() => counts0().get(1, { lock: true }))).toBeInstanceOf(
          BpfError,
        );
        // The flags reach the kernel: a lookup flag it does not take fails.
        expect(thrown(() => locked.get(1, 8))).toBeInstanceOf(BpfError);
        const counts = skel.maps.counts;
        counts.set(1, 1n);
        expect(thrown(() => counts.get(1, BPF_F_LOCK))).toBeInstanceOf(
          BpfError,
        );
        for (const batch of [true, false]) {
          const all = [...locked.entries({ lock: true, batch })].map(
            ([k, x]: Skel) => [k, x.a, x.b],
          );
          expect(all.sort()).toEqual([
            [1, 1n, 2n],
            [3, 3n, 4n],
          ]);
          expect([...locked.keys({ lock: true, batch })].sort()).toEqual([
            1, 3,
          ]);
          expect(
            [...locked.values({ lock: true, batch })].map((x: Skel) => x.b),
          ).toHaveLength(2);
        }
        expect(() => [...counts.entries({ lock: true })]).toThrow(BpfError);
        expect(() => [...counts.values({ lock: true })]).toThrow(BpfError);
        expect(() => counts.drain({ batchSize: 0 })).toThrow(BpfTypeError);
        expect(counts.drain({ batchSize: 1 })).toEqual([[1, 1n]]);
        const pcpu = skel.maps.pcpu_hash;
        pcpu.setMany([
          [1, 3n],
          [2, 4n],
        ]);
        const cpus = pcpu.get(1).length;
        expect(pcpu.lookupAndDelete(1)).toEqual(Array(cpus).fill(3n));
        expect(pcpu.has(1)).toBe(false);
      } finally {
        skel.close();
      }
    });

    it("an element written to an array of struct globals reaches the object's memory, or throws", async () => {
      const m = (await mod(byPath)) as unknown as Record<string, Skel>;
      const skel = m.open();
      try {
        const g = skel.globals;
        g.cfgs[1] = { level: 7, flags: 9 };
        expect(g.cfgs[1].toObject()).toEqual({ level: 7, flags: 9 });
        skel.load();
        g.cfgs[0] = new m.Config();
        g.cfgs[1] = { level: 3 };
        expect(g.cfgs.map((c: Skel) => c.toObject())).toEqual([
          { level: 0, flags: 0 },
          { level: 3, flags: 0 },
        ]);
        // Nothing is dropped quietly: a bad element, index or call throws.
        expect(thrown(() => (g.cfgs[0] = 5))).toBeInstanceOf(BpfTypeError);
        expect(thrown(() => (g.cfgs[0] = { levle: 1 }))).toBeInstanceOf(
          BpfTypeError,
        );
        expect(thrown(() => (g.cfgs[2] = {}))).toBeInstanceOf(BpfTypeError);
        expect(thrown(() => g.cfgs.push({}))).toBeInstanceOf(BpfTypeError);
        expect(thrown(() => (g.cfgs.length = 0))).toBeInstanceOf(BpfTypeError);
        expect(thrown(() => delete g.cfgs[0])).toBeInstanceOf(BpfTypeError);
        expect(g.cfgs.map((c: Skel) => c.level)).toEqual([0, 3]);
      } finally {
        skel.close();
      }
    });

    it("globals in .rodata.*, arrays of every kind, .kconfig and .ksyms externs reach the program", async () => {
      const skel = (
        await skeletonModule("skeleton_globals", "skeleton_globals.skel.ts")
      ).open();
      try {
        expect(skel.globals.scale).toBe(2);
        // .kconfig externs: libbpf's to fill in at load.
        expect(() => skel.globals.LINUX_KERNEL_VERSION).toThrow(StateError);
        expect(() => (skel.globals.CONFIG_BPF_SYSCALL = false)).toThrow(
          StateError,
        );
        // Until then they are left out of enumerations, which would read
        // them: spreading or logging the globals before load still works.
        const before = { ...skel.globals };
        expect("LINUX_KERNEL_VERSION" in before).toBe(false);
        expect(before.scale).toBe(2);
        for (const change of [
          () => delete skel.globals.scale,
          () => Object.defineProperty(skel.globals, "x", { value: 1 }),
          () => (skel.globals[Symbol.iterator] = 1),
        ])
          expect(thrown(change)).toBeInstanceOf(BpfTypeError);
        const obj = skel.object;
        expect(Object.keys(obj.globals)).not.toContain("CONFIG_BPF_SYSCALL");
        expect(Object.entries(obj.globals).length).toBe(
          Object.keys(skel.globals).length,
        );
        expect(skel.globals.limits).toBeInstanceOf(ArrayView);
        expect([...skel.globals.limits]).toEqual([10n, 20n, 30n]);
        expect(skel.globals.grid[1][2]).toBe(6);
        skel.globals.scale = 3;
        skel.globals.limits = [100n, 200n, 300n];
        skel.globals.slots[3] = 8;
        skel.globals.pairs = [
          { a: 9, b: 10n },
          { a: 11, b: 12n },
        ];
        skel.globals.grid[1][2] = 60;
        expect(skel.globals.mat[1][3]).toBe(8);
        expect(skel.globals.names[1]).toBe("cd");
        expect([...skel.globals.flags]).toEqual([true, false]);
        // Byte arrays are live views like the others: an element write stays.
        skel.globals.bytes_val[2] = 5;
        skel.globals.small[0] = -7;
        skel.globals.flags[1] = true;
        expect([...skel.globals.bytes_val]).toEqual([0, 0, 5, 0, 0, 0, 0, 0]);
        expect(skel.globals.small[0]).toBe(-7);
        expect(skel.globals.flags.toArray()).toEqual([true, true]);
        skel.globals.small[0] = -1;
        skel.globals.flags[1] = false;
        skel.globals.mat[1][3] = 80;
        skel.globals.names = ["ab", "A"];
        skel.load();
        const links = skel.attach();
        expect(links.length).toBe(1);
        const { spawnSync } = await import("node:child_process");
        spawnSync("sh", ["-c", "echo $PPID"]);
        // 3 * (100 + 300) + 8 + 12, then small[0] + flags[0] + grid[1][2]
        // + colors[1] + mat[1][3] + names[1][0] + rpair.b
        expect(skel.globals.seen_sum).toBe(
          1220n - 1n + 1n + 60n + 2n + 80n + 65n + 6n,
        );
        expect(skel.globals.seen_syscall).toBe(1);
        expect(skel.globals.CONFIG_BPF_SYSCALL).toBe(true);
        expect({ ...skel.globals }.CONFIG_BPF_SYSCALL).toBe(true);
        expect(Object.keys(skel.object.globals)).toContain(
          "LINUX_KERNEL_VERSION",
        );
        expect(skel.globals.LINUX_KERNEL_VERSION).toBe(
          skel.globals.seen_version,
        );
        expect(() => (skel.globals.LINUX_KERNEL_VERSION = 1)).toThrow(
          StateError,
        );
        const [maj, min] = readFileSync("/proc/sys/kernel/osrelease", "utf8")
          .split(".")
          .map(Number);
        expect(skel.globals.seen_version >> 8).toBe((maj! << 8) | min!);
        expect(skel.globals.seen_ksym).not.toBe(0n);
        // A live view: an element written after load reaches the program.
        skel.globals.slots[3] = 108;
        spawnSync("sh", ["-c", "echo $PPID"]);
        expect(skel.globals.seen_sum).toBe(1533n);
        expect(() => (skel.globals.rpair.b = 1n)).toThrow(StateError);
        expect(() => (skel.globals.limits[0] = 1n)).toThrow(StateError);
      } finally {
        skel.close();
      }
    });

    it("maps has the global-data maps, as libbpf's skeletons (maps.bss, maps.rodata_cfg...), by section where a map has the name", async () => {
      const skel = (
        await skeletonModule("skeleton_globals", "data_maps.skel.ts")
      ).open();
      try {
        const btf = skel.object.btf;
        const sectionOf = (m: Skel) => btf.typeById(m.btfValueTypeId).name;
        for (const [key, section] of [
          ["bss", ".bss"],
          ["data", ".data"],
          ["rodata", ".rodata"],
          ["rodata_cfg", ".rodata.cfg"],
          ["kconfig", ".kconfig"],
        ]) {
          const m = skel.maps[key];
          expect(m).toBeInstanceOf(BpfMap);
          expect([key, m.type, sectionOf(m)]).toEqual([key, "array", section]);
          expect(skel.object.maps.map((x: Skel) => x.name)).toContain(m.name);
        }
        // libbpf names a custom section's map after the section itself.
        expect(skel.maps.rodata_cfg.name).toBe(".rodata.cfg");
        skel.load();
        // The map is the globals' memory.
        skel.globals.seen_sum = 0x1234n;
        const bss = skel.maps.bss.get(0) as Uint8Array;
        const at = skel.object.globalVariables.describe("seen_sum").offset;
        expect(
          new DataView(bss.buffer, bss.byteOffset).getBigUint64(at, true),
        ).toBe(0x1234n);
        expect(skel.maps.rodata.frozen).toBe(true);
      } finally {
        skel.close();
      }
      // fixtures/skeleton_rodata.bpf.c has a map named bss.
      const other = (
        await skeletonModule("skeleton_rodata", "data_maps_clash.skel.ts")
      ).load();
      try {
        other.maps.bss.set(0, 5n);
        expect(other.maps.bss.get(0)).toBe(5n);
        const bss = other.maps[".bss"];
        expect(bss).toBeInstanceOf(BpfMap);
        expect(other.object.btf.typeById(bss.btfValueTypeId).name).toBe(".bss");
        expect(Object.keys(other.maps)).toEqual([
          "bss",
          ".bss",
          "data",
          "rodata",
        ]);
      } finally {
        other.close();
      }
    });

    it("a skeleton closed before load says closed, not 'only after load', for its readers", async () => {
      const skel = (await mod(embedded)).open();
      skel.close();
      expect(() => skel.ringBuffers.events).toThrow(ClosedError);
      expect(() => skel.ringBuffer("events2")).toThrow(ClosedError);
      expect(() => skel.maps.counts).toThrow(ClosedError);
      expect(() => skel.programs.delete).toThrow(ClosedError);
      expect(() => skel.globals.min_seq).toThrow(ClosedError);
      expect(() => skel.load()).toThrow(ClosedError);
      expect(() => skel.attach()).toThrow(ClosedError);
    });

    it("attach() attaches iterators that walk everything and skips those that need a map or a cgroup", async () => {
      const skel = (await skeletonModule("iter", "iter.skel.ts")).load();
      try {
        const links = skel.attach();
        expect(links.map((l: Skel) => l.description)).toEqual(["iter/task"]);
        expect(
          links.skipped.map((s: Skel) => [s.program, s.reason, s.error]),
        ).toEqual([
          [
            "dump_elems",
            expect.stringMatching(/attachIter\(\{ map \}\)/),
            undefined,
          ],
          [
            "dump_cgroup",
            expect.stringMatching(/attachIter\(\{ cgroup/),
            undefined,
          ],
          [
            "dump_sockmap",
            expect.stringMatching(/attachIter\(\{ map \}\)/),
            undefined,
          ],
        ]);
      } finally {
        skel.close();
      }
    });

    it("attach() leaves programs whose autoattach is off loaded and unattached, as libbpf does", async () => {
      const skel = (await mod(embedded)).open();
      try {
        expect(skel.programs.on_getppid.autoattach).toBe(true);
        skel.programs.on_getppid.autoattach = false;
        skel.load();
        expect(skel.programs.on_getppid.autoattach).toBe(false);
        const links = skel.attach();
        expect(links.length).toBe(0);
        expect(links.skipped[0]).toEqual({
          program: "delete",
          section: "xdp",
          reason: expect.stringMatching(/attachXdp/),
        });
        expect(links.skipped[1]).toEqual({
          program: "on_getppid",
          section: "tracepoint/syscalls/sys_enter_getppid",
          reason: "autoattach is off",
        });
        // Still loaded: it attaches by hand.
        skel.programs.on_getppid.attach().close();
        expect(() => (skel.programs.on_getppid.autoattach = 1)).toThrow(
          BpfTypeError,
        );
      } finally {
        skel.close();
      }
      expect(() => skel.programs.on_getppid.autoattach).toThrow(ClosedError);
    });

    it("attach() again keeps the links it made and attaches only what has none, as libbpf does", async () => {
      const skel = (await mod(embedded)).load();
      try {
        const first = skel.attach();
        expect(first.length).toBe(1);
        const again = skel.attach();
        expect(again.length).toBe(1);
        expect(again[0]).toBe(first[0]);
        // A link closed by hand is made again.
        first[0].close();
        const third = skel.attach();
        expect(third.length).toBe(1);
        expect(third[0]).not.toBe(first[0]);
        expect(third[0].closed).toBe(false);
      } finally {
        skel.close();
      }
    });

    it("load() failing leaves nothing open", async () => {
      const m = await mod(embedded);
      const skel = m.open();
      skel.close();
      expect(() => skel.load()).toThrow();
      expect(BpfObject).toBeDefined();
    });
  },
);
