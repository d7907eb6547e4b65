/**
 * Kernel symbols from /proc/kallsyms: turning the kernel addresses of a
 * stack trace (`bpf_get_stackid`, `bpf_get_stack`) or a profiler sample
 * into `function+offset`.
 */
import { BpfTypeError, TsbpfError } from "./errors.ts";
import { describeValue } from "./map_codecs.ts";
import { readFileBytes } from "./io.ts";
import { lastAtOrBelow } from "./sorted_search.ts";

/** Farther than this past a symbol, an address is not in it. */
const MAX_OFFSET = 1n << 20n;

/** Where an address falls: the symbol at or below it. */
export interface ResolvedAddress {
  /** Symbol name, e.g. "do_sys_openat2". */
  readonly name: string;
  /** Bytes from the symbol's start. */
  readonly offset: bigint;
  /** Module the symbol belongs to; undefined for the kernel image. */
  readonly module?: string;
}

/** The kernel's symbol table, sorted by address, for lookups both ways. */
export class KernelSymbols {
  readonly #addresses: BigUint64Array;
  readonly #names: string[];
  readonly #modules: (string | undefined)[];
  #byName: Map<string, bigint> | undefined;

  private constructor(
    addresses: BigUint64Array,
    names: string[],
    modules: (string | undefined)[],
  ) {
    this.#addresses = addresses;
    this.#names = names;
    this.#modules = modules;
  }

  /**
   * Reads /proc/kallsyms (or `path`). Throws when the kernel hides its
   * addresses (they read as zero without CAP_SYSLOG under kptr_restrict).
   */
  static load(path = "/proc/kallsyms"): KernelSymbols {
    const text = new TextDecoder().decode(readFileBytes(path));
    const rows: [bigint, string, string | undefined][] = [];
    let hidden = true;
    for (const line of text.split("\n")) {
      // "ffffffff816b4af0 t do_sys_openat2\t[module]"
      const sp1 = line.indexOf(" ");
      const sp2 = line.indexOf(" ", sp1 + 1);
      if (sp1 !== 16 || sp2 < 0) continue;
      const address = BigInt(`0x${line.slice(0, sp1)}`);
      if (address !== 0n) hidden = false;
      const tab = line.indexOf("\t", sp2 + 1);
      const name = line.slice(sp2 + 1, tab < 0 ? undefined : tab);
      const module =
        tab < 0 ? undefined : line.slice(tab + 1).replace(/^\[|\]$/g, "");
      rows.push([address, name, module]);
    }
    if (rows.length === 0) {
      throw new TsbpfError(`${path} lists no kernel symbols`);
    }
    if (hidden) {
      throw new TsbpfError(`${path} hides the kernel's addresses (all zero)`, {
        hint: "reading them needs root (CAP_SYSLOG), or sysctl kernel.kptr_restrict=0",
      });
    }
    rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return new KernelSymbols(
      BigUint64Array.from(rows, (r) => r[0]),
      rows.map((r) => r[1]),
      rows.map((r) => r[2]),
    );
  }

  /** How many symbols there are. */
  get size(): number {
    return this.#names.length;
  }

  /**
   * The symbol `address` falls in (the last one at or below it) and the
   * offset into it; undefined below the first symbol or a MiB past one.
   */
  resolve(address: bigint): ResolvedAddress | undefined {
    if (typeof address !== "bigint") throw notAddress("resolve", address);
    const a = this.#addresses;
    const lo = lastAtOrBelow(a, address);
    if (lo < 0) return undefined;
    // No function is a MiB long: past that it is beyond the table.
    if (address - a[lo]! >= MAX_OFFSET) return undefined;
    const module = this.#modules[lo];
    return {
      name: this.#names[lo]!,
      offset: address - a[lo]!,
      ...(module !== undefined && { module }),
    };
  }

  /** `name+0x1f`, `name+0x1f [module]`, or the address in hex when unknown. */
  format(address: bigint): string {
    if (typeof address !== "bigint") throw notAddress("format", address);
    const r = this.resolve(address);
    if (!r) return `0x${address.toString(16)}`;
    return `${r.name}+0x${r.offset.toString(16)}${r.module ? ` [${r.module}]` : ""}`;
  }

  /** The address of the symbol called `name` (the lowest, when there are several). */
  address(name: string): bigint | undefined {
    if (typeof name !== "string") {
      throw new BpfTypeError(
        `KernelSymbols.address takes a symbol name as a string, got ${describeValue(name)}`,
      );
    }
    if (!this.#byName) {
      this.#byName = new Map();
      for (let i = 0; i < this.#names.length; i++) {
        if (!this.#byName.has(this.#names[i]!))
          this.#byName.set(this.#names[i]!, this.#addresses[i]!);
      }
    }
    return this.#byName.get(name);
  }
}

function notAddress(method: string, v: unknown): BpfTypeError {
  return new BpfTypeError(
    `KernelSymbols.${method} takes an address as a bigint, got ${describeValue(v)}`,
    {
      hint: "stack frames (a stack_trace map's values) are bigints already; convert a number with BigInt(n)",
    },
  );
}
