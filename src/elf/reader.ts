/**
 * ELF64 decoding (both byte orders) into the model of `types.ts`. Every read
 * is bounds-checked: truncated, corrupt or non-ELF input raises `ElfError`
 * with the byte offset and what was expected, and every loop is bounded by
 * the input size.
 */
import { ElfError } from "../errors.ts";
import { ElfFile } from "./file.ts";
import {
  SHF,
  SHN,
  SHT,
  type ByteOrder,
  type ElfHeader,
  type ElfRelocation,
  type ElfRelocationSection,
  type ElfSection,
  type ElfSymbol,
} from "./types.ts";

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;
const utf8 = new TextDecoder("utf-8", { fatal: false });

/** True when `bytes` starts with the ELF magic `\x7fELF`. */
export function isElf(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x7f &&
    bytes[1] === 0x45 &&
    bytes[2] === 0x4c &&
    bytes[3] === 0x46
  );
}

/** Parses an ELF64 file. Throws `ElfError` on anything malformed. */
export function readElf(bytes: Uint8Array): ElfFile {
  return new Decoder(bytes).file();
}

/**
 * The entries of a symbol table section of `file` other than its `.symtab`
 * (which `file.symbols` holds), e.g. `.dynsym`. Throws `ElfError` when malformed.
 */
export function readSymbolTable(file: ElfFile, table: ElfSection): ElfSymbol[] {
  const d = new Decoder(file.bytes);
  d.le = file.byteOrder === "le";
  return d.symbols(table, file.sections as ElfSection[]);
}

