/**
 * Child script of lifetime.test.ts: runs `<scenario>` for `<cycles>` after a
 * warm-up and prints one JSON line: open fds and RSS before and after, and
 * the programs this process still holds (per bpftool) at the end.
 *
 *   bun test/_support/lifetime_child.ts waiters 1000
 *   deno run -A --v8-flags=--expose-gc test/_support/lifetime_child.ts ...
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { BpfLink } from "../../src/link.ts";
import { BpfMap, possibleCpus } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
import { PerfBuffer } from "../../src/perfbuf.ts";
import { RingBuffer } from "../../src/ringbuf.ts";
import { ourPrograms } from "./bpftool.ts";
import { fixture } from "./fixtures.ts";

function gc(): void {
  const g = globalThis as {
    Bun?: { gc(full: boolean): void };
    gc?: () => void;
  };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}

/** A full collection, then a turn of the event loop for the finalizers. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

const fds = () => readdirSync("/proc/self/fd").length;
const rssKiB = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]);

const ringObj = new Uint8Array(readFileSync(fixture("ringbuf")));
const attachPath = fixture("attach");
const perfPath = fixture("perfbuf");

const scenarios: Record<string, (i: number) => void | Promise<unknown>> = {
  /** open (file or bytes) → load → attach → globals → close with the link on. */
  object(i) {
    const obj = BpfObject.open(
      i % 2 ? attachPath : new Uint8Array(readFileSync(attachPath)),
    );
    for (const p of obj.programs) p.autoload = p.name === "on_sys_enter";
    obj.load();
    obj.program("on_sys_enter").attachRawTracepoint("sys_enter");
    void obj.globals.raw_tp_hits;
    void obj.btf;
    obj.close();
  },
  /** Ring (both modes) and perf readers opened, drained, waited on, closed. */
  async readers(i) {
    {
      using obj = BpfObject.open(ringObj);
      obj.load();
      const rb = obj.ringBuffer("rb", null, {
        mode: i % 2 ? "libbpf" : "mmap",
      });
      rb.consume(() => {});
      await rb.poll(() => {}, 1);
      rb.close();
    }
    using obj = BpfObject.open(perfPath);
    obj.load();
    const pb = obj.perfBuffer("events");
    pb.consume(() => {});
    if (i % 4 === 0) await pb.poll(() => {}, 1);
    pb.close();
  },
  /** Standalone maps created, filled, iterated and closed. */
  maps(i) {
    const m = BpfMap.create({
      type: "hash",
      key: "u32",
      value: "u64",
      maxEntries: 64,
    });
    for (let k = 0; k < 8; k++) m.set(k, BigInt(k));
    void [...m.entries()];
    m.close();
    const r = BpfMap.create({ type: "ringbuf", maxEntries: 4096 });
    const rb = RingBuffer.open(r, null, { mode: i % 2 ? "libbpf" : "mmap" });
    rb.consume(() => {});
    rb.close();
    r.close();
  },
};

/** Links of one loaded object attached and closed: raw_tp, uprobe, tracepoint. */
let linkObj: BpfObject | undefined;
scenarios.links = (i) => {
  if (!linkObj) {
    linkObj = BpfObject.open(attachPath);
    for (const p of linkObj.programs)
      p.autoload = ["on_sys_enter", "on_uprobe", "on_getpid"].includes(p.name);
    linkObj.load();
  }
  const raw = linkObj.program("on_sys_enter").attachRawTracepoint("sys_enter");
  void raw.info();
  raw.close();
  // Detaching a uprobe or tracepoint costs the kernel ~60-140 ms (RCU):
  // only some cycles. libc's getpid is in its dynamic symbol table.
  if (i % 25 === 0) {
    linkObj
      .program("on_uprobe")
      .attachUprobe({ binaryPath: libcPath(), symbol: "getpid" })
      .close();
    linkObj.program("on_getpid").attach().close();
  }
};

/** The libc this process runs with. */
function libcPath(): string {
  const maps = readFileSync("/proc/self/maps", "utf8");
  return /\s(\/\S*\/libc\.so\.6)$/m.exec(maps)?.[1] ?? "libc.so.6";
}

/**
 * Standalone handles dropped without close(): each is released once
 * collected. A map created, one opened by id and one from a pin; ring
 * readers of both modes (having waited: Bun starts a Worker) and a perf
 * reader over long-lived maps; a link opened from a pin.
 */
