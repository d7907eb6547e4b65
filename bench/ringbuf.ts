/**
 * Benchmark: BPF ring buffer consumers, tsbpf beside C libbpf, same run.
 *
 * Producer: bench/ringbuf.bpf.c, an XDP program whose testRun emits 100,000
 * records of 56 bytes through bpf_loop (retrying reservations while the ring
 * is full, so a consumer that keeps up loses nothing).
 *
 * (a) drain only: fill the 8 MiB ring with one testRun, then time the drain:
 *     C `ring_buffer__consume` (bench/ringbuf_consumer.c, callback reads the
 *     seq field) vs tsbpf `consumeRaw` (reads seq), `consume` with one
 *     re-pointed struct view (pid), three fields (seq, pid, cpu) through a
 *     hand-written DataView decoder and through the struct view, and
 *     `consume` with Uint8Array records. Best of REPS per round, best over
 *     interleaved rounds.
 * (b) end to end: a separate producer process (bench/ringbuf_producer.c)
 *     runs the pinned program RUNS times while a consumer reads: the C
 *     consumer with `ring_buffer__poll`, or tsbpf with `await poll()`;
 *     E2E_ROUNDS rounds, each starting with the next consumer, medians.
 *     Delivered records/s (first record seen to last poll with data) and
 *     losses. tsbpf reads with `pollRaw` (zero allocation, reads seq like
 *     the C callback) and with `poll` giving Uint8Array records.
 * (c) as (b), tsbpf decoding three fields (seq, pid, cpu) through a struct view.
 * (d) waiting: CPU used by an idle `for await` reader over IDLE_MS, then the
 *     wake-up latency of single records produced WAKES times at random
 *     20-90 ms gaps (testRun return to the iterator yielding the record).
 * Producer and consumers are pinned to different CPUs (see onCpu).
 *
 *   bun bench/ringbuf.ts        deno run -A bench/ringbuf.ts
 *   BENCH_VERBOSE=1 prints every end-to-end round.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BpfObject } from "../src/object.ts";
import type { RingBuffer, RingRecord } from "../src/ringbuf.ts";
import { median } from "./_stats.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const runtime = "Deno" in globalThis ? "deno" : "bun";
const PER_RUN = 100_000;
const REPS = 5;
const ROUNDS = 3;
const E2E_RUNS = 20;
const E2E_ROUNDS = 8;
const IDLE_MS = 2000;
const WAKES = 20;
const PIN = `/sys/fs/bpf/tsbpf-bench-ringbuf-${process.pid}`;

function buildC(name: string): string {
  const src = join(ROOT, `bench/${name}.c`);
  const out = join(ROOT, `build/bench/${name}`);
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dirname(out), { recursive: true });
    execFileSync("cc", ["-O2", src, "-lbpf", "-o", out], { stdio: "inherit" });
  }
  return out;
}

function buildBpf(): string {
  execFileSync("bash", [join(ROOT, "scripts/build-bpf.sh")], {
    stdio: "inherit",
  });
  return join(ROOT, "build/bench/ringbuf.bpf.o");
}

// Producer on CPU 0, consumers (this process, the C consumer) on CPU 1: the
// producer spins in the kernel without preemption while the ring is full,
// and a consumer woken onto its CPU (wake-affine) would stall behind it.
const pinCpus = navigator.hardwareConcurrency >= 2;
if (pinCpus)
  execFileSync("taskset", ["-a", "-pc", "1", String(process.pid)], {
    stdio: "ignore",
  });
const onCpu = (cpu: number, cmd: string, args: string[]): [string, string[]] =>
  pinCpus ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args];

const consumerBin = buildC("ringbuf_consumer");
const producerBin = buildC("ringbuf_producer");
const obj = BpfObject.open(buildBpf());
obj.load();
const prog = obj.program("produce");
const PKT = new Uint8Array(64);
prog.pin(`${PIN}-prog`);
obj.map("rb").pin(`${PIN}-map`);

const Rec = obj.btf.struct("bench_rec");
// One reader of a map at a time (a second one is refused): the untyped and
// the typed reader take turns, opened outside the timed sections.
let rawReader: RingBuffer<RingRecord> | null = null;
let typedReader: RingBuffer<InstanceType<typeof Rec>> | null = null;
function closeReaders(): void {
  rawReader?.close();
  typedReader?.close();
  rawReader = typedReader = null;
}
function raw(): RingBuffer<RingRecord> {
  if (!rawReader) {
    closeReaders();
    rawReader = obj.ringBuffer("rb", null);
  }
  return rawReader;
}
function typed(): RingBuffer<InstanceType<typeof Rec>> {
  if (!typedReader) {
    closeReaders();
    typedReader = obj.ringBuffer("rb", Rec);
  }
  return typedReader;
}

let sink = 0;
let seqSink = 0n;
// bench_rec: seq u64 @0, pid u32 @16, cpu u32 @20.
const drainForms = {
  "consumeRaw, seq (u32 read)": () =>
    raw().consumeRaw((v, off) => {
      sink += v.getUint32(off, true);
    }),
  "consume, struct view, pid": () =>
    typed().consume((r) => {
      sink += r.pid;
    }),
  "consumeRaw, DataView 3 fields": () =>
    raw().consumeRaw((v, off) => {
      seqSink = v.getBigUint64(off, true);
      sink += v.getUint32(off + 16, true) + v.getUint32(off + 20, true);
    }),
  "consume, struct view 3 fields": () =>
    typed().consume((r) => {
      seqSink = r.seq;
      sink += r.pid + r.cpu;
    }),
  "consume (Uint8Array)": () =>
    raw().consume((b) => {
      sink += (b as Uint8Array)[0]!;
    }),
};
type Form = keyof typeof drainForms;

/** Best ns/record over REPS fill-then-drain cycles. */
function drainTs(form: Form): number {
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    prog.testRun({ data: PKT });
    if (form.includes("struct view")) typed();
    else raw();
    const t0 = performance.now();
    const n = drainForms[form]();
    const ns = ((performance.now() - t0) * 1e6) / n;
    if (n !== PER_RUN) throw new Error(`drained ${n}, expected ${PER_RUN}`);
    best = Math.min(best, ns);
  }
  return best;
}

