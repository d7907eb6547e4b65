/**
 * Child script of lifetime.test.ts: runs `<scenario>` for `<cycles>` after a
 * warm-up and prints one JSON line: open fds and RSS before and after, and
 * the programs this process still holds (per bpftool) at the end.
 *
 *   bun test/_support/lifetime_child.ts waiters 1000
 *   deno run -A --v8-flags=--expose-gc test/_support/lifetime_child.ts ...
 */
import { readFileSync, readdirSync } from "node:fs";
import { BpfMap } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
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
for (let i = 0; i < Number(warmArg ?? 50); i++) await run(i);
gc();
const before = { fds: fds(), rssKiB: rssKiB() };
for (let i = 0; i < cycles; i++) {
  await run(i);
  if (i % 100 === 99) gc();
}
gc();
const after = { fds: fds(), rssKiB: rssKiB() };
waitMap.close();
linkObj?.close();
console.log(
  JSON.stringify({
    fds: [before.fds, after.fds],
    rssKiB: [before.rssKiB, after.rssKiB],
    programs: ourPrograms(),
  }),
);
