/**
 * `PerfBuffer`: reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY (one perf ring per
 * CPU, keys are CPU indexes) through libbpf's `perf_buffer__new` and
 * `perf_buffer__consume`, which call back into JS on the same thread once
 * per sample. Same shape as `RingBuffer`: `consume`, `poll`, `for await`,
 * plus the kernel's lost-sample counts (`lost`, `onLost`).
 *
 * Records given to a callback are valid only during the call: each sample
 * is copied (one memcpy, no allocation) into a buffer the reader reuses,
 * and struct records are one view over it (like RingBuffer's re-pointed
 * view). A callback returning `false` stops
 * delivery: libbpf drains a CPU's ring as a whole, so the samples it still
 * hands over are copied and delivered first by the next call. Iterations
 * work the same way: samples taken out but not yielded when an iteration
 * ends (break, return, abort) are delivered first by the next
 * consume/poll/iteration.
 */
import {
  type BufArg,
  type NativeCallback,
  type Ptr,
  CALLBACKS,
  bufArg,
  errno,
  libbpf,
  libc,
  nativeCallback,
  runtimeName,
} from "../ffi/mod.ts";
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
import {
  FairTurns,
  checkCallback,
  checkMapArg,
  detached,
  iterateDetached,
  pollOnce,
} from "./event_iterate.ts";
import { RecordQueue } from "./event_queue.ts";
import {
  type ShortRecords,
  StructDecoder,
  checkShort,
} from "./event_struct.ts";
import type { BpfMap } from "./map.ts";
import { objectInfo } from "./obj_info.ts";
import type { Detached, EventsOptions } from "./ringbuf.ts";

/** Options of {@link PerfBuffer.open}. */
export interface PerfBufferOptions {
  /** Pages per CPU ring (a power of 2; default 64 = 256 KiB with 4 KiB pages). */
  readonly pageCount?: number;
  /** Called when the kernel reports samples it dropped on `cpu`. */
  readonly onLost?: (cpu: number, count: number) => void;
  /**
   * With a struct: what a sample shorter than it becomes, "error"
   * (default: a BpfTypeError carrying the sample as `record`) or
   * "zero-pad" (fields past the sample read 0). See {@link ShortRecords};
   * for bytes, open the reader without a struct.
   */
  readonly short?: "error" | "zero-pad";
  /** @internal Called once when the reader closes. */
  readonly onClose?: () => void;
}

/** Per-sample callback; return `false` to stop delivery. */
export type PerfCallback<T> = (record: T, cpu: number) => boolean | void;

// enum bpf_map_type BPF_MAP_TYPE_PERF_EVENT_ARRAY (uapi/linux/bpf.h)
const PERF_EVENT_ARRAY = "perf_event_array";
// Initial sample buffer; it grows to the next power of 2 on a larger sample
// (perf samples are < 64 KiB: perf_event_header.size is a u16).
const SCRATCH_MIN = 512;
// fcntl command (uapi/linux/fcntl.h: F_LINUX_SPECIFIC_BASE + 6)
const F_DUPFD_CLOEXEC = 1030;
// enum bpf_map_type; struct bpf_map_info: type @0, id @4 (uapi/linux/bpf.h)
const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;
const MAP_INFO_HEAD = 8;

/** The kernel id of perf_event_array map `fd`; null for anything else (libbpf says what). */
function perfMapId(fd: number): number | null {
  let info: DataView;
  try {
    info = new DataView(objectInfo(fd, new Uint8Array(MAP_INFO_HEAD)).buffer);
  } catch {
    return null;
  }
  return info.getUint32(0, true) === BPF_MAP_TYPE_PERF_EVENT_ARRAY
    ? info.getUint32(4, true)
    : null;
}

/**
 * What a reader owns: libbpf's perf buffer, our map fd, the callbacks,
 * the waiter and the claim on the map (event_claims.ts, held by these
 * parts, not the reader, so that a reader dropped unclosed is collected).
 */