class Decoder {
  readonly view: DataView;
  le = true;
  // Bytes of names decoded so far: corrupt tables whose many offsets point
  // into one huge unterminated string would otherwise cost O(n²).
  nameBytes = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.bytes.length) {
      throw new ElfError(
        `truncated ELF: expected ${what} (${len} bytes) but the input is ${this.bytes.length} bytes`,
        { offset: off },
      );
    }
  }
  u8(off: number): number {
    return this.bytes[off];
  }
  u16(off: number): number {
    return this.view.getUint16(off, this.le);
  }
  u32(off: number): number {
    return this.view.getUint32(off, this.le);
  }
  u64(off: number): bigint {
    return this.view.getBigUint64(off, this.le);
  }
  /** A 64-bit file offset or size as a number, or an error when beyond any input. */
  u64n(off: number, what: string): number {
    const lo = this.u32(off + (this.le ? 0 : 4));
    const hi = this.u32(off + (this.le ? 4 : 0));
    if (hi >= 0x200000) {
      throw new ElfError(
        `${what} 0x${this.u64(off).toString(16)} is too large`,
        {
          offset: off,
        },
      );
    }
    return hi * 0x100000000 + lo;
  }

  file(): ElfFile {
    const header = this.header();
    const sections = this.sections(header);
    const symtab = sections.find((s) => s.type === SHT.SYMTAB);
    const symbols = symtab ? this.symbols(symtab, sections) : [];
    const relocs = this.relocations(sections, symtab, symbols.length);
    return new ElfFile(this.bytes, header, sections, symbols, relocs);
  }

  header(): ElfHeader & { shoff: number; shentsize: number } {
    const b = this.bytes;
    if (!isElf(b)) {
      throw new ElfError(
        `not an ELF file: expected magic 7f 45 4c 46, found ${hex(b.subarray(0, 4))}`,
        { offset: 0 },
      );
    }
    this.need(0, EHDR_SIZE, "the ELF64 header");
    if (b[4] !== 2) {
      throw new ElfError(
        `unsupported ELF class ${b[4]}: expected 2 (ELF64); BPF objects are ELF64`,
        { offset: 4 },
      );
    }
    if (b[5] !== 1 && b[5] !== 2) {
      throw new ElfError(
        `bad ELF data encoding ${b[5]}: expected 1 (little endian) or 2 (big endian)`,
        { offset: 5 },
      );
    }
    const byteOrder: ByteOrder = b[5] === 1 ? "le" : "be";
    this.le = byteOrder === "le";
    const shoff = this.u64n(40, "section header offset");
    const shentsize = this.u16(58);
    let sectionCount = this.u16(60);
    let sectionNamesIndex = this.u16(62);
    if (shoff !== 0 && shentsize < SHDR_SIZE) {
      throw new ElfError(
        `section header entry size ${shentsize}: expected at least ${SHDR_SIZE}`,
        { offset: 58 },
      );
    }
    // Extended numbering (gABI): counts that do not fit in 16 bits live in
    // section 0's sh_size / sh_link.
    if (
      shoff !== 0 &&
      (sectionCount === 0 || sectionNamesIndex === SHN.XINDEX)
    ) {
      this.need(shoff, SHDR_SIZE, "section header 0");
      if (sectionCount === 0)
        sectionCount = this.u64n(shoff + 32, "section count");
      if (sectionNamesIndex === SHN.XINDEX)
        sectionNamesIndex = this.u32(shoff + 40);
    }
    if (shoff === 0) sectionCount = 0;
    const tableSize = sectionCount * shentsize;
    this.need(shoff, tableSize, `${sectionCount} section headers`);
    if (sectionCount > 0 && sectionNamesIndex >= sectionCount) {
      throw new ElfError(
        `section name table index ${sectionNamesIndex} is out of range (${sectionCount} sections)`,
        { offset: 62 },
      );
    }
    return {
      byteOrder,
      osabi: b[7],
      type: this.u16(16),
      machine: this.u16(18),
      version: this.u32(20),
      entry: this.u64(24),
      flags: this.u32(48),
      sectionCount,
      sectionNamesIndex,
      shoff,
      shentsize,
    };
  }

  sections(h: ReturnType<Decoder["header"]>): ElfSection[] {
    const raw: Omit<ElfSection, "name" | "data">[] = [];
    const nameOffs: number[] = [];
    for (let i = 0; i < h.sectionCount; i++) {
      const at = h.shoff + i * h.shentsize;
      const type = this.u32(at + 4);
      const offset = this.u64n(at + 24, `offset of section ${i}`);
      const size = this.u64n(at + 32, `size of section ${i}`);
      if (type !== SHT.NOBITS && type !== SHT.NULL) {
        if (offset + size > this.bytes.length) {
          throw new ElfError(
            `section ${i} contents (offset ${offset}, size ${size}) extend past the end of the ${this.bytes.length}-byte input`,
            { offset: at + 24 },
          );
        }
      }
      nameOffs.push(this.u32(at));
      raw.push({
        index: i,
        type,
        flags: this.u64n(at + 8, `flags of section ${i}`),
        addr: this.u64(at + 16),
        offset,
        size,
        link: this.u32(at + 40),
        info: this.u32(at + 44),
        addralign: this.u64n(at + 48, `alignment of section ${i}`),
        entsize: this.u64n(at + 56, `entry size of section ${i}`),
      });
    }
    // Index 0 (SHN_UNDEF) means the file has no section names.
    const names =
      h.sectionNamesIndex === 0 ? undefined : raw[h.sectionNamesIndex];
    if (names && names.type !== SHT.STRTAB) {
      throw new ElfError(
        `section name table (section ${h.sectionNamesIndex}) has type ${names.type}: expected SHT_STRTAB (3)`,
        { offset: h.shoff + h.sectionNamesIndex * h.shentsize + 4 },
      );
    }
    return raw.map((s, i) => ({
      ...s,
      name: names
        ? this.string(names, nameOffs[i], h.shoff + i * h.shentsize)
        : "",
      data:
        s.type === SHT.NOBITS || s.type === SHT.NULL
          ? new Uint8Array(0)
          : this.bytes.subarray(s.offset, s.offset + s.size),
    }));
  }

  /** A NUL-terminated string at `off` in string-table section `tab`. */
  string(
    tab: { offset: number; size: number },
    off: number,
    refAt: number,
  ): string {
    if (off >= tab.size) {
      if (off === 0) return "";
      throw new ElfError(
        `string offset ${off} is outside its string table (${tab.size} bytes)`,
        { offset: refAt },
      );
    }
    const start = tab.offset + off;
    const tableEnd = tab.offset + tab.size;
    const end = this.bytes.subarray(start, tableEnd).indexOf(0) + start;
    if (end < start) {
      throw new ElfError(
        `string at table offset ${off} is not NUL-terminated`,
        {
          offset: start,
        },
      );
    }
    this.nameBytes += end - start;
    if (this.nameBytes > 16 * this.bytes.length + 65536) {
      throw new ElfError(
        "names in string tables overlap far more than any linker produces: corrupt string table offsets",
        { offset: refAt },
      );
    }
    return utf8.decode(this.bytes.subarray(start, end));
  }

  symbols(symtab: ElfSection, sections: ElfSection[]): ElfSymbol[] {
    const entsize = symtab.entsize || SYM_SIZE;
    if (entsize < SYM_SIZE) {
      throw new ElfError(
        `symbol entry size ${entsize}: expected at least ${SYM_SIZE}`,
        {
          offset: symtab.offset,
        },
      );
    }
    const strtab = sections[symtab.link];
    if (!strtab || strtab.type !== SHT.STRTAB) {
      throw new ElfError(
        `symbol table links to section ${symtab.link}: expected a string table`,
        { offset: symtab.offset },
      );
    }
    const shndx = sections.find(
      (s) => s.type === SHT.SYMTAB_SHNDX && s.link === symtab.index,
    );
    const count = Math.floor(symtab.size / entsize);
    const out: ElfSymbol[] = [];
    for (let i = 0; i < count; i++) {
      const at = symtab.offset + i * entsize;
      const info = this.u8(at + 4);
      let sectionIndex = this.u16(at + 6);
      if (sectionIndex === SHN.XINDEX && shndx) {
        if ((i + 1) * 4 > shndx.size) {
          throw new ElfError(`SHT_SYMTAB_SHNDX has no entry for symbol ${i}`, {
            offset: shndx.offset,
          });
        }
        sectionIndex = this.u32(shndx.offset + i * 4);
      }
      out.push({
        index: i,
        name: this.string(strtab, this.u32(at), at),
        bind: info >> 4,
        type: info & 0xf,
        visibility: this.u8(at + 5) & 3,
        sectionIndex,
        value: this.u64(at + 8),
        size: this.u64(at + 16),
      });
    }
    return out;
  }

  /**
   * The static relocation sections (those over `.symtab`). A linked
   * executable or shared object also has dynamic ones (`.rela.dyn`,
   * `.rela.plt`: allocated, over `.dynsym`, often applying to no section),
   * which say nothing about a BPF object: skipped, not taken for corruption.
   */
  relocations(
    sections: ElfSection[],
    symtab: ElfSection | undefined,
    symbolCount: number,
  ): ElfRelocationSection[] {
    const out: ElfRelocationSection[] = [];
    for (const sec of sections) {
      if (sec.type !== SHT.REL && sec.type !== SHT.RELA) continue;
      if (
        sec.flags & SHF.ALLOC ||
        sections[sec.link]?.type === SHT.DYNSYM ||
        (symtab === undefined && sec.link === 0)
      )
        continue;
      const withAddends = sec.type === SHT.RELA;
      const min = withAddends ? RELA_SIZE : REL_SIZE;
      const entsize = sec.entsize || min;
      if (entsize < min) {
        throw new ElfError(
          `relocation entry size ${entsize} in ${sec.name}: expected at least ${min}`,
          { offset: sec.offset },
        );
      }
      const target = sections[sec.info];
      if (!target || sec.info === 0) {
        throw new ElfError(
          `relocation section ${sec.name} applies to section ${sec.info}, which does not exist`,
          { offset: sec.offset },
        );
      }
      const count = Math.floor(sec.size / entsize);
      const relocations: ElfRelocation[] = [];
      for (let i = 0; i < count; i++) {
        const at = sec.offset + i * entsize;
        const offset = this.u64n(at, "relocation offset");
        const symbolIndex = this.u32(at + (this.le ? 12 : 8));
        const type = this.u32(at + (this.le ? 8 : 12));
        if (symbolIndex >= symbolCount && symbolIndex !== 0) {
          throw new ElfError(
            `relocation ${i} in ${sec.name} refers to symbol ${symbolIndex}, but there are ${symbolCount}`,
            { offset: at + 8 },
          );
        }
        relocations.push({
          offset,
          type,
          symbolIndex,
          addend: withAddends ? this.view.getBigInt64(at + 16, this.le) : 0n,
        });
      }
      out.push({ section: sec, target, withAddends, relocations });
    }
    return out;
  }
}

function hex(b: Uint8Array): string {
  return (
    Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ") || "(empty)"
  );
}