const PIN_DIR = `/sys/fs/bpf/tsbpf-lifetime-${process.pid}`;
let dropObj: BpfObject | undefined;
const dropRing = BpfMap.create({ type: "ringbuf", maxEntries: 4096 });
const dropPerf = BpfMap.create({
  type: "perf_event_array",
  key: "u32",
  value: "u32",
  maxEntries: possibleCpus(),
});
/** The object whose link and map are pinned for the dropped handles. */
function pinned(): void {
  if (dropObj) return;
  mkdirSync(PIN_DIR);
  dropObj = BpfObject.open(attachPath);
  for (const p of dropObj.programs) p.autoload = p.name === "on_sys_enter";
  dropObj.load();
  const link = dropObj.program("on_sys_enter").attachRawTracepoint("sys_enter");
  link.pin(`${PIN_DIR}/link`);
  dropObj.maps[0]!.pin(`${PIN_DIR}/map`);
}
const smallMap = () =>
  BpfMap.create({ type: "hash", key: "u32", value: "u32", maxEntries: 8 });

scenarios.dropped = async (i) => {
  pinned();
  const m = smallMap();
  m.set(1, 1);
  void BpfMap.fromId(m.id).get(1);
  void BpfMap.fromPinned(`${PIN_DIR}/map`).type;
  void BpfLink.fromPinned(`${PIN_DIR}/link`).info();
  // One live reader per map: a dropped reader holds its map until it is
  // collected. Most cycles read maps of their own (dropped too); every
  // tenth reads the long-lived maps after a collection, which has to have
  // released the previous readers' claims on them.
  const shared = i % 10 === 0;
  if (shared) await collect();
  const rb = RingBuffer.open(
    shared ? dropRing : BpfMap.create({ type: "ringbuf", maxEntries: 4096 }),
    null,
    { mode: i % 2 ? "libbpf" : "mmap" },
  );
  rb.consume(() => {});
  if (shared) await rb.poll(() => {}, 0);
  const pb = PerfBuffer.open(
    shared
      ? dropPerf
      : BpfMap.create({
          type: "perf_event_array",
          key: "u32",
          value: "u32",
          maxEntries: possibleCpus(),
        }),
  );
  pb.consume(() => {});
  if (shared) await pb.poll(() => {}, 0);
};

/**
 * Objects dropped unclosed with nothing open on them: loaded (their
 * globals mapped), not loaded, and one whose link was closed. Each is
 * freed once collected.
 */
scenarios.objects = (i) => {
  const loaded = BpfObject.open(
    i % 2 ? attachPath : new Uint8Array(readFileSync(attachPath)),
  );
  for (const p of loaded.programs) p.autoload = p.name === "on_sys_enter";
  loaded.load();
  void loaded.globals.raw_tp_hits;
  BpfObject.open(attachPath);
  const linked = BpfObject.open(attachPath);
  for (const p of linked.programs) p.autoload = p.name === "on_sys_enter";
  linked.load();
  linked.program("on_sys_enter").attachRawTracepoint("sys_enter").close();
};

/**
 * The same handles closed, then collected: the fd numbers they had, taken
 * by new maps meanwhile, stay those maps' (a handle collected after
 * close() closes nothing).
 */
scenarios.closed = async (i) => {
  pinned();
  (() => {
    smallMap().close();
    const m = smallMap();
    BpfMap.fromId(m.id).close();
    m.close();
    BpfMap.fromPinned(`${PIN_DIR}/map`).close();
    BpfLink.fromPinned(`${PIN_DIR}/link`).close();
    RingBuffer.open(dropRing, null, {
      mode: i % 2 ? "libbpf" : "mmap",
    }).close();
    PerfBuffer.open(dropPerf).close();
  })();
  const takers = Array.from({ length: 16 }, smallMap);
  await collect();
  // EBADF here if a collected handle closed its old number again.
  for (const t of takers) t.info();
  for (const t of takers) t.close();
};

/** A ring reader that waits once (Bun: a waiter Worker), then closes. */
const waitMap = BpfMap.create({ type: "ringbuf", maxEntries: 4096 });
scenarios.waiters = async () => {
  const rb = RingBuffer.open(waitMap);
  await rb.poll(() => {}, 1);
  rb.close();
};

const [name, cyclesArg, warmArg] = process.argv.slice(2);
const run = scenarios[name!];
if (!run) throw new Error(`unknown scenario ${name}`);
const cycles = Number(cyclesArg ?? 500);
// Whatever happens, nothing pinned (a pinned link keeps its program
// attached) outlives the child.
let before: { fds: number; rssKiB: number };
let after: typeof before;
try {
  for (let i = 0; i < Number(warmArg ?? 50); i++) await run(i);
  await collect();
  before = { fds: fds(), rssKiB: rssKiB() };
  for (let i = 0; i < cycles; i++) {
    await run(i);
    if (i % 100 === 99) await collect();
  }
  await collect();
  after = { fds: fds(), rssKiB: rssKiB() };
} finally {
  waitMap.close();
  linkObj?.close();
  dropRing.close();
  dropPerf.close();
  dropObj?.close();
  rmSync(PIN_DIR, { recursive: true, force: true });
}
console.log(
  JSON.stringify({
    fds: [before.fds, after.fds],
    rssKiB: [before.rssKiB, after.rssKiB],
    programs: ourPrograms(),
  }),
);
