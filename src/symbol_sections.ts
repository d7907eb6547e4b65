/**
 * An ELF file's symbols without reading all of it: a binary can be 100 MB
 * (bun, deno), its symbol tables a few. For uprobe targets and the
 * functions of a process's mapped files.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { isElf } from "./elf/reader.ts";
import { SHT } from "./elf/types.ts";

/** Section types {@link readSymbolSections} reads: symbols, names, versions. */
const SYMBOL_SECTIONS: ReadonlySet<number> = new Set([
  SHT.SYMTAB,
  SHT.DYNSYM,
  SHT.STRTAB,
  SHT.GNU_VERSYM,
  SHT.GNU_VERDEF,
]);

/**
 * The bytes of an ELF64 file with only its headers and symbol, string and
 * version sections read in, the rest left zero: a binary can be 100 MB, its
 * symbols a few (the engines allocate a large zeroed buffer lazily).
 */
export function readSymbolSections(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(size);
    const read = (off: number, len: number) => {
      if (off >= 0 && len > 0 && off + len <= size)
        readSync(fd, bytes, off, len, off);
    };
    read(0, Math.min(64, size));
    if (!isElf(bytes) || bytes[4] !== 2 || size < 64) return bytes;
    const v = new DataView(bytes.buffer);
    const le = bytes[5] === 1;
    const shoff = Number(v.getBigUint64(40, le));
    const shentsize = v.getUint16(58, le);
    const shnum = v.getUint16(60, le);
    if (shnum === 0 || shentsize < 64) {
      read(64, size - 64); // extended numbering: read it all
      return bytes;
    }
    read(shoff, shnum * shentsize);
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * shentsize;
      if (at + 64 > size) break;
      if (!SYMBOL_SECTIONS.has(v.getUint32(at + 4, le))) continue;
      read(
        Number(v.getBigUint64(at + 24, le)),
        Number(v.getBigUint64(at + 32, le)),
      );
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
