/**
 * How the ring and perf buffer readers turn a record's bytes into a struct
 * view: one reused view, re-pointed per record, and what happens to a
 * record shorter than the struct ({@link ShortRecords}). Shared by the
 * rings, the iterations and the samples a perf reader holds back, so all
 * decode alike.
 */
import type { ViewClass, StructView } from "./btf/views.ts";
import { BpfTypeError } from "./errors.ts";

/**
 * What a reader that decodes records as a struct does with a record
 * shorter than the struct (a BPF program sending only part of it, e.g.
 * `bpf_ringbuf_output(&rb, e, offsetof(struct ev, data) + n, 0)`):
 * - `"bytes"`: hands it over as a `Uint8Array` of its real length
 *   (iterators yield a copy), so `instanceof Uint8Array` tells it apart.
 *   Only for readers whose records may be bytes anyway: the struct came
 *   from the map's `__type(value, ...)` (the default there), or the reader
 *   was opened from a list of `{ map, struct, short }` sources.
 * - `"zero-pad"`: the struct view over a copy padded with zeros: fields
 *   past the record's end read 0 (char arrays end there).
 * - `"error"`: throws a `BpfTypeError` that carries the record as
 *   `record` (a copy) and `source`; the reader goes on after it. The
 *   default where a struct class was passed.
 */
export type ShortRecords = "bytes" | "zero-pad" | "error";

const MODES: readonly string[] = ["bytes", "zero-pad", "error"];

/**
 * Checks a `short` option. `bytesOk`: the reader's record type includes
 * `Uint8Array` (else a struct class promised views only).
 */
export function checkShort(
  value: unknown,
  bytesOk: boolean,
  reader: string,
): ShortRecords {
  if (typeof value !== "string" || !MODES.includes(value))
    throw new BpfTypeError(
      `${reader}: short is "bytes", "zero-pad" or "error", got ${typeof value === "string" ? JSON.stringify(value) : typeof value}`,
    );
  if (value === "bytes" && !bytesOk)
    throw new BpfTypeError(
      `${reader}: short: "bytes" would hand Uint8Arrays to a reader typed by its struct class`,
      {
        hint: 'use short: "zero-pad", or read bytes: a reader without a struct class (for a ring buffer, obj.ringBuffer(name) decodes the map\'s __type and gives short records as bytes)',
      },
    );
  return value as ShortRecords;
}

/** Decodes the records of one ring (or one perf buffer) as `struct`. */
export class StructDecoder {
  /** The struct class records decode to. */
  readonly struct: ViewClass;
  /** sizeof the struct: shorter records are "short". */
  readonly size: number;
  /** What a short record becomes. */
  readonly short: ShortRecords;
  /** The view handed to callbacks, re-pointed per record. */
  readonly view: StructView;
  readonly #what: string;
  readonly #where: (source: number) => string;
  // "zero-pad": the short record's bytes, then zeros.
  #pad: Uint8Array | null = null;
  #padView: DataView | null = null;

  /**
   * `what` names a record in messages ("ring buffer record", "perf
   * sample"); `where(source)` names where it came from ("map fd 5").
   */
  constructor(
    struct: ViewClass,
    short: ShortRecords,
    what: string,
    where: (source: number) => string,
  ) {
    this.struct = struct;
    this.size = struct.size;
    this.short = short;
    this.view = struct.from(new DataView(new ArrayBuffer(struct.size)), 0);
    this.#what = what;
    this.#where = where;
  }

  /** The record of `len` bytes at `off` of `data`: the reused view, or per {@link short}. */
  at(
    data: DataView,
    off: number,
    len: number,
    source: number,
  ): StructView | Uint8Array {
    if (len < this.size) return this.shortRecord(data, off, len, source);
    return this.view.$repoint(data, off);
  }

  /** A record of `len` < size bytes at `off` of `data`, per {@link short}. */
  shortRecord(
    data: DataView,
    off: number,
    len: number,
    source: number,
  ): StructView | Uint8Array {
    const bytes = new Uint8Array(data.buffer, data.byteOffset + off, len);
    if (this.short === "bytes") return bytes;
    if (this.short === "zero-pad") {
      if (this.#pad === null) {
        this.#pad = new Uint8Array(this.size);
        this.#padView = new DataView(this.#pad.buffer);
      }
      this.#pad.set(bytes);
      this.#pad.fill(0, len);
      return this.view.$repoint(this.#padView!, 0);
    }
    const s = this.struct;
    const e = new BpfTypeError(
      `${this.#what} of ${len} bytes is shorter than struct ${s.typeName || "(anonymous)"} (${s.size} bytes) (${this.#where(source)}); it is not lost: this error carries it as .record (and .source), and the reader goes on after it`,
      {
        hint: `if the program sends variable-length records, open the reader with { short: "zero-pad" } (fields past the record read 0) or read bytes (${this.#what === "perf sample" ? "no struct" : "obj.ringBuffer(name) gives short records of the map's __type as Uint8Array; consumeRaw gives every length"}); else pass the struct the program really sends`,
      },
    );
    Object.assign(e, { record: bytes.slice(), source });
    throw e;
  }
}
