/**
 * How the ring and perf buffer readers turn a record's bytes into a struct
 * view: one reused view, re-pointed per record, and one check for records
 * shorter than the struct. Shared by the rings and by the records a reader
 * holds back ({@link RecordQueue}), so both decode alike.
 */
import type { StructClass, StructView } from "./btf/views.ts";
import { BpfTypeError } from "./errors.ts";

/** Decodes the records of one ring (or one perf buffer) as `struct`. */
export class StructDecoder {
  /** The struct class records decode to. */
  readonly struct: StructClass;
  /** sizeof the struct: shorter records are "short". */
  readonly size: number;
  /** The view handed to callbacks, re-pointed per record. */
  readonly view: StructView;
  readonly #what: string;
  readonly #where: (source: number) => string;

  /**
   * `what` names a record in messages ("ring buffer record", "perf
   * sample"); `where(source)` names where it came from ("map fd 5").
   */
  constructor(
    struct: StructClass,
    what: string,
    where: (source: number) => string,
  ) {
    this.struct = struct;
    this.size = struct.size;
    this.view = struct.from(new DataView(new ArrayBuffer(struct.size)), 0);
    this.#what = what;
    this.#where = where;
  }

  /** The reused view over the `len` bytes at `off` of `data`. */
  at(data: DataView, off: number, len: number, source: number): StructView {
    if (len < this.size) this.short(data, off, len, source);
    return this.view.$repoint(data, off);
  }

  /** A record of `len` < size bytes at `off` of `data`. */
  short(_data: DataView, _off: number, len: number, source: number): never {
    const s = this.struct;
    throw new BpfTypeError(
      `${this.#what} of ${len} bytes is shorter than struct ${s.typeName || "(anonymous)"} (${s.size} bytes) (${this.#where(source)}); the record was skipped`,
      {
        hint: "pass the struct the BPF program really submits, or read raw bytes (no struct)",
      },
    );
  }
}
