/**
 * The BTF string table: NUL-terminated names addressed by byte offset. Names
 * are decoded only when asked for (and cached); lookups compare raw bytes so
 * that finding one type never decodes every name. A split BTF's table
 * continues its base's: offsets below the base's length resolve in the base.
 */
import { BtfError } from "../errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false });
const encoder = new TextEncoder();

/** A BTF string section, optionally continuing a base table (split BTF). */
export class StringTable {
  /** Offset of this table's first byte in the combined (base + own) space. */
  readonly start: number;
  readonly #cache = new Map<number, string>();
  // Bytes decoded so far: bounds the cost of corrupt name offsets that all
  // point into one huge string (otherwise O(n²)).
  #decoded = 0;

  constructor(
    /** This table's own bytes (a view into the BTF blob). */
    readonly bytes: Uint8Array,
    /** The base table, for split BTF. */
    readonly base?: StringTable,
    /** Byte offset of `bytes` in the BTF blob, for error messages. */
    readonly blobOffset = 0,
  ) {
    this.start = base ? base.end : 0;
    if (!base && bytes.length > 0 && bytes[0] !== 0) {
      throw new BtfError(
        "string section does not start with an empty string (NUL byte), as only split BTF's may " +
          "(it continues a base BTF's strings: read it with its base)",
        { offset: blobOffset },
      );
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0) {
      throw new BtfError("string section is not NUL-terminated", {
        offset: blobOffset + bytes.length - 1,
      });
    }
  }

  /** One past the last offset of the combined space. */
  get end(): number {
    return this.start + this.bytes.length;
  }

  /** The string at `offset`. Throws `BtfError` when out of range. */
  get(offset: number): string {
    if (offset === 0) return "";
    if (offset < this.start) return this.base!.get(offset);
    let s = this.#cache.get(offset);
    if (s !== undefined) return s;
    const local = offset - this.start;
    if (local >= this.bytes.length) {
      throw new BtfError(
        `string offset ${offset} is outside the string table (${this.end} bytes)`,
        { offset: this.blobOffset + this.bytes.length },
      );
    }
    // The section ends with NUL (checked above), so indexOf always finds one.
    const end = this.bytes.indexOf(0, local);
    this.#decoded += end - local;
    if (this.#decoded > 16 * this.bytes.length + 65536) {
      throw new BtfError(
        "names overlap far more than any BTF producer emits: corrupt name offsets",
        { offset: this.blobOffset + local },
      );
    }
    s = utf8.decode(this.bytes.subarray(local, end));
    this.#cache.set(offset, s);
    return s;
  }

  /**
   * True when the string at `offset` equals `name` (UTF-8 bytes, no NUL).
   * Offsets out of range compare unequal: corrupt names never match.
   */
  equals(offset: number, name: Uint8Array): boolean {
    if (offset < this.start) return this.base!.equals(offset, name);
    const b = this.bytes;
    const at = offset - this.start;
    const n = name.length;
    if (at + n >= b.length || b[at + n] !== 0) return false;
    for (let i = 0; i < n; i++) if (b[at + i] !== name[i]) return false;
    return true;
  }

  /** FNV-1a hash of the string at `offset` (for the lazy name index). */
  hash(offset: number): number {
    if (offset < this.start) return this.base!.hash(offset);
    const b = this.bytes;
    let h = 0x811c9dc5;
    for (let i = offset - this.start; i < b.length; i++) {
      const c = b[i];
      if (c === 0) break;
      h = Math.imul(h ^ c, 0x01000193);
    }
    return h >>> 0;
  }

  /** True when `offset` addresses a string in the combined table. */
  has(offset: number): boolean {
    return (
      offset < this.end && (offset >= this.start || this.base!.has(offset))
    );
  }
}

/** FNV-1a hash of UTF-8 bytes, matching {@link StringTable.hash}. */
export function hashBytes(name: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name[i], 0x01000193);
  return h >>> 0;
}

/** UTF-8 bytes of a name, for {@link StringTable.equals}. */
export function encodeName(name: string): Uint8Array {
  return encoder.encode(name);
}
