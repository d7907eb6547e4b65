/**
 * `Btf`: one parsed BTF blob (an object's `.BTF`, the kernel's vmlinux, or a
 * module's split BTF over vmlinux) with lookups by id and by name. Parsing
 * only indexes type offsets; types decode on first use and are cached.
 */
import { BtfError, BtfNotFoundError, BtfTypeError } from "../errors.ts";
import { existsSync } from "node:fs";
import { readFileBytes } from "../io.ts";
import { editDistance } from "./edit_distance.ts";
import { EM_BPF, type ByteOrder } from "../elf/types.ts";
import { describeElf } from "../elf/describe.ts";
import type { ElfFile } from "../elf/file.ts";
import { isElf, readElf } from "../elf/reader.ts";
import {
  checkAllTypes,
  checkReferences,
  decodeType,
  indexTypes,
  readHeader,
  typeWords,
  type BtfHeader,
  type TypeTable,
} from "./parse.ts";
import { StringTable, encodeName, hashBytes } from "./strings.ts";
import { Void, type BtfType, type Kind, type TypeResolver } from "./types.ts";
import { KIND, KIND_NAMES } from "./wire.ts";
import { structOf, validateStruct, validatesDecorator } from "./btf_struct.ts";
import { missingStructHint } from "./missing_hint.ts";
import type { LayoutOptions, LayoutSpec } from "./layout.ts";
import type { StructClass } from "./views.ts";

/** Options of {@link Btf.fromBytes} and {@link Btf.fromFile}. */
export interface BtfOptions {
  /**
   * Base BTF for split BTF (a kernel module's BTF is split over vmlinux:
   * `{ base: Btf.kernel() }`). `fromFile` supplies the kernel's for files
   * under /sys/kernel/btf; split BTF elsewhere needs it given.
   */
  readonly base?: Btf;
  /** Where the bytes came from, for error messages. */
  readonly source?: string;
}

/** Where the kernel publishes its BTF. */
export const KERNEL_BTF_DIR = "/sys/kernel/btf";

// Lookups scan the raw names until this many have been made; then a hash
// index over name bytes is built. Measured on vmlinux (126k types): a scan
// costs ~0.5 ms, building the index ~2.3 ms, an indexed lookup < 1 µs.
const SCAN_LOOKUPS = 8;

/** Rank of a kind when `type(name)` finds several types with one name. */
function rank(kind: number): number {
  switch (kind) {
    case KIND.STRUCT:
      return 0;
    case KIND.UNION:
      return 1;
    case KIND.ENUM:
    case KIND.ENUM64:
      return 2;
    case KIND.TYPEDEF:
      return 3;
    case KIND.FWD:
      return 5;
    default:
      return 4;
  }
}

/** Raw kind numbers matching a model kind name (`enum` also matches ENUM64). */
function kindMask(kind: Kind | undefined): number {
  if (kind === undefined) return 0xfffff;
  const k = KIND_NAMES.indexOf(kind);
  if (k < 0) throw new BtfError(`unknown BTF kind '${kind}'`);
  return kind === "enum" ? (1 << KIND.ENUM) | (1 << KIND.ENUM64) : 1 << k;
}

/** The model class of a kind: `TypeOfKind<"struct">` is `Struct`. */
export type TypeOfKind<K extends Kind> = BtfType extends infer T
  ? T extends { kind: infer TK }
    ? K extends TK
      ? T
      : never
    : never
  : never;

let kernelBtf: Btf | undefined;

/** A parsed BTF blob. Implements {@link TypeResolver} for its types. */
export class Btf implements TypeResolver, Iterable<BtfType> {
  /** The whole BTF blob as given (kept for writers and raw access). */
  readonly bytes: Uint8Array;
  /** The decoded header. */
  readonly header: BtfHeader;
  /** Byte order of the blob: views over data described by it decode in this order. */
  readonly byteOrder: ByteOrder;
  /** The base BTF, for split BTF. */
  readonly base?: Btf;
  /** String table (continuing the base's for split BTF). */
  readonly strings: StringTable;
  /** Id of this blob's first type: 1, or the base's `count + 1` for split BTF. */
  readonly firstId: number;
  /** Where the BTF came from (a path, or a description). */
  readonly source: string;
  readonly #table: TypeTable;
  readonly #cache = new Map<number, BtfType>();
  readonly #void = new Void(0, "");
  #lookups = 0;
  #index?: { heads: Int32Array; next: Int32Array; mask: number };

