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
 *     struct view (reads seq) and `consume` with Uint8Array records. Best of
 *     REPS per round, best over interleaved rounds.
 * (b) end to end: a separate producer process (bench/ringbuf_producer.c)
 *     runs the pinned program RUNS times while a consumer reads: the C
 *     consumer with `ring_buffer__poll`, then tsbpf with `await poll()`.
 *     Delivered records/s (first record seen to last poll with data) and
 *     losses. tsbpf reads with `pollRaw` (zero allocation, reads seq like
 *     the C callback) and with `poll` giving Uint8Array records.
 * (c) as (b), tsbpf decoding three fields (seq, pid, cpu) through a struct view.
 * Producer and consumers are pinned to different CPUs (see onCpu).
 *
 *   bun bench/ringbuf.ts        deno run -A bench/ringbuf.ts
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BpfObject } from "../src/object.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const runtime = "Deno" in globalThis ? "deno" : "bun";
const PER_RUN = 100_000;
const REPS = 5;
const ROUNDS = 3;
const E2E_RUNS = 20;
const E2E_ROUNDS = 3;
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
const raw = obj.ringBuffer("rb", null);
const typed = obj.ringBuffer("rb", Rec);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

let sink = 0;
const drainForms = {
  consumeRaw: () =>
    raw.consumeRaw((v, off) => {
      sink += v.getUint32(off, true);
    }),
  "consume (struct view, u32 pid)": () =>
    typed.consume((r) => {
      sink += r.pid;
    }),
  "consume (Uint8Array)": () =>
    raw.consume((b) => {
      sink += (b as Uint8Array)[0]!;
    }),
};
type Form = keyof typeof drainForms;

/** Best ns/record over REPS fill-then-drain cycles. */
function drainTs(form: Form): number {
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    prog.testRun({ data: PKT });
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
  const c = spawn(cmd, args);
  let out = "";
  let producing: Promise<void> | undefined;
  await new Promise<void>((res) => {
    c.stdout!.on("data", (d) => {
      out += d;
      if (!producing && out.includes("ready")) producing = runProducer();
    });
    c.on("exit", () => res());
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
  let done = false;
  const producer = runProducer().then(() => {
    done = true;
  });
  let last = 0;
  let doneAt = 0;
  while (count < expected) {
    const n =
      form === "raw"
        ? await raw.pollRaw(onRaw, 50)
        : form === "bytes"
          ? await raw.poll(onBytes as (r: unknown) => void, 50)
          : await typed.poll(onStruct, 50);
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
  raw.consume(() => {});
  const cNs: number[] = [];
  const tsNs: Record<Form, number[]> = {
    consumeRaw: [],
    "consume (struct view, u32 pid)": [],
    "consume (Uint8Array)": [],
  };
  for (let round = 0; round < ROUNDS; round++) {
    cNs.push(drainC());
    for (const f of Object.keys(tsNs) as Form[]) tsNs[f].push(drainTs(f));
  }
  const c = Math.min(...cNs);
  console.log(
    `ringbuf (a) drain: fill with ${PER_RUN} x 56-byte records, then drain; best of ${REPS} x ${ROUNDS} interleaved rounds (${runtime})`,
  );
  console.log(
    `  C ring_buffer__consume          : ${c.toFixed(1)} ns/record (${fmtRate(1e9 / c)})`,
  );
  for (const f of Object.keys(tsNs) as Form[]) {
    const t = Math.min(...tsNs[f]);
    console.log(
      `  tsbpf ${f.padEnd(26)}: ${t.toFixed(1)} ns/record (${fmtRate(1e9 / t)})  ratio to C ${(c / t).toFixed(2)}x`,
    );
  }

  // --- (b), (c) end to end ------------------------------------------------------
  const results = {
    c: [] as E2e[],
    raw: [] as E2e[],
    bytes: [] as E2e[],
    struct: [] as E2e[],
  };
  for (let round = 0; round < E2E_ROUNDS; round++) {
    raw.consume(() => {});
    results.c.push(await e2eC());
    raw.consume(() => {});
    results.raw.push(await e2eTs("raw"));
    raw.consume(() => {});
    results.bytes.push(await e2eTs("bytes"));
    raw.consume(() => {});
    results.struct.push(await e2eTs("struct"));
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
  if (sink === -1) console.log(sink);
}
