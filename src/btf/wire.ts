/**
 * The BTF wire format, as defined by the kernel's include/uapi/linux/btf.h:
 * header layout, kind numbers and the size of each kind's trailing data.
 * Every record in the type section is made of 32-bit words, which lets the
 * parser treat the section as one `Uint32Array`. A record's `info` word
 * holds vlen in bits 0-15, the kind in bits 24-28 and kind_flag in bit 31;
 * the parser's hot loops read them inline (`(info >>> 24) & 0x1f`).
 */

/** `BTF_MAGIC`, read in the file's byte order. */
export const BTF_MAGIC = 0xeb9f;
/** The only BTF version there is. */
export const BTF_VERSION = 1;
/** Size of `struct btf_header` as of version 1 (newer headers may be longer). */
export const HEADER_SIZE = 24;
/** Size of `struct btf_type` in bytes (name_off, info, size/type). */
export const TYPE_SIZE = 12;
/** Largest type id the kernel accepts (`BTF_MAX_TYPE`). */
export const MAX_TYPE = 0x000fffff;
/** Largest vlen (`BTF_MAX_VLEN`). */
export const MAX_VLEN = 0xffff;

/** `BTF_KIND_*` numbers. */
export const KIND = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** Highest kind number this reader knows. */
export const MAX_KIND = KIND.ENUM64;

/** Kind names in the model's spelling, indexed by kind number. */
export const KIND_NAMES = [
  "void",
  "int",
  "ptr",
  "array",
  "struct",
  "union",
  "enum",
  "fwd",
  "typedef",
  "volatile",
  "const",
  "restrict",
  "func",
  "func_proto",
  "var",
  "datasec",
  "float",
  "decl_tag",
  "type_tag",
  "enum64",
] as const;

/** Size of a BTF_KIND_INT's extra word. */
export const INT_SIZE = 4;
/** `BTF_INT_ENCODING` flags. */
export const INT_SIGNED = 1;
/** `BTF_INT_CHAR`. */
export const INT_CHAR = 2;
/** `BTF_INT_BOOL`. */
export const INT_BOOL = 4;
/** `struct btf_array`: type, index_type, nelems. */
export const ARRAY_SIZE = 12;
/** `struct btf_member`: name_off, type, offset. */
export const MEMBER_SIZE = 12;
/** `struct btf_enum`: name_off, val. */
export const ENUM_SIZE = 8;
/** `struct btf_enum64`: name_off, val_lo32, val_hi32. */
export const ENUM64_SIZE = 12;
/** `struct btf_param`: name_off, type. */
export const PARAM_SIZE = 8;
/** `struct btf_var`: linkage. */
export const VAR_SIZE = 4;
/** `struct btf_var_secinfo`: type, offset, size. */
export const SECINFO_SIZE = 12;
/** `struct btf_decl_tag`: component_idx. */
export const DECL_TAG_SIZE = 4;

/**
 * Bytes that follow the 12-byte `btf_type` for a kind with `vlen` entries,
 * or -1 for an unknown kind.
 */
export function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case KIND.INT:
      return INT_SIZE;
    case KIND.ARRAY:
      return ARRAY_SIZE;
    case KIND.STRUCT:
    case KIND.UNION:
      return vlen * MEMBER_SIZE;
    case KIND.ENUM:
      return vlen * ENUM_SIZE;
    case KIND.ENUM64:
      return vlen * ENUM64_SIZE;
    case KIND.FUNC_PROTO:
      return vlen * PARAM_SIZE;
    case KIND.VAR:
      return VAR_SIZE;
    case KIND.DATASEC:
      return vlen * SECINFO_SIZE;
    case KIND.DECL_TAG:
      return DECL_TAG_SIZE;
    case KIND.PTR:
    case KIND.FWD:
    case KIND.TYPEDEF:
    case KIND.VOLATILE:
    case KIND.CONST:
    case KIND.RESTRICT:
    case KIND.FUNC:
    case KIND.FLOAT:
    case KIND.TYPE_TAG:
      return 0;
    default:
      return -1;
  }
}

/** Linkage names of FUNC (vlen) and VAR (`btf_var.linkage`), by value. */
export const LINKAGE = ["static", "global", "extern"] as const;
