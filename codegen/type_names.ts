/**
 * The generated module's namespace: what `NameAllocator` gives with
 * suffixes `["", "Object"]` for a class (which also takes `<Name>Object`)
 * and `[""]` for an enum or alias, kept as bytes. A companion is taken
 * exactly when its class is, or when a name taken as such ends in `Object`
 * (kept by stem), so `<Name>Object` is never built. No reserved word or
 * global ends in `Object` except `Object` itself, so companions never need
 * those checks.
 */
import type { CNames } from "./naming.ts";
import { pascalCase, unavailableNames } from "./names.ts";
import { asciiString } from "./output.ts";
import { runOnce } from "./run_once.ts";

/** Flags of a name in the table. */
const TAKEN = 1;
const CLASS = 2;
const STEM = 4;
const UNAVAILABLE = 8;

const OBJECT = [79, 98, 106, 101, 99, 116]; // "Object"

/** Names handed out (PascalCase ASCII), as bytes, with a hash table over them. */
export class TypeNames {
  /** The names' bytes, back to back. */
  bytes = new Uint8Array(1 << 16);
  /** End of the used part of {@link bytes}. */
  end = 0;
  /** Where the last {@link claim} or {@link pascal} put its name. */
  at = 0;
  /** Its length. */
  n = 0;
  private slotOff = new Int32Array(1 << 16).fill(-1);
  private slotLen = new Int32Array(1 << 16);
  private slotHash = new Int32Array(1 << 16);
  private slotFlags = new Uint8Array(1 << 16);
  private used = 0;

  constructor() {
    for (const name of unavailableNames()) {
      const at = this.end;
      this.ascii(name);
      this.mark(at, name.length, UNAVAILABLE);
    }
  }

  /** Appends an ASCII string. */
  private ascii(s: string): void {
    const b = this.room(s.length);
    for (let i = 0; i < s.length; i++) b[this.end++] = s.charCodeAt(i);
  }

  /** Makes room for `n` more bytes (keeping those written past the end). */
  private room(n: number): Uint8Array {
    if (this.end + n > this.bytes.length) {
      const next = new Uint8Array((this.bytes.length + n) * 2);
      next.set(this.bytes);
      this.bytes = next;
    }
    return this.bytes;
  }

  /** Slot of the name of `n` bytes at `at`: where it is, or where it would go. */
  private slot(at: number, n: number): number {
    const b = this.bytes;
    let h = 0x811c9dc5 | 0;
    for (let i = at; i < at + n; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    const mask = this.slotOff.length - 1;
    const so = this.slotOff;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const o = so[i]!;
      if (o < 0) {
        this.slotHash[i] = h;
        return i;
      }
      if (this.slotHash[i] !== h || this.slotLen[i] !== n) continue;
      let k = 0;
      while (k < n && b[o + k] === b[at + k]) k++;
      if (k === n) return i;
    }
  }

  /** Flags of the name in slot `i` (0 for an empty slot). */
  private flagsAt(i: number): number {
    return this.slotOff[i]! < 0 ? 0 : this.slotFlags[i]!;
  }

  /**
   * Adds `flags` to the name of `n` bytes at `at`, found at slot `i`
   * (which must stay in place).
   */
  private markAt(i: number, at: number, n: number, flags: number): void {
    if (this.slotOff[i]! >= 0) {
      this.slotFlags[i] |= flags;
      return;
    }
    this.slotOff[i] = at;
    this.slotLen[i] = n;
    this.slotFlags[i] = flags;
    if (++this.used * 2 > this.slotOff.length) this.grow();
  }

  private mark(at: number, n: number, flags: number): void {
    this.markAt(this.slot(at, n), at, n, flags);
  }

  private grow(): void {
    const { slotOff, slotLen, slotHash, slotFlags } = this;
    const size = slotOff.length * 2;
    this.slotOff = new Int32Array(size).fill(-1);
    this.slotLen = new Int32Array(size);
    this.slotHash = new Int32Array(size);
    this.slotFlags = new Uint8Array(size);
    const mask = size - 1;
    for (let j = 0; j < slotOff.length; j++) {
      if (slotOff[j]! < 0) continue;
      let i = slotHash[j]! & mask;
      while (this.slotOff[i]! >= 0) i = (i + 1) & mask;
      this.slotOff[i] = slotOff[j]!;
      this.slotLen[i] = slotLen[j]!;
      this.slotHash[i] = slotHash[j]!;
      this.slotFlags[i] = slotFlags[j]!;
    }
  }

