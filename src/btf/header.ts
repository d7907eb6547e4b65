/**
 * The BTF header: byte order from the magic, and the header's fields
 * checked against the blob's size. Kept apart from parse.ts so that what
 * only needs the header (tsbpf-gen on its wasm path) loads nothing else.
 */
import { BtfError } from "../errors.ts";
import type { ByteOrder } from "../elf/types.ts";
import { BTF_MAGIC, BTF_VERSION, HEADER_SIZE } from "./wire.ts";

/** The fields of `struct btf_header` (offsets relative to the header's end). */
export interface BtfHeader {
  readonly magic: number;
  readonly version: number;
  readonly flags: number;
  /** Header length in bytes (24, or more for newer kernels). */
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}

/** Detects the byte order of a BTF blob from its magic, or undefined when not BTF. */
export function btfByteOrder(bytes: Uint8Array): ByteOrder | undefined {
  if (bytes.length < 2) return undefined;
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) return "le";
  if (bytes[0] === 0xeb && bytes[1] === 0x9f) return "be";
  return undefined;
}

/** Reads and validates the header of a BTF blob. */
export function readHeader(bytes: Uint8Array): {
  header: BtfHeader;
  byteOrder: ByteOrder;
} {
  const byteOrder = btfByteOrder(bytes);
  if (!byteOrder) {
    throw new BtfError(
      `not BTF: expected magic 0x${BTF_MAGIC.toString(16)} (9f eb or eb 9f), found ${Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, "0")).join(" ") || "nothing"}`,
      { offset: 0 },
    );
  }
  if (bytes.length < HEADER_SIZE) {
    throw new BtfError(
      `truncated BTF: expected a ${HEADER_SIZE}-byte header, the input is ${bytes.length} bytes`,
      { offset: 0 },
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = byteOrder === "le";
  const header: BtfHeader = {
    magic: BTF_MAGIC,
    version: bytes[2],
    flags: bytes[3],
    hdrLen: v.getUint32(4, le),
    typeOff: v.getUint32(8, le),
    typeLen: v.getUint32(12, le),
    strOff: v.getUint32(16, le),
    strLen: v.getUint32(20, le),
  };
  if (header.version !== BTF_VERSION) {
    throw new BtfError(
      `unsupported BTF version ${header.version}: expected ${BTF_VERSION}`,
      {
        offset: 2,
      },
    );
  }
  if (header.hdrLen < HEADER_SIZE || header.hdrLen > bytes.length) {
    throw new BtfError(
      `BTF header length ${header.hdrLen}: expected at least ${HEADER_SIZE} and within the ${bytes.length}-byte input`,
      { offset: 4 },
    );
  }
  const body = bytes.length - header.hdrLen;
  if (header.typeOff % 4 !== 0 || header.typeLen % 4 !== 0) {
    throw new BtfError(
      `type section (offset ${header.typeOff}, length ${header.typeLen}) is not 4-byte aligned`,
      { offset: 8 },
    );
  }
  if (header.typeOff + header.typeLen > body) {
    throw new BtfError(
      `type section (offset ${header.typeOff}, length ${header.typeLen}) extends past the end of the BTF data (${body} bytes after the header)`,
      { offset: 8 },
    );
  }
  if (header.strOff + header.strLen > body) {
    throw new BtfError(
      `string section (offset ${header.strOff}, length ${header.strLen}) extends past the end of the BTF data (${body} bytes after the header)`,
      { offset: 16 },
    );
  }
  return { header, byteOrder };
}
