/**
 * `ElfFile`: a parsed ELF64 object (header, sections, symbols, relocations)
 * with lookups by name. Built by `readElf` (reader.ts); holds the input bytes
 * so that section contents stay zero-copy views.
 */
import type {
  ElfHeader,
  ElfRelocationSection,
  ElfSection,
  ElfSymbol,
} from "./types.ts";

/** A parsed ELF64 file. */
export class ElfFile {
  readonly #byName = new Map<string, ElfSection>();

  constructor(
    /** The whole input. */
    readonly bytes: Uint8Array,
    /** The file header. */
    readonly header: ElfHeader,
    /** Every section, by index (index 0 is the null section). */
    readonly sections: readonly ElfSection[],
    /** The `.symtab` entries by index (index 0 is the null symbol); empty when stripped. */
    readonly symbols: readonly ElfSymbol[],
    /** Every static REL/RELA section (over `.symtab`) with its entries. */
    readonly relocationSections: readonly ElfRelocationSection[],
  ) {
    for (const s of sections)
      if (!this.#byName.has(s.name)) this.#byName.set(s.name, s);
  }

  /** `"le"` or `"be"`. */
  get byteOrder(): ElfHeader["byteOrder"] {
    return this.header.byteOrder;
  }

  /** The first section with this name (e.g. `.BTF`, `.maps`, `license`). */
  section(name: string): ElfSection | undefined {
    return this.#byName.get(name);
  }

  /** Symbols whose section index is `sectionIndex`, in table order. */
  symbolsIn(sectionIndex: number): ElfSymbol[] {
    return this.symbols.filter(
      (s) => s.index !== 0 && s.sectionIndex === sectionIndex,
    );
  }

  /** The first symbol with this name. */
  symbol(name: string): ElfSymbol | undefined {
    return this.symbols.find((s) => s.name === name);
  }

  /** Relocations that apply to `section` (by object or index), if any. */
  relocationsFor(
    section: ElfSection | number,
  ): ElfRelocationSection | undefined {
    const index = typeof section === "number" ? section : section.index;
    return this.relocationSections.find((r) => r.target.index === index);
  }
}
