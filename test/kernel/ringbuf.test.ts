/**
 * RingBuffer against the kernel: exec events from a real tracepoint decoded
 * by the object's BTF struct, wrap-around with odd record sizes, discarded
 * records, a full ring (every delivered record intact, reserve failures
 * counted), several rings, poll/iterator waiting, close/abort ending waits,
 * and the process exiting after close (Bun and Deno).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import { BpfTypeError, ClosedError, StateError } from "../../src/errors.ts";
import { BpfMap } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
import { layout } from "../../src/btf/layout.ts";
import { RingBuffer } from "../../src/ringbuf.ts";
import { ROOT, fixture, isRoot, need, thrown } from "../_support/fixtures.ts";
import {
  runChild,
  runChildSync,
  selfTraced,
  turnsWhileFlooded,
} from "../_support/event_streams.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const PKT = new Uint8Array(64);

function ringObject(): BpfObject {
  const obj = BpfObject.open(fixture("ringbuf"));
  obj.load();
  return obj;
}

/** Runs `prog` of the ringbuf fixture producing `count` records. */
function produce(obj: BpfObject, count: number, prog = "produce"): void {
  obj.globals.arg_count = count;
  obj.program(prog).testRun({ data: PKT });
}

/** Checks one record of the `produce` program; returns its seq. */
function checkRecord(v: DataView, off: number, len: number): number {
  const seq = v.getUint32(off, true);
  expect(v.getUint32(off + 4, true)).toBe(len);
  let sum = 0;
  for (let j = 16; j < len; j++) {
    const b = v.getUint8(off + j);
    if (b !== ((seq * 7 + j - 16) & 0xff))
      throw new Error(`record ${seq}: byte ${j} is ${b}`);
    sum += b;
  }
  expect(v.getUint32(off + 8, true)).toBe(sum);
  return seq;
}

/** bench/ringbuf_producer.c (runs a pinned program N times), built once. */
function producerBin(): string {
  const src = join(ROOT, "bench/ringbuf_producer.c");
  const out = join(ROOT, "build/test/ringbuf_producer");
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(join(ROOT, "build/test"), { recursive: true });
    execFileSync("cc", ["-O2", src, "-lbpf", "-o", out]);
  }
  return out;
}

