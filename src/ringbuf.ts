/**
 * `RingBuffer`: reads BPF ring buffers (BPF_MAP_TYPE_RINGBUF), one or
 * several, zero-copy: records are views over the mapped ring, given to a
 * callback as `Uint8Array`s, as one re-pointed struct view, or as
 * `(DataView, offset, length)`.
 *
 * ```ts
 * using rb = obj.ringBuffer("events", ExecEvent);
 * rb.consume((e) => console.log(e.pid, e.comm));       // what is there now
 * await rb.poll((e) => { ... }, 100);                   // wait, then drain
 * for await (const e of rb) console.log(e.pid);         // detached objects
 * ```
 *
 * Records given to a callback are valid only during the call (the producer
 * reuses the space once the callback returns): keep `toObject()` /
 * `slice()` copies. A callback returning `false` stops the drain after that
 * record (it counts as consumed). An iteration copies up to a batch of
 * records at a time but consumes each only as it yields it: when it ends
 * early (break, return, abort), the rest stay with the reader (in the
 * ring; in libbpf mode, copied aside) for the next consume/poll/iteration,
 * in order. A record shorter than its ring's
 * struct becomes bytes, a zero-padded view or an error carrying it: see
 * {@link ShortRecords} and the `short` option.
 */
import { errno, libbpf } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import {
  type AnyStructView,
  type ViewClass,
  type StructView,
  checkStructArg,
} from "./btf/views.ts";
import { BpfTypeError, ClosedError, StateError } from "./errors.ts";
import { claimEventMap, releaseEventMap } from "./event_claims.ts";
import { type EventWaiter, createWaiter } from "./event_wait.ts";
import { cancelRelease, releaseOnCollect } from "./gc_release.ts";
import { trackOpen, untrackOpen } from "./thread_exit.ts";
import { type ShortRecords, checkShort } from "./event_struct.ts";
import {
  FairTurns,
  checkCallback,
  checkMapArg,
  detached,
  iterateDetached,
  pollOnce,
} from "./event_iterate.ts";
import type { BpfMap } from "./map.ts";
import {
  type AnyCallback,
  Delivery,
  LibbpfRing,
  MappedRing,
  type Ring,
} from "./ringbuf_ring.ts";

export type { ShortRecords } from "./event_struct.ts";

/** A ring buffer map: a `BpfMap`, or a map fd (borrowed, not closed by us). */
export type RingMap = BpfMap | number;

/**
 * One ring of a reader, with the struct its records decode to and what
 * becomes of records shorter than it (see {@link ShortRecords}; default
 * the reader's `short` option, else "error").
 */
export type RingSource =
  | RingMap
  | {
      readonly map: RingMap;
      readonly struct?: ViewClass | null;
      readonly short?: ShortRecords;
    };

/** What a callback receives: struct views for typed rings, else bytes. */
export type RingRecord = Uint8Array | AnyStructView;

/** A detached copy of a record (what iterators yield). */
export type Detached<T> = T extends StructView
  ? ReturnType<T["toObject"]>
  : Uint8Array;

/**
 * Per-record callback. `source` is the ring's index (order of `open`/`add`).
 * Return `false` to stop after this record.
 */
export type RecordCallback<T> = (record: T, source: number) => boolean | void;

/**
 * Zero-allocation callback: the payload is `length` bytes at `offset` of
 * `view` (a DataView over the whole mapped data area). Return `false` to stop.
 */
export type RawRecordCallback = (
  view: DataView,
  offset: number,
  length: number,
  source: number,
) => boolean | void;

/** Options of {@link RingBuffer.open}. */
export interface RingBufferOptions {
  /**
   * "mmap": walk the mapped ring in JS (x86: plain loads/stores keep the
   * order the ring needs). "libbpf": `ring_buffer__consume` with a callback
   * per record. "auto" (default): mmap on x86_64, libbpf elsewhere.
   */
  readonly mode?: "auto" | "mmap" | "libbpf";
  /**
   * What a record shorter than its ring's struct becomes (see
   * {@link ShortRecords}): "zero-pad", "error", or "bytes" where the
   * records may be bytes anyway. Default: "bytes" for a struct that
   * `obj.ringBuffer(name)` took from the map's `__type(value, ...)`,
   * "error" for a struct class passed in.
   */
  readonly short?: ShortRecords;
  /** @internal Called once when the reader closes (the owning object forgets it). */
  readonly onClose?: () => void;
}