function drainC(): number {
  const out = execFileSync(consumerBin, [
    "drain",
    `${PIN}-prog`,
    `${PIN}-map`,
    String(REPS),
  ])
    .toString()
    .trim()
    .split(/\s+/);
  if (Number(out[1]) !== PER_RUN) throw new Error(`C drained ${out[1]}`);
  return Number(out[0]);
}

interface E2e {
  delivered: number;
  seconds: number;
  lost: number;
}

function runProducer(): Promise<void> {
  return new Promise((res, rej) => {
    const [cmd, args] = onCpu(0, producerBin, [
      `${PIN}-prog`,
      String(E2E_RUNS),
    ]);
    const p = spawn(cmd, args, { stdio: "inherit" });
    p.on("exit", (code) =>
      code === 0 ? res() : rej(new Error(`producer exit ${code}`)),
    );
  });
}

function gaveUp(): number {
  return Number(obj.globals.gave_up as bigint);
}

async function e2eC(): Promise<E2e> {
  const expected = E2E_RUNS * PER_RUN;
  const [cmd, args] = onCpu(1, consumerBin, [
    "e2e",
    `${PIN}-map`,
    String(expected),
    "1000",
  ]);
  const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  let producing: Promise<void> | undefined;
  await new Promise<void>((res, rej) => {
    c.stdout!.on("data", (d) => {
      out += d;
      if (!producing && out.includes("ready")) producing = runProducer();
    });
    // "close", not "exit": stdout may still hold the result at "exit".
    c.on("close", (code) =>
      code === 0 ? res() : rej(new Error(`C consumer exit ${code}: ${out}`)),
    );
  });
  await producing;
  const [count, secs] = out.replace("ready", "").trim().split(/\s+/);
  const delivered = Number(count);
  return {
    delivered,
    seconds: Number(secs),
    lost: expected - delivered,
  };
}

