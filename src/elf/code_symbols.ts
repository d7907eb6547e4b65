/**
 * `CodeSymbols`: the functions of an executable or shared object (from
 * `.symtab`, and `.dynsym`, which a stripped library still has), looked up
 * by file offset. A profiler's user stack holds addresses in a process;
 * /proc/PID/maps turns one into a file offset, and this into a function.
 */
import type { ElfFile } from "./file.ts";
import { readSymbolTable } from "./reader.ts";
import { SHF, SHN, SHT, STT } from "./types.ts";
import { lastAtOrBelow } from "../sorted_search.ts";

/** Past the end of a symbol without a size, an address is not in it. */
const MAX_UNSIZED = 1n << 20n;

/** Where a file offset falls: the function at or below it. */
export interface CodeSymbol {
  /** Symbol name, e.g. "main" or "__libc_start_call_main". */
  readonly name: string;
  /** Bytes from the function's start. */
  readonly offset: bigint;
}

/** The function symbols of one ELF file, sorted by address. */
export class CodeSymbols {
  readonly #addrs: BigUint64Array;
  readonly #ends: BigUint64Array;
  readonly #names: string[];
  /** Loaded sections, by file offset: [offset, size, addr]. */
  readonly #segments: [number, number, bigint][];

  private constructor(
    addrs: BigUint64Array,
    ends: BigUint64Array,
    names: string[],
    segments: [number, number, bigint][],
  ) {
    this.#addrs = addrs;
    this.#ends = ends;
    this.#names = names;
    this.#segments = segments;
  }

  /** The functions of `elf` (none when it has neither `.symtab` nor `.dynsym`). */
  static of(elf: ElfFile): CodeSymbols {
    const rows = new Map<bigint, [bigint, string]>();
    const add = (
      name: string,
      type: number,
      shndx: number,
      v: bigint,
      size: bigint,
    ) => {
      if (type !== STT.FUNC && type !== STT.GNU_IFUNC) return;
      if (shndx === SHN.UNDEF || v === 0n || name === "") return;
      const had = rows.get(v);
      // Aliases share an address: keep the sized one, then the shorter name
      // (`__getpid` and `getpid`: the one a reader expects).
      if (
        !had ||
        (had[0] === 0n && size > 0n) ||
        (had[0] === size && name.length < had[1].length)
      )
        rows.set(v, [size, name]);
    };
    for (const s of elf.symbols)
      add(s.name, s.type, s.sectionIndex, s.value, s.size);
    const dynsym = elf.sections.find((s) => s.type === SHT.DYNSYM);
    if (dynsym)
      for (const s of readSymbolTable(elf, dynsym))
        add(s.name, s.type, s.sectionIndex, s.value, s.size);
    const sorted = [...rows].sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
    );
    const segments = elf.sections
      .filter((s) => s.flags & SHF.ALLOC && s.type !== SHT.NOBITS && s.size > 0)
      .map((s): [number, number, bigint] => [s.offset, s.size, s.addr])
      .sort((a, b) => a[0] - b[0]);
    return new CodeSymbols(
      BigUint64Array.from(sorted, (r) => r[0]),
      BigUint64Array.from(sorted, (r) => r[0] + (r[1][0] || MAX_UNSIZED)),
      sorted.map((r) => r[1][1]),
      segments,
    );
  }

  /** How many functions there are. */
  get size(): number {
    return this.#names.length;
  }

  /** The address (st_value) that file offset `fileOffset` is loaded at, if a section holds it. */
  addressOf(fileOffset: bigint): bigint | undefined {
    const off = Number(fileOffset);
    for (const [start, size, addr] of this.#segments) {
      if (off >= start && off < start + size) return addr + BigInt(off - start);
    }
    return undefined;
  }

  /** The function at `address` (as symbols give addresses), or undefined. */
  resolve(address: bigint): CodeSymbol | undefined {
    const a = this.#addrs;
    const lo = lastAtOrBelow(a, address);
    if (lo < 0) return undefined;
    // At its very end is still in it: the return address of a call that
    // never returns (a function's last instruction) points there.
    if (address > this.#ends[lo]!) return undefined;
    return { name: this.#names[lo]!, offset: address - a[lo]! };
  }
}