/** Options of `events()` and `poll()` of ring and perf buffer readers. */
export interface EventsOptions {
  /** Ends the iteration, or the poll's wait (resolving 0), when aborted. */
  readonly signal?: AbortSignal;
}

// enum bpf_map_type BPF_MAP_TYPE_RINGBUF (uapi/linux/bpf.h)
const BPF_MAP_TYPE_RINGBUF = 27;
// struct bpf_map_info: type @0, id @4, max_entries @16 (uapi/linux/bpf.h)
const MAP_INFO_SIZE = 88;

function hostIsX86(): boolean {
  const g = globalThis as {
    Deno?: { build?: { arch?: string } };
    process?: { arch?: string };
  };
  const arch = g.Deno?.build?.arch ?? g.process?.arch;
  return arch === "x86_64" || arch === "x64";
}

function mapInfo(fd: number): {
  type: number;
  id: number;
  maxEntries: number;
} {
  const info = new Uint8Array(MAP_INFO_SIZE);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, MAP_INFO_SIZE, true);
  const err = libbpf().bpf_obj_get_info_by_fd(fd, info, len);
  if (err < 0)
    throw bpfError(
      "bpf_obj_get_info_by_fd",
      err || errno(),
      { kind: "other" },
      {
        detail: `fd ${fd} is not a BPF map`,
      },
    );
  const v = new DataView(info.buffer);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    maxEntries: v.getUint32(16, true),
  };
}

/** Records an iteration peeks at, at most, before yielding them. */
const ITER_BATCH = 1024;

/** A record an iteration could not decode: the error, thrown in its turn. */
class Failed {
  constructor(readonly error: unknown) {}
}

function describe(map: RingMap): string {
  return typeof map === "number" ? `map fd ${map}` : `map '${map.name}'`;
}

/**
 * What a reader owns: its rings, its waiter, and its claims on the maps
 * (event_claims.ts, held by these parts, not the reader, so that a reader
 * dropped unclosed can be collected and its maps read again).
 */
interface ReaderParts {
  readonly rings: Ring[];
  /** The kernel map id of each ring, by index. */
  readonly mapIds: number[];
  waiter: EventWaiter | null;
}

/** Ends the waits, frees the rings and the claims (by `close()`, or once collected). */
function releaseParts(parts: ReaderParts): void {
  parts.waiter?.close();
  for (const r of parts.rings) r.close();
  for (const id of parts.mapIds) releaseEventMap(id, parts);
}

/** A reader of one or more BPF ring buffers. */
export class RingBuffer<T = RingRecord> {
  readonly #parts: ReaderParts = { rings: [], mapIds: [], waiter: null };
  readonly #rings: Ring[] = this.#parts.rings;
  readonly #mapIds: number[] = this.#parts.mapIds;
  readonly #mode: "mmap" | "libbpf";
  #onClose: (() => void) | undefined;
  #closed = false;
  readonly #turns = new FairTurns(0);
  // Detached copies of records an iteration peeked at (still in their
  // rings: consumed as yielded), with their ring indexes; #next is the
  // next to yield.
  readonly #ahead: unknown[] = [];
  readonly #aheadRing: number[] = [];
  #next = 0;
  /** Records handed to callbacks (and yielded by iterators) so far. */
  consumed = 0;