type E2eForm = "raw" | "bytes" | "struct";

async function e2eTs(form: E2eForm): Promise<E2e> {
  const expected = E2E_RUNS * PER_RUN;
  let count = 0;
  let acc = 0;
  let first = 0;
  // Both sides time from the first record seen to the last poll with data.
  const onStruct = (r: InstanceType<typeof Rec>) => {
    if (first === 0) first = performance.now();
    acc += Number(r.seq & 0xffffffffn) + r.pid + r.cpu;
  };
  const onBytes = (b: Uint8Array) => {
    if (first === 0) first = performance.now();
    acc += b[0]!;
  };
  const onRaw = (v: DataView, off: number) => {
    if (first === 0) first = performance.now();
    acc += v.getUint32(off, true);
  };
  if (form === "struct") typed();
  else raw();
  let done = false;
  const producer = runProducer().then(() => {
    done = true;
  });
  let last = 0;
  let doneAt = 0;
  while (count < expected) {
    const n =
      form === "raw"
        ? await raw().pollRaw(onRaw, 50)
        : form === "bytes"
          ? await raw().poll(onBytes as (r: unknown) => void, 50)
          : await typed().poll(onStruct, 50);
    const t = performance.now();
    if (n > 0) {
      count += n;
      last = t;
    } else if (done) {
      doneAt ||= t;
      if (t - doneAt > 1000) break;
    }
  }
  await producer;
  sink += acc;
  return {
    delivered: count,
    seconds: (last - first) / 1000,
    lost: expected - count,
  };
}

const fmtRate = (perSec: number) => `${(perSec / 1e6).toFixed(2)} M/s`;

