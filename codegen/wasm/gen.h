/*
 * The type generator in C, compiled to WebAssembly (scripts/build-wasm.sh):
 * a port of codegen/types.ts and what it uses, for the whole-BTF case of
 * `tsbpf-gen types` (no --type, no --import, a base BTF). Its output is
 * byte for byte the TypeScript generator's; test/pure/codegen_wasm.test.ts
 * compares the two. Whatever this port does not handle (a name that is not
 * a plain ASCII identifier, hostile or unusual BTF) ends in gen_bail(): the
 * module traps and the caller runs the TypeScript generator instead, which
 * stays the reference.
 *
 * No libc: freestanding clang, wasm32. Memory comes from a bump allocator
 * that never frees (one run per instance).
 */
#ifndef TSBPF_GEN_H
#define TSBPF_GEN_H

#include <stddef.h>
#include <stdint.h>

/* BTF kind numbers, as src/btf/wire.ts KIND. */
enum {
  K_VOID = 0,
  K_INT = 1,
  K_PTR = 2,
  K_ARRAY = 3,
  K_STRUCT = 4,
  K_UNION = 5,
  K_ENUM = 6,
  K_FWD = 7,
  K_TYPEDEF = 8,
  K_VOLATILE = 9,
  K_CONST = 10,
  K_RESTRICT = 11,
  K_FUNC = 12,
  K_FUNC_PROTO = 13,
  K_VAR = 14,
  K_DATASEC = 15,
  K_FLOAT = 16,
  K_DECL_TAG = 17,
  K_TYPE_TAG = 18,
  K_ENUM64 = 19,
};

/* isDeclarableKind (codegen/naming.ts): struct, union, enum, enum64. */
static inline int is_declarable_kind(int k) {
  return k == K_STRUCT || k == K_UNION || k == K_ENUM || k == K_ENUM64;
}

/* A struct or union (a class, with members). */
static inline int is_composite_kind(int k) {
  return k == K_STRUCT || k == K_UNION;
}

/* Stops the run: the module traps, the caller falls back to TypeScript. */
#define gen_bail() __builtin_trap()

/* --- util.c ------------------------------------------------------------ */

/* `n` bytes, 16-aligned, zeroed (fresh memory is zero). Never freed. */
void *gen_alloc(uint32_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
/*
 * -ffreestanding makes every memcpy a call (memory.copy, a call into the
 * engine), even of a constant size: through the builtin, copies of a
 * known size become loads and stores.
 */
#define memcpy(d, s, n) __builtin_memcpy(d, s, n)
#define memcmp(a, b, n) __builtin_memcmp(a, b, n)

/* A growable byte buffer: ByteOut (codegen/output.ts) without a sink. */
typedef struct {
  uint8_t *buf;
  uint32_t pos;
  uint32_t cap;
} Bytes;

void bytes_init(Bytes *b, uint32_t cap);
/* Room for `n` more bytes at b->pos (re-read b->buf after it). */
void bytes_reserve(Bytes *b, uint32_t n);
/* bytes_reserve, inline when there is room already (the common case). */
static inline void bytes_room(Bytes *b, uint32_t n) {
  if (b->cap - b->pos < n) bytes_reserve(b, n);
}
void bytes_byte(Bytes *b, uint8_t c);
/* Appends `n` bytes (by copy_bytes: short runs without memory.copy's call). */
void bytes_put(Bytes *b, const uint8_t *src, uint32_t n);
/*
 * Appends a string literal, inline: with its constant length the copy
 * becomes a few stores (no call).
 */
#define LIT(b, s) bytes_lit_n((b), (const uint8_t *)(s), sizeof(s) - 1)
static inline __attribute__((always_inline)) void
bytes_lit_n(Bytes *b, const uint8_t *s, uint32_t n) {
  bytes_room(b, n);
  __builtin_memcpy(b->buf + b->pos, s, n);
  b->pos += n;
}
/*
 * Copies `n` bytes (no overlap), reading and writing only those: short
 * runs by words, not memcpy (memory.copy, a call into the engine).
 */
void copy_bytes(uint8_t *d, const uint8_t *s, uint32_t n);
/*
 * Copies `n` bytes 8 at a time, inline, writing and reading up to 7 bytes
 * past the ends: the caller has reserved the room, and the source must
 * have 7 readable bytes after it (a name in the string section or in a
 * names buffer, which later allocations follow, or the snippets, which
 * keep room after them). For names and a field's runs: no call, no branch
 * on the length but the loop's.
 */
static inline void copy_over(uint8_t *d, const uint8_t *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i += 8) {
    uint64_t x;
    __builtin_memcpy(&x, s + i, 8);
    __builtin_memcpy(d + i, &x, 8);
  }
}
/* The length of NUL-terminated `s` (no libc strlen here). */
static inline uint32_t str_len(const char *s) {
  uint32_t n = 0;
  while (s[n]) n++;
  return n;
}
/* A NUL-terminated ASCII literal. */
void bytes_lit(Bytes *b, const char *s);
/* A non-negative integer in decimal (as ByteOut.int / putUint). */
void bytes_uint(Bytes *b, uint32_t n);
/* Writes the decimal digits of `n` at `p`; returns the position after. */
uint32_t put_uint(uint8_t *buf, uint32_t p, uint32_t n);