  private constructor(mode: "mmap" | "libbpf") {
    this.#mode = mode;
    // Dropped unclosed: the rings and waiter go once the reader is collected.
    releaseOnCollect(this, this.#parts, releaseParts);
    trackOpen(this);
  }

  /**
   * A reader over `sources` (one or several ring buffer maps, each with an
   * optional struct class its records decode to). A map another live
   * reader of this process reads is a StateError: one reader per map (see
   * {@link RingBuffer.add} to read several).
   */
  static open<V extends StructView>(
    source: RingMap,
    struct: ViewClass<V>,
    options?: RingBufferOptions,
  ): RingBuffer<V>;
  static open(
    sources: RingSource | readonly RingSource[],
    struct?: null,
    options?: RingBufferOptions,
  ): RingBuffer<RingRecord>;
  static open(
    sources: RingSource | readonly RingSource[],
    struct?: ViewClass | null,
    options: RingBufferOptions = {},
  ): RingBuffer<unknown> {
    const want = options.mode ?? "auto";
    const mode = want === "auto" ? (hostIsX86() ? "mmap" : "libbpf") : want;
    const rb = new RingBuffer<unknown>(mode);
    rb.#onClose = options.onClose;
    try {
      const list = Array.isArray(sources)
        ? (sources as readonly RingSource[])
        : [sources as RingSource];
      if (list.length === 0)
        throw new BpfTypeError("RingBuffer.open needs at least one map");
      // With a struct class the reader is typed as its views: no bytes.
      const short =
        options.short === undefined
          ? "error"
          : checkShort(options.short, struct == null, "RingBuffer.open");
      for (const s of list) {
        if (typeof s === "object" && s !== null && "map" in s) {
          const own =
            s.short === undefined
              ? short
              : checkShort(s.short, true, "RingBuffer.open");
          rb.#add(s.map, s.struct ?? null, own);
        } else rb.#add(s as RingMap, struct ?? null, short);
      }
    } catch (e) {
      rb.close();
      throw e;
    }
    return rb;
  }

  /**
   * Adds another ring buffer map; its records reach callbacks with
   * `source` = its index. `short`: what a record shorter than `struct`
   * becomes, "error" (default) or "zero-pad" (see {@link ShortRecords}).
   * Returns the reader (typed as the union). StateError when another live
   * reader of this process reads the map.
   */
  add<V extends StructView>(
    map: RingMap,
    struct: ViewClass<V>,
    short?: ShortRecords,
  ): RingBuffer<T | V>;
  add(map: RingMap, struct?: null): RingBuffer<T | Uint8Array>;
  add(
    map: RingMap,
    struct?: ViewClass | null,
    short?: ShortRecords,
  ): RingBuffer<T | RingRecord>;
  add(
    map: RingMap,
    struct: ViewClass | null = null,
    short?: ShortRecords,
  ): RingBuffer<unknown> {
    this.#check("add");
    return this.#add(
      map,
      struct,
      short === undefined
        ? "error"
        : checkShort(short, struct == null, "RingBuffer.add"),
    );
  }

