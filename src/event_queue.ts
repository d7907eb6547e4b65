/**
 * Records a reader has taken out of a libbpf-managed ring but not
 * delivered yet, as copies in one growing buffer. libbpf consumes a record
 * as its callback returns (`perf_buffer__consume` even drains every CPU's
 * ring as a whole), so what it hands over after a callback stopped
 * delivery, and what an iteration took ahead of what it yielded, waits
 * here. Readers deliver these before anything still in a ring, so stopping
 * a callback or ending an iteration early (break, return, abort) loses
 * nothing. Used by PerfBuffer and by the libbpf-mode ring (LibbpfRing).
 */
import type { StructDecoder } from "./event_struct.ts";
import type { PeekCallback } from "./ringbuf_ring.ts";

/** A buffer grown past this is dropped once the queue empties. */
const KEEP_BYTES = 4 << 20;
const INITIAL_BYTES = 4096;
/** Delivered records kept in front of the queue before it compacts. */
const COMPACT_AFTER = 1024;

/**
 * A FIFO of copied records, each with its source (CPU or ring index).
 * Records leave from the head when delivered, or when committed after a
 * {@link peek} handed them out.
 */
export class RecordQueue {
  #bytes: Uint8Array = new Uint8Array(INITIAL_BYTES);
  #data = new DataView(this.#bytes.buffer);
  // One entry per record, parallel arrays of small ints (no object per record).
  readonly #off: number[] = [];
  readonly #len: number[] = [];
  readonly #src: number[] = [];
  #head = 0;
  // Records before this one were handed out by peek() (cursor >= head).
  #cursor = 0;
  #end = 0;
  /** Records the last {@link deliver} handed over (also when it threw). */
  delivered = 0;
  /** True when the last {@link deliver} ended because the callback returned false. */
  stopped = false;

  /** Records queued. */
  get size(): number {
    return this.#off.length - this.#head;
  }

  /** Records queued and not handed out by {@link peek} yet. */
  get unpeeked(): number {
    return this.#off.length - this.#cursor;
  }

  /**
   * Bytes the records queued took in a BPF ring buffer: each its length
   * plus the 8-byte header, rounded up to 8 (kernel/bpf/ringbuf.c).
   */
  get ringBytes(): number {
    let n = 0;
    for (let i = this.#head; i < this.#len.length; i++)
      n += (this.#len[i]! + 15) & ~7;
    return n;
  }

  /** Appends a copy of the `len` bytes at `off` of `bytes`. */
  push(bytes: Uint8Array, off: number, len: number, source: number): void {
    const at = this.#end;
    if (at + len > this.#bytes.length) this.#grow(at + len);
    this.#bytes.set(bytes.subarray(off, off + len), at);
    // 8-byte aligned, as records are in a BPF ring.
    this.#end = (at + len + 7) & ~7;
    this.#off.push(at);
    this.#len.push(len);
    this.#src.push(source);
  }

  #grow(need: number): void {
    let n = this.#bytes.length * 2;
    while (n < need) n *= 2;
    const bytes = new Uint8Array(n);
    bytes.set(this.#bytes.subarray(0, this.#end));
    this.#bytes = bytes;
    this.#data = new DataView(bytes.buffer);
  }

  /**
   * Hands queued records to `cb(record, source)`, oldest first, as the
   * rings would: the decoder's struct view, or a `Uint8Array` when
   * `decoder` is null; valid during the call. Stops after a record `cb`
   * returns false for; a record whose callback (or decoding) throws is
   * gone too. Sets {@link delivered} and {@link stopped}.
   */
  deliver(
    cb: (record: unknown, source: number) => boolean | void,
    decoder: StructDecoder | null,
  ): void {
    this.delivered = 0;
    this.stopped = false;
    try {
      while (this.#head < this.#off.length) {
        const i = this.#head++;
        const off = this.#off[i]!;
        const len = this.#len[i]!;
        const src = this.#src[i]!;
        const r = cb(
          decoder
            ? decoder.at(this.#data, off, len, src)
            : this.#bytes.subarray(off, off + len),
          src,
        );
        this.delivered++;
        if (r === false) {
          this.stopped = true;
          break;
        }
      }
    } finally {
      this.#settle();
    }
  }

  /** Moves the records not delivered yet to the front. */
  #compact(): void {
    const head = this.#head;
    const n = this.#off.length - head;
    const first = this.#off[head]!;
    this.#bytes.copyWithin(0, first, this.#end);
    for (let i = 0; i < n; i++) {
      this.#off[i] = this.#off[head + i]! - first;
      this.#len[i] = this.#len[head + i]!;
      this.#src[i] = this.#src[head + i]!;
    }
    this.#off.length = this.#len.length = this.#src.length = n;
    this.#cursor -= head;
    this.#head = 0;
    this.#end -= first;
  }

  /** {@link deliver} as `cb(view, offset, length, source)`. */
  deliverRaw(
    cb: (v: DataView, o: number, l: number, s: number) => boolean | void,
  ): void {
    this.delivered = 0;
    this.stopped = false;
    try {
      while (this.#head < this.#off.length) {
        const i = this.#head++;
        const r = cb(this.#data, this.#off[i]!, this.#len[i]!, this.#src[i]!);
        this.delivered++;
        if (r === false) {
          this.stopped = true;
          break;
        }
      }
    } finally {
      this.#settle();
    }
  }

  /**
   * Hands the records not handed out yet to `cb` until it returns false
   * (sets {@link stopped}), leaving them queued: {@link commit} removes the
   * oldest, {@link unpeek} makes them new again. Returns how many.
   */
  peek(cb: PeekCallback): number {
    this.stopped = false;
    let n = 0;
    while (this.#cursor < this.#off.length) {
      const i = this.#cursor;
      const r = cb(
        this.#data,
        this.#bytes,
        this.#off[i]!,
        this.#len[i]!,
        this.#src[i]!,
      );
      this.#cursor++;
      n++;
      if (r === false) {
        this.stopped = true;
        break;
      }
    }
    return n;
  }

  /** Removes the oldest record {@link peek} handed out. */
  commit(): void {
    if (this.#head < this.#cursor) {
      this.#head++;
      this.#settle();
    }
  }

  /** Forgets what {@link peek} handed out: those records stay queued. */
  unpeek(): void {
    this.#cursor = this.#head;
  }

  /** Empties the queue (a closed reader's records are gone). */
  clear(): void {
    this.#head = this.#off.length;
    this.#settle();
  }

  // Once empty, the next fill starts at the front of the buffer again.
  #settle(): void {
    if (this.#cursor < this.#head) this.#cursor = this.#head;
    if (this.#head < this.#off.length) {
      // Callbacks that always stop early never empty the queue: drop what
      // was delivered once it is most of it, or the buffer grows forever.
      if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#off.length)
        this.#compact();
      return;
    }
    this.#off.length = this.#len.length = this.#src.length = 0;
    this.#head = this.#cursor = this.#end = 0;
    if (this.#bytes.length > KEEP_BYTES) {
      this.#bytes = new Uint8Array(INITIAL_BYTES);
      this.#data = new DataView(this.#bytes.buffer);
    }
  }
}