  /** True when the name ends in `Object` and is longer. */
  private hasStem(at: number, n: number): boolean {
    if (n <= 6) return false;
    const b = this.bytes;
    for (let i = 0; i < 6; i++)
      if (b[at + n - 6 + i] !== OBJECT[i]) return false;
    return true;
  }

  /** Whether the name of `n` bytes at `at`, in slot `i`, may be taken. */
  private free(i: number, at: number, n: number, composite: boolean): boolean {
    const f = this.flagsAt(i);
    if (f & (TAKEN | UNAVAILABLE)) return false;
    if (this.hasStem(at, n) && this.flagsAt(this.slot(at, n - 6)) & CLASS)
      return false;
    return !composite || (f & (STEM | CLASS)) === 0;
  }

  /** Takes the name of `n` bytes at `at`, in slot `i`. */
  private add(i: number, at: number, n: number, composite: boolean): void {
    this.markAt(i, at, n, composite ? TAKEN | CLASS : TAKEN);
    if (this.hasStem(at, n)) this.mark(at, n - 6, STEM);
    this.at = at;
    this.n = n;
    this.end = at + n;
  }

  /**
   * Writes the PascalCase of `id`'s C name (as names.ts's `pascalCase`) at
   * the end, as {@link at}/{@link n}, without taking it.
   */
  pascal(names: CNames, id: number): void {
    const o = names.off[id]!;
    const len = names.len[id]!;
    const src = names.bytes;
    const b = this.room(len + 1);
    const start = this.end;
    let p = start;
    let plain = names.plain[id] === 1;
    let upper = true;
    for (let i = o; i < o + len && plain; i++) {
      let c = src[i]!;
      if (c === 95) {
        upper = true;
        continue;
      }
      if (c >= 97 && c <= 122) {
        if (upper) c -= 32;
      } else if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57))) plain = false;
      upper = false;
      b[p++] = c;
    }
    // Empty, or starting with a digit, or with other characters: the slow way.
    if (!plain || p === start || b[start]! > 90 || b[start]! < 65) {
      this.end = start;
      this.ascii(pascalCase(names.get(id)));
      p = this.end;
      this.end = start;
    }
    this.at = start;
    this.n = p - start;
  }

  /**
   * Claims the name {@link pascal} just wrote: it, or `<it>_` for a
   * reserved word or global, or the first free `<it>_<k>` (k from 2). The
   * claimed name is then {@link at}/{@link n}.
   */
  claim(composite: boolean): void {
    const at = this.at;
    const n = this.n;
    const i = this.slot(at, n);
    // Unseen, and no `Object` companion to check: the name is free.
    if (this.slotOff[i]! < 0 && !this.hasStem(at, n)) {
      this.markAt(i, at, n, composite ? TAKEN | CLASS : TAKEN);
      this.end = at + n;
    } else this.claimTaken(composite);
  }

  /** {@link claim} for a name seen before (or ending in `Object`). */
  private claimTaken(composite: boolean): void {
    const at = this.at;
    const base = this.n;
    let n = base;
    let i = this.slot(at, n);
    if (this.flagsAt(i) & UNAVAILABLE) {
      this.room(n + 1)[at + n] = 95;
      n++;
      i = this.slot(at, n);
    }
    for (let k = 2; !this.free(i, at, n, composite); k++) {
      const suffix = "_" + k;
      const b = this.room(base + suffix.length);
      for (let j = 0; j < suffix.length; j++)
        b[at + base + j] = suffix.charCodeAt(j);
      n = base + suffix.length;
      i = this.slot(at, n);
    }
    this.add(i, at, n, composite);
  }

  /** Takes the name {@link pascal} just wrote if it is free; else false. */
  tryClaim(): boolean {
    const i = this.slot(this.at, this.n);
    if (!this.free(i, this.at, this.n, false)) return false;
    this.add(i, this.at, this.n, false);
    return true;
  }

  /** The name of `n` bytes at `at` as a string. */
  get(at: number, n: number): string {
    return asciiString(this.bytes, at, at + n);
  }
}

runOnce(TypeNames);
