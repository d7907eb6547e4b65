/**
 * `ProcessSymbols`: the user-space addresses of one process (a user stack
 * from `bpf_get_stackid(ctx, map, BPF_F_USER_STACK)`, a uprobe's ip) turned
 * into `function+offset [file]`, from /proc/PID/maps and the symbols of the
 * mapped files. JIT-compiled code (JavaScript, Java) is in no file: it is
 * named from the process's perf map (/tmp/perf-PID.map) when its runtime
 * writes one, else it stays an address.
 */
import { CodeSymbols } from "./elf/code_symbols.ts";
import { readElf } from "./elf/reader.ts";
import { readSymbolSections } from "./symbol_sections.ts";
import { BpfTypeError, TsbpfError } from "./errors.ts";
import { readFileBytes } from "./io.ts";
import { describeValue } from "./map_codecs.ts";
import { PerfMap } from "./perf_map.ts";

/** Where a user address falls. */
export interface ResolvedUserAddress {
  /**
   * The mapped file, as /proc/PID/maps names it; for JIT-compiled code,
   * the perf map that named it (/tmp/perf-PID.map).
   */
  readonly file: string;
  /** The offset in the mapped file (not for JIT-compiled code). */
  readonly fileOffset?: bigint;
  /** The function, when the file's symbols name one. */
  readonly name?: string;
  /** Bytes from the function's start (with `name`). */
  readonly offset?: bigint;
}

/** One executable file mapping of /proc/PID/maps. */
interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly fileOffset: bigint;
  readonly path: string;
  /** "dev:inode": which file, also where two have one path (containers). */
  readonly file: string;
}

/**
 * Parsed symbol tables, shared by every ProcessSymbols of this process:
 * a profiler sees libc in every process. Keyed by the file's identity.
 */
const tables = new Map<string, CodeSymbols | Error>();
const MAX_TABLES = 256;

/** One process's executable mappings and their files' function symbols. */
export class ProcessSymbols {
  readonly #pid: number;
  readonly #maps: Mapping[];
  /** The perf map, once read (null: there is none). */
  #perfMap: PerfMap | null | undefined;

  private constructor(pid: number, maps: Mapping[]) {
    this.#pid = pid;
    this.#maps = maps;
  }

  /**
   * Reads /proc/PID/maps now (a process maps and unmaps libraries as it
   * runs: load again to see new ones). The files' symbols are read when an
   * address first falls in them. Throws when the process is gone.
   */
  static load(pid: number): ProcessSymbols {
    if (!(Number.isInteger(pid) && pid > 0 && pid <= 0x7fffffff)) {
      throw new BpfTypeError(
        `ProcessSymbols.load takes a process id (a positive integer), got ${describeValue(pid)}`,
      );
    }
    let text: string;
    try {
      text = new TextDecoder().decode(readFileBytes(`/proc/${pid}/maps`));
    } catch (e) {
      throw new TsbpfError(`no process ${pid}: cannot read /proc/${pid}/maps`, {
        hint: "the process has exited (a profiler that reads stacks at intervals outlives short processes: their addresses stay unresolved), or this process may not read its maps (root or the same user)",
        cause: e,
      });
    }
    const maps: Mapping[] = [];
    for (const line of text.split("\n")) {
      // "55d5c0a00000-55d5c0a22000 r-xp 00002000 08:01 1234  /usr/bin/dd"
      const m =
        /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s+(\/.*)$/.exec(
          line,
        );
      if (!m || m[3]![2] !== "x") continue;
      maps.push({
        start: BigInt(`0x${m[1]}`),
        end: BigInt(`0x${m[2]}`),
        fileOffset: BigInt(`0x${m[4]}`),
        path: m[7]!,
        file: `${m[5]}:${m[6]}`,
      });
    }
    return new ProcessSymbols(pid, maps);
  }

  /** The process id. */
  get pid(): number {
    return this.#pid;
  }

  /**
   * The file and function `address` falls in; undefined when no file is
   * mapped there (JIT code, the stack, the process exited and was not
   * loaded in time).
   */
  resolve(address: bigint): ResolvedUserAddress | undefined {
    if (typeof address !== "bigint") throw notAddress("resolve", address);
    const m = this.#maps.find((x) => address >= x.start && address < x.end);
    if (!m) {
      const fn = this.#jit()?.resolve(address);
      return (
        fn && { file: this.#perfMapPath, name: fn.name, offset: fn.offset }
      );
    }
    const fileOffset = address - m.start + m.fileOffset;
    const syms = this.#symbols(m);
    const at = syms?.addressOf(fileOffset);
    const fn = at === undefined ? undefined : syms!.resolve(at);
    return {
      file: m.path,
      fileOffset,
      ...(fn && { name: fn.name, offset: fn.offset }),
    };
  }

  /**
   * `name+0x1f [libc.so.6]`, `0x2d40 [libc.so.6]` (the file offset, when no
   * symbol covers it), `name+0x1f [perf-PID.map]` for JIT-compiled code the
   * perf map names, or the address in hex.
   */
  format(address: bigint): string {
    if (typeof address !== "bigint") throw notAddress("format", address);
    const r = this.resolve(address);
    if (!r) return `0x${address.toString(16)}`;
    const file = r.file.slice(r.file.lastIndexOf("/") + 1);
    return r.name !== undefined
      ? `${r.name}+0x${r.offset!.toString(16)} [${file}]`
      : `0x${r.fileOffset!.toString(16)} [${file}]`;
  }

  get #perfMapPath(): string {
    return `/tmp/perf-${this.#pid}.map`;
  }

  /** The process's perf map, read on the first address outside its files. */
  #jit(): PerfMap | null {
    if (this.#perfMap === undefined) {
      try {
        const bytes = readFileBytes(this.#perfMapPath);
        this.#perfMap = PerfMap.parse(new TextDecoder().decode(bytes));
      } catch {
        this.#perfMap = null; // no JIT that writes one
      }
    }
    return this.#perfMap;
  }

  #symbols(m: Mapping): CodeSymbols | undefined {
    // map_files reaches the mapped file itself, also when it was deleted or
    // lives in another mount namespace (a container); root only.
    const range = `${m.start.toString(16)}-${m.end.toString(16)}`;
    const paths = [
      `/proc/${this.#pid}/map_files/${range}`,
      `/proc/${this.#pid}/root${m.path}`,
    ];
    const key = `${m.file} ${m.path}`;
    let t = tables.get(key);
    if (t === undefined) {
      t = new Error(`cannot read ${m.path}`);
      for (const p of paths) {
        try {
          // The symbol sections only: bun and deno are 100 MB binaries.
          t = CodeSymbols.of(readElf(readSymbolSections(p)));
          break;
        } catch (e) {
          t = e instanceof Error ? e : t;
        }
      }
      if (tables.size >= MAX_TABLES) tables.delete(tables.keys().next().value!);
      tables.set(key, t);
    }
    return t instanceof CodeSymbols ? t : undefined;
  }
}

function notAddress(method: string, v: unknown): BpfTypeError {
  return new BpfTypeError(
    `ProcessSymbols.${method} takes an address as a bigint, got ${describeValue(v)}`,
    {
      hint: "stack frames (a stack_trace map's values) are bigints already; convert a number with BigInt(n)",
    },
  );
}
