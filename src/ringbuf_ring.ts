/**
 * One BPF ring buffer (BPF_MAP_TYPE_RINGBUF) as a reader sees it: the
 * mmap'd, zero-copy JS walker ({@link MappedRing}) and the libbpf-backed
 * fallback for hosts where plain loads/stores do not give the ordering the
 * ring needs ({@link LibbpfRing}). `RingBuffer` (ringbuf.ts) drives them.
 */
import {
  type BufArg,
  type MappedMemory,
  type NativeCallback,
  type Ptr,
  CALLBACKS,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  bufArg,
  errno,
  libbpf,
  libc,
  mmap,
  nativeCallback,
  pageSize,
  runtimeName,
} from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import type { ViewClass, StructView } from "./btf/views.ts";
import { StateError } from "./errors.ts";
import { RecordQueue } from "./event_queue.ts";
import { type ShortRecords, StructDecoder } from "./event_struct.ts";

// uapi/linux/bpf.h: BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ
const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const LEN_MASK = 0x3fffffff;
const HDR = 8;
const TWO32 = 0x100000000;
/** Largest ring the JS walker handles: offsets use 32-bit bitwise ops. */
const MAX_JS_RING = 1 << 30;

/** How records reach the user callback. */
export const Delivery = {
  /** `Uint8Array` view of the payload (one subarray per record). */
  Bytes: 0,
  /** One reusable struct view, re-pointed per record. */
  Struct: 1,
  /** `(DataView, offset, length)`: no allocation at all. */
  Raw: 2,
} as const;
/** One of {@link Delivery}. */
export type Delivery = (typeof Delivery)[keyof typeof Delivery];

/** The user callback, as the rings call it (the shape depends on Delivery). */
export type AnyCallback = (
  a: never,
  b: never,
  c: never,
  d: never,
) => boolean | void;

/**
 * A callback of {@link Ring.peek}: the payload is `length` bytes at
 * `offset` of `view`, and of `bytes` (the same memory).
 */
export type PeekCallback = (
  view: DataView,
  bytes: Uint8Array,
  offset: number,
  length: number,
  source: number,
) => boolean | void;

/** One ring of a reader. */
export interface Ring {
  /** The map fd (owned by the caller). */
  readonly fd: number;
  /** Data area size in bytes. */
  readonly size: number;
  /** Struct class records decode to, or null for bytes. */
  readonly struct: ViewClass | null;
  /** Its decoder (the reused view), or null for bytes. */
  readonly decoder: StructDecoder | null;
  /**
   * Drains the ring: calls `cb` per committed, non-discarded record until
   * the ring is empty or `cb` returns false. Returns the records given and
   * sets `stopped` when `cb` stopped it.
   */
  drain(mode: Delivery, cb: AnyCallback, source: number): number;
  /**
   * For iterations: hands the records after those already peeked to `cb`
   * until the ring is empty or `cb` returns false, without consuming
   * them: each stays in the ring until {@link commit} consumes it, and a
   * {@link drain} (which starts from the consumed position) delivers it
   * again. Returns the records given.
   */
  peek(cb: PeekCallback, source: number): number;
  /** Consumes the oldest record {@link peek} handed out. */
  commit(): void;
  /** Forgets the records {@link peek} handed out (they stay in the ring). */
  unpeek(): void;
  /** True when the last drain or peek ended because the callback returned false. */
  readonly stopped: boolean;
  /** Bytes committed but not consumed yet. */
  pending(): number;
  /**
   * True while records taken out of the kernel ring wait in user space
   * (libbpf mode): the map fd no longer reports them readable.
   */
  held(): boolean;
  /** Unmaps / frees; later drains return 0. */
  close(): void;
}

function decoder(
  struct: ViewClass | null,
  short: ShortRecords,
  fd: number,
): StructDecoder | null {
  return struct
    ? new StructDecoder(
        struct,
        short,
        "ring buffer record",
        () => `map fd ${fd}`,
      )
    : null;
}

