/**
 * What `BpfObject.open` checks in an object's bytes before libbpf sees
 * them. libbpf 1.1 trusts an object's BTF: a type id that points nowhere
 * (a corrupt or truncated file) crashes `bpf_object__open` with SIGSEGV.
 * tsbpf's own readers check the ELF and every BTF type first.
 */
import { Btf } from "./btf/btf.ts";
import { describeElf } from "./elf/describe.ts";
import { readElf } from "./elf/reader.ts";
import { BtfError, ElfError } from "./errors.ts";

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const REBUILD = "rebuild it: clang -g -O2 -target bpf -c prog.bpf.c";

/** Throws ElfError/BtfError (naming `source`) for bytes libbpf must not open. */
export function checkObjectBytes(bytes: Uint8Array, source: string): void {
  if (bytes.length < 4 || ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ElfError(`${source} is not an ELF file (no \\x7fELF magic)`, {
      offset: 0,
      hint: "pass a BPF object compiled with clang -g -O2 -target bpf -c prog.bpf.c",
    });
  }
  checkBpfHeader(bytes, source);
  let elf;
  try {
    elf = readElf(bytes);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    throw new ElfError(`${source}: ${bare(e)}`, {
      offset: e.offset,
      hint: `the object file is damaged or truncated: ${REBUILD}`,
      cause: e,
    });
  }
  if (!elf.section(".BTF")) {
    // libbpf reads SEC(".maps") and SEC(".struct_ops") definitions from
    // BTF: without it, its open fails with ENOENT ("BTF is required") or
    // EINVAL, and no word of -g.
    const needs = [".maps", ".struct_ops", ".struct_ops.link"].filter((n) =>
      elf.section(n),
    );
    if (needs.length) {
      throw new BtfError(
        `${source} has no BTF (no .BTF section), which its ${needs.map((n) => `SEC("${n}")`).join(" and ")} definitions need`,
        {
          hint: "compile it with -g (clang -g -O2 -target bpf -c prog.bpf.c): -g gives the object its BTF",
        },
      );
    }
    return;
  }
  try {
    Btf.fromElf(elf, { source }).checkAll();
  } catch (e) {
    if (!(e instanceof BtfError)) throw e;
    throw new BtfError(`${source}: its BTF is corrupt: ${bare(e)}`, {
      offset: e.offset,
      hint: `libbpf would crash on it; ${REBUILD}`,
      cause: e,
    });
  }
}

/** e_machine EM_BPF and e_type ET_REL (elf.h). */
const EM_BPF = 247;
const ET_REL = 1;

/** A BPF object is a relocatable ELF64 for EM_BPF: say so for anything else. */
function checkBpfHeader(bytes: Uint8Array, source: string): void {
  if (bytes.length < 20) return; // readElf reports the truncation
  const le = bytes[5] !== 2;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = v.getUint16(16, le);
  const machine = v.getUint16(18, le);
  if (machine !== EM_BPF || type !== ET_REL || bytes[4] !== 2) {
    const what =
      machine !== EM_BPF
        ? `${describeElf({ machine, type })}, not a BPF object`
        : type !== ET_REL
          ? `a BPF ELF file of type ${type}, not a relocatable object (ET_REL)`
          : "a 32-bit ELF file; BPF objects are ELF64";
    throw new ElfError(`${source} is ${what}`, {
      offset: 0,
      hint: "pass a BPF object compiled with clang -g -O2 -target bpf -c prog.bpf.c",
    });
  }
}

/** An error's message without its hint line and offset suffix (re-added by the wrapper). */
function bare(e: Error): string {
  return e.message
    .split("\n")[0]!
    .replace(/ \(at (BTF )?byte offset \d+\)$/, "");
}
