/**
 * Recognises a C source file given where a compiled BPF object belongs
 * (`tsbpf-gen skeleton prog.bpf.c`), to say how to build the object.
 *
 * @module
 */

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/**
 * When `bytes` (read from `file`) look like C source rather than an ELF
 * object: the message to show, naming the clang command that builds it and
 * the `tsbpf-gen` command to run then. Otherwise undefined.
 */
export function cSourceMessage(
  bytes: Uint8Array,
  file: string,
  command: string,
): string | undefined {
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) return undefined;
  // Text: no NUL byte in the first 4 KiB (an ELF or BTF file has many).
  const head = bytes.subarray(0, 4096);
  if (head.length === 0 || head.includes(0)) return undefined;
  const text = new TextDecoder().decode(head);
  const named = /\.(c|h)$/.test(file);
  if (!named && !/^\s*#\s*include\b|\bSEC\s*\(/m.test(text)) return undefined;
  const obj = file.replace(/\.c$/, "") + ".o";
  return (
    `${file} is C source, not a compiled BPF object: build it first: ` +
    `clang -g -O2 -target bpf -c ${file} -o ${obj} ` +
    `(on Debian/Ubuntu add -I/usr/include/$(uname -m)-linux-gnu if <asm/types.h> is not found), ` +
    `then run 'tsbpf-gen ${command} ${obj}'`
  );
}
