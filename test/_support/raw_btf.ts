/**
 * Raw BTF bytes from type words and a string section, little-endian: for
 * tests that need BTF the builder would not write, such as a module's
 * split BTF whose names continue its base's strings.
 */
export function rawBtfBytes(
  words: readonly number[],
  strings: Uint8Array,
): Uint8Array {
  const bytes = new Uint8Array(24 + words.length * 4 + strings.length);
  const v = new DataView(bytes.buffer);
  v.setUint16(0, 0xeb9f, true); // magic
  v.setUint8(2, 1); // version
  v.setUint32(4, 24, true); // hdr_len
  v.setUint32(12, words.length * 4, true); // type_len (type_off 0)
  v.setUint32(16, words.length * 4, true); // str_off
  v.setUint32(20, strings.length, true); // str_len
  words.forEach((w, i) => v.setUint32(24 + 4 * i, w, true));
  bytes.set(strings, 24 + words.length * 4);
  return bytes;
}