/* IDENT of codegen/naming.ts: 1 may start a plain name, 2 may only follow. */
extern const uint8_t IDENT[256];

/* --- graph.c: codegen/type_graph.ts (RawGraph, its `flat`) -------------- */

/*
 * The graph as arrays indexed by type id (0..count) and member index: the
 * `Flat` of codegen/type_graph.ts, with the same contents as
 * RawGraph.buildFlat gives (flat_read indexes the records itself, as
 * indexTypes does). `strings` is the string section: a name offset
 * indexes it directly.
 */
typedef struct {
  int32_t count;
  int8_t *kind;
  int32_t *name;
  uint32_t *size;
  int32_t *ref;
  uint32_t *len;
  int32_t *vlen;
  uint8_t *flag;
  int32_t *intInfo;
  int32_t *first;
  int32_t *mName;
  uint32_t *mType;
  uint32_t *mBitOff;
  uint8_t *mBitSize;
  int32_t members;
  const uint8_t *strings;
  uint32_t stringsLen;
  /*
   * The type section words and record offsets: function prototypes'
   * parameters, which the arrays leave out, are read from them
   * (TypeGraph.paramType/paramName).
   */
  const uint32_t *words;
  uint32_t nWords;
  const uint32_t *offsets;
  /* RawGraph.wanted(), found by flat_read: see flat_wanted. */
  int32_t *wanted;
  int32_t nWanted;
} Flat;

/*
 * The Flat of a little-endian base BTF blob (`len` bytes): validates what
 * rawBtf does past the header (bails where TypeScript would throw), indexes
 * the type records, builds the arrays and sets words, nWords and offsets.
 */
void flat_read(Flat *f, const uint8_t *btf, uint32_t len);
/* RawGraph.wanted(): the struct, union, enum, enum64, typedef and var ids,
   ascending; their number goes to *n. */
const int32_t *flat_wanted(const Flat *f, int32_t *n);

/* --- naming.c: codegen/naming.ts (CNames, nameTable) -------------------- */

typedef struct {
  Bytes out;       /* the names' bytes, back to back, 8 spare after */
  int32_t *off;    /* per id: start in out.buf, -1 when none */
  int32_t *len;    /* per id: length */
  uint8_t *plain;  /* per id: 1 for a plain ASCII identifier */
  int32_t *declarable; /* struct/union/enum ids, ascending */
  int32_t nDeclarable;
  int32_t *order;      /* the declarables as sort_by_name orders them */
  int32_t *typedefs;   /* named typedef ids, ascending */
  int32_t nTypedefs;
} CNames;

/*
 * nameTable. Every name it keeps is ASCII: one that is not a plain
 * identifier (plain[id] 0: bpf_printk's `func.____fmt` vars, the anonymous
 * types named after them, odd names in an all-ASCII string section) has
 * its bytes as TS's string has them; the emitter must take TS's string
 * paths for those (propertyKey, JSON.stringify, docText...) or bail.
 */
void name_table(const Flat *f, CNames *names);
/* names.compare / names.same: byte order, which is string order for ASCII. */
int32_t cnames_compare(const CNames *n, int32_t a, int32_t b);
int cnames_same(const CNames *n, int32_t a, int32_t b);

/* --- name_sort.c: codegen/name_sort.ts ---------------------------------- */