/**
 * The ring mapped into our memory and walked in JS: no native call and no
 * copy per record. Kernel layout (kernel/bpf/ringbuf.c, bpf_ringbuf_mmap_kern):
 * page 0 is the consumer page (consumer_pos, u64, writable by us); page 1
 * the producer page (producer_pos, read-only); then the data area, mapped
 * twice back to back so a record that wraps reads contiguously.
 */
export class MappedRing implements Ring {
  readonly fd: number;
  readonly size: number;
  readonly struct: ViewClass | null;
  readonly decoder: StructDecoder | null;
  stopped = false;
  #consMem: MappedMemory | null;
  #prodMem: MappedMemory | null;
  readonly #cons: Uint32Array;
  readonly #prod: Uint32Array;
  readonly #hdr: Int32Array;
  readonly #data: DataView;
  readonly #bytes: Uint8Array;
  readonly #mask: number;
  readonly #view: StructView | null;
  readonly #minLen: number;
  #pos: number;
  #closed = false;

  constructor(
    fd: number,
    size: number,
    struct: ViewClass | null,
    short: ShortRecords,
  ) {
    this.fd = fd;
    this.size = size;
    this.struct = struct;
    this.#mask = size - 1;
    const page = pageSize();
    const cons = mmap(fd, page, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    if (!cons) throw mmapError(errno(), "consumer page", fd);
    const prod = mmap(fd, page + 2 * size, PROT_READ, MAP_SHARED, page);
    if (!prod) {
      const e = errno();
      cons.unmap();
      throw mmapError(e, "producer page and data", fd);
    }
    this.#consMem = cons;
    this.#prodMem = prod;
    this.#cons = new Uint32Array(cons.bytes.buffer, cons.bytes.byteOffset, 2);
    this.#prod = new Uint32Array(prod.bytes.buffer, prod.bytes.byteOffset, 2);
    const base = prod.bytes.byteOffset + page;
    this.#hdr = new Int32Array(prod.bytes.buffer, base, (2 * size) / 4);
    this.#data = new DataView(prod.bytes.buffer, base, 2 * size);
    this.#bytes = new Uint8Array(prod.bytes.buffer, base, 2 * size);
    this.#pos = this.#cons[0]! + this.#cons[1]! * TWO32;
    this.decoder = decoder(struct, short, fd);
    this.#view = this.decoder?.view ?? null;
    this.#minLen = struct ? struct.size : 0;
  }

  /** True when the JS walker can map a ring of `size` bytes. */
  static fits(size: number): boolean {
    return size > 0 && size <= MAX_JS_RING && (size & (size - 1)) === 0;
  }

  /**
   * producer_pos, read as two u32 halves (a bigint read would allocate).
   * The kernel stores it whole; a torn read across a 2^32 carry gives a
   * value outside [consumer, consumer + size], which no real position
   * can be (the producer never runs more than `size` ahead): re-read.
   */
  #producer(): number {
    for (let tries = 0; ; tries++) {
      const p = this.#prod[0]! + this.#prod[1]! * TWO32;
      const ahead = p - this.#pos;
      if (ahead >= 0 && ahead <= this.size) return p;
      // Not a torn read but a stale #pos (another reader of the map moved
      // consumer_pos): take the published one.
      if (tries >= 8) this.#pos = this.#cons[0]! + this.#cons[1]! * TWO32;
      if (tries >= 64) return Math.min(p, this.#pos + this.size);
    }
  }

  /**
   * Publishes consumer_pos. The kernel reads it as one u64
   * (__bpf_ringbuf_reserve): write the low half alone while the high half
   * is unchanged, which is one store; at a 2^32 carry write both halves
   * high first (a transient value ahead of the producer only makes a
   * reservation fail, never corrupts).
   */
  #publish(pos: number): void {
    const hi = Math.floor(pos / TWO32);
    if (hi !== this.#cons[1]) {
      this.#cons[1] = hi;
    }
    this.#cons[0] = pos >>> 0;
    this.#pos = pos;
  }

  held(): boolean {
    // Peeked records stay in the ring until committed: the kernel reports them.
    return false;
  }

