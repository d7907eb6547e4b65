/**
 * Corrupts a BPF object the way that crashes libbpf 1.1's
 * `bpf_object__open`: the first BTF VAR's type id is moved past the last
 * type (a dangling reference).
 */
import { indexTypes, readHeader, typeWords } from "../../src/btf/parse.ts";
import { KIND } from "../../src/btf/wire.ts";
import { readElf } from "../../src/elf/reader.ts";

/** A copy of a little-endian object's bytes with a dangling VAR type id. */
export function withDanglingVar(object: Uint8Array): Uint8Array {
  const bytes = object.slice();
  const sec = readElf(bytes).section(".BTF")!;
  const btf = bytes.subarray(sec.offset, sec.offset + sec.data.length);
  const { header, byteOrder } = readHeader(btf);
  const words = typeWords(btf, header, byteOrder);
  const offsets = indexTypes(words, header.hdrLen + header.typeOff);
  for (const pos of offsets) {
    if (((words[pos + 1]! >>> 24) & 0x1f) !== KIND.VAR) continue;
    const at = header.hdrLen + header.typeOff + (pos + 2) * 4;
    const v = new DataView(btf.buffer, btf.byteOffset);
    v.setUint32(at, v.getUint32(at, true) + offsets.length + 256, true);
    return bytes;
  }
  throw new Error("no BTF VAR in the object");
}

/**
 * A copy of a little-endian ELF64 object whose `.BTF` section is renamed
 * `BTF` (its sh_name moved one byte on): an object built without `-g`, as
 * libbpf sees it (`.BTF.ext` without `.BTF` is ignored).
 */
export function withoutBtf(object: Uint8Array): Uint8Array {
  const bytes = object.slice();
  const v = new DataView(bytes.buffer);
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const strtab = shoff + v.getUint16(0x3e, true) * shentsize;
  const names = Number(v.getBigUint64(strtab + 0x18, true));
  const btf = new TextEncoder().encode(".BTF\0");
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const name = names + v.getUint32(at, true);
    if (btf.every((b, j) => bytes[name + j] === b)) {
      v.setUint32(at, v.getUint32(at, true) + 1, true);
      return bytes;
    }
  }
  throw new Error("no .BTF section in the object");
}