interface ReaderParts {
  pb: Ptr | null;
  ownFd: number;
  readonly sample: NativeCallback;
  readonly lost: NativeCallback;
  waiter: EventWaiter | null;
  /** The map id claimed, or null. */
  readonly mapId: number | null;
}

/** Frees libbpf's perf buffer, our map fd, the callbacks and the claim. */
function freeRings(parts: ReaderParts): void {
  if (parts.pb !== null) libbpf().perf_buffer__free(parts.pb);
  parts.pb = null;
  if (parts.ownFd >= 0) libc().close(parts.ownFd);
  parts.ownFd = -1;
  parts.sample.close();
  parts.lost.close();
  // Only now: perf_buffer__free has just emptied the map's slots.
  if (parts.mapId !== null) releaseEventMap(parts.mapId, parts);
}

/** What `close()` does natively, for a reader collected unclosed. */
function releaseParts(parts: ReaderParts): void {
  // Waiters first: their epoll set holds the perf fds libbpf closes.
  parts.waiter?.close();
  freeRings(parts);
}

/** A reader of a perf event array's per-CPU rings. */
export class PerfBuffer<T = Uint8Array | AnyStructView> {
  #pb: Ptr | null;
  readonly #decoder: StructDecoder | null;
  readonly #parts: ReaderParts;
  /** The reader while perf_buffer__consume runs (see #callbacks). */
  readonly #current: { reader: PerfBuffer<unknown> | null } = { reader: null };
  readonly #onLost: ((cpu: number, count: number) => void) | undefined;
  readonly #onClose: (() => void) | undefined;
  readonly #fds: number[] = [];
  #cb: PerfCallback<unknown> | null = null;
  #n = 0;
  #stopped = false;
  #error: unknown = null;
  // Samples taken out of the rings and not delivered yet (source = CPU).
  readonly #queue = new RecordQueue();
  // An iteration's drain: every sample goes to the queue.
  #filling = false;
  readonly #turns = new FairTurns(0);
  #draining = false;
  // One buffer each sample is copied into (the struct view is re-pointed
  // over it): per-sample pointers differ, and wrapping libbpf's memory
  // would cost an ArrayBuffer, a Uint8Array and a view per sample.
  #scratch: Uint8Array = new Uint8Array(0);
  #scratchView = new DataView(new ArrayBuffer(0));
  #scratchArg: BufArg | null = null;
  readonly #memcpy = libc().memcpy_from;
  // Deno passes a usize fast as a bigint (a number takes a slow path);
  // Bun's u64_fast wants a number. Cached: sizes usually repeat.
  readonly #bigLen = runtimeName() === "deno";
  #lenOf = -1;
  #lenArg: number | bigint = 0;
  // Closed from a sample callback: free once the drain returns.
  #freeLater = false;
  readonly #mapFd: number;
  /** Samples handed to callbacks (and yielded by iterators) so far. */
  consumed = 0;
  /**
   * Samples the kernel dropped (all CPUs) because a ring was full. The
   * kernel reports a loss with the next sample it writes to that CPU's
   * ring (a PERF_RECORD_LOST ahead of it: kernel/events/ring_buffer.c,
   * perf_output_begin), so `lost` and `onLost` learn of it only then.
   */
  lost = 0;

