/**
 * Perf maps: the symbol files JIT compilers write for profilers,
 * /tmp/perf-PID.map, one "START SIZE name" line (hex, no 0x) per compiled
 * function (Linux perf's tools/perf/Documentation/jit-interface.txt).
 * Node and Deno write one with `--perf-basic-prof`
 * (`deno run --v8-flags=--perf-basic-prof`).
 */
import { lastAtOrBelow } from "./sorted_search.ts";

/** A perf map's functions, for lookups by address. */
export class PerfMap {
  readonly #starts: BigUint64Array;
  readonly #ends: BigUint64Array;
  readonly #names: string[];

  private constructor(
    starts: BigUint64Array,
    ends: BigUint64Array,
    names: string[],
  ) {
    this.#starts = starts;
    this.#ends = ends;
    this.#names = names;
  }

  /**
   * Parses a perf map's text. Lines that do not parse are skipped (the
   * writer may be appending one as we read). Where a later line covers
   * the same start (code the JIT replaced), the later one wins.
   */
  static parse(text: string): PerfMap {
    const byStart = new Map<bigint, [bigint, string]>();
    for (const line of text.split("\n")) {
      const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.+)$/.exec(line);
      if (!m) continue;
      const start = BigInt(`0x${m[1]}`);
      byStart.set(start, [start + BigInt(`0x${m[2]}`), m[3]!]);
    }
    const rows = [...byStart].sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
    );
    return new PerfMap(
      BigUint64Array.from(rows, (r) => r[0]),
      BigUint64Array.from(rows, (r) => r[1][0]),
      rows.map((r) => r[1][1]),
    );
  }

  /** How many functions it lists. */
  get size(): number {
    return this.#names.length;
  }

  /** The function `address` is in, and the offset into it. */
  resolve(address: bigint): { name: string; offset: bigint } | undefined {
    const a = this.#starts;
    const lo = lastAtOrBelow(a, address);
    if (lo < 0) return undefined;
    if (address >= this.#ends[lo]!) return undefined;
    return { name: this.#names[lo]!, offset: address - a[lo]! };
  }
}