try {
  // --- (a) drain only --------------------------------------------------------
  raw().consume(() => {});
  const cNs: number[] = [];
  const tsNs = Object.fromEntries(
    Object.keys(drainForms).map((f) => [f, [] as number[]]),
  ) as Record<Form, number[]>;
  // Two phases: the reader's walk is one function whose callback call site
  // the JIT specialises; the 3-field pair adds callbacks that make it
  // polymorphic (~+40% per record in Deno), so the one-callback forms are
  // timed first, as an application with one callback per reader sees them.
  const third = new Set<Form>([
    "consumeRaw, DataView 3 fields",
    "consume, struct view 3 fields",
  ]);
  const forms = Object.keys(tsNs) as Form[];
  for (const phase of [false, true])
    for (let round = 0; round < ROUNDS; round++) {
      if (!phase) cNs.push(drainC());
      for (const f of forms)
        if (third.has(f) === phase) tsNs[f].push(drainTs(f));
    }
  const c = Math.min(...cNs);
  console.log(
    `ringbuf (a) drain: fill with ${PER_RUN} x 56-byte records, then drain; best of ${REPS} x ${ROUNDS} interleaved rounds (${runtime})`,
  );
  console.log(
    `  C ring_buffer__consume              : ${c.toFixed(1)} ns/record (${fmtRate(1e9 / c)})`,
  );
  for (const f of Object.keys(tsNs) as Form[]) {
    const t = Math.min(...tsNs[f]);
    console.log(
      `  tsbpf ${f.padEnd(30)}: ${t.toFixed(1)} ns/record (${fmtRate(1e9 / t)})  ratio to C ${(c / t).toFixed(2)}x`,
    );
  }
  console.log(
    "  (3-field forms timed after the others: the walk's callback site is polymorphic by then)",
  );
  const hand = Math.min(...tsNs["consumeRaw, DataView 3 fields"]);
  const view = Math.min(...tsNs["consume, struct view 3 fields"]);
  console.log(
    `  struct view / hand-written DataView decoder, 3 fields (seq u64, pid, cpu): ${(view / hand).toFixed(2)}x the time`,
  );

  // --- (b), (c) end to end ------------------------------------------------------
  const results = {
    c: [] as E2e[],
    raw: [] as E2e[],
    bytes: [] as E2e[],
    struct: [] as E2e[],
  };
  const verbose = !!process.env.BENCH_VERBOSE;
  const show = (name: string, r: E2e) => {
    if (verbose)
      console.log(
        `    ${name}: ${r.delivered} in ${r.seconds.toFixed(3)} s, lost ${r.lost}`,
      );
    return r;
  };
  // Each round starts with a different consumer (no order bias).
  const order = ["c", "raw", "bytes", "struct"] as const;
  for (let round = 0; round < E2E_ROUNDS; round++) {
    for (let k = 0; k < order.length; k++) {
      const which = order[(round + k) % order.length]!;
      raw().consume(() => {});
      results[which].push(
        show(which, which === "c" ? await e2eC() : await e2eTs(which)),
      );
    }
  }
  const rate = (r: E2e) => r.delivered / r.seconds;
  const cRate = median(results.c.map(rate));
  console.log(
    `ringbuf (b)/(c) end to end: producer process runs testRun ${E2E_RUNS} x ${PER_RUN} records (retrying while full); median of ${E2E_ROUNDS} interleaved rounds (${runtime})`,
  );
  const line = (name: string, rs: E2e[], ratio: boolean) => {
    const r = median(rs.map(rate));
    const lost = rs.reduce((a, x) => a + x.lost, 0);
    console.log(
      `  ${name.padEnd(36)}: ${fmtRate(r)} delivered, lost ${lost}${ratio ? `  ratio to C ${(r / cRate).toFixed(2)}x` : ""}`,
    );
  };
  line("C ring_buffer__poll", results.c, false);
  line("tsbpf pollRaw, seq field (b)", results.raw, true);
  line("tsbpf poll, Uint8Array records (b)", results.bytes, true);
  line("tsbpf poll + struct view, 3 fields (c)", results.struct, true);
  console.log(
    `  producer reservations retried (ring full): ${obj.globals.reserve_failed}; records given up: ${obj.globals.gave_up}`,
  );

  // --- (d) waiting: idle CPU and wake-up latency --------------------------------
  raw().consume(() => {});
  obj.globals.arg_count = 1;
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  closeReaders();
  const iterating = obj.ringBuffer("rb", null);
  const ac = new AbortController();
  let producedAt = 0;
  const lat: number[] = [];
  const reader = (async () => {
    for await (const _ of iterating.events({ signal: ac.signal }))
      lat.push(performance.now() - producedAt);
  })();
  await sleep(500); // let the collector settle after (a)-(c)
  const c0 = cpuMs();
  const t0 = performance.now();
  await sleep(IDLE_MS);
  const idle = (cpuMs() - c0) / (performance.now() - t0);
  for (let i = 0; i < WAKES; i++) {
    await sleep(20 + Math.random() * 70);
    prog.testRun({ data: PKT });
    producedAt = performance.now();
  }
  await sleep(100);
  ac.abort();
  await reader;
  iterating.close();
  obj.globals.arg_count = PER_RUN;
  const wait =
    runtime === "deno"
      ? "epoll_wait as a nonblocking FFI call"
      : "Worker blocked in epoll_wait";
  console.log(
    `ringbuf (d) waiting (${runtime}: ${wait}): idle for await reader ${(idle * 100).toFixed(2)} % of a core over ${IDLE_MS} ms; ` +
      `wake-up latency of ${lat.length}/${WAKES} single records median ${median(lat).toFixed(2)} ms, max ${Math.max(...lat).toFixed(2)} ms`,
  );
} finally {
  try {
    prog.unpin(`${PIN}-prog`);
  } catch {
    // already gone
  }
  try {
    obj.map("rb").unpin(`${PIN}-map`);
  } catch {
    // already gone
  }
  obj.close();
  if (sink === -1 || seqSink === -1n) console.log(sink);
}