/* `ids` sorted by (C name, kind rank, id), as sortByName: a new array. */
int32_t *sort_by_name(const int32_t *ids, int32_t n, const CNames *names,
                      const int8_t *kind);
/* Two lists sorted so, merged into a new one. */
int32_t *merge_by_name(const int32_t *a, int32_t na, const int32_t *b,
                       int32_t nb, const CNames *names, const int8_t *kind);

/* --- type_names.c: codegen/type_names.ts (TypeNames) -------------------- */

typedef struct {
  uint8_t *bytes; /* may move as it grows: keep offsets, not pointers */
  uint32_t end;
  uint32_t cap;
  uint32_t at; /* where the last pascal/claim put its name */
  uint32_t n;  /* its length */
  int32_t *slotOff;
  int32_t *slotLen;
  int32_t *slotHash;
  uint8_t *slotFlags;
  uint32_t slots;
  uint32_t used;
} TypeNames;

void tn_init(TypeNames *t);
void tn_pascal(TypeNames *t, const CNames *names, int32_t id);
void tn_claim(TypeNames *t, int composite);
int tn_try_claim(TypeNames *t);

/* --- member_types.c: codegen/member_types.ts, codegen/access.ts -------- */

/* An Access (codegen/access.ts): TypeScript type and field-table spec. */
typedef struct {
  const uint8_t *t;
  uint32_t tLen;
  const uint8_t *code;
  uint32_t codeLen;
  /* Its whole-member snippets in MemberTypes.snips (tailEnd 0: none yet). */
  uint32_t tail, tailEnd, code0, codeEnd;
} Access;

/* The record of a member type id: MemberTypes.info's INFO numbers. */
typedef struct {
  uint32_t pre, preEnd; /* PRE: the doc start, "  / ** `<C spelling>` @" */
  int32_t r;            /* what it resolves to, -1 if nothing */
  int32_t intBits;      /* an int's bits, else -1 */
  int32_t intOff;
  int32_t intSize; /* at most 64 */
  /* 1 when the int's encoding makes any field of this type a bitfield. */
  int32_t intBitfield;
  /* Start and end pairs, adjacent: a reader may load each as one word. */
  uint32_t tail, tailEnd; /* ": <type>;\n" */
  uint32_t code, codeEnd; /* "<spec>," */
} TypeInfo;

typedef struct {
  const Flat *f;
  Bytes snips;
  TypeInfo **slot; /* per id 0..count + 1 (count + 1: invalid) */
  Access **access; /* accessOf's memo, per id 0..count */
  TypeInfo *pool;  /* where the next record goes */
  uint32_t poolLeft;
} MemberTypes;

void mt_init(MemberTypes *mt, const Flat *f);
/* typeInfo: the record of member type `t` (count + 1: invalid), made once. */
TypeInfo *mt_type_info(MemberTypes *mt, uint32_t t);
static inline TypeInfo *mt_info(MemberTypes *mt, uint32_t t) {
  TypeInfo *ti = mt->slot[t];
  return ti ? ti : mt_type_info(mt, t);
}
/* Follows typedefs and qualifiers; -1 if the chain loops or breaks. */
int32_t mt_resolve(const Flat *f, uint32_t id);
const Access *mt_access_of(MemberTypes *mt, int32_t t, int depth);
/* The access of a bitfield, written into `a` (its text in `buf`, 48 bytes). */
void mt_bitfield(MemberTypes *mt, int32_t t, uint32_t shift, uint32_t bits,
                 Access *a, uint8_t *buf);
double mt_size_of_resolved(MemberTypes *mt, int32_t t, int depth);
/* Appends spellingOrUnknown(id) (docText'd: only plain names, else bail). */
void mt_spelling_or_unknown(MemberTypes *mt, int32_t id, Bytes *out);

/* --- types.c: codegen/types.ts ------------------------------------------ */

/*
 * MemberTypes' classOf: the class name of struct/union `id` when it is
 * declared (its length; *name points into the TypeNames bytes), else 0.
 */
uint32_t gen_class_of(int32_t id, const uint8_t **name);

/*
 * The module body after the prelude, in two buffers (initialized here):
 * `out` gets the classes, enums and aliases, `tables` what follows them
 * (the "// Sizes..." line, the $def calls and "$install();\n"; nothing when
 * there is no $def).
 */
void generate(const Flat *f, Bytes *out, Bytes *tables);

#endif
