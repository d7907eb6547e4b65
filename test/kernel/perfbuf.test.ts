/**
 * PerfBuffer against the kernel: typed samples with their CPU, lost samples
 * counted when the consumer is slow, early stop keeping the rest, poll and
 * iterator waiting, close ending a waiting iterator, and the process exiting
 * after close (Bun and Deno).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import { BpfTypeError, ClosedError, StateError } from "../../src/errors.ts";
import { BpfMap } from "../../src/map.ts";
import { BpfObject } from "../../src/object.ts";
import { PerfBuffer } from "../../src/perfbuf.ts";
import { ROOT, fixture, isRoot, need, thrown } from "../_support/fixtures.ts";
import {
  runChild,
  selfTraced,
  turnsWhileFlooded,
} from "../_support/event_streams.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const PKT = new Uint8Array(64);

function perfObject(): BpfObject {
  const obj = BpfObject.open(fixture("perfbuf"));
  obj.load();
  return obj;
}

function produce(obj: BpfObject, count: number, prog = "produce"): void {
  obj.globals.arg_count = count;
  obj.program(prog).testRun({ data: PKT });
}

describe.skipIf(!root)("PerfBuffer", () => {
  it("decodes samples with a BTF struct and reports their CPU", () => {
    const obj = perfObject();
    try {
      const pb = obj.perfBuffer("events", obj.btf.struct("perf_rec"));
      expect(pb.ringCount).toBeGreaterThan(0);
      produce(obj, 5);
      const got: [number, number, bigint, number][] = [];
      let view: unknown;
      expect(
        pb.consume((r, cpu) => {
          if (view !== undefined) expect(r).toBe(view); // one reused view
          view = r;
          got.push([r.seq, r.cpu, r.seq_x3, cpu]);
        }),
      ).toBe(5);
      expect(got.map((g) => g[0])).toEqual([0, 1, 2, 3, 4]);
      for (const [seq, rcpu, x3, cpu] of got) {
        expect(cpu).toBe(rcpu);
        expect(x3).toBe(BigInt(seq * 3));
      }
      pb.close(); // one reader of a map at a time
      const raw = obj.perfBuffer("events");
      produce(obj, 1);
      raw.consume((b) => {
        expect(b).toBeInstanceOf(Uint8Array);
        expect(b.length).toBeGreaterThan(63);
      });
    } finally {
      obj.close();
    }
  });

  it("counts the samples the kernel lost when the consumer is slow", () => {
    const obj = perfObject();
    try {
      const lost: [number, number][] = [];
      const pb = obj.perfBuffer("events", null, {
        pageCount: 1,
        onLost: (cpu, n) => lost.push([cpu, n]),
      });
      // Every delivered sample intact: seq rising, seq_x3 = 3 * seq.
      let last = -1;
      const check = (b: Uint8Array) => {
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const seq = v.getUint32(0, true);
        expect(v.getBigUint64(8, true)).toBe(BigInt(seq * 3));
        expect(seq).toBeGreaterThan(last);
        last = seq;
      };
      produce(obj, 1000); // 1 page holds ~50 samples of 76 bytes
      let got = pb.consume(check);
      // The kernel reports the loss before the next sample on the same
      // CPU; this thread may have moved to another CPU since, so produce
      // one sample at a time until the report comes.
      let extra = 0;
      while (pb.lost === 0 && extra < 100) {
        produce(obj, 1);
        extra++;
        got += pb.consume(check);
      }
      const failed = Number(obj.globals.output_failed);
      expect(failed).toBeGreaterThan(500);
      expect(pb.lost).toBe(failed);
      expect(lost.reduce((a, [, n]) => a + n, 0)).toBe(failed);
      expect(got + pb.lost).toBe(1000 + extra);
    } finally {
      obj.close();
    }
  });

  it("refuses a second live reader of a perf_event_array in this process: it would take the first's per-CPU slots", () => {
    const obj = perfObject();
    try {
      const map = obj.map("events");
      const first = obj.perfBuffer("events");
      using again = BpfMap.fromId(map.id);
      for (const open of [
        () => obj.perfBuffer("events"),
        () => PerfBuffer.open(again),
        () => PerfBuffer.open(again.fd),
      ]) {
        const e = thrown(open);
        expect(e).toBeInstanceOf(StateError);
        expect(e.message).toContain("is already read by another PerfBuffer");
        expect((e as StateError).hint).toMatch(/close the other reader first/);
      }
      // The first still gets every sample (before, the second took the
      // map's slots, and closing it emptied them).
      produce(obj, 5);
      expect(first.consume(() => {})).toBe(5);
      first.close();
      using second = PerfBuffer.open(again);
      produce(obj, 4);
      expect(second.consume(() => {})).toBe(4);
    } finally {
      obj.close();
    }
  });

  it("stops early on false and delivers the rest next time", () => {
    const obj = perfObject();
    try {
      const pb = obj.perfBuffer("events", obj.btf.struct("perf_rec"));
      produce(obj, 10);
      const seqs: number[] = [];
      expect(pb.consume((r) => (seqs.push(r.seq), seqs.length < 3))).toBe(3);
      expect(pb.consume((r) => void seqs.push(r.seq))).toBe(7);
      expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      obj.close();
    }
  });

  it("epollFd stays readable while samples libbpf handed over past a stop wait in the reader", async () => {
    const events = new Uint8Array(16 * 8);
    const readable = (fd: number) => libc().epoll_wait(fd, events, 8, 0) > 0;
    // A perf fd reports each wake-up once (perf_poll swaps its state to 0):
    // let the wake-ups of a produce() go first.
    const settle = (fd: number) => {
      for (let i = 0; i < 10 && readable(fd); i++);
    };
    const obj = perfObject();
    try {
      using pb = obj.perfBuffer("events");
      const epfd = pb.epollFd;
      produce(obj, 10);
      settle(epfd);
      let k = 0;
      // perf_buffer__consume empties every CPU's ring: 7 wait in the reader.
      expect(pb.consume(() => ++k < 3)).toBe(3);
      expect(readable(epfd)).toBe(true);
      expect(await pb.poll(() => {}, 0)).toBe(7);
      expect(readable(epfd)).toBe(false);
      // The same when the waiter comes after the samples were held.
      produce(obj, 4);
      settle(epfd);
      k = 0;
      pb.consume(() => ++k < 2);
      let n = 0;
      for await (const _ of pb) if (++n === 1) break;
      expect(readable(epfd)).toBe(true);
      expect(pb.consume(() => {})).toBe(1);
      expect(readable(epfd)).toBe(false);
    } finally {
      obj.close();
    }
  });

  it("a callback that always stops early still gets every sample once, in order", () => {
    const obj = perfObject();
    try {
      const pb = obj.perfBuffer("events", obj.btf.struct("perf_rec"));
      produce(obj, 1000);
      produce(obj, 1000);
      const seqs: number[] = [];
      for (let i = 0; i < 2000; i++)
        expect(pb.consume((r) => (seqs.push(r.seq), false))).toBe(1);
      expect(pb.consume(() => {})).toBe(0);
      expect(seqs).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    } finally {
      obj.close();
    }
  });

  it("an iteration ended early (break, throw, abort) leaves the rest in order", async () => {
    const obj = perfObject();
    try {
      const pb = obj.perfBuffer("events", obj.btf.struct("perf_rec"));
      produce(obj, 10);
      const got: number[] = [];
      for await (const s of pb) {
        got.push(s.seq as number);
        if (got.length === 3) break;
      }
      expect(pb.consumed).toBe(3);
      try {
        for await (const s of pb.events()) {
          got.push(s.seq as number);
          if (got.length === 5) throw new Error("stop");
        }
      } catch (e) {
        expect((e as Error).message).toBe("stop");
      }
      expect(pb.consume((r) => (got.push(r.seq), got.length < 7))).toBe(2);
      // Samples after the queued ones follow them.
      produce(obj, 2);
      expect(pb.consume((r) => void got.push(r.seq))).toBe(5);
      expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

      produce(obj, 10);
      const ac = new AbortController();
      const seen: number[] = [];
      for await (const s of pb.events({ signal: ac.signal })) {
        seen.push(s.seq as number);
        if (seen.length === 4) ac.abort();
      }
      expect(seen).toEqual([12, 13, 14, 15]);
      const rest: number[] = [];
      expect(pb.consume((r) => void rest.push(r.seq))).toBe(6);
      expect(rest).toEqual([16, 17, 18, 19, 20, 21]);
      expect(pb.consumed).toBe(12 + 4 + 6);
      expect(pb.lost).toBe(0);
    } finally {
      obj.close();
    }
  });

  it("iterating a full perf buffer: every sample delivered once or counted lost", async () => {
    const obj = perfObject();
    try {
      const pb = obj.perfBuffer("events", null, { pageCount: 1 });
      produce(obj, 1000); // 1 page holds ~50 samples of 76 bytes
      const seqs: number[] = [];
      const seq = (b: Uint8Array) =>
        new DataView(b.buffer, b.byteOffset).getUint32(0, true);
      let k = 0;
      for await (const b of pb) {
        seqs.push(seq(b));
        if (++k === 5) break;
      }
      // As in the consume() test: produce until the loss report comes.
      let extra = 0;
      while (pb.lost === 0 && extra < 100) {
        produce(obj, 1);
        extra++;
        for await (const b of pb.events({ signal: AbortSignal.timeout(20) }))
          seqs.push(seq(b));
      }
      pb.consume((b) => void seqs.push(seq(b)));
      const failed = Number(obj.globals.output_failed);
      expect(pb.lost).toBe(failed);
      expect(seqs.length + pb.lost).toBe(1000 + extra);
      for (let i = 1; i < seqs.length; i++)
        expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    } finally {
      obj.close();
    }
  });

  it("rejects a ringbuf map and reports short samples", () => {
    const rbObj = BpfObject.open(fixture("ringbuf"));
    const obj = perfObject();
    try {
      rbObj.load();
      expect(() => rbObj.perfBuffer("rb")).toThrow(/not a perf_event_array/);
      const Big = rbObj.btf.struct("rec"); // 512 bytes
      const pb = obj.perfBuffer("events", Big);
      produce(obj, 2);
      // One error per call; the second sample waits for the next call.
      expect(() => pb.consume(() => {})).toThrow(
        /sample of 68 bytes is shorter than struct rec \(512 bytes\)/,
      );
      expect(() => pb.consume(() => {})).toThrow(BpfTypeError);
      expect(pb.consume(() => {})).toBe(0);
    } finally {
      obj.close();
      rbObj.close();
    }
  });

  it("short samples: an error carrying each (default), or zero-padded views", async () => {
    const obj = perfObject();
    try {
      const Rec = obj.btf.struct("perf_rec");
      const pb = obj.perfBuffer("events", Rec);
      produce(obj, 4, "produce_short");
      const seqs: number[] = [];
      const shortOnes: number[] = [];
      const take = (e: unknown) => {
        expect(e).toBeInstanceOf(BpfTypeError);
        expect((e as Error).message).toMatch(
          /perf sample of 12 bytes is shorter than struct perf_rec \(64 bytes\).*carries it as \.record/,
        );
        const { record, source } = e as BpfTypeError & {
          record: Uint8Array;
          source: number;
        };
        expect(record.length).toBe(12); // 8 bytes, padded by perf to 8n + 4
        expect(source).toBe(new DataView(record.buffer).getUint32(4, true));
        shortOnes.push(record[0]!);
      };
      for (let i = 0; i < 3; i++) {
        try {
          pb.consume((r) => void seqs.push(r.seq));
        } catch (e) {
          take(e);
        }
      }
      expect(seqs).toEqual([0, 2]);
      expect(shortOnes).toEqual([1, 3]);
      produce(obj, 4, "produce_short");
      for (let round = 0; round < 2; round++) {
        try {
          for await (const s of pb) seqs.push(s.seq as number);
        } catch (e) {
          take(e);
        }
      }
      expect(seqs).toEqual([0, 2, 4, 6]);
      expect(shortOnes).toEqual([1, 3, 5, 7]);
      expect(pb.consume(() => {})).toBe(0);
      pb.close();

      const padded = obj.perfBuffer("events", Rec, { short: "zero-pad" });
      produce(obj, 4, "produce_short");
      const got: [number, unknown][] = [];
      padded.consume((r) => {
        // Odd samples: 12 bytes (perf pads 8 to 8n + 4), then zeros.
        const rest = r.$bytes().subarray(12);
        got.push([r.seq, r.seq & 1 ? rest.every((b) => b === 0) : r.seq_x3]);
      });
      expect(got).toEqual([
        [8, 24n],
        [9, true],
        [10, 30n],
        [11, true],
      ]);
      expect(() =>
        obj.perfBuffer("events", Rec, { short: "bytes" as "error" }),
      ).toThrow(/short: "bytes" would hand Uint8Arrays/);
    } finally {
      obj.close();
    }
  });

  it("poll waits and times out; close ends a waiting iterator", async () => {
    const obj = perfObject();
    try {
      const pb = obj.perfBuffer("events", obj.btf.struct("perf_rec"));
      let t0 = performance.now();
      expect(await pb.poll(() => {}, 100)).toBe(0);
      expect(performance.now() - t0).toBeGreaterThan(80);
      setTimeout(() => produce(obj, 3), 30);
      let got = 0;
      while (got < 3) got += await pb.poll(() => {}, 2000);
      expect(got).toBe(3);

      setTimeout(() => produce(obj, 2), 30);
      const seen: number[] = [];
      for await (const s of pb) {
        seen.push((s as { seq: number }).seq);
        if (seen.length === 2) break;
      }
      expect(seen).toEqual([3, 4]);

      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      t0 = performance.now();
      for await (const _ of pb.events({ signal: ac.signal }))
        throw new Error("no samples expected");
      expect(performance.now() - t0).toBeLessThan(2000);

      // A pending poll resolves (0) when the object closes; iterators end.
      const pending = pb.poll(() => {}, -1);
      setTimeout(() => obj.close(), 50);
      t0 = performance.now();
      for await (const _ of pb) throw new Error("no samples expected");
      expect(await pending).toBe(0);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(pb.closed).toBe(true);
      expect(() => pb.consume(() => {})).toThrow(ClosedError);
      let err: unknown;
      await pb.poll(() => {}, 10).catch((e) => (err = e));
      expect(err).toBeInstanceOf(ClosedError);
    } finally {
      obj.close();
    }
  });

  it("an AbortSignal ends a poll's wait (0), and an aborted one drains nothing", async () => {
    const obj = perfObject();
    try {
      using pb = obj.perfBuffer("events");
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      const t0 = performance.now();
      expect(await pb.poll(() => {}, -1, { signal: ac.signal })).toBe(0);
      expect(performance.now() - t0).toBeLessThan(2000);
      produce(obj, 2);
      expect(await pb.poll(() => {}, -1, { signal: ac.signal })).toBe(0);
      expect(await pb.poll(() => {}, 1000)).toBe(2);
    } finally {
      obj.close();
    }
  });

  it("refuses a drain from inside a sample callback (a close() after it freed the rings under libbpf: SIGSEGV)", async () => {
    // In a child: before the fix the process died in perf_buffer__consume.
    const { code, out } = await runChild(`
      import { BpfObject } from ${JSON.stringify(join(ROOT, "src/object.ts"))};
      const obj = BpfObject.open(${JSON.stringify(fixture("perfbuf"))});
      obj.load();
      const pb = obj.perfBuffer("events");
      obj.globals.arg_count = 50;
      obj.program("produce").testRun({ data: new Uint8Array(64) });
      let err;
      try {
        pb.consume(() => {
          pb.consume(() => {});
          pb.close();
        });
      } catch (e) {
        err = e;
      }
      console.log("nested:", err?.name, pb.closed);
      let n = 0;
      pb.consume(() => void n++);
      console.log("after:", n > 0);
      obj.close();
    `);
    expect(out).toContain("nested: StateError false");
    expect(out).toContain("after: true");
    expect(code).toBe(0);
  });

  it("lets the process exit after close while iterating", async () => {
    const { code, ms, out } = await runChild(`
      import { BpfObject } from ${JSON.stringify(join(ROOT, "src/object.ts"))};
      const obj = BpfObject.open(${JSON.stringify(fixture("perfbuf"))});
      obj.load();
      const pb = obj.perfBuffer("events");
      (async () => {
        for await (const _ of pb) {}
        console.log("iterator ended");
      })();
      setTimeout(() => obj.close(), 100);
    `);
    expect(out).toContain("iterator ended");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
  });

  it("gives timers their turns while its own syscalls keep the perf buffer full", async () => {
    const obj = selfTraced();
    try {
      const pb = obj.perfBuffer("events");
      obj.program("on_syscall").attach();
      const polled = await turnsWhileFlooded(async (stop) => {
        while (!stop()) await pb.poll(() => {}, 100);
      });
      expect(polled.ms).toBeLessThan(2000);
      expect(polled.ticks).toBeGreaterThan(0);
      const iterated = await turnsWhileFlooded(async (stop, signal) => {
        for await (const _ of pb.events({ signal })) if (stop()) break;
      });
      expect(iterated.ms).toBeLessThan(2000);
      expect(iterated.ticks).toBeGreaterThan(0);
    } finally {
      obj.close();
    }
  });
});