/** CPU time (user + system, all threads) of this process, in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

describe.skipIf(!root)("RingBuffer", () => {
  it("decodes exec events of a real tracepoint with the map's BTF type", async () => {
    const obj = BpfObject.open(fixture("execsnoop", "examples/execsnoop"));
    try {
      // __type(value, struct exec_event) on a ringbuf: sizes stripped, type kept.
      expect(obj.map("events").valueSize).toBeGreaterThan(0);
      obj.load();
      expect(obj.map("events").valueSize).toBe(0);
      const rb = obj.ringBuffer("events");
      obj.program("handle_exec").attach();
      const child = spawnSync("/bin/true");
      const found: Record<string, unknown>[] = [];
      for (let i = 0; i < 50 && found.length === 0; i++) {
        await rb.poll((e) => {
          if (e instanceof Uint8Array) throw new Error("expected a struct");
          if (e.pid === child.pid) found.push(e.toObject());
        }, 100);
      }
      expect(found.length).toBe(1);
      expect(found[0]!.comm).toBe("true");
      expect(found[0]!.filename).toBe("/bin/true");
      expect(typeof found[0]!.timestamp_ns).toBe("bigint");
    } finally {
      obj.close();
    }
  });

  it("gives struct views, bytes and raw (DataView, offset, length) records", () => {
    const obj = ringObject();
    try {
      const typed = obj.ringBuffer("rb");
      produce(obj, 10);
      const seqs: number[] = [];
      let view: unknown;
      expect(
        typed.consume((r) => {
          if (r instanceof Uint8Array) throw new Error("expected a struct");
          if (view !== undefined) expect(r).toBe(view); // one reused view
          view = r;
          seqs.push(r.seq);
          expect(r.len).toBe(17 + ((r.seq * 37) % 200));
        }),
      ).toBe(10);
      expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(typed.consumed).toBe(10);
      typed.close(); // one reader of a map at a time

      const bytes = obj.ringBuffer("rb", null);
      produce(obj, 3);
      const kept: Uint8Array[] = [];
      bytes.consume((b) => {
        expect(b).toBeInstanceOf(Uint8Array);
        kept.push((b as Uint8Array).slice());
      });
      expect(kept.map((b) => b[0])).toEqual([10, 11, 12]);

      produce(obj, 4);
      const raw: number[] = [];
      expect(
        bytes.consumeRaw((v, off, len) => {
          raw.push(checkRecord(v, off, len));
        }),
      ).toBe(4);
      expect(raw).toEqual([13, 14, 15, 16]);
    } finally {
      obj.close();
    }
  });

  for (const mode of ["mmap", "libbpf"] as const) {
    it(`drains across the wrap of a 4096-byte ring (${mode})`, () => {
      const obj = ringObject();
      try {
        const rb = RingBuffer.open(obj.map("rb"), null, { mode });
        expect(rb.mode).toBe(mode);
        let next = 0;
        let wrapped = 0;
        let bytes = 0;
        for (let round = 0; round < 40; round++) {
          produce(obj, 11);
          const n = rb.consumeRaw((v, off, len) => {
            expect(checkRecord(v, off, len)).toBe(next++);
            if (mode === "mmap" && off < 4096 && off + len > 4096) wrapped++;
            bytes += len;
          });
          expect(n).toBe(11);
        }
        expect(obj.globals.failed).toBe(0n);
        expect(next).toBe(440);
        expect(bytes).toBeGreaterThan(8 * 4096);
        if (mode === "mmap") expect(wrapped).toBeGreaterThan(0);
        rb.close();
      } finally {
        obj.close();
      }
    });
  }

  it("a raw record kept past close reads zeros instead of crashing", () => {
    const obj = ringObject();
    let kept: Uint8Array | undefined;
    let keptView: DataView | undefined;
    try {
      const raw = obj.ringBuffer("rb", null);
      produce(obj, 3);
      raw.consume((r) => void (kept = r as Uint8Array));
      produce(obj, 3);
      raw.consumeRaw((v) => void (keptView = v));
      expect(keptView!.byteLength).toBeGreaterThan(0);
      expect(kept!.length).toBeGreaterThan(0);
      expect(kept!.some((b) => b !== 0)).toBe(true);
    } finally {
      obj.close();
    }
    // The ring is gone; the addresses still read (zero pages), no SIGSEGV.
    expect(kept!.every((b) => b === 0)).toBe(true);
    expect(keptView!.getUint32(0, true)).toBe(0);
  });

  it("libbpf mode: records kept past close, and a drain from inside a callback followed by close, do not crash the process", async () => {
    // Run in a child: before the fix both died of SIGSEGV (the kept record
    // viewed libbpf's ring, unmapped by ring_buffer__free; the nested drain
    // let close() free the ring under the outer ring_buffer__consume).
    const src = join(ROOT, "src/object.ts");
    const { code, out } = await runChild(`
      import { BpfObject } from ${JSON.stringify(src)};
      const obj = BpfObject.open(${JSON.stringify(fixture("ringbuf"))});
      obj.load();
      const run = (n) => {
        obj.globals.arg_count = n;
        obj.program("produce").testRun({ data: new Uint8Array(64) });
      };
      const rb = obj.ringBuffer("rb", null, { mode: "libbpf" });
      run(3);
      let kept, keptView;
      rb.consume((r) => void (kept = r));
      run(3);
      rb.consumeRaw((v) => void (keptView = v));
      run(50);
      let nested;
      try {
        rb.consume(() => {
          rb.consume(() => {});
          rb.close();
        });
      } catch (e) {
        nested = e;
      }
      console.log("nested:", nested?.name);
      rb.close();
      const typed = obj.ringBuffer("rb", obj.btf.struct("small_rec"), { mode: "libbpf" });
      run(3);
      let keptStruct;
      typed.consume((r) => void (keptStruct = r));
      obj.close();
      let sum = 0;
      for (const b of kept) sum += b;
      sum += keptView.getUint32(0, true);
      console.log("kept:", kept.length > 0, typeof sum, typeof keptStruct.seq);
    `);
    expect(out).toContain("nested: StateError");
    expect(out).toContain("kept: true number number");
    expect(code).toBe(0);
  });

  it("refuses a struct smaller than the map's __type(value, ...)", () => {
    using obj = ringObject();
    // rb declares struct rec_head (16 bytes).
    const Head8 = layout({ seq: "u32", len: "u32" }, { name: "head8" });
    const e = thrown(() => obj.ringBuffer("rb", Head8));
    expect(e).toBeInstanceOf(BpfTypeError);
    expect(e.message).toMatch(
      /'rb' declares __type\(value, struct rec_head\) \(16 bytes\), but struct head8 is 8 bytes/,
    );
    expect((e as BpfTypeError).hint).toMatch(/ringBuffer\("rb", null\)/);
    // Every name of a list is checked; the refusal leaves no reader open.
    expect(() => obj.ringBuffer(["rb2", "rb"], Head8)).toThrow(BpfTypeError);
    // The same size (struct small_rec is 16 bytes too), a larger one
    // (header plus payload), and rb2 (no declared type) pass.
    obj.ringBuffer("rb", obj.btf.struct("small_rec")).close();
    obj.ringBuffer("rb", obj.btf.struct("rec")).close();
    obj.ringBuffer("rb2", Head8).close();
  });

  it("skips discarded records", () => {
    const obj = ringObject();
    try {
      const Small = obj.btf.struct("small_rec");
      const rb = obj.ringBuffer("rb", Small);
      produce(obj, 40, "produce_discard");
      const seqs: number[] = [];
      rb.consume((r) => {
        expect(r.magic).toBe(0x5eed);
        expect(r.seq_x3).toBe(BigInt(r.seq * 3));
        seqs.push(r.seq);
      });
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    } finally {
      obj.close();
    }
  });

  it("survives a producer far faster than the consumer: intact records, failures counted", () => {
    const obj = ringObject();
    try {
      const rb = obj.ringBuffer("rb", null);
      const seen: number[] = [];
      const check = (v: DataView, off: number, len: number) => {
        seen.push(checkRecord(v, off, len));
      };
      produce(obj, 500); // ~4 KiB fits ~30: the rest fail to reserve
      const failedFirst = Number(obj.globals.failed);
      expect(failedFirst).toBeGreaterThan(400);
      // Read a few, stopping early: the space they free is reused at once.
      let k = 0;
      expect(rb.consumeRaw((v, o, l) => (check(v, o, l), ++k < 5))).toBe(5);
      produce(obj, 500);
      rb.consumeRaw(check);
      produce(obj, 500);
      rb.consumeRaw(check);
      const failed = Number(obj.globals.failed);
      expect(seen.length + failed).toBe(1500);
      for (let i = 1; i < seen.length; i++)
        expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
      expect(rb.consumeRaw(check)).toBe(0);
    } finally {
      obj.close();
    }
  });

  it("stops the walk at a BUSY record and resumes once it is committed", async () => {
    const obj = ringObject();
    const pin = `/sys/fs/bpf/tsbpf-test-rb-busy-${process.pid}`;
    const prog = obj.program("produce_busy");
    try {
      const rb = obj.ringBuffer("rb", obj.btf.struct("small_rec"));
      expect(rb.mode).toBe("mmap");
      // Another process reserves A, commits B behind it, holds A for
      // 250 ms (long enough to be seen on a loaded 2-core machine), then
      // commits A.
      obj.globals.arg_spin_ns = 250_000_000n;
      prog.pin(pin);
      const child = spawn(producerBin(), [pin, "1"], { stdio: "ignore" });
      const exited = new Promise<number | null>((r) => child.on("exit", r));
      const got: string[] = [];
      let blocked = 0;
      const t0 = performance.now();
      while (got.length < 2 && performance.now() - t0 < 5000) {
        const n = rb.consume((r) => {
          expect(r.seq_x3).toBe(BigInt(r.seq * 3));
          got.push(`${r.magic === 0xa ? "A" : "B"}${r.seq}`);
        });
        // Bytes reserved but nothing delivered: the walk met A's BUSY header.
        if (n === 0 && rb.pending > 0) blocked++;
        if (n === 0) await new Promise((r) => setTimeout(r, 0));
      }
      expect(await exited).toBe(0);
      expect(blocked).toBeGreaterThan(0);
      expect(got).toEqual(["A0", "B1"]);
      expect(rb.pending).toBe(0);
    } finally {
      try {
        prog.unpin(pin);
      } catch {
        // not pinned
      }
      obj.close();
    }
  });

  it("gives timers their turns while a BUSY record blocks the ring (iterator and poll)", async () => {
    // The ring polls readable from reserve on (producer_pos moved), but a
    // BUSY record delivers nothing: a reader waiting again at once would
    // spin in promise jobs, and no timer (an abort's) would fire until it
    // is committed.
    const obj = ringObject();
    const pin = `/sys/fs/bpf/tsbpf-test-rb-busy-wait-${process.pid}`;
    const prog = obj.program("produce_busy");
    try {
      const rb = obj.ringBuffer("rb", obj.btf.struct("small_rec"));
      obj.globals.arg_spin_ns = 1_000_000_000n; // as long as bpf_loop lets it
      prog.pin(pin);
      for (const how of ["events", "poll"] as const) {
        const child = spawn(producerBin(), [pin, "1"], { stdio: "ignore" });
        const exited = new Promise<number | null>((r) => child.on("exit", r));
        // Until A is reserved and held: bytes pending, nothing to deliver.
        const t0 = performance.now();
        while (rb.pending === 0 && performance.now() - t0 < 5000)
          await new Promise((r) => setTimeout(r, 1));
        expect(rb.pending).toBeGreaterThan(0);
        // Whether A was still held when a 20 ms timer ran: a reader
        // spinning in promise jobs would hold every timer back until A is
        // committed and both records are taken (pending 0 by then).
        let pendingAtTimer = -1;
        const ticked = new Promise<void>((r) =>
          setTimeout(() => {
            pendingAtTimer = rb.pending;
            r();
          }, 20),
        );
        const got: number[] = [];
        if (how === "events") {
          for await (const r of rb.events({
            signal: AbortSignal.timeout(20),
          }))
            got.push(r.seq as number);
        } else {
          await rb.poll((r) => void got.push(r.seq), 20);
        }
        await ticked;
        expect(pendingAtTimer).toBeGreaterThan(0);
        expect(await exited).toBe(0);
        // Both records, whichever way they came (a loaded machine may run
        // the abort late, after the commit).
        expect(got.length + rb.consume(() => {})).toBe(2);
      }
    } finally {
      try {
        prog.unpin(pin);
      } catch {
        // not pinned
      }
      obj.close();
    }
  });

  it("publishes consumer_pos after a drain, also one stopped early", () => {
    const obj = ringObject();
    try {
      const rb = obj.ringBuffer("rb", null);
      produce(obj, 10);
      const total = rb.pending;
      expect(total).toBeGreaterThan(0);
      let k = 0;
      expect(rb.consumeRaw(() => ++k < 3)).toBe(3);
      expect(rb.pending).toBeGreaterThan(0);
      expect(rb.pending).toBeLessThan(total);
      // The next reader maps the ring itself: it starts at the published position.
      rb.close();
      const other = RingBuffer.open(obj.map("rb"));
      const rest: number[] = [];
      expect(
        other.consumeRaw((v, o, l) => void rest.push(checkRecord(v, o, l))),
      ).toBe(7);
      expect(rest).toEqual([3, 4, 5, 6, 7, 8, 9]);
      expect(other.pending).toBe(0);
      other.close();
    } finally {
      obj.close();
    }
  });

  it("reports records shorter than a struct class passed in, naming both sizes and handing the record over", () => {
    const obj = ringObject();
    try {
      const rb = obj.ringBuffer("rb", obj.btf.struct("rec")); // 512 bytes
      produce(obj, 2);
      const e = thrown(() => rb.consume(() => {}));
      expect(e).toBeInstanceOf(BpfTypeError);
      expect(e.message).toMatch(
        /record of 17 bytes is shorter than struct rec \(512 bytes\)/,
      );
      expect(e.message).toMatch(/short: "zero-pad"/);
      const rec = (e as BpfTypeError & { record: Uint8Array }).record;
      expect(rec.length).toBe(17);
      checkRecord(new DataView(rec.buffer), 0, 17);
      expect(() => rb.consume(() => {})).toThrow(BpfTypeError);
      expect(rb.consume(() => {})).toBe(0); // both handed over on the errors
      expect(rb.consumed).toBe(0);
    } finally {
      obj.close();
    }
  });

  for (const mode of ["mmap", "libbpf"] as const) {
    it(`records shorter than the map's __type come as bytes, in order, by default (${mode})`, async () => {
      const obj = ringObject();
      try {
        const rb = obj.ringBuffer("rb", undefined, { mode });
        const tag = (r: unknown) =>
          r instanceof Uint8Array
            ? `b${r.length}:${r[0]}`
            : `v${(r as { len: number }).len}:${(r as { seq: number }).seq}`;
        produce(obj, 6, "produce_short");
        const got: string[] = [];
        expect(rb.consume((r) => void got.push(tag(r)))).toBe(6);
        expect(got).toEqual([
          "v16:0",
          "b8:1",
          "v16:2",
          "b8:3",
          "v16:4",
          "b8:5",
        ]);
        produce(obj, 4, "produce_short");
        got.length = 0;
        for await (const r of rb) {
          got.push(tag(r));
          if (got.length === 3) break;
        }
        const lens: number[] = [];
        rb.consumeRaw((_v, _o, l) => void lens.push(l));
        expect(got).toEqual(["v16:6", "b8:7", "v16:8"]);
        expect(lens).toEqual([8]);
        expect(obj.globals.failed).toBe(0n);
      } finally {
        obj.close();
      }
    });

    it(`short records of a struct class passed in: an error carrying each, or zero-padded views (${mode})`, async () => {
      const obj = ringObject();
      try {
        const Head = obj.btf.struct("rec_head");
        const rb = obj.ringBuffer("rb", Head, { mode });
        const seqs: number[] = [];
        const shortOnes: number[] = [];
        const consumeAll = () => {
          for (let i = 0; i < 10; i++) {
            try {
              if (rb.consume((r) => void seqs.push(r.seq)) === 0) return;
            } catch (e) {
              const { record, source } = e as BpfTypeError & {
                record: Uint8Array;
                source: number;
              };
              expect(e).toBeInstanceOf(BpfTypeError);
              expect(record.length).toBe(8);
              expect(source).toBe(0);
              shortOnes.push(record[0]!);
            }
          }
        };
        produce(obj, 4, "produce_short");
        consumeAll();
        expect(seqs).toEqual([0, 2]);
        expect(shortOnes).toEqual([1, 3]);
        // An iteration throws in the short record's turn, after the records before it.
        produce(obj, 4, "produce_short");
        for (let round = 0; round < 2; round++) {
          const e = await (async () => {
            try {
              for await (const r of rb) seqs.push(r.seq as number);
            } catch (e) {
              return e as BpfTypeError & { record: Uint8Array };
            }
          })();
          shortOnes.push(e!.record[0]!);
        }
        expect(seqs).toEqual([0, 2, 4, 6]);
        expect(shortOnes).toEqual([1, 3, 5, 7]);
        expect(rb.consume(() => {})).toBe(0);
        rb.close();

        const padded = obj.ringBuffer("rb", Head, { mode, short: "zero-pad" });
        produce(obj, 4, "produce_short");
        const got: [number, number, number, number][] = [];
        let view: unknown;
        padded.consume((r) => {
          if (view !== undefined) expect(r).toBe(view); // one reused view
          view = r;
          got.push([r.seq, r.len, r.sum, r.pad]);
        });
        expect(got).toEqual([
          [8, 16, 0xabc, 24],
          [9, 8, 0, 0],
          [10, 16, 0xabc, 30],
          [11, 8, 0, 0],
        ]);
        produce(obj, 2, "produce_short");
        const objs: unknown[] = [];
        for await (const r of padded) if (objs.push(r) === 2) break;
        expect(objs).toEqual([
          { seq: 12, len: 16, sum: 0xabc, pad: 36 },
          { seq: 13, len: 8, sum: 0, pad: 0 },
        ]);
      } finally {
        obj.close();
      }
    });
  }

  it('short: "bytes" only where the records may be bytes anyway; other values are refused', () => {
    const obj = ringObject();
    try {
      const Head = obj.btf.struct("rec_head");
      expect(() => obj.ringBuffer("rb", Head, { short: "bytes" })).toThrow(
        /short: "bytes" would hand Uint8Arrays to a reader typed by its struct class/,
      );
      expect(() =>
        RingBuffer.open(obj.map("rb"), Head, { short: "bytes" }),
      ).toThrow(BpfTypeError);
      expect(() =>
        obj.ringBuffer("rb", undefined, { short: "pad" as "error" }),
      ).toThrow(/short is "bytes", "zero-pad" or "error", got "pad"/);
      // A list of sources is typed Uint8Array | view: bytes are fine there.
      const rb = RingBuffer.open([
        { map: obj.map("rb"), struct: Head, short: "bytes" },
      ]);
      produce(obj, 2, "produce_short");
      const got: unknown[] = [];
      rb.consume((r) => void got.push(r instanceof Uint8Array));
      expect(got).toEqual([false, true]);
      rb.close();
    } finally {
      obj.close();
    }
  });

  it("reads several rings at once, telling them apart", () => {
    const obj = ringObject();
    try {
      const rb = obj.ringBuffer(["rb"]);
      rb.add(obj.map("rb2"), obj.btf.struct("small_rec"));
      produce(obj, 2);
      produce(obj, 3, "produce_rb2");
      const got: string[] = [];
      expect(
        rb.consume((r, source) => {
          got.push(`${source}:${r instanceof Uint8Array ? r.length : r.seq}`);
        }),
      ).toBe(5);
      expect(got).toEqual(["0:0", "0:1", "1:0", "1:1", "1:2"]);
      expect(rb.fds.length).toBe(2);
    } finally {
      obj.close();
    }
  });

  it("refuses a map it already reads, also through another fd, and stays usable", async () => {
    const obj = ringObject();
    try {
      const rb2 = obj.map("rb2");
      for (const mode of ["mmap", "libbpf"] as const) {
        const e = thrown(() =>
          RingBuffer.open([obj.map("rb"), rb2, rb2], null, { mode }),
        );
        expect(e).toBeInstanceOf(BpfTypeError);
        expect((e as Error).message).toContain(
          "map 'rb2' is already read by this reader (as source 1)",
        );
        using rb = RingBuffer.open([obj.map("rb"), rb2], null, { mode });
        using other = BpfMap.fromId(rb2.id);
        expect(thrown(() => rb.add(other))).toBeInstanceOf(BpfTypeError);
        expect(rb.fds.length).toBe(2);
        expect(rb.epollFd).toBeGreaterThan(0); // was EEXIST from epoll_ctl
        produce(obj, 1, "produce_rb2");
        expect(await rb.poll(() => {}, 1000)).toBe(1);
      }
    } finally {
      obj.close();
    }
  });

  it("refuses a second live reader of a ring buffer map in this process, until the first closes", async () => {
    for (const mode of ["mmap", "libbpf"] as const) {
      const obj = ringObject();
      try {
        const first = obj.ringBuffer("rb", null, { mode });
        using again = BpfMap.fromId(obj.map("rb").id);
        // Another reader through the object, a RingBuffer of its own, or
        // another fd of the map: each would share the consumer position.
        for (const open of [
          () => obj.ringBuffer("rb"),
          () => RingBuffer.open(obj.map("rb"), null, { mode }),
          () => RingBuffer.open(again.fd),
          () => RingBuffer.open([obj.map("rb2"), again]),
          () => {
            using r = RingBuffer.open(obj.map("rb2"));
            r.add(again);
          },
        ]) {
          const e = thrown(open);
          expect(e).toBeInstanceOf(StateError);
          expect(e.message).toContain(
            `(map id ${obj.map("rb").id}) is already read by another RingBuffer`,
          );
          expect((e as StateError).hint).toMatch(
            /close the other reader first, or add\(\) this map to it/,
          );
        }
        // The refused open let go of rb2 again; the first reader has every record.
        using other = RingBuffer.open(obj.map("rb2"));
        produce(obj, 3);
        expect(first.consume(() => {})).toBe(3);
        first.close();
        using second = RingBuffer.open(again, null, { mode });
        produce(obj, 2);
        expect(await second.poll(() => {}, 1000)).toBe(2);
        void other;
      } finally {
        obj.close();
      }
    }
  });

  it("epollFd stays readable while the reader holds records it took out of the ring (libbpf mode), and while records wait in the ring", async () => {
    const events = new Uint8Array(16 * 8);
    const readable = (fd: number) => libc().epoll_wait(fd, events, 8, 0) > 0;
    for (const mode of ["mmap", "libbpf"] as const) {
      const obj = ringObject();
      try {
        using rb = obj.ringBuffer("rb", null, { mode });
        expect(readable(rb.epollFd)).toBe(false);
        produce(obj, 10);
        expect(readable(rb.epollFd)).toBe(true);
        // An iteration ended early: libbpf mode has the other 7 in its
        // queue (the kernel ring is empty), mmap mode in the ring.
        let n = 0;
        for await (const _ of rb) if (++n === 3) break;
        expect([mode, readable(rb.epollFd)]).toEqual([mode, true]);
        // A caller's own loop: waits on epollFd, then drains.
        expect(rb.consume(() => {})).toBe(7);
        expect([mode, readable(rb.epollFd)]).toEqual([mode, false]);
        // Stopped by its callback: the rest stay readable, and a poll()
        // takes them without waiting.
        produce(obj, 4);
        let k = 0;
        expect(rb.consume(() => ++k < 2)).toBe(2);
        expect(readable(rb.epollFd)).toBe(true);
        expect(await rb.poll(() => {}, 0)).toBe(2);
        expect(readable(rb.epollFd)).toBe(false);
      } finally {
        obj.close();
      }
    }
  });

  it("pending counts the bytes in the kernel ring and those the reader holds, the same in both modes", async () => {
    const got: Record<string, number[]> = {};
    for (const mode of ["mmap", "libbpf"] as const) {
      const obj = ringObject();
      try {
        using rb = obj.ringBuffer("rb", null, { mode });
        const p = [rb.pending];
        produce(obj, 10); // records 0..9: 17 + (seq * 37) % 200 bytes each
        p.push(rb.pending);
        let n = 0;
        for await (const _ of rb) if (++n === 4) break;
        p.push(rb.pending);
        rb.consume(() => {});
        p.push(rb.pending);
        got[mode] = p;
      } finally {
        obj.close();
      }
    }
    // Each record takes its length + an 8-byte header, rounded up to 8.
    const step = (seq: number) => (17 + ((seq * 37) % 200) + 8 + 7) & ~7;
    const after = (k: number) =>
      Array.from({ length: 10 - k }, (_, i) => step(k + i)).reduce(
        (a, b) => a + b,
        0,
      );
    const want = [0, after(0), after(4), 0];
    expect(got).toEqual({ mmap: want, libbpf: want });
  });

  it("poll waits for records without blocking the event loop, and times out", async () => {
    const obj = ringObject();
    try {
      const rb = obj.ringBuffer("rb");
      let t0 = performance.now();
      expect(await rb.poll(() => {}, 100)).toBe(0);
      expect(performance.now() - t0).toBeGreaterThan(80);
      t0 = performance.now();
      setTimeout(() => produce(obj, 3), 50);
      let got = 0;
      while (got < 3) got += await rb.poll(() => {}, 2000);
      expect(got).toBe(3);
      expect(performance.now() - t0).toBeLessThan(1500);
      expect(rb.epollFd).toBeGreaterThan(0);
    } finally {
      obj.close();
    }
  });

  it("polls waiting at once each keep their own timeout: a short one ends in time, an unbounded one waits for records", async () => {
    const obj = ringObject();
    try {
      for (const mode of ["mmap", "libbpf"] as const) {
        using rb = obj.ringBuffer("rb", null, { mode });
        // Joined to a longer wait: it waited for that one (3 s).
        const long = rb.poll(() => {}, 3000);
        let t0 = performance.now();
        expect(await rb.poll(() => {}, 100)).toBe(0);
        expect(performance.now() - t0).toBeLessThan(1000);
        produce(obj, 1);
        expect(await long).toBe(1);
        // Joined to a shorter wait: it gave up with it, records or not.
        const short = rb.poll(() => {}, 50);
        const unbounded = rb.poll(() => {}, -1);
        t0 = performance.now();
        setTimeout(() => produce(obj, 2), 300);
        expect(await short).toBe(0);
        expect(await unbounded).toBe(2);
        expect(performance.now() - t0).toBeGreaterThan(250);
      }
    } finally {
      obj.close();
    }
  });

  it("an AbortSignal ends a poll's wait (0), an aborted one drains nothing, and anything else is refused", async () => {
    const obj = ringObject();
    try {
      for (const mode of ["mmap", "libbpf"] as const) {
        using rb = obj.ringBuffer("rb", null, { mode });
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 50);
        const t0 = performance.now();
        expect(await rb.poll(() => {}, -1, { signal: ac.signal })).toBe(0);
        expect(performance.now() - t0).toBeLessThan(2000);
        produce(obj, 2);
        expect(await rb.pollRaw(() => {}, -1, { signal: ac.signal })).toBe(0);
        expect(await rb.poll(() => {}, -1, { signal: undefined })).toBe(2);
        const e = await rb
          .poll(() => {}, 10, { signal: 5 as never })
          .catch((e: unknown) => e);
        expect(e).toBeInstanceOf(BpfTypeError);
      }
    } finally {
      obj.close();
    }
  });

  it("iterates detached records; close and abort end a waiting iterator", async () => {
    const obj = ringObject();
    try {
      const rb = obj.ringBuffer("rb");
      setTimeout(() => produce(obj, 3), 30);
      const seqs: number[] = [];
      for await (const e of rb) {
        expect(e).not.toBeInstanceOf(Uint8Array);
        seqs.push((e as { seq: number }).seq);
        if (seqs.length === 3) break;
      }
      expect(seqs).toEqual([0, 1, 2]);

      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      for await (const _ of rb.events({ signal: ac.signal })) {
        throw new Error("no records expected");
      }

      // A pending poll resolves (0) when the object closes; iterators end.
      const pending = rb.poll(() => {}, -1);
      setTimeout(() => obj.close(), 50);
      const t0 = performance.now();
      for await (const _ of rb) throw new Error("no records expected");
      expect(await pending).toBe(0);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(rb.closed).toBe(true);
      expect(() => rb.consume(() => {})).toThrow(ClosedError);
      expect(() => rb.consumeRaw(() => {})).toThrow(ClosedError);
      let err: unknown;
      await rb.poll(() => {}, 10).catch((e) => (err = e));
      expect(err).toBeInstanceOf(ClosedError);
      expect(() => rb.events()).not.toThrow(); // a generator: throws on next()
      err = undefined;
      await rb
        .events()
        .next()
        .catch((e) => (err = e));
      expect(err).toBeInstanceOf(ClosedError);
    } finally {
      obj.close();
    }
  });

  for (const mode of ["mmap", "libbpf"] as const) {
    it(`an iteration over several rings serves the later ones while the first stays busy (${mode})`, async () => {
      const obj = BpfObject.open(fixture("ringbuf"));
      try {
        obj.map("rb").maxEntries = 1 << 20;
        obj.load();
        using rb = RingBuffer.open([obj.map("rb"), obj.map("rb2")], null, {
          mode,
        });
        obj.globals.arg_fixed_len = 8; // 24-byte records; rb2's are 16
        produce(obj, 3000);
        produce(obj, 3, "produce_rb2");
        const lengths: number[] = [];
        for await (const r of rb.events()) {
          lengths.push((r as Uint8Array).length);
          if (lengths.length === 1100) break;
        }
        // Before, every batch of 1024 came from rb while it had that many.
        expect(lengths.filter((n) => n === 16).length).toBe(3);
        expect(rb.pending).toBeGreaterThan(0);
      } finally {
        obj.close();
      }
    });
  }

  for (const mode of ["mmap", "libbpf"] as const) {
    it(`an iteration ended early (break, throw, abort) leaves the rest in order (${mode})`, async () => {
      const obj = ringObject();
      try {
        const Head = obj.btf.struct("rec_head");
        const rb = RingBuffer.open(obj.map("rb"), Head, { mode });
        const seqOf = (e: Record<string, unknown>) => e.seq as number;
        produce(obj, 10);
        const got: number[] = [];
        for await (const e of rb) {
          got.push(seqOf(e));
          if (got.length === 3) break;
        }
        expect(got).toEqual([0, 1, 2]);
        expect(rb.consumed).toBe(3);
        // A second iteration goes on where the first stopped...
        try {
          for await (const e of rb.events()) {
            got.push(seqOf(e));
            if (got.length === 5) throw new Error("stop");
          }
        } catch (e) {
          expect((e as Error).message).toBe("stop");
        }
        // ... and so does consume(), raw or not.
        expect(rb.consume((r) => (got.push(r.seq), got.length < 7))).toBe(2);
        const raw = (v: DataView, o: number, l: number) =>
          void got.push(checkRecord(v, o, l));
        // Records 7, 8 and 9 are left (lengths 76, 113 and 150, headers and
        // padding included): in the ring (the mapped ring's consumer
        // position moves as records are yielded), or (libbpf consumes a
        // record as it hands it over) taken ahead into the reader.
        expect(rb.pending).toBe(88 + 128 + 160);
        expect(rb.consumeRaw(raw)).toBe(3);
        expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(rb.consume(() => {})).toBe(0);

        // Aborted mid-batch: the records after the last one yielded stay.
        produce(obj, 10);
        const ac = new AbortController();
        const seen: number[] = [];
        for await (const e of rb.events({ signal: ac.signal })) {
          seen.push(seqOf(e));
          if (seen.length === 4) ac.abort();
        }
        expect(seen).toEqual([10, 11, 12, 13]);
        const rest: number[] = [];
        expect(rb.consume((r) => void rest.push(r.seq))).toBe(6);
        expect(rest).toEqual([14, 15, 16, 17, 18, 19]);
        expect(rb.consumed).toBe(10 + 4 + 6);
        expect(obj.globals.failed).toBe(0n);
      } finally {
        obj.close();
      }
    });
  }

  for (const mode of ["mmap", "libbpf"] as const)
    it(`consume() inside a for await body takes the rest once; the iteration goes on after them (${mode})`, async () => {
      const obj = ringObject();
      try {
        const rb = obj.ringBuffer("rb", null, { mode });
        produce(obj, 8);
        const seqs: number[] = [];
        const seq = (b: Uint8Array) => b[0]! | (b[1]! << 8);
        let inner = 0;
        for await (const b of rb.events({
          signal: AbortSignal.timeout(1000),
        })) {
          seqs.push(seq(b as Uint8Array));
          if (seqs.length === 2) {
            inner = rb.consume((r) => void seqs.push(seq(r as Uint8Array)));
            produce(obj, 2);
          }
          if (seqs.length === 10) break;
        }
        expect(inner).toBe(6);
        expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      } finally {
        obj.close();
      }
    });

  it("reading a reader from inside its own callback is a StateError, in both modes", async () => {
    for (const mode of ["mmap", "libbpf"] as const) {
      const obj = ringObject();
      try {
        const rb = RingBuffer.open(obj.map("rb"), null, { mode });
        produce(obj, 6);
        const seq = (r: unknown) =>
          new DataView(
            (r as Uint8Array).buffer,
            (r as Uint8Array).byteOffset,
          ).getUint32(0, true);
        const got: number[] = [];
        const errors: string[] = [];
        const it = rb.events()[Symbol.asyncIterator]();
        rb.consume((r) => {
          got.push(seq(r));
          // Both re-enter the reader mid-walk: refused, nothing moves.
          try {
            rb.consume(() => {});
          } catch (e) {
            errors.push((e as Error).name);
          }
          it.next().catch((e) => errors.push((e as Error).name));
          return false;
        });
        await new Promise((r) => setTimeout(r, 10));
        rb.consume((r) => void got.push(seq(r)));
        // Every record once, in order: none taken twice or skipped.
        expect(got).toEqual([0, 1, 2, 3, 4, 5]);
        expect(errors).toEqual(["StateError", "StateError"]);
        rb.close();
      } finally {
        obj.close();
      }
    }
  });

  it("a reader in another process takes what an iteration peeked at: the consumer position never moves back", async () => {
    // Readers of one map in one process are refused; another process's
    // share the consumer position all the same.
    const obj = ringObject();
    try {
      const id = obj.map("rb").id;
      const other = () =>
        Number(
          runChildSync(`
            import { BpfMap } from ${JSON.stringify(join(ROOT, "src/map.ts"))};
            import { RingBuffer } from ${JSON.stringify(join(ROOT, "src/ringbuf.ts"))};
            using m = BpfMap.fromId(${id});
            using rb = RingBuffer.open(m, null, { mode: "mmap" });
            console.log(rb.consume(() => {}));
          `),
        );
      const a = RingBuffer.open(obj.map("rb"), null, { mode: "mmap" });
      produce(obj, 10);
      let n = 0;
      for await (const _ of a.events()) {
        if (++n === 1) {
          // The other takes what a peeked ahead, and the producer goes on.
          expect(other()).toBe(9);
          produce(obj, 40);
        }
        // a's second record is one the other had (its copy was taken
        // ahead); its commit must not move consumer_pos back behind.
        if (n === 2) break;
      }
      a.close();
      // What the ring had room for (the rest were refused): all there.
      const failed = obj.globals.failed as bigint;
      using b = RingBuffer.open(obj.map("rb"), null, { mode: "mmap" });
      expect(BigInt(b.consume(() => {})) + failed).toBe(40n);
      produce(obj, 5);
      expect(b.consume(() => {})).toBe(5);
      expect(obj.globals.failed).toBe(failed);
    } finally {
      obj.close();
    }
  });

  it("an iteration that ends on a discarded record still wakes for the next one", async () => {
    const obj = ringObject();
    try {
      const rb = obj.ringBuffer("rb", obj.btf.struct("small_rec"));
      // 40 reservations, the odd ones discarded: the last one walked is a
      // discard, which must be consumed too, or the kernel (which wakes a
      // waiter only when the consumer has caught up) never wakes us again.
      produce(obj, 40, "produce_discard");
      const seqs: number[] = [];
      setTimeout(() => produce(obj, 2, "produce_discard"), 100);
      const t0 = performance.now();
      for await (const e of rb.events({ signal: AbortSignal.timeout(3000) })) {
        seqs.push((e as { seq: number }).seq);
        if (seqs.length === 21) break;
      }
      expect(seqs).toEqual(Array.from({ length: 21 }, (_, i) => i * 2));
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(rb.pending).toBe(0); // the discarded 41st record too
    } finally {
      obj.close();
    }
  });

  it("does not spin while idle: ring and perf iterators waiting 1 s use ~0 CPU", async () => {
    const obj = ringObject();
    const perf = BpfObject.open(fixture("perfbuf"));
    try {
      perf.load();
      const rb = obj.ringBuffer("rb");
      const pb = perf.perfBuffer("events");
      const ended = Promise.all([
        (async () => {
          for await (const _ of rb) throw new Error("no records expected");
        })(),
        (async () => {
          for await (const _ of pb) throw new Error("no samples expected");
        })(),
      ]);
      await new Promise((r) => setTimeout(r, 100)); // waiters started
      const c0 = cpuMs();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 1000));
      const share = (cpuMs() - c0) / (performance.now() - t0);
      console.log(`idle iterators: ${(share * 100).toFixed(2)} % of a core`);
      expect(share).toBeLessThan(0.05);
      obj.close();
      perf.close();
      await ended;
    } finally {
      obj.close();
      perf.close();
    }
  });

  it("lets the process exit after close while iterating", async () => {
    const src = join(ROOT, "src/object.ts");
    const { code, ms, out } = await runChild(`
      import { BpfObject } from ${JSON.stringify(src)};
      const obj = BpfObject.open(${JSON.stringify(fixture("ringbuf"))});
      obj.load();
      const rb = obj.ringBuffer("rb");
      (async () => {
        for await (const _ of rb) {}
        console.log("iterator ended");
      })();
      setTimeout(() => obj.close(), 100);
    `);
    expect(out).toContain("iterator ended");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
  });

  it("gives timers their turns while its own syscalls keep the ring full", async () => {
    const obj = selfTraced();
    try {
      const rb = obj.ringBuffer("rb");
      obj.program("on_syscall").attach();
      const polled = await turnsWhileFlooded(async (stop) => {
        while (!stop()) await rb.poll(() => {}, 100);
      });
      expect(polled.ms).toBeLessThan(2000);
      expect(polled.ticks).toBeGreaterThan(0);
      const iterated = await turnsWhileFlooded(async (stop, signal) => {
        for await (const _ of rb.events({ signal })) if (stop()) break;
      });
      expect(iterated.ms).toBeLessThan(2000);
      expect(iterated.ticks).toBeGreaterThan(0);
      expect(rb.consumed).toBeGreaterThan(0);
    } finally {
      obj.close();
    }
  });
});

describe.skipIf(!root)("RingBuffer memory", () => {
  it("a closed reader's mapping is given back once its views are collected", () => {
    // close() swaps the ring for zero pages that stale views can still
    // read; those must be unmapped at collection, or each reader leaks its
    // 2 x ring size + a page of address space (200 x 1 MiB rings: ~400 MiB).
    const isDeno =
      typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
    const script = join(ROOT, "test/_support/ring_retire_child.ts");
    const r = spawnSync(
      process.execPath,
      isDeno
        ? ["run", "-A", "--no-lock", "--v8-flags=--expose-gc", script, "200"]
        : [script, "200"],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).toBe(0);
    const grewMiB = Number(r.stdout.trim().split("\n").pop());
    expect(grewMiB).toBeLessThan(64);
  }, 60_000);
});