  private constructor(
    fd: number,
    struct: ViewClass | null,
    options: PerfBufferOptions,
    what: string,
  ) {
    this.#mapFd = fd;
    const short =
      options.short === undefined
        ? "error"
        : checkShort(options.short, false, "PerfBuffer.open");
    this.#decoder = struct
      ? new StructDecoder(struct, short, "perf sample", (cpu) => `cpu ${cpu}`)
      : null;
    this.#grow(Math.max(SCRATCH_MIN, struct?.size ?? 0));
    for (const key of ["onLost", "onClose"] as const) {
      const f = options[key];
      if (f !== undefined && typeof f !== "function") {
        throw new BpfTypeError(
          `PerfBuffer.open: ${key} must be a function, got ${typeof f}`,
        );
      }
    }
    this.#onLost = options.onLost;
    this.#onClose = options.onClose;
    const pages = options.pageCount ?? 64;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0)
      throw new BpfTypeError(`pageCount must be a power of 2, got ${pages}`);
    const [sample, lost] = PerfBuffer.#callbacks(this.#current);
    const parts: ReaderParts = {
      pb: null,
      ownFd: -1,
      sample,
      lost,
      waiter: null,
      mapId: perfMapId(fd),
    };
    // Before perf_buffer__new, which would take another reader's slots.
    if (parts.mapId !== null) {
      try {
        claimEventMap(parts.mapId, parts, "perf", what);
      } catch (e) {
        sample.close();
        lost.close();
        throw e;
      }
    }
    // libbpf keeps the map fd and, in perf_buffer__free, deletes each CPU's
    // entry through it: with the caller's fd, closed by then and its number
    // another map's, that deleted that map's keys 0..n-1. Our own copy.
    const own = libc().fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
      const e = errno();
      freeRings(parts);
      throw bpfError(
        "fcntl(F_DUPFD_CLOEXEC)",
        e,
        { kind: "other" },
        {
          detail: `cannot duplicate map fd ${fd}`,
        },
      );
    }
    const L = libbpf();
    const pb = L.perf_buffer__new(own, pages, sample.ptr, lost.ptr, null, null);
    parts.ownFd = own;
    if (pb === null) {
      const e = errno();
      freeRings(parts);
      throw bpfError(
        "perf_buffer__new",
        e,
        { kind: "other" },
        {
          detail: `cannot open the perf buffer of map fd ${fd}`,
        },
      );
    }
    this.#pb = parts.pb = pb;
    this.#parts = parts;
    // Dropped unclosed: what it owns goes once the reader is collected.
    releaseOnCollect(this, this.#parts, releaseParts);
    trackOpen(this);
    const cnt = Number(L.perf_buffer__buffer_cnt(pb));
    for (let i = 0; i < cnt; i++)
      this.#fds.push(L.perf_buffer__buffer_fd(pb, i));
  }

  /**
   * A reader of `map`, decoding samples to `struct` views when given.
   * StateError when another live PerfBuffer of this process reads the map.
   */
  static open<V extends StructView>(
    map: BpfMap | number,
    struct: ViewClass<V>,
    options?: PerfBufferOptions,
  ): PerfBuffer<V>;
  static open(
    map: BpfMap | number,
    struct?: null,
    options?: PerfBufferOptions,
  ): PerfBuffer<Uint8Array>;
  static open(
    map: BpfMap | number,
    struct?: ViewClass | null,
    options?: PerfBufferOptions,
  ): PerfBuffer<Uint8Array | AnyStructView>;
  static open(
    map: BpfMap | number,
    struct: ViewClass | null = null,
    options: PerfBufferOptions = {},
  ): PerfBuffer<unknown> {
    checkMapArg(map, "PerfBuffer", "perf_event_array");
    checkStructArg(struct, "perf buffer");
    if (typeof map !== "number" && map.type !== PERF_EVENT_ARRAY)
      throw new BpfTypeError(
        `map '${map.name}' is a ${map.type} map, not a perf_event_array`,
        {
          hint:
            map.type === "ringbuf"
              ? "read ringbuf maps with obj.ringBuffer(name)"
              : undefined,
        },
      );
    return new PerfBuffer<unknown>(
      typeof map === "number" ? map : map.fd,
      struct,
      options,
      typeof map === "number" ? `map fd ${map}` : `map '${map.name}'`,
    );
  }

  /**
   * The native callbacks, reaching the reader through `current`, which
   * holds it only while perf_buffer__consume runs (the only call that
   * calls them): a callback keeps its function alive until closed, and a
   * reader it held for good could never be collected.
   */
  static #callbacks(current: {
    reader: PerfBuffer<unknown> | null;
  }): [NativeCallback, NativeCallback] {
    return [
      nativeCallback(CALLBACKS.perf_buffer_sample, (_c, cpu, data, size) => {
        const r = current.reader;
        if (r !== null) r.#onSample(cpu, data!, size);
      }),
      nativeCallback(CALLBACKS.perf_buffer_lost, (_c, cpu, cnt) => {
        const r = current.reader;
        if (r !== null) r.#onLostSamples(cpu, Number(cnt));
      }),
    ];
  }

  #onLostSamples(cpu: number, n: number): void {
    this.lost += n;
    try {
      this.#onLost?.(cpu, n);
    } catch (e) {
      this.#error ??= e;
    }
  }

  /** Makes the sample buffer at least `size` bytes (and the view over it). */
  #grow(size: number): void {
    let n = SCRATCH_MIN;
    while (n < size) n *= 2;
    // Over an explicit ArrayBuffer: Bun moves a small typed array's bytes
    // when its `.buffer` is first taken, which would strand the address.
    const buf = new ArrayBuffer(n);
    this.#scratch = new Uint8Array(buf);
    this.#scratchView = new DataView(buf);
    this.#scratchArg = bufArg(this.#scratch);
  }

  /** Delivers the `size` bytes at the start of the sample buffer. */
  #deliver(size: number, cpu: number): boolean {
    const d = this.#decoder;
    const rec = d
      ? d.at(this.#scratchView, 0, size, cpu)
      : this.#scratch.subarray(0, size);
    this.#n++;
    return this.#cb!(rec, cpu) !== false;
  }

  #onSample(cpu: number, data: Ptr, size: number): void {
    if (this.#pb === null) return; // closed from a callback: drop the rest
    try {
      if (size > this.#scratch.length) this.#grow(size);
      if (size !== this.#lenOf) {
        this.#lenOf = size;
        this.#lenArg = this.#bigLen ? BigInt(size) : size;
      }
      this.#memcpy(this.#scratchArg, data, this.#lenArg);
      if (this.#filling || this.#stopped || this.#error !== null) {
        this.#queue.push(this.#scratch, 0, size, cpu);
        return;
      }
      if (!this.#deliver(size, cpu)) this.#stopped = true;
    } catch (e) {
      // Cannot throw through C: keep the error, stop delivering, rethrow after.
      this.#error = e;
      if (!(e instanceof BpfTypeError)) this.#stopped = true;
    }
  }

  #check(what: string): Ptr {
    if (this.#pb === null)
      throw new ClosedError(`${what}: perf buffer reader is closed`);
    return this.#pb;
  }

  #drain(cb: PerfCallback<unknown>): number {
    const pb = this.#check("consume");
    // From a sample callback: perf_buffer__consume would re-enter the rings
    // libbpf is walking, and the inner drain would end our #draining guard
    // early, so a close() after it would free them under the outer walk.
    if (this.#draining)
      throw new StateError(
        "perf buffer: consume/poll called from inside a sample callback of the same reader",
        {
          hint: "return false to stop delivery, and drain again after it returns",
        },
      );
    this.#cb = cb;
    this.#n = 0;
    this.#stopped = false;
    this.#error = null;
    this.#draining = true;
    try {
      const q = this.#queue;
      if (q.size > 0) {
        try {
          q.deliver(cb, this.#decoder);
        } finally {
          this.#n += q.delivered;
        }
        if (q.stopped) this.#stopped = true;
      }
      if (!this.#stopped && this.#pb !== null) {
        this.#current.reader = this;
        let err: number;
        try {
          err = libbpf().perf_buffer__consume(pb);
        } finally {
          this.#current.reader = null;
        }
        if (err < 0 && this.#error === null)
          throw bpfError("perf_buffer__consume", err);
      }
      if (this.#error !== null) throw this.#error;
      return this.#n;
    } finally {
      this.#draining = false;
      this.consumed += this.#n;
      this.#cb = null;
      this.#error = null;
      if (this.#freeLater) this.#free();
      // Samples libbpf handed over past a stop wait in the queue, and the
      // per-CPU rings report none: keep epollFd readable meanwhile.
      this.#parts.waiter?.hold(this.#queue.size > 0);
    }
  }

  /**
   * Drains every CPU's ring now: `cb(record, cpu)` per sample (a struct
   * view when a struct was given, else a `Uint8Array`; valid during the
   * call). Returns the number of samples.
   */
  consume(cb: PerfCallback<T>): number {
    this.#check("consume");
    checkCallback(cb, "consume");
    return this.#drain(cb as PerfCallback<unknown>);
  }

  #wait(): EventWaiter {
    const parts = this.#parts;
    if (!parts.waiter) {
      const w = createWaiter();
      for (const fd of this.#fds) w.add(fd);
      w.hold(this.#queue.size > 0);
      parts.waiter = w;
    }
    return parts.waiter;
  }

  /**
   * Drains; if nothing was there, waits (without blocking the event loop)
   * up to `timeoutMs` (< 0: no limit) and drains. Resolves to the count.
   * `options.signal` ends the wait when it aborts (resolving 0); an
   * aborted one drains nothing.
   */
  poll(
    cb: PerfCallback<T>,
    timeoutMs = -1,
    options: EventsOptions = {},
  ): Promise<number> {
    try {
      this.#check("poll");
      checkCallback(cb, "poll");
    } catch (e) {
      return Promise.reject(e);
    }
    return pollOnce(
      {
        closed: () => this.#pb === null,
        drain: () => this.#drain(cb as PerfCallback<unknown>),
        waiter: () => this.#wait(),
      },
      timeoutMs,
      this.#turns,
      options?.signal,
    );
  }

  /**
   * For an iteration: one sample, the queue's first; when the queue is
   * empty, every sample the rings hold now is moved into it first.
   */
  #next(take: (record: unknown) => boolean): void {
    if (this.#queue.size === 0) {
      this.#filling = true;
      try {
        this.#drain(take);
      } finally {
        this.#filling = false;
      }
    }
    if (this.#queue.size === 0) return;
    this.#take = take;
    try {
      this.#drain(this.#detach);
    } finally {
      this.#take = null;
    }
  }

  #take: ((record: unknown) => boolean) | null = null;
  readonly #detach = (r: unknown) => this.#take!(detached(r));

  /**
   * Samples as detached copies (`toObject()` with a struct, else a copied
   * `Uint8Array`); waits without busy-polling; ends on `close()` or abort.
   * Samples taken out of the rings but not yielded stay with the reader.
   */
  async *events(
    options: EventsOptions = {},
  ): AsyncGenerator<Detached<T>, void, undefined> {
    this.#check("events");
    yield* iterateDetached<Detached<T>>(
      {
        closed: () => this.#pb === null,
        drain: (take) => this.#next(take),
        waiter: this.#wait(),
      },
      options.signal,
    );
  }

  /** `for await (const s of reader)`: same as `events()`. */
  [Symbol.asyncIterator](): AsyncGenerator<Detached<T>, void, undefined> {
    return this.events();
  }

  /**
   * Epoll fd readable when a CPU ring has data, or while samples libbpf
   * handed over past a stop (a callback returning false, an iteration
   * ended early) wait in the reader; for users' own loops: wait on it,
   * then `consume`. A CPU ring reports each wake-up once (perf_poll).
   */
  get epollFd(): number {
    this.#check("epollFd");
    return this.#wait().epollFd;
  }

  /** The map fd (borrowed from the map: do not close). */
  get fd(): number {
    this.#check("fd");
    return this.#mapFd;
  }

  /** Number of per-CPU rings (one per online CPU). */
  get ringCount(): number {
    return this.#fds.length;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#pb === null;
  }

  /** Ends waits and iterations, frees the rings; idempotent. */
  close(): void {
    const pb = this.#pb;
    if (pb === null) return;
    this.#pb = null;
    cancelRelease(this.#parts);
    untrackOpen(this);
    // Waiters first: their epoll set holds the perf fds libbpf is about to close.
    this.#parts.waiter?.close();
    this.#queue.clear();
    // Closed from a sample callback: libbpf is still walking its rings.
    if (this.#draining) this.#freeLater = true;
    else this.#free();
    this.#onClose?.();
  }

  #free(): void {
    this.#freeLater = false;
    freeRings(this.#parts);
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
