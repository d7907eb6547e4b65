/**
 * Functions of a linked executable or shared library by name, as a uprobe
 * names them: from `.symtab` and `.dynsym`, with their GNU symbol versions
 * (`realpath@@GLIBC_2.3` is the default version, `realpath@GLIBC_2.2.5` a
 * hidden one), their type (an IFUNC is a resolver, not the function) and
 * their file offset (what the kernel's uprobe takes).
 */
import type { ElfFile } from "./file.ts";
import { readSymbolTable } from "./reader.ts";
import {
  SHN,
  SHT,
  STB,
  STT,
  type ElfSection,
  type ElfSymbol,
} from "./types.ts";

// versym bit 15: the version is hidden (binutils include/elf/common.h).
const VERSYM_HIDDEN = 0x8000;

/** One definition of a function in a binary. */
export interface ElfFunction {
  /** The name without its version. */
  readonly name: string;
  /** Its version ("GLIBC_2.3"), if the symbol has one. */
  readonly version?: string;
  /** True for the default version (`name@@version`), false for a hidden one (`name@version`). */
  readonly defaultVersion: boolean;
  /** True for a weak definition (another, global one takes precedence). */
  readonly weak: boolean;
  /** True for an IFUNC: the symbol is the resolver that picks the implementation at load. */
  readonly ifunc: boolean;
  /** The table it comes from. */
  readonly table: ".symtab" | ".dynsym";
  /** Its address (`st_value`). */
  readonly address: bigint;
  /** Its offset in the file, as a uprobe takes it. */
  readonly fileOffset: number;
}

/** `name`, `name@version` or `name@@version` of a function. */
export function functionLabel(f: ElfFunction): string {
  return f.version === undefined
    ? f.name
    : `${f.name}${f.defaultVersion ? "@@" : "@"}${f.version}`;
}

/** The names of the version definitions (`.gnu.version_d`), by index. */
function versionNames(file: ElfFile): Map<number, string> {
  const names = new Map<number, string>();
  const verdef = file.sections.find((s) => s.type === SHT.GNU_VERDEF);
  const strtab = verdef && file.sections[verdef.link];
  if (!verdef || !strtab) return names;
  const v = new DataView(
    verdef.data.buffer,
    verdef.data.byteOffset,
    verdef.size,
  );
  const le = file.byteOrder === "le";
  const str = (off: number) => {
    const start = strtab.offset + off;
    const end = file.bytes.indexOf(0, start);
    return new TextDecoder().decode(file.bytes.subarray(start, end));
  };
  // Each Elf64_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16,
  // vd_hash u32, vd_aux u32, vd_next u32; its first Verdaux names it.
  for (let at = 0, n = 0; at + 20 <= verdef.size && n < verdef.info; n++) {
    const ndx = v.getUint16(at + 4, le);
    const aux = v.getUint32(at + 12, le);
    const next = v.getUint32(at + 16, le);
    if (at + aux + 8 <= verdef.size) {
      const nameOff = v.getUint32(at + aux, le);
      if (nameOff < strtab.size) names.set(ndx, str(nameOff));
    }
    if (next === 0) break;
    at += next;
  }
  return names;
}

/** The file offset of `sym`, from its section (libbpf's way), or undefined. */
function fileOffsetOf(
  sym: ElfSymbol,
  sections: readonly ElfSection[],
): number | undefined {
  const sec = sections[sym.sectionIndex];
  if (!sec || sym.value < sec.addr) return undefined;
  return Number(sym.value - sec.addr) + sec.offset;
}

/**
 * Every defined function or IFUNC named `name` (a version after "@" or "@@"
 * is taken off before comparing) in `.symtab` and `.dynsym`.
 */
export function findFunctions(file: ElfFile, name: string): ElfFunction[] {
  const bare = name.split("@")[0]!;
  const out: ElfFunction[] = [];
  const isFunction = (s: ElfSymbol) =>
    (s.type === STT.FUNC || s.type === STT.GNU_IFUNC) &&
    s.sectionIndex !== SHN.UNDEF &&
    s.sectionIndex < SHN.LORESERVE;
  for (const s of file.symbols) {
    if (!isFunction(s)) continue;
    // A linked file's .symtab spells a versioned definition "name@@VER".
    const at = s.name.indexOf("@");
    if ((at < 0 ? s.name : s.name.slice(0, at)) !== bare) continue;
    const offset = fileOffsetOf(s, file.sections);
    if (offset === undefined) continue;
    const version = at < 0 ? undefined : s.name.slice(at).replace(/^@@?/, "");
    out.push({
      name: bare,
      version,
      defaultVersion: at < 0 || s.name.startsWith("@@", at),
      weak: s.bind === STB.WEAK,
      ifunc: s.type === STT.GNU_IFUNC,
      table: ".symtab",
      address: s.value,
      fileOffset: offset,
    });
  }
  const dynsym = file.sections.find((s) => s.type === SHT.DYNSYM);
  if (!dynsym) return out;
  const syms = readSymbolTable(file, dynsym);
  const versym = file.sections.find((s) => s.type === SHT.GNU_VERSYM);
  const names = versym ? versionNames(file) : new Map<number, string>();
  const le = file.byteOrder === "le";
  for (const s of syms) {
    if (s.name !== bare || !isFunction(s)) continue;
    const offset = fileOffsetOf(s, file.sections);
    if (offset === undefined) continue;
    let version: string | undefined;
    let hidden = false;
    if (versym && (s.index + 1) * 2 <= versym.size) {
      const word = new DataView(
        versym.data.buffer,
        versym.data.byteOffset,
        versym.size,
      ).getUint16(s.index * 2, le);
      hidden = (word & VERSYM_HIDDEN) !== 0;
      // Indices 0 and 1 are local and global: no version of their own.
      version = names.get(word & 0x7fff);
      if ((word & 0x7fff) <= 1) version = undefined;
    }
    out.push({
      name: bare,
      version,
      defaultVersion: !hidden,
      weak: s.bind === STB.WEAK,
      ifunc: s.type === STT.GNU_IFUNC,
      table: ".dynsym",
      address: s.value,
      fileOffset: offset,
    });
  }
  return out;
}