  #add(
    map: RingMap,
    struct: ViewClass | null,
    short: ShortRecords,
  ): RingBuffer<unknown> {
    checkMapArg(map, "RingBuffer", "ringbuf");
    checkStructArg(struct, "ring buffer");
    let fd: number;
    if (typeof map === "number") fd = map;
    else {
      if (map.type !== "ringbuf")
        throw new BpfTypeError(
          `map '${map.name}' is a ${map.type} map, not a ringbuf`,
          {
            hint:
              map.type === "perf_event_array"
                ? "read perf_event_array maps with obj.perfBuffer(name)"
                : "pass a BPF_MAP_TYPE_RINGBUF map",
          },
        );
      fd = map.fd;
    }
    const info = mapInfo(fd);
    if (info.type !== BPF_MAP_TYPE_RINGBUF)
      throw new BpfTypeError(
        `${describe(map)} is not a ringbuf map (map type ${info.type})`,
      );
    const twice = this.#mapIds.indexOf(info.id);
    if (twice >= 0)
      throw new BpfTypeError(
        `${describe(map)} is already read by this reader (as source ${twice})`,
        {
          hint: "add each ring buffer map once: one reader drains all of a map's records",
        },
      );
    claimEventMap(info.id, this.#parts, "ring", describe(map));
    const size = info.maxEntries;
    let ring: Ring | null = null;
    try {
      ring =
        this.#mode === "mmap" && MappedRing.fits(size)
          ? new MappedRing(fd, size, struct, short)
          : new LibbpfRing(fd, size, struct, short);
      // Watched now, as libbpf's ring_buffer__add does: the fd is borrowed,
      // and by a first wait its number may be closed or another file's. The
      // epoll set then holds the ring's file itself.
      (this.#parts.waiter ??= createWaiter()).add(fd);
    } catch (e) {
      ring?.close();
      releaseEventMap(info.id, this.#parts);
      throw e;
    }
    this.#rings.push(ring);
    this.#mapIds.push(info.id);
    return this as RingBuffer<unknown>;
  }

  #check(what: string): void {
    if (this.#closed)
      throw new ClosedError(`${what}: ring buffer reader is closed`);
  }

  #drain(mode: Delivery | -1, cb: AnyCallback): number {
    this.#notDelivering("consume/poll");
    let n = 0;
    const rings = this.#rings;
    // The rings still hold what an iteration peeked at: drained from there.
    if (this.#ahead.length > 0) this.#forgetAhead();
    this.#delivering = true;
    try {
      for (let i = 0; i < rings.length; i++) {
        const ring = rings[i]!;
        const m =
          mode === -1 ? (ring.struct ? Delivery.Struct : Delivery.Bytes) : mode;
        n += ring.drain(m, cb, i);
        if (ring.stopped) break;
      }
    } finally {
      this.#delivering = false;
      this.consumed += n;
      this.#syncHeld();
    }
    return n;
  }

  /**
   * Keeps epollFd readable while a libbpf-mode ring holds records it took
   * out of the kernel ring (which then reports none): a caller waiting on
   * epollFd would otherwise sleep with records pending.
   */
  #syncHeld(): void {
    let held = false;
    for (const r of this.#rings)
      if (r.held()) {
        held = true;
        break;
      }
    this.#parts.waiter?.hold(held);
  }

  /** True while a consume/poll hands records to its callback. */
  #delivering = false;

  /**
   * Refuses to read the rings from inside a record callback of the same
   * reader: the outer walk's position would go stale, and records would
   * come twice or not at all.
   */
  #notDelivering(what: string): void {
    if (this.#delivering) {
      throw new StateError(
        `ring buffer: ${what} called from inside a record callback of the same reader`,
        {
          hint: "return false from the callback to stop the drain, then read again after it returns",
        },
      );
    }
  }

  /**
   * Drains every ring now, synchronously: `cb(record, source)` per record
   * (a struct view for typed rings, else a `Uint8Array`; both over the
   * ring, valid during the call; a record shorter than the struct per the
   * `short` option). Returns the number of records. Stops early when `cb`
   * returns `false`.
   */
  consume(cb: RecordCallback<T>): number {
    this.#check("consume");
    checkCallback(cb, "consume");
    return this.#drain(-1, cb as unknown as AnyCallback);
  }

  /**
   * Like {@link consume} without any allocation per record:
   * `cb(view, offset, length, source)`, the payload being `length` bytes at
   * `offset` of `view` (valid during the call).
   */
  consumeRaw(cb: RawRecordCallback): number {
    this.#check("consumeRaw");
    checkCallback(cb, "consumeRaw");
    return this.#drain(Delivery.Raw, cb as unknown as AnyCallback);
  }

  /** The waiter, made with the first ring (Bun's starts a Worker lazily). */
  #wait(): EventWaiter {
    return this.#parts.waiter!;
  }

  /**
   * Drains what is there; if nothing was, waits (without blocking the
   * event loop) until a record arrives or `timeoutMs` passes (< 0: no
   * limit), then drains. Resolves to the number of records (0 on timeout
   * or when the reader is closed meanwhile). The throughput path:
   * `while (open) await rb.poll(cb, 100)`. `options.signal` ends the wait
   * when it aborts (resolving 0); an aborted one drains nothing.
   */
  poll(
    cb: RecordCallback<T>,
    timeoutMs = -1,
    options: EventsOptions = {},
  ): Promise<number> {
    if (this.#closed) return this.#rejectClosed("poll");
    return this.#poll(-1, cb as unknown as AnyCallback, timeoutMs, options);
  }

  // A closed reader's poll rejects (like an async function would) rather
  // than throwing synchronously: `rb.poll(cb).catch(...)` sees it.
  #rejectClosed(what: string): Promise<never> {
    return Promise.reject(
      new ClosedError(`${what}: ring buffer reader is closed`),
    );
  }

  /** {@link poll} with the zero-allocation callback of {@link consumeRaw}. */
  pollRaw(
    cb: RawRecordCallback,
    timeoutMs = -1,
    options: EventsOptions = {},
  ): Promise<number> {
    if (this.#closed) return this.#rejectClosed("pollRaw");
    return this.#poll(
      Delivery.Raw,
      cb as unknown as AnyCallback,
      timeoutMs,
      options,
    );
  }

  #poll(
    mode: Delivery | -1,
    cb: AnyCallback,
    timeoutMs: number,
    options: EventsOptions,
  ): Promise<number> {
    try {
      checkCallback(cb, mode === Delivery.Raw ? "pollRaw" : "poll");
    } catch (e) {
      return Promise.reject(e);
    }
    return pollOnce(
      {
        closed: () => this.#closed,
        drain: () => this.#drain(mode, cb),
        waiter: () => this.#wait(),
      },
      timeoutMs,
      this.#turns,
      options?.signal,
    );
  }

  #forgetAhead(): void {
    this.#ahead.length = this.#aheadRing.length = 0;
    this.#next = 0;
    for (const r of this.#rings) r.unpeek();
  }

  /**
   * One record for an iteration: the next peeked one, consumed from its
   * ring now; peeks at up to a batch first when none is left.
   */
  #yieldOne(take: (record: unknown) => boolean): void {
    this.#notDelivering("an iteration's next()");
    try {
      if (this.#next === this.#ahead.length) this.#peekAhead();
      const i = this.#next;
      if (i === this.#ahead.length) return;
      const r = this.#ahead[i];
      this.#ahead[i] = undefined;
      this.#next++;
      this.#rings[this.#aheadRing[i]!]!.commit();
      if (r instanceof Failed) throw r.error;
      this.consumed++;
      take(r);
    } finally {
      this.#syncHeld();
    }
  }

  #peekAhead(): void {
    this.#ahead.length = this.#aheadRing.length = 0;
    this.#next = 0;
    const rings = this.#rings;
    // Each ring gets its share of a batch: a busy first ring would
    // otherwise fill every batch and starve the others.
    const share = Math.ceil(ITER_BATCH / rings.length);
    for (let i = 0; i < rings.length; i++) {
      this.#shareEnd = this.#ahead.length + share;
      rings[i]!.peek(this.#detach, i);
    }
  }

  /** Where the ring being peeked at stops filling the batch. */
  #shareEnd = 0;

  readonly #detach = (
    data: DataView,
    bytes: Uint8Array,
    off: number,
    len: number,
    source: number,
  ): boolean => {
    const d = this.#rings[source]!.decoder;
    let r: unknown;
    try {
      r = d
        ? detached(d.at(data, off, len, source))
        : bytes.slice(off, off + len);
    } catch (e) {
      // Thrown when the iteration reaches this record (which it consumes),
      // after the records before it.
      r = new Failed(e);
    }
    this.#ahead.push(r);
    this.#aheadRing.push(source);
    return this.#ahead.length < this.#shareEnd && !(r instanceof Failed);
  };

  /**
   * Records as detached copies (`toObject()` for typed rings, a copied
   * `Uint8Array` otherwise), waiting without busy-polling when idle. Ends
   * on `close()` or when `signal` aborts. One iteration at a time. Each
   * record is consumed as it is yielded: after a `break` or an abort the
   * rest are still there for the next consume/poll/iteration.
   */
  async *events(
    options: EventsOptions = {},
  ): AsyncGenerator<Detached<T>, void, undefined> {
    this.#check("events");
    yield* iterateDetached<Detached<T>>(
      {
        closed: () => this.#closed,
        drain: (take) => this.#yieldOne(take),
        waiter: this.#wait(),
      },
      options.signal,
    );
  }

  /** `for await (const e of reader)`: same as `events()`. */
  [Symbol.asyncIterator](): AsyncGenerator<Detached<T>, void, undefined> {
    return this.events();
  }

  /** The first ring's map fd (borrowed from the map: do not close). */
  get fd(): number {
    this.#check("fd");
    return this.#rings[0]!.fd;
  }

  /** Map fds of every ring, in source order. */
  get fds(): readonly number[] {
    this.#check("fds");
    return this.#rings.map((r) => r.fd);
  }

  /**
   * An epoll fd that is readable while the reader has records to give: a
   * ring has data, or (libbpf mode) records an iteration took out of a
   * ring wait in the reader; and once on close. For users with their own
   * event loops: wait on it, then `consume`. Owned by the reader.
   */
  get epollFd(): number {
    this.#check("epollFd");
    return this.#wait().epollFd;
  }

  /**
   * Bytes the reader has yet to give, over all rings: what producers
   * committed to a ring and nobody consumed, plus (libbpf mode) records
   * taken out of a ring that wait in the reader; each record counted as
   * the ring holds it (length + 8-byte header, rounded up to 8). 0 when
   * there is nothing to read.
   */
  get pending(): number {
    this.#check("pending");
    let n = 0;
    for (const r of this.#rings) n += r.pending();
    return n;
  }

  /** "mmap" (JS walks the mapped ring) or "libbpf" (ring_buffer__consume). */
  get mode(): "mmap" | "libbpf" {
    return this.#mode;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Ends pending waits and iterations (they finish normally), unmaps the
   * rings. Views handed out earlier must no longer be used. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    cancelRelease(this.#parts);
    untrackOpen(this);
    this.#ahead.length = this.#aheadRing.length = 0;
    this.#next = 0;
    releaseParts(this.#parts);
    this.#onClose?.();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
