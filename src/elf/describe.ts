/**
 * What an ELF file is, in words, for errors about input that is ELF but not
 * a BPF object (an executable, a kernel module, a host object file).
 */
import { EM_BPF, type ElfHeader } from "./types.ts";

const MACHINES: Record<number, string> = {
  3: "an x86",
  40: "an ARM",
  62: "an x86-64",
  183: "an AArch64",
  243: "a RISC-V",
  [EM_BPF]: "a BPF",
};

const TYPES: Record<number, string> = {
  1: "object file",
  2: "executable",
  3: "executable or shared object",
  4: "core dump",
};

/** E.g. "an x86-64 executable or shared object", "a BPF object file". */
export function describeElf(
  header: Pick<ElfHeader, "machine" | "type">,
): string {
  const machine = MACHINES[header.machine] ?? `a machine ${header.machine}`;
  const type = TYPES[header.type] ?? `ELF file of type ${header.type}`;
  return `${machine} ${type}`;
}
