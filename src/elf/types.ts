/**
 * The ELF model: what an ELF64 object holds, independent of how it was read
 * (`reader.ts`) so that a writer can build the same shapes later. File
 * offsets and sizes are `number` (they are bounded by the input size);
 * addresses, symbol values and addends are `bigint` (genuinely 64-bit).
 */

/** Byte order of a file: little or big endian. */
export type ByteOrder = "le" | "be";

/** Section types used by BPF objects (ELF `sh_type`). */
export const SHT = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  SYMTAB_SHNDX: 18,
  GNU_VERDEF: 0x6ffffffd,
  GNU_VERSYM: 0x6fffffff,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** Section flags (ELF `sh_flags`). */
export const SHF = {
  WRITE: 0x1,
  ALLOC: 0x2,
  EXECINSTR: 0x4,
  MERGE: 0x10,
  STRINGS: 0x20,
  INFO_LINK: 0x40,
  EXCLUDE: 0x80000000,
} as const;

/** Special section indices (ELF `st_shndx`). */
export const SHN = {
  UNDEF: 0,
  LORESERVE: 0xff00,
  ABS: 0xfff1,
  COMMON: 0xfff2,
  XINDEX: 0xffff,
} as const;

/** Symbol binding (`ELF64_ST_BIND`). */
export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;

/** Symbol type (`ELF64_ST_TYPE`). */
export const STT = {
  NOTYPE: 0,
  OBJECT: 1,
  FUNC: 2,
  SECTION: 3,
  FILE: 4,
  GNU_IFUNC: 10,
} as const;

/** `e_machine` of BPF objects. */
export const EM_BPF = 247;

/** The ELF file header (the fields that matter for objects). */
export interface ElfHeader {
  /** Byte order from `EI_DATA`. */
  readonly byteOrder: ByteOrder;
  /** `EI_OSABI`. */
  readonly osabi: number;
  /** `e_type`: 1 relocatable, 2 executable, 3 shared object. */
  readonly type: number;
  /** `e_machine`: 247 for BPF. */
  readonly machine: number;
  /** `e_version`. */
  readonly version: number;
  /** `e_entry`. */
  readonly entry: bigint;
  /** `e_flags`. */
  readonly flags: number;
  /** Number of section headers (resolved through section 0 when extended). */
  readonly sectionCount: number;
  /** Index of the section-name string table (resolved when extended). */
  readonly sectionNamesIndex: number;
}

/** One section: its header fields and its bytes. */
export interface ElfSection {
  /** Index in the section header table. */
  readonly index: number;
  /** Name from the section-name string table. */
  readonly name: string;
  /** `sh_type` (see {@link SHT}). */
  readonly type: number;
  /** `sh_flags` (see {@link SHF}). */
  readonly flags: number;
  /** `sh_addr`. */
  readonly addr: bigint;
  /** File offset of the contents. */
  readonly offset: number;
  /** Size in bytes (for NOBITS, the size in memory). */
  readonly size: number;
  /** `sh_link`. */
  readonly link: number;
  /** `sh_info`. */
  readonly info: number;
  /** `sh_addralign`. */
  readonly addralign: number;
  /** `sh_entsize`. */
  readonly entsize: number;
  /** The contents (a view into the input, no copy); empty for NOBITS. */
  readonly data: Uint8Array;
}

/** One symbol from `.symtab`. */
export interface ElfSymbol {
  /** Index in the symbol table. */
  readonly index: number;
  /** Name; empty for section and unnamed symbols. */
  readonly name: string;
  /** `st_value`: in an object file, the offset within its section. */
  readonly value: bigint;
  /** `st_size`. */
  readonly size: bigint;
  /** Binding (see {@link STB}). */
  readonly bind: number;
  /** Type (see {@link STT}). */
  readonly type: number;
  /** Visibility (`st_other & 3`). */
  readonly visibility: number;
  /** Section index (resolved through SHT_SYMTAB_SHNDX; see {@link SHN}). */
  readonly sectionIndex: number;
}

/** One relocation entry (REL or RELA). */
export interface ElfRelocation {
  /** Offset within the section being relocated. */
  readonly offset: number;
  /** Relocation type (`ELF64_R_TYPE`), e.g. R_BPF_64_64 = 1. */
  readonly type: number;
  /** Symbol index (`ELF64_R_SYM`) into the linked symbol table. */
  readonly symbolIndex: number;
  /** Addend: explicit for RELA, 0n for REL. */
  readonly addend: bigint;
}

/** A REL/RELA section with its decoded entries. */
export interface ElfRelocationSection {
  /** The REL/RELA section itself. */
  readonly section: ElfSection;
  /** The section its entries apply to (`sh_info`). */
  readonly target: ElfSection;
  /** True for RELA (explicit addends). */
  readonly withAddends: boolean;
  /** The entries in file order. */
  readonly relocations: readonly ElfRelocation[];
}
