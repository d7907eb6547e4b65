/**
 * A UTF-8 byte writer for generated modules. Building the text of vmlinux
 * (over 10 MB) as JavaScript strings costs more in concatenation, joining
 * and re-encoding than everything else the generator does, so the
 * generator writes bytes into a buffer and hands full buffers to a sink.
 */

import { runOnce } from "./run_once.ts";

const encoder = new TextEncoder();

/** Receives output; `chunk` is only valid during the call (the buffer is reused). */
export type ByteSink = (chunk: Uint8Array) => void;

/** Bytes `start` to `end` of `b`, known to be ASCII, as a string. */
export function asciiString(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** UTF-8 bytes of a string (for text written many times). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Writes bytes into a buffer; flushes it to the sink when full (or grows without one). */
export class ByteOut {
  buf: Uint8Array;
  pos = 0;

  constructor(
    size: number,
    private readonly sink?: ByteSink,
  ) {
    this.buf = new Uint8Array(size);
  }

  /**
   * Makes room for `n` more bytes at `pos` (handing what is buffered to the
   * sink first, or growing): a caller then writes `buf` directly. Read
   * `buf` and `pos` after it.
   */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) this.room(n);
  }

  /** Makes room for `n` more bytes. */
  private room(n: number): void {
    if (this.sink && this.pos > 0) {
      this.sink(this.buf.subarray(0, this.pos));
      this.pos = 0;
      if (n <= this.buf.length) return;
    }
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Hands what is buffered to the sink. */
  flush(): void {
    if (this.sink && this.pos > 0) this.sink(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.room(1);
    this.buf[this.pos++] = c;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    if (this.pos + n > this.buf.length) this.room(n);
    const buf = this.buf;
    let p = this.pos;
    if (n > 32) {
      buf.set(b, p);
      p += n;
    } else for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** Bytes `start` to `end` of `b`. */
  range(b: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.pos + n > this.buf.length) this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** A string known to be ASCII (identifiers, numbers, fixed text). */
  ascii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any string, as UTF-8. */
  text(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = p;
        const rest = s.slice(i);
        if (this.pos + rest.length * 3 > this.buf.length)
          this.room(rest.length * 3);
        this.pos += encoder.encodeInto(
          rest,
          this.buf.subarray(this.pos),
        ).written!;
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** A non-negative integer (others through `String`). */
  int(n: number): void {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && n % 1 === 0)) {
      this.ascii(String(n));
      return;
    }
    if (this.pos + 16 > this.buf.length) this.room(16);
    this.pos = putUint(this.buf, this.pos, n);
  }
}

/**
 * Writes the decimal digits of `n` (a safe integer >= 0) at `p` of `buf`,
 * which has room for 16 more bytes; returns the position after them.
 */
export function putUint(buf: Uint8Array, p: number, n: number): number {
  // Offsets and sizes are mostly under 10000: digits without a loop.
  if (n < 10) buf[p++] = 48 + n;
  else if (n < 100) {
    const a = (n / 10) | 0;
    buf[p++] = 48 + a;
    buf[p++] = 48 + n - a * 10;
  } else if (n < 1000) {
    const a = (n / 100) | 0;
    const r = n - a * 100;
    const b = (r / 10) | 0;
    buf[p++] = 48 + a;
    buf[p++] = 48 + b;
    buf[p++] = 48 + r - b * 10;
  } else {
    let digits = 4;
    for (let x = Math.floor(n / 10000); x > 0; x = Math.floor(x / 10)) digits++;
    p += digits;
    let q = p;
    do {
      const d = Math.floor(n / 10);
      buf[--q] = 48 + n - d * 10;
      n = d;
    } while (n > 0);
  }
  return p;
}

runOnce(ByteOut, putUint, asciiString);