  private constructor(bytes: Uint8Array, options: BtfOptions = {}) {
    const { header, byteOrder } = readHeader(bytes);
    const base = options.base;
    this.bytes = bytes;
    this.header = header;
    this.byteOrder = byteOrder;
    this.base = base;
    this.source = options.source ?? "BTF data";
    const strStart = header.hdrLen + header.strOff;
    // The header cannot say a blob is split BTF; its strings can: only a
    // base's section starts with the empty string (libbpf and the kernel
    // require it there, and a split section continues the base's).
    if (!base && header.strLen > 0 && bytes[strStart] !== 0)
      throw new BtfError(
        `${this.source} looks like split BTF (a kernel module's, over vmlinux): its string section ` +
          "does not start with an empty string, so its names and type ids continue a base BTF's",
        {
          offset: strStart,
          hint:
            "give the base: Btf.fromFile(path, { base: Btf.kernel() }) (or Btf.fromBytes(bytes, { base })); " +
            "a loaded module's BTF: Btf.kernelModule(name)",
        },
      );
    this.strings = new StringTable(
      bytes.subarray(strStart, strStart + header.strLen),
      base?.strings,
      strStart,
    );
    const sectionOffset = header.hdrLen + header.typeOff;
    const words = typeWords(bytes, header, byteOrder);
    const offsets = indexTypes(words, sectionOffset);
    this.firstId = base ? base.count + 1 : 1;
    this.#table = {
      words,
      offsets,
      firstId: this.firstId,
      strings: this.strings,
      sectionOffset,
      checked: new Uint8Array(offsets.length),
      base: base ? base.#table : undefined,
    };
  }

  /** Parses raw BTF bytes (split BTF when `options.base` is given). */
  static fromBytes(bytes: Uint8Array, options?: BtfOptions): Btf {
    const given: unknown = bytes;
    if (!(given instanceof Uint8Array)) {
      throw new BtfTypeError(
        `Btf.fromBytes takes the BTF as a Uint8Array, got ${given === null ? "null" : given instanceof ArrayBuffer ? "an ArrayBuffer (wrap it: new Uint8Array(buffer))" : typeof given}`,
      );
    }
    return new Btf(bytes, options);
  }

  /** The BTF of an ELF object (its `.BTF` section). */
  static fromElf(elf: ElfFile, options?: BtfOptions): Btf {
    const sec = elf.section(".BTF");
    if (!sec) {
      const source = options?.source ?? "the ELF object";
      if (elf.header.machine !== EM_BPF) {
        throw new BtfError(
          `${source} is ${describeElf(elf.header)}, not a BPF object, and has no .BTF section`,
          {
            hint: "give a BPF object (clang -g -O2 -target bpf -c prog.bpf.c) or raw BTF such as /sys/kernel/btf/vmlinux",
          },
        );
      }
      throw new BtfError(`${source} has no .BTF section`, {
        hint: "compile the BPF program with -g (clang -g -O2 -target bpf ...)",
      });
    }
    return new Btf(sec.data, options);
  }

  /**
   * Parses a BPF object file or a raw BTF file, detected by content. A file
   * under /sys/kernel/btf other than vmlinux is split BTF over the kernel's.
   */
  static fromFile(path: string, options?: BtfOptions): Btf {
    const bytes = readFileBytes(path);
    const source = options?.source ?? path;
    if (isElf(bytes))
      return Btf.fromElf(readElf(bytes), { ...options, source });
    let base = options?.base;
    if (!base && isKernelModulePath(path)) base = Btf.kernel();
    return new Btf(bytes, { ...options, base, source });
  }

  /** The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed once and cached. */
  static kernel(): Btf {
    const path = `${KERNEL_BTF_DIR}/vmlinux`;
    if (!kernelBtf && !existsSync(path)) {
      throw new BtfNotFoundError(
        "vmlinux",
        `the running kernel exposes no BTF (${path} is missing)`,
        {
          hint: "it needs a kernel built with CONFIG_DEBUG_INFO_BTF=y; elsewhere read a BTF file with Btf.fromFile (e.g. from BTFHub)",
        },
      );
    }
    kernelBtf ??= new Btf(readFileBytes(path), { source: path });
    return kernelBtf;
  }

  /** A kernel module's split BTF (/sys/kernel/btf/<name>) over {@link Btf.kernel}. */
  static kernelModule(name: string): Btf {
    if (
      typeof name !== "string" ||
      name.includes("/") ||
      name === "vmlinux" ||
      name === "" ||
      name.startsWith(".")
    ) {
      throw new BtfError(`'${String(name)}' is not a kernel module name`);
    }
    const path = `${KERNEL_BTF_DIR}/${name}`;
    let bytes: Uint8Array;
    try {
      bytes = readFileBytes(path);
    } catch (e) {
      const cause = (e as { cause?: { code?: unknown; name?: unknown } }).cause;
      if (cause?.code !== "ENOENT" && cause?.name !== "NotFound") throw e;
      throw new BtfError(`no BTF for kernel module '${name}' (no ${path})`, {
        hint: `the module is not loaded (lsmod), is built into the kernel (its types are in Btf.kernel()), or has no BTF; modules with BTF: ls ${KERNEL_BTF_DIR}`,
      });
    }
    return new Btf(bytes, { base: Btf.kernel(), source: path });
  }

  /** Highest type id (types are 1..count; the base's are included for split BTF). */
  get count(): number {
    return this.firstId + this.#table.offsets.length - 1;
  }

  /** Number of types in this blob alone (excluding the base's). */
  get ownCount(): number {
    return this.#table.offsets.length;
  }

  /** The type with id `id` (0 is void). Throws `BtfError` when there is none. */
  typeById(id: number): BtfType {
    if (id === 0) return this.#void;
    if (id < this.firstId && this.base && id >= 1)
      return this.base.typeById(id);
    const cached = this.#cache.get(id);
    if (cached) return cached;
    if (!Number.isInteger(id) || id < this.firstId || id > this.count) {
      throw new BtfError(
        `no type with id ${id} in ${this.source} (ids are 1..${this.count})`,
      );
    }
    checkReferences(this.#table, id);
    const t = decodeType(this.#table, id, this);
    this.#cache.set(id, t);
    return t;
  }

  /**
   * Checks every type at once (ids it names exist, names are in the string
   * table, no reference cycles) instead of as types are decoded; throws
   * `BtfError` on the first problem. `BpfObject.open` runs it before
   * libbpf, which trusts these and can crash on them.
   */
  checkAll(): void {
    checkAllTypes(this.#table);
  }

  /** Kind of type `id` without decoding it. */
  kindOf(id: number): Kind {
    if (id === 0) return "void";
    if (id < this.firstId && this.base) return this.base.kindOf(id);
    return KIND_NAMES[this.#rawKind(this.#local(id))];
  }

  /** Name of type `id` without decoding the type. */
  nameOf(id: number): string {
    if (id === 0) return "";
    if (id < this.firstId && this.base) return this.base.nameOf(id);
    const t = this.#table;
    return this.strings.get(t.words[t.offsets[this.#local(id)]]);
  }

  /** Every type, ids 1..count (the base's first, for split BTF). */
  *[Symbol.iterator](): Iterator<BtfType> {
    for (let id = 1; id <= this.count; id++) yield this.typeById(id);
  }

  /** This blob's own types (for split BTF, without the base's). */
  *ownTypes(): Generator<BtfType> {
    for (let id = this.firstId; id <= this.count; id++) yield this.typeById(id);
  }

  /**
   * Ids of every type named `name` (of `kind`, when given; `"enum"` also
   * matches enum64), in id order, the base's first. Decodes nothing.
   */
  findIds(name: string, kind?: Kind): number[] {
    const out = this.base ? this.base.findIds(name, kind) : [];
    if (name === "") return out;
    const mask = kindMask(kind);
    const bytes = encodeName(name);
    const t = this.#table;
    const w = t.words;
    const off = t.offsets;
    const strings = this.strings;
    if (this.#index || ++this.#lookups > SCAN_LOOKUPS) {
      const index = (this.#index ??= this.#buildIndex());
      const own: number[] = [];
      for (
        let i = index.heads[hashBytes(bytes) & index.mask];
        i >= 0;
        i = index.next[i]
      ) {
        const p = off[i];
        if (
          (mask >>> ((w[p + 1] >>> 24) & 0x1f)) & 1 &&
          strings.equals(w[p], bytes)
        ) {
          own.push(this.firstId + i);
        }
      }
      // Chains are built by prepending, so they run in descending id order.
      for (let k = own.length - 1; k >= 0; k--) out.push(own[k]);
      return out;
    }
    for (let i = 0, n = off.length; i < n; i++) {
      const p = off[i];
      const nameOff = w[p];
      if (
        nameOff !== 0 &&
        (mask >>> ((w[p + 1] >>> 24) & 0x1f)) & 1 &&
        strings.equals(nameOff, bytes)
      ) {
        out.push(this.firstId + i);
      }
    }
    return out;
  }

  /**
   * The type named `name`: of `kind` when given, else preferring struct,
   * union, enum, then typedef, then other kinds. Undefined when absent.
   */
  find<K extends Kind>(name: string, kind: K): TypeOfKind<K> | undefined;
  find(name: string, kind?: Kind): BtfType | undefined;
  find(name: string, kind?: Kind): BtfType | undefined {
    if (kind !== undefined) {
      const id = this.#first(encodeName(name), kindMask(kind));
      return id === 0 ? undefined : this.typeById(id);
    }
    const ids = this.findIds(name, kind);
    if (ids.length === 0) return undefined;
    let best = ids[0];
    if (kind === undefined) {
      let bestRank = rank(this.#kindNumber(best));
      for (const id of ids) {
        const r = rank(this.#kindNumber(id));
        if (r < bestRank) [best, bestRank] = [id, r];
      }
    }
    return this.typeById(best);
  }

  /**
   * Like {@link find}, but a missing type raises `BtfNotFoundError` naming
   * it, listing near names and explaining the usual cause.
   */
  type<K extends Kind>(name: string, kind: K): TypeOfKind<K>;
  type(name: string, kind?: Kind): BtfType;
  type(name: string, kind?: Kind): BtfType {
    const t = this.find(name, kind);
    if (t) return t;
    throw this.#notFound(name, kind);
  }

  /**
   * CONTRACT: the view class of struct or union `name` (or a typedef of
   * one), cached by name: `Cls.from(bytes, offset?)` reads and writes the
   * caller's bytes in place, `new Cls()` owns zeroed bytes, `v.toObject()`
   * is a detached plain copy. Fields map as follows:
   * - integers up to 32 bits → number; 64-bit integers → bigint (setters
   *   also take safe-integer numbers); `_Bool` → boolean;
   * - `char[N]` → string up to the first NUL (the setter writes UTF-8,
   *   truncated to N bytes, NUL-padded); other arrays → `ArrayView`s
   *   (`a[i]`, `a.length`, iteration; `a[i] = v` out of range throws);
   * - nested structs/unions → views over the same bytes; members of
   *   anonymous structs/unions → fields of the parent (`ev.x`);
   * - bitfields (signed, unsigned, 64-bit) → number, or bigint when the
   *   underlying type is 64-bit;
   * - enums → number, with enumerator names in `Cls.enums.field`; enums of
   *   8 bytes (ENUM64, or a C enum with a value beyond 32 bits) → bigint;
   * - pointers → bigint (the address); `float`/`double` → number;
   * - anything else (`__int128` → bigint, `long double`) → its bytes.
   *
   * Views decode in the BTF's byte order ({@link byteOrder}). A missing
   * name raises BtfNotFoundError with near names and why clang may have
   * left the struct out.
   */
  struct(name: string): StructClass {
    if (typeof name !== "string") {
      throw new BtfTypeError(
        `btf.struct(name): name is a string (a struct or union's C name), got ${name === null ? "null" : typeof name}`,
      );
    }
    return structOf(this, name);
  }

  /**
   * CONTRACT: checks a hand-written layout against struct `name`; throws
   * `BtfValidationError` listing every mismatch with a fix. See validate.ts.
   */
  validate(
    name: string,
    layout: LayoutSpec | StructClass,
    options?: LayoutOptions,
  ): void {
    validateStruct(this, name, layout, options);
  }

  /** Class decorator form of {@link validate}: `@btf.validates(name)` on a class with `static layout`. */
  validates(name: string): ReturnType<typeof validatesDecorator> {
    return validatesDecorator(this, name);
  }

  /** Lowest id named `bytes` with a kind in `mask`, or 0; stops at the first match (as libbpf does). */
  #first(bytes: Uint8Array, mask: number): number {
    if (this.base) {
      const id = this.base.#first(bytes, mask);
      if (id !== 0) return id;
    }
    if (bytes.length === 0) return 0;
    if (this.#index) {
      const ids = this.findIds(new TextDecoder().decode(bytes));
      for (const id of ids) if ((mask >>> this.#kindNumber(id)) & 1) return id;
      return 0;
    }
    const t = this.#table;
    const w = t.words;
    const off = t.offsets;
    const strings = this.strings;
    for (let i = 0, n = off.length; i < n; i++) {
      const p = off[i];
      if (
        (mask >>> ((w[p + 1] >>> 24) & 0x1f)) & 1 &&
        strings.equals(w[p], bytes)
      ) {
        return this.firstId + i;
      }
    }
    return 0;
  }

  #local(id: number): number {
    if (!Number.isInteger(id) || id < this.firstId || id > this.count) {
      throw new BtfError(
        `no type with id ${id} in ${this.source} (ids are 1..${this.count})`,
      );
    }
    return id - this.firstId;
  }

  #rawKind(local: number): number {
    const t = this.#table;
    return (t.words[t.offsets[local] + 1] >>> 24) & 0x1f;
  }

  #kindNumber(id: number): number {
    if (id < this.firstId && this.base) return this.base.#kindNumber(id);
    return this.#rawKind(this.#local(id));
  }

  #buildIndex(): { heads: Int32Array; next: Int32Array; mask: number } {
    const t = this.#table;
    const w = t.words;
    const off = t.offsets;
    const n = off.length;
    let size = 16;
    while (size < n) size <<= 1;
    const heads = new Int32Array(size).fill(-1);
    const next = new Int32Array(n).fill(-1);
    const mask = size - 1;
    const strings = this.strings;
    for (let i = 0; i < n; i++) {
      const nameOff = w[off[i]];
      if (nameOff === 0 || !strings.has(nameOff)) continue;
      const h = strings.hash(nameOff) & mask;
      next[i] = heads[h];
      heads[h] = i;
    }
    return { heads, next, mask };
  }

  #notFound(name: string, kind: Kind | undefined): BtfNotFoundError {
    const what = kind
      ? `${kind === "union" || kind === "struct" || kind === "enum" ? kind : `${kind} type`}`
      : "type";
    if (name === "")
      return new BtfNotFoundError(
        name,
        `no ${what} named '' in ${this.source}: anonymous types have no name to look up`,
        { hint: "reach it through the type that uses it, or by id (typeById)" },
      );
    const suggestions = this.#nearNames(name, kind);
    const near = suggestions.length
      ? `; near names: ${suggestions.join(", ")}`
      : "";
    const composite =
      kind === undefined || kind === "struct" || kind === "union";
    const fwd =
      kind !== undefined && composite && this.findIds(name, "fwd").length > 0
        ? " (only a forward declaration)"
        : "";
    return new BtfNotFoundError(
      name,
      `no ${what} named '${name}' in ${this.source}${fwd}${near}`,
      {
        suggestions,
        hint: composite ? missingStructHint(this, name, kind) : undefined,
      },
    );
  }

  /**
   * Named types whose names are close to `name`: within an edit distance
   * of a quarter of its length (at least 1), or containing it (3+
   * characters). Names of 1 or 2 characters are near nothing but
   * themselves in another case: everything short is a few edits away.
   */
  #nearNames(name: string, kind: Kind | undefined): string[] {
    const mask = kindMask(kind);
    const limit = Math.max(1, Math.floor(name.length / 4));
    const lower = name.toLowerCase();
    const scored = new Map<string, number>();
    for (let b: Btf | undefined = this; b; b = b.base) {
      const t = b.#table;
      for (let i = 0; i < t.offsets.length; i++) {
        const p = t.offsets[i];
        const k = (t.words[p + 1] >>> 24) & 0x1f;
        if (t.words[p] === 0 || !((mask >>> k) & 1)) continue;
        if (kind === undefined && rank(k) > 3) continue;
        if (!b.strings.has(t.words[p])) continue;
        const candidate = b.strings.get(t.words[p]);
        const label =
          kind === undefined ? `${KIND_NAMES[k]} ${candidate}` : candidate;
        if (scored.has(label)) continue;
        const c = candidate.toLowerCase();
        if (c.length < 3 && c !== lower) continue;
        let score =
          Math.abs(c.length - lower.length) <= limit
            ? editDistance(c, lower, limit)
            : limit + 1;
        if (
          score > limit &&
          lower.length >= 3 &&
          (c.includes(lower) || (lower.includes(c) && c.length >= 3))
        ) {
          score = limit + 0.5;
        }
        if (score <= limit + 0.5) scored.set(label, score);
      }
    }
    return [...scored]
      .sort(
        (a, b) =>
          a[1] - b[1] || a[0].length - b[0].length || (a[0] < b[0] ? -1 : 1),
      )
      .slice(0, 5)
      .map(([n]) => n);
  }
}

/** True for /sys/kernel/btf/<module> (split BTF over vmlinux). */
function isKernelModulePath(path: string): boolean {
  const prefix = `${KERNEL_BTF_DIR}/`;
  return (
    path.startsWith(prefix) &&
    path !== `${prefix}vmlinux` &&
    !path.slice(prefix.length).includes("/")
  );
}