  pending(): number {
    if (this.#closed) return 0;
    // consumer_pos as published (by us or another reader of the map).
    this.#pos = this.#cons[0]! + this.#cons[1]! * TWO32;
    return this.#producer() - this.#pos;
  }

  drain(mode: Delivery, cb: AnyCallback, source: number): number {
    this.stopped = false;
    if (this.#closed) return 0;
    this.unpeek();
    // Re-read: another reader of the same map may have moved it.
    const start = (this.#pos = this.#cons[0]! + this.#cons[1]! * TWO32);
    // Positions can pass 2^31 (doubles in JS); the walk uses small ints:
    // `used` bytes since `start` and the offset in the ring.
    let used = 0;
    let n = 0;
    try {
      for (;;) {
        const avail = this.#producer() - start;
        if (used >= avail) break;
        const batch = this.#walk(mode, cb, source, start + used, avail - used);
        used += batch.used;
        n += batch.n;
        if (batch.stop) return n;
        // Publish each batch: it frees space for the producer and tells the
        // kernel we caught up (it wakes epoll waiters only then).
        this.#publish(start + used);
        // A producer faster than us would keep one drain going forever:
        // return after a ring's worth, the caller comes back.
        if (used >= this.size) break;
      }
    } catch (e) {
      used += this.#batch.used; // #walk threw: count what it walked
      throw e;
    } finally {
      if (!this.#closed) this.#publish(start + used);
    }
    return n;
  }

  // One batch's result, reused (no allocation per batch).
  readonly #batch = { used: 0, n: 0, stop: false };

  // Records peek() handed out: their end positions (the first
  // #committed of them consumed), and how far the walk got (past them,
  // and past any discarded records after them).
  readonly #ends: number[] = [];
  #committed = 0;
  #ahead = 0;
  #walkFrom = 0;
  #peeker: PeekCallback | null = null;
  readonly #peeked = (
    data: DataView,
    at: number,
    len: number,
    source: number,
  ): boolean | void => {
    const r = this.#peeker!(data, this.#bytes, at, len, source);
    // `at` is the payload's offset in the ring: the record began HDR
    // before it, ((at - HDR - start) & mask) bytes into this walk.
    const begin = this.#walkFrom + ((at - HDR - this.#walkFrom) & this.#mask);
    this.#ends.push(begin + ((len + HDR + 7) & ~7));
    return r;
  };

  peek(cb: PeekCallback, source: number): number {
    this.stopped = false;
    if (this.#closed) return 0;
    const cons = this.#cons[0]! + this.#cons[1]! * TWO32;
    // Nothing held, or another reader of the map moved the position: walk
    // from the consumed position.
    if (this.#committed === this.#ends.length || cons !== this.#pos) {
      this.unpeek();
      this.#ahead = this.#pos = cons;
    }
    const ends = this.#ends;
    const before = ends.length;
    this.#peeker = cb;
    try {
      // A ring's worth at most, as in drain().
      while (this.#ahead - this.#pos < this.size) {
        const avail = this.#producer() - this.#ahead;
        if (avail <= 0) break;
        this.#walkFrom = this.#ahead;
        const b = this.#walk(
          Delivery.Raw,
          this.#peeked as AnyCallback,
          source,
          this.#ahead,
          avail,
        );
        this.#ahead += b.used;
        if (b.stop) break;
      }
    } catch (e) {
      // The callback threw: that record and what follows stay in the ring.
      if (ends.length > before) this.#ahead = ends[ends.length - 1]!;
      throw e;
    } finally {
      this.#peeker = null;
      // Only discarded records walked: consume them now (the kernel wakes
      // waiters only once the consumer has caught up).
      if (
        !this.#closed &&
        this.#committed === ends.length &&
        this.#ahead !== this.#pos
      )
        this.#publish(this.#ahead);
    }
    return ends.length - before;
  }

  commit(): void {
    if (this.#closed || this.#committed >= this.#ends.length) return;
    const k = ++this.#committed;
    // The last one held also consumes the discarded records after it, so
    // the consumer has caught up (see peek).
    const to = k === this.#ends.length ? this.#ahead : this.#ends[k - 1]!;
    // Another reader of the map may have consumed past us meanwhile:
    // consumer_pos must never move back (the kernel would see the
    // producer more than a ring ahead and refuse every reservation).
    const cons = this.#cons[0]! + this.#cons[1]! * TWO32;
    if (cons !== this.#pos) {
      this.unpeek();
      if (cons >= to) {
        this.#pos = cons;
        return;
      }
    }
    this.#publish(to);
  }

  unpeek(): void {
    // Every drain calls this: leave an empty array alone.
    if (this.#ends.length === 0) return;
    this.#ends.length = 0;
    this.#committed = 0;
  }

  /** Walks up to `avail` bytes from position `pos`. */
  #walk(
    mode: Delivery,
    cb: AnyCallback,
    source: number,
    pos: number,
    avail: number,
  ): { used: number; n: number; stop: boolean } {
    const hdr = this.#hdr;
    const mask = this.#mask;
    const out = this.#batch;
    let off = pos % this.size;
    let used = 0;
    let n = 0;
    let stop = false;
    try {
      while (used < avail) {
        // x86 (TSO): the kernel commits the header last (smp_store_release
        // of len), so a header read without BUSY has its payload visible.
        // Int32Array: BUSY (bit 31) is the sign, and values stay small ints.
        const h = hdr[off >> 2]!;
        if (h < 0) {
          stop = true;
          break;
        }
        const len = h & LEN_MASK;
        const step = (len + HDR + 7) & ~7;
        const at = off + HDR;
        used += step;
        off = (off + step) & mask;
        if (h & DISCARD) continue;
        let r: boolean | void;
        if (mode === Delivery.Raw) {
          r = (
            cb as (
              v: DataView,
              o: number,
              l: number,
              s: number,
            ) => boolean | void
          )(this.#data, at, len, source);
        } else if (mode === Delivery.Struct) {
          r = (cb as (v: StructView | Uint8Array, s: number) => boolean | void)(
            len < this.#minLen
              ? this.decoder!.shortRecord(this.#data, at, len, source)
              : this.#view!.$repoint(this.#data, at),
            source,
          );
        } else {
          r = (cb as (b: Uint8Array, s: number) => boolean | void)(
            this.#bytes.subarray(at, at + len),
            source,
          );
        }
        n++;
        if (r === false || this.#closed) {
          this.stopped = stop = true;
          break;
        }
      }
    } finally {
      // Also on a throw: the record that threw counts as consumed.
      out.used = used;
      out.n = n;
      out.stop = stop;
    }
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A struct view handed out earlier now reads zeros instead of freed memory.
    if (this.#view && this.struct)
      this.#view.$repoint(new DataView(new ArrayBuffer(this.struct.size)), 0);
    this.#consMem?.unmap();
    // Raw records (Uint8Array views of the data area) may have been kept
    // past their callback: keep their addresses readable.
    this.#prodMem?.retire();
    this.#consMem = this.#prodMem = null;
  }
}

// ring_buffer_sample_fn returning < 0 stops ring_buffer__consume with that value.
const STOP = -125; // -ECANCELED
// Initial record buffer of LibbpfRing; grows to the next power of 2.
const SCRATCH_MIN = 512;
// Records a LibbpfRing peek takes out of libbpf's ring at once.
const FILL_RECORDS = 1024;

/**
 * Fallback for hosts whose memory order plain JS loads cannot guarantee
 * (arm64 and others need acquire/release on the positions and header):
 * libbpf's `ring_buffer__consume` walks the ring in C and calls back into
 * JS on the same thread, once per record (~190 ns Bun / ~550 ns Deno).
 * Each record is copied (one memcpy, no allocation) into a buffer the ring
 * reuses: libbpf unmaps its ring on free, so a view of libbpf's memory
 * kept past its callback would fault once the reader is closed. libbpf
 * consumes a record as its callback returns, so an iteration's peek takes
 * a batch out into a queue that later drains deliver first.
 */
export class LibbpfRing implements Ring {
  readonly fd: number;
  readonly size: number;
  readonly struct: ViewClass | null;
  readonly decoder: StructDecoder | null;
  stopped = false;
  #rb: Ptr | null;
  readonly #callback: NativeCallback;
  #mode: Delivery = Delivery.Bytes as Delivery;
  #cb: AnyCallback | null = null;
  #source = 0;
  #n = 0;
  #error: unknown = null;
  #draining = false;
  #closed = false;
  #scratch = new Uint8Array(0);
  #scratchArg: BufArg | null = null;
  #scratchView = new DataView(new ArrayBuffer(0));
  // Records peek() took out of the ring and not committed yet.
  readonly #queue = new RecordQueue();
  #filling = false;
  readonly #memcpy = libc().memcpy_from;
  // Deno passes a usize fast as a bigint; Bun's u64_fast wants a number.
  readonly #bigLen = runtimeName() === "deno";
  // The consumer and producer pages, read-only, for pending() (libbpf 1.1
  // has no ring__avail_data_size); null if they cannot be mapped.
  #positions: MappedMemory | null = null;
  #words: Uint32Array = new Uint32Array(0);
  #producerWord = 0;

  constructor(
    fd: number,
    size: number,
    struct: ViewClass | null,
    short: ShortRecords,
  ) {
    this.fd = fd;
    this.size = size;
    this.struct = struct;
    this.decoder = decoder(struct, short, fd);
    this.#grow(Math.max(SCRATCH_MIN, struct?.size ?? 0));
    this.#callback = nativeCallback(
      CALLBACKS.ring_buffer_sample,
      (_ctx, data, len) => this.#sample(data!, Number(len)),
    );
    const rb = libbpf().ring_buffer__new(fd, this.#callback.ptr, null, null);
    if (rb === null) {
      const e = errno();
      this.#callback.close();
      throw bpfError("ring_buffer__new", e);
    }
    this.#rb = rb;
    // Any read-only range of the ring maps (kernel/bpf/ringbuf.c,
    // ringbuf_map_mmap_kern): consumer_pos at 0, producer_pos a page on.
    const page = pageSize();
    const m = mmap(fd, 2 * page, PROT_READ, MAP_SHARED, 0);
    if (m) {
      this.#positions = m;
      this.#words = new Uint32Array(
        m.bytes.buffer,
        m.bytes.byteOffset,
        page / 2,
      );
      this.#producerWord = page / 4;
    }
  }

  /** Makes the record buffer at least `size` bytes (and the views over it). */
  #grow(size: number): void {
    let n = SCRATCH_MIN;
    while (n < size) n *= 2;
    // Over an explicit ArrayBuffer: its address never moves (see bufArg).
    const buf = new ArrayBuffer(n);
    this.#scratch = new Uint8Array(buf);
    this.#scratchArg = bufArg(this.#scratch);
    this.#scratchView = new DataView(buf);
  }

  #sample(data: Ptr, len: number): number {
    try {
      if (len > this.#scratch.length) this.#grow(len);
      this.#memcpy(this.#scratchArg, data, this.#bigLen ? BigInt(len) : len);
      if (this.#filling) {
        const q = this.#queue;
        q.push(this.#scratch, 0, len, this.#source);
        return q.size >= FILL_RECORDS ? STOP : 0;
      }
      const cb = this.#cb!;
      let r: boolean | void;
      if (this.#mode === Delivery.Struct) {
        r = (cb as (v: StructView | Uint8Array, s: number) => boolean | void)(
          this.decoder!.at(this.#scratchView, 0, len, this.#source),
          this.#source,
        );
      } else if (this.#mode === Delivery.Raw) {
        r = (
          cb as (v: DataView, o: number, l: number, s: number) => boolean | void
        )(this.#scratchView, 0, len, this.#source);
      } else {
        r = (cb as (b: Uint8Array, s: number) => boolean | void)(
          this.#scratch.subarray(0, len),
          this.#source,
        );
      }
      this.#n++;
      if (r === false || this.#closed) {
        this.stopped = true;
        return STOP;
      }
      return 0;
    } catch (e) {
      this.#error = e;
      return STOP;
    }
  }

  held(): boolean {
    return this.#queue.size > 0;
  }

  pending(): number {
    if (this.#closed) return 0;
    let n = this.#queue.ringBytes;
    const w = this.#words;
    if (w.length > 0) {
      // Plain loads, as ring__avail_data_size does with acquire loads: a
      // count, stale by what producers do meanwhile (and on hosts without
      // x86's ordering, by a little more).
      const p = this.#producerWord;
      const ahead = w[p]! + w[p + 1]! * TWO32 - (w[0]! + w[1]! * TWO32);
      if (ahead > 0 && ahead <= this.size) n += ahead;
    }
    return n;
  }

  peek(cb: PeekCallback, source: number): number {
    this.#enter();
    this.stopped = false;
    if (this.#closed) return 0;
    const q = this.#queue;
    if (q.unpeeked === 0) {
      // libbpf consumes each record as its callback returns: take up to a
      // batch out into the queue, where it stays until committed.
      this.#filling = true;
      try {
        this.#consume(Delivery.Raw, null, source);
      } finally {
        this.#filling = false;
      }
    }
    const n = q.peek(cb);
    this.stopped = q.stopped;
    return n;
  }

  commit(): void {
    this.#queue.commit();
  }

  unpeek(): void {
    this.#queue.unpeek();
  }

  // A drain from a record callback would re-enter ring_buffer__consume on
  // the ring libbpf is walking, and end our #draining guard early: a
  // close() after it would free the ring under the outer walk.
  #enter(): void {
    if (this.#draining)
      throw new StateError(
        "ring buffer: consume/poll called from inside a record callback of the same reader",
        {
          hint: "return false to stop the drain, and drain again after it returns",
        },
      );
  }

  drain(mode: Delivery, cb: AnyCallback, source: number): number {
    this.#enter();
    this.stopped = false;
    if (this.#closed) return 0;
    const q = this.#queue;
    let n = 0;
    if (q.size > 0) {
      // What a peek took out comes first (it left the ring already).
      q.unpeek();
      if (mode === Delivery.Raw)
        q.deliverRaw(
          cb as (
            v: DataView,
            o: number,
            l: number,
            s: number,
          ) => boolean | void,
        );
      else
        q.deliver(
          cb as (r: unknown, s: number) => boolean | void,
          mode === Delivery.Struct ? this.decoder : null,
        );
      n = q.delivered;
      if (q.stopped || this.#closed) {
        this.stopped = true;
        return n;
      }
    }
    return n + this.#consume(mode, cb, source);
  }

  /** ring_buffer__consume, each record to `cb` (or into the queue when filling). */
  #consume(mode: Delivery, cb: AnyCallback | null, source: number): number {
    this.#mode = mode;
    this.#cb = cb;
    this.#source = source;
    this.#n = 0;
    this.#error = null;
    this.#draining = true;
    let err: number;
    try {
      err = libbpf().ring_buffer__consume(this.#rb!);
    } finally {
      this.#draining = false;
      this.#cb = null;
      if (this.#closed) this.#free();
    }
    if (this.#error !== null) {
      const e = this.#error;
      this.#error = null;
      throw e;
    }
    if (err < 0 && err !== STOP) throw bpfError("ring_buffer__consume", err);
    return this.#n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.clear();
    this.#words = new Uint32Array(0);
    this.#positions?.unmap();
    this.#positions = null;
    // Closed from a callback: libbpf is still inside ring_buffer__consume.
    if (!this.#draining) this.#free();
  }

  #free(): void {
    if (this.#rb === null) return;
    libbpf().ring_buffer__free(this.#rb);
    this.#rb = null;
    this.#callback.close();
  }
}

function mmapError(e: number, what: string, fd: number) {
  return bpfError(
    "mmap",
    e,
    { kind: "other" },
    {
      detail: `cannot map the ring buffer's ${what} (map fd ${fd})`,
      hint: "the fd must be a BPF_MAP_TYPE_RINGBUF map (for perf_event_array use perfBuffer)",
    },
  );
}
