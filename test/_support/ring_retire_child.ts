/**
 * Run by test/kernel/ringbuf.test.ts in a child process with a collector
 * it can call (Bun.gc, or Deno with --v8-flags=--expose-gc): opens and
 * closes `argv[2]` readers of a 1 MiB ring buffer, collects, and prints
 * how much the address space grew, in MiB, as the last line of stdout.
 */
import { readFileSync } from "node:fs";
import { BpfMap } from "../../src/map.ts";
import { RingBuffer } from "../../src/ringbuf.ts";

const args = ((globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  process.argv.slice(2)) as string[];
const rounds = Number(args[0] ?? 200);
const g = globalThis as { gc?: () => void; Bun?: { gc(sync: boolean): void } };
const gc = () => (g.Bun ? g.Bun.gc(true) : g.gc!());
const vmSize = () =>
  Number(/VmSize:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]);

using map = BpfMap.create({ type: "ringbuf", maxEntries: 1 << 20 });
const before = vmSize();
for (let i = 0; i < rounds; i++) RingBuffer.open(map).close();
for (let i = 0; i < 10; i++) {
  gc();
  await new Promise((r) => setTimeout(r, 20));
}
console.log(((vmSize() - before) / 1024).toFixed(1));
