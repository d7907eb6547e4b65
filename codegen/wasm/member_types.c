/*
 * Port of codegen/member_types.ts (MemberTypes) and what it uses of
 * codegen/access.ts: how each member type id looks in generated code,
 * worked out once per id. Its C spelling (the doc start), what it resolves
 * to through typedefs and qualifiers, its TypeScript type and field-table
 * spec (Access) and the snippets the generator copies for every field of
 * that type, kept in one byte buffer (snips).
 *
 * Names in a spelling must be plain identifiers (docText leaves them as
 * they are); anything else bails.
 */
#include <stdarg.h>

#include "gen.h"

/* Longest typedef/qualifier chain followed (hostile BTF may loop). */
#define MAX_HOPS 64
/* Most array dimensions mapped to views (hostile BTF may loop). */
#define MAX_DIMS 16
/* Deepest C spelling spell_into writes itself. */
#define MAX_SPELLING 8
/* src/btf/spelling.ts's bounds of the string path. */
#define MAX_SPELLING_STEPS 256
#define MAX_SPELLING_NESTING 8

/* Typedef and qualifier kinds, as bits: what mt_resolve follows. */
#define QUALIFIERS                                                    \
  ((1u << K_TYPEDEF) | (1u << K_CONST) | (1u << K_VOLATILE) |         \
   (1u << K_RESTRICT) | (1u << K_TYPE_TAG))

/* src/btf/wire.ts KIND_NAMES. */
static const char *const KIND_NAMES[20] = {
    "void",     "int",   "ptr",      "array",    "struct",   "union",
    "enum",     "fwd",   "typedef",  "volatile", "const",    "restrict",
    "func",     "func_proto", "var", "datasec",  "float",    "decl_tag",
    "type_tag", "enum64",
};

/* KIND_NAMES[k]; a kind past them (indexTypes refuses those) bails. */
static const char *kind_name(int k) {
  if (k < 0 || k > K_ENUM64) gen_bail();
  return KIND_NAMES[k];
}


/* --- access.ts ---------------------------------------------------------- */

/* A new Access with the texts `t` and `code` (copied). */
static Access *access_new(const uint8_t *t, uint32_t tLen, const uint8_t *code,
                          uint32_t codeLen) {
  Access *a = gen_alloc(sizeof(Access) + tLen + codeLen);
  uint8_t *p = (uint8_t *)(a + 1);
  copy_bytes(p, t, tLen);
  copy_bytes(p + tLen, code, codeLen);
  a->t = p;
  a->tLen = tLen;
  a->code = p + tLen;
  a->codeLen = codeLen;
  return a;
}

static Access *access_lit(const char *t, const char *code) {
  return access_new((const uint8_t *)t, str_len(t), (const uint8_t *)code,
                    str_len(code));
}

/* Scalar accesses (SCALAR codes), made once per run. */
static Access *INTS[5][2]; /* sizes 1, 2, 4, 8, 16; unsigned, signed */
static Access *BOOL_ACCESS, *F32, *F64, *UNRESOLVED;

/* An access whose code is `"<letter><n>"` (the field's byte count). */
static Access *sized_access(const char *t, uint32_t tLen, uint8_t letter,
                            uint32_t n) {
  uint8_t code[16];
  uint32_t p = 0;
  code[p++] = '"';
  code[p++] = letter;
  p = put_uint(code, p, n);
  code[p++] = '"';
  return access_new((const uint8_t *)t, tLen, code, p);
}

/* rawAccess(n): `"r<n>"` bytes as a Uint8Array. */
static Access *raw_access(uint32_t n) {
  return sized_access("Uint8Array", 10, 'r', n);
}

static Access *int_access(uint32_t size, int sign) {
  switch (size) {
  case 1:
    return INTS[0][sign];
  case 2:
    return INTS[1][sign];
  case 4:
    return INTS[2][sign];
  case 8:
    return INTS[3][sign];
  case 16:
    return INTS[4][sign];
  }
  return raw_access(size);
}

static Access *float_access(uint32_t size) {
  return size == 4 ? F32 : size == 8 ? F64 : raw_access(size);
}

static Access *string_access(uint32_t n) {
  return sized_access("string", 6, 'c', n);
}

/* `$ArrayView<e.t>`, `[n,e.code]`: one allocation, written in place. */
static Access *array_access(uint32_t n, const Access *e) {
  uint32_t tLen = 11 + e->tLen + 1, codeMax = 1 + 10 + 1 + e->codeLen + 1;
  Access *a = gen_alloc(sizeof(Access) + tLen + codeMax);
  uint8_t *t = (uint8_t *)(a + 1);
  uint8_t *code = t + tLen;
  __builtin_memcpy(t, "$ArrayView<", 11);
  copy_bytes(t + 11, e->t, e->tLen);
  t[tLen - 1] = '>';
  uint32_t p = 0;
  code[p++] = '[';
  p = put_uint(code, p, n);
  code[p++] = ',';
  copy_bytes(code + p, e->code, e->codeLen);
  p += e->codeLen;
  code[p++] = ']';
  a->t = t;
  a->tLen = tLen;
  a->code = code;
  a->codeLen = p;
  return a;
}

/* bitfieldAccess into `a`, its texts in `buf`. */
static void bitfield_access(uint32_t shift, uint32_t bits, int sign, int wide,
                            int isBool, Access *a, uint8_t *buf) {
  const char *t = isBool ? "boolean" : wide ? "bigint" : "number";
  uint32_t tLen = str_len(t);
  copy_bytes(buf, (const uint8_t *)t, tLen);
  uint8_t *code = buf + tLen;
  uint32_t p = 0;
  code[p++] = '"';
  code[p++] = isBool ? 'B' : wide ? (sign ? 'I' : 'U') : sign ? 'i' : 'u';
  p = put_uint(code, p, shift);
  code[p++] = ':';
  p = put_uint(code, p, bits);
  code[p++] = '"';
  a->t = buf;
  a->tLen = tLen;
  a->code = code;
  a->codeLen = p;
  a->tailEnd = 0;
}

/* --- MemberTypes -------------------------------------------------------- */

void mt_init(MemberTypes *mt, const Flat *f) {
  mt->f = f;
  mt->pool = 0;
  mt->poolLeft = 0;
  // Room up front (vmlinux: 0.6 MB of snippets for 126k types): growing by
  // doubling would copy them and touch the pages of every smaller buffer.
  // Room never written costs nothing.
  bytes_init(&mt->snips, (uint32_t)f->count * 8 + (1 << 16));
  mt->slot = gen_alloc(((uint32_t)f->count + 2) * sizeof(TypeInfo *));
  mt->access = gen_alloc(((uint32_t)f->count + 1) * sizeof(Access *));
  static const char *const codes[5][2] = {
      {"0", "1"}, {"2", "3"}, {"4", "5"}, {"6", "7"}, {"11", "12"}};
  for (int i = 0; i < 5; i++)
    for (int s = 0; s < 2; s++)
      INTS[i][s] = access_lit(i < 3 ? "number" : "bigint", codes[i][s]);
  BOOL_ACCESS = access_lit("boolean", "10");
  F32 = access_lit("number", "8");
  F64 = access_lit("number", "9");
  UNRESOLVED = raw_access(0);
}

/* Kind of `id`; -1 for an invalid id (-1 itself is 0xffffffff here). */
static inline int kind_of(const Flat *f, uint32_t id) {
  return id <= (uint32_t)f->count ? f->kind[id] : -1;
}

int32_t mt_resolve(const Flat *f, uint32_t id) {
  for (int i = 0; i < MAX_HOPS; i++) {
    if (id > (uint32_t)f->count) return -1;
    int k = f->kind[id];
    if (k < 0) return -1;
    if (((QUALIFIERS >> k) & 1) == 0) return (int32_t)id;
    id = (uint32_t)f->ref[id];
  }
  return -1;
}

/* `id` past any type tags (bounded: hostile BTF may loop). */
static uint32_t untagged(const Flat *f, uint32_t id) {
  for (int i = 0; i < MAX_HOPS && kind_of(f, id) == K_TYPE_TAG; i++)
    id = (uint32_t)f->ref[id];
  return id;
}

/* True when `id` (past type tags) is a pointer to a function prototype. */
static int is_func_ptr(const Flat *f, uint32_t id) {
  uint32_t t = untagged(f, id);
  return kind_of(f, t) == K_PTR &&
         kind_of(f, untagged(f, (uint32_t)f->ref[t])) == K_FUNC_PROTO;
}

/* True when `id` (past type tags) is spelled by its name alone. */
static int named(const Flat *f, uint32_t id) {
  int k = kind_of(f, untagged(f, id));
  return k >= 0 && k != K_PTR && k != K_ARRAY && k != K_FUNC_PROTO &&
         !((QUALIFIERS >> k) & 1);
}

/* A named type, or one qualifier on one (`const char`). */
static int qualified_base(const Flat *f, uint32_t id) {
  uint32_t t = untagged(f, id);
  int k = kind_of(f, t);
  return k == K_CONST || k == K_VOLATILE || k == K_RESTRICT
             ? named(f, (uint32_t)f->ref[t])
             : named(f, t);
}

/* Bytes of a word: all 1s, all high bits. */
#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/* The high bit of each byte of 7-bit `x` that is `c`. */
static inline uint64_t is_byte(uint64_t x, uint8_t c) {
  uint64_t z = x ^ c * ONES;
  return ~((z + 0x7f * ONES) | z);
}

/*
 * The high bit of each byte of `w` that doc_length refuses (a NUL is one):
 * eight bytes tested at once, as 7-bit bytes (no addition carries into the
 * next byte; the high bits count as refused). A byte at a time was a
 * bounds-checked load and five compares per byte in the baseline tiers.
 */
static inline uint64_t not_doc(uint64_t w) {
  uint64_t x = w & ~HIGH;
  uint64_t control = ~(x + (0x80 - 0x20) * ONES); // x < 0x20
  return (w | control | is_byte(x, '@') | is_byte(x, '*') | is_byte(x, '/') |
          is_byte(x, 0x7f)) &
         HIGH;
}

/*
 * Length of the name at `off` when it is ASCII that docText leaves as it
 * is (no control character, `@`, and no `*` or `/`, which could make `*`
 * + `/` with the text around them), 0 for ""; -1 otherwise or when `off`
 * is past the string table.
 */
static int32_t doc_length(const Flat *f, uint32_t off) {
  if (off == 0) return 0;
  if (off >= f->stringsLen) return -1;
  // By whole 8-byte words (see not_doc): the section ends with a NUL, the
  // run's later allocations follow it.
  const uint8_t *p = f->strings + off;
  for (uint32_t i = 0;; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, p + i, 8);
    uint64_t bad = not_doc(w);
    if (bad == 0) continue;
    // The name ends at the first byte docText would change: a NUL.
    uint32_t k = (uint32_t)__builtin_ctzll(bad) >> 3;
    return (w >> (8 * k) & 0xff) == 0 ? (int32_t)(i + k) : -1;
  }
}

/*
 * A name of the string path (TypeGraph.name/paramName): names there need
 * not be identifiers (`unsigned long`); any other than doc_length's
 * bails, as does an offset the string table throws on.
 */
static uint32_t name_length(const Flat *f, uint32_t off) {
  int32_t n = doc_length(f, off);
  if (n < 0) gen_bail();
  return (uint32_t)n;
}

/* paramName(...) !== "": the string table throws past its end. */
static int param_named(const Flat *f, uint32_t off) {
  if (off == 0) return 0;
  if (off >= f->stringsLen) gen_bail();
  return f->strings[off] != 0;
}

/*
 * Word position of function prototype `fp`'s parameter `i` (name, type);
 * graph.c checks no record's parameters, so this does.
 */
static inline uint32_t param_pos(const Flat *f, uint32_t fp, uint32_t i) {
  uint32_t p = f->offsets[fp - 1] + 3 + 2 * i;
  if (p < 3 || p >= f->nWords || f->nWords - p < 2) gen_bail();
  return p;
}

/*
 * Appends the name of `id` (`anon` when it has none); false unless it is
 * one docText keeps. TypeScript's nameInto takes plain identifiers only,
 * leaving `unsigned int` (and pointers to it, arrays of it: a third of
 * vmlinux's member types) to the string path; for the names doc_length
 * takes both paths spell the same text, so here they stay on this one.
 */
static int name_into(MemberTypes *mt, uint32_t id, const char *anon) {
  const Flat *f = mt->f;
  uint32_t off = (uint32_t)f->name[id];
  int32_t n = doc_length(f, off);
  if (n < 0) return 0;
  if (n == 0) {
    bytes_lit(&mt->snips, anon);
    return 1;
  }
  // By whole words (memcpy is a call in the engines): up to 7 bytes over,
  // into the room reserved, from inside the string section.
  Bytes *b = &mt->snips;
  bytes_reserve(b, (uint32_t)n + 8);
  const uint8_t *src = f->strings + off;
  uint8_t *dst = b->buf + b->pos;
  for (uint32_t i = 0; i < (uint32_t)n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, src + i, 8);
    __builtin_memcpy(dst + i, &w, 8);
  }
  b->pos += (uint32_t)n;
  return 1;
}

static int spell_into(MemberTypes *mt, uint32_t id, int depth);

/*
 * Appends `ret (*)(params)` for a pointer to function prototype `fp` when
 * its return type and each (unnamed) parameter read left to right; false
 * otherwise (the string path spells the rest).
 */
static int func_ptr_into(MemberTypes *mt, uint32_t fp, int depth) {
  if (depth >= MAX_SPELLING) return 0;
  const Flat *f = mt->f;
  Bytes *snips = &mt->snips;
  // Returning a function pointer nests declarators: the string path.
  if (is_func_ptr(f, (uint32_t)f->ref[fp])) return 0;
  if (!spell_into(mt, (uint32_t)f->ref[fp], depth + 1)) return 0;
  if (snips->buf[snips->pos - 1] == '*')
    LIT(snips, "(*)(");
  else
    LIT(snips, " (*)(");
  uint32_t n = (uint32_t)f->vlen[fp];
  if (n == 0 || (n == 1 && f->words[param_pos(f, fp, 0) + 1] == 0)) {
    LIT(snips, "void)");
    return 1;
  }
  for (uint32_t i = 0; i < n; i++) {
    if (i > 0) LIT(snips, ", ");
    uint32_t p = param_pos(f, fp, i);
    uint32_t t = f->words[p + 1];
    if (i == n - 1 && t == 0)
      LIT(snips, "...");
    else if (param_named(f, f->words[p]) ||
             !spell_into(mt, t, depth + 1))
      return 0;
  }
  bytes_byte(snips, ')');
  return 1;
}

/*
 * Appends the C spelling of `id` to the snippets when it reads left to
 * right (a named type, pointers to one, a one-dimensional array of those)
 * and every name in it is a plain identifier; false otherwise (a
 * declarator such as `char **`, `int (*)(void)`, `__u32[3][4]`, or an
 * invalid reference), leaving the caller to reset and take the string path.
 */
static int spell_into(MemberTypes *mt, uint32_t id, int depth) {
  if (depth > MAX_SPELLING) return 0;
  const Flat *f = mt->f;
  Bytes *snips = &mt->snips;
  int k = kind_of(f, id);
  switch (k) {
  case -1:
    return 0;
  case K_VOID:
    LIT(snips, "void");
    return 1;
  case K_PTR:
    // Function pointers are most of vmlinux's declarators: kept on the
    // byte path.
    if (is_func_ptr(f, id))
      return func_ptr_into(mt, untagged(f, (uint32_t)f->ref[id]), depth);
    if (!qualified_base(f, (uint32_t)f->ref[id])) return 0;
    if (!spell_into(mt, (uint32_t)f->ref[id], depth + 1)) return 0;
    LIT(snips, " *");
    return 1;
  case K_ARRAY: {
    int e = kind_of(f, untagged(f, (uint32_t)f->ref[id]));
    if (e == K_ARRAY || e == K_FUNC_PROTO) return 0;
    if (is_func_ptr(f, (uint32_t)f->ref[id])) return 0; // void (*[2])(int)
    if (!spell_into(mt, (uint32_t)f->ref[id], depth + 1)) return 0;
    bytes_reserve(snips, 12);
    snips->buf[snips->pos++] = '[';
    snips->pos = put_uint(snips->buf, snips->pos, f->len[id]);
    snips->buf[snips->pos++] = ']';
    return 1;
  }
  case K_CONST:
  case K_VOLATILE:
  case K_RESTRICT:
    if (!named(f, (uint32_t)f->ref[id])) return 0;
    bytes_lit(snips, KIND_NAMES[k]);
    bytes_byte(snips, ' ');
    return spell_into(mt, (uint32_t)f->ref[id], depth + 1);
  case K_TYPE_TAG:
    return spell_into(mt, (uint32_t)f->ref[id], depth + 1);
  case K_FUNC_PROTO:
    return 0;
  case K_STRUCT:
  case K_UNION:
  case K_ENUM:
  case K_ENUM64:
    if (k == K_UNION)
      LIT(snips, "union ");
    else if (k == K_STRUCT)
      LIT(snips, "struct ");
    else
      LIT(snips, "enum ");
    return name_into(mt, id, "(anon)");
  case K_FWD:
    if (f->flag[id])
      LIT(snips, "union ");
    else
      LIT(snips, "struct ");
    return name_into(mt, id, "");
  default: {
    char anon[24] = "(anon ";
    const char *kn = kind_name(k);
    uint32_t n = 6;
    while (*kn) anon[n++] = *kn++;
    anon[n++] = ')';
    anon[n] = 0;
    return name_into(mt, id, anon);
  }
  }
}

/* --- The string path of spellings (spelling, params, baseName) ---------- */

/* A string of the string path (never freed: few spellings take it). */
typedef struct {
  const uint8_t *p;
  uint32_t n;
} Str;

static Str str_lit(const char *s) {
  return (Str){(const uint8_t *)s, str_len(s)};
}

/* The concatenation of `n` strings. */
static Str str_cat(int n, ...) {
  va_list ap;
  va_start(ap, n);
  Str parts[8];
  uint32_t len = 0;
  for (int i = 0; i < n; i++) {
    parts[i] = va_arg(ap, Str);
    len += parts[i].n;
  }
  va_end(ap);
  uint8_t *p = gen_alloc(len ? len : 1);
  uint32_t at = 0;
  for (int i = 0; i < n; i++) {
    copy_bytes(p + at, parts[i].p, parts[i].n);
    at += parts[i].n;
  }
  return (Str){p, len};
}

static Str str_uint(uint32_t v) {
  uint8_t *p = gen_alloc(10);
  return (Str){p, put_uint(p, 0, v)};
}

/* declParen (src/btf/spelling.ts): `(*x)` where a pointer declarator binds. */
static Str decl_paren(Str decl) {
  return decl.n && decl.p[0] == '*'
             ? str_cat(3, str_lit("("), decl, str_lit(")"))
             : decl;
}

/* declJoin: a base type and its declarator. */
static Str decl_join(Str base, Str decl) {
  if (decl.n == 0) return base;
  return decl.p[0] == '['
             ? str_cat(2, base, decl)
             : str_cat(3, base, str_lit(" "), decl);
}

/* The name at `off` (plain, else bail). */
static Str name_str(const Flat *f, uint32_t off) {
  return (Str){f->strings + off, name_length(f, off)};
}

/* A type spelled by name: `void`, `struct x`, `enum (anon)`, `__u32`. */
static Str base_name(const Flat *f, uint32_t id, int k) {
  Str name = name_str(f, (uint32_t)f->name[id]);
  switch (k) {
  case K_VOID:
    return str_lit("void");
  case K_STRUCT:
  case K_UNION:
  case K_ENUM:
  case K_ENUM64:
    return str_cat(3, str_lit(k == K_ENUM64 ? "enum" : KIND_NAMES[k]),
                   str_lit(" "), name.n ? name : str_lit("(anon)"));
  case K_FWD:
    return str_cat(3, str_lit(f->flag[id] ? "union" : "struct"), str_lit(" "),
                   name);
  default:
    return name.n ? name
                  : str_cat(3, str_lit("(anon "), str_lit(kind_name(k)),
                            str_lit(")"));
  }
}

static int spelling(const Flat *f, uint32_t id, Str name, int depth,
                    int32_t *steps, Str *out);

/* Parameter list of a function prototype, as the runtime spells it. */
static int params(const Flat *f, uint32_t id, int depth, int32_t *steps,
                  Str *out) {
  if (depth >= MAX_SPELLING_NESTING) {
    *out = str_lit("...");
    return 1;
  }
  uint32_t n = (uint32_t)f->vlen[id];
  if (n == 0 || (n == 1 && f->words[param_pos(f, id, 0) + 1] == 0)) {
    *out = str_lit("void");
    return 1;
  }
  Str acc = {(const uint8_t *)"", 0};
  for (uint32_t i = 0; i < n; i++) {
    uint32_t p = param_pos(f, id, i);
    uint32_t t = f->words[p + 1];
    Str name = name_str(f, f->words[p]);
    Str one;
    if (i == n - 1 && t == 0)
      one = str_lit("...");
    else if (kind_of(f, t) == -1)
      one = decl_join(str_lit("?"), name);
    else if (!spelling(f, t, name, depth + 1, steps, &one))
      return 0;
    acc = i ? str_cat(3, acc, str_lit(", "), one) : one;
  }
  *out = acc;
  return 1;
}

/*
 * C spelling for doc comments, declaring `name`: the runtime's
 * `String(type)` (src/btf/spelling.ts), with the same bounds against loops.
 * False where TypeScript throws BAD_SPELLING (an invalid reference).
 */
static int spelling(const Flat *f, uint32_t id, Str name, int depth,
                    int32_t *steps, Str *out) {
  Str decl = name;
  int quals[3];
  int nq = 0;
  uint32_t cur = id;
  while ((*steps)-- > 0) {
    int k = kind_of(f, cur);
    switch (k) {
    case -1:
      return 0;
    case K_PTR: {
      Str q = {(const uint8_t *)"", 0};
      for (int i = 0; i < nq; i++)
        q = i ? str_cat(3, q, str_lit(" "), str_lit(KIND_NAMES[quals[i]]))
              : str_lit(KIND_NAMES[quals[i]]);
      decl = str_cat(4, str_lit("*"), q, str_lit(q.n && decl.n ? " " : ""),
                     decl);
      nq = 0;
      cur = (uint32_t)f->ref[cur];
      continue;
    }
    case K_ARRAY:
      decl = str_cat(4, decl_paren(decl), str_lit("["), str_uint(f->len[cur]),
                     str_lit("]"));
      cur = (uint32_t)f->ref[cur];
      continue;
    case K_FUNC_PROTO: {
      nq = 0;
      Str head = decl_paren(decl), ps;
      if (!params(f, cur, depth, steps, &ps)) return 0;
      decl = str_cat(4, head, str_lit("("), ps, str_lit(")"));
      cur = (uint32_t)f->ref[cur];
      if (kind_of(f, cur) == -1) {
        *out = decl_join(str_lit("?"), decl);
        return 1;
      }
      continue;
    }
    case K_CONST:
    case K_VOLATILE:
    case K_RESTRICT: {
      int have = 0;
      for (int i = 0; i < nq; i++) have |= quals[i] == k;
      if (!have) quals[nq++] = k;
      cur = (uint32_t)f->ref[cur];
      continue;
    }
    case K_TYPE_TAG:
      cur = (uint32_t)f->ref[cur];
      continue;
    default: {
      Str base = base_name(f, cur, k);
      for (int i = nq - 1; i >= 0; i--)
        base = str_cat(3, str_lit(KIND_NAMES[quals[i]]), str_lit(" "), base);
      *out = decl_join(base, decl);
      return 1;
    }
    }
  }
  *out = decl_join(str_lit("..."), decl);
  return 1;
}

void mt_spelling_or_unknown(MemberTypes *mt, int32_t id, Bytes *out) {
  int32_t steps = MAX_SPELLING_STEPS;
  Str s;
  if (!spelling(mt->f, (uint32_t)id, str_lit(""), 0, &steps, &s))
    s = str_lit("?");
  bytes_put(out, s.p, s.n);
}

/* --- typeInfo ------------------------------------------------------------ */

/* The whole-member snippets of access `a`, made when missing. */
static void whole_for(MemberTypes *mt, Access *a) {
  if (a->tailEnd) return;
  Bytes *snips = &mt->snips;
  a->tail = snips->pos;
  LIT(snips, ": ");
  bytes_put(snips, a->t, a->tLen);
  LIT(snips, ";\n");
  a->tailEnd = snips->pos;
  a->code0 = snips->pos;
  bytes_put(snips, a->code, a->codeLen);
  bytes_byte(snips, ',');
  a->codeEnd = snips->pos;
}

TypeInfo *mt_type_info(MemberTypes *mt, uint32_t t) {
  const Flat *f = mt->f;
  int valid = t <= (uint32_t)f->count;
  int32_t r = valid ? mt_resolve(f, t) : -1;
  int isInt = r >= 0 && f->kind[r] == K_INT;
  uint32_t bits = isInt ? (uint32_t)f->intInfo[r] : 0;
  Bytes *snips = &mt->snips;
  uint32_t start = snips->pos;
  LIT(snips, "  /** `");
  if (valid && spell_into(mt, t, 0))
    LIT(snips, "` @");
  else {
    // Invalid, or a declarator: through strings.
    snips->pos = start;
    LIT(snips, "  /** `");
    if (valid)
      mt_spelling_or_unknown(mt, (int32_t)t, snips);
    else
      bytes_byte(snips, '?');
    LIT(snips, "` @");
  }
  // From a block of records (one gen_alloc rounds each to 16 bytes).
  if (mt->poolLeft == 0) {
    mt->pool = gen_alloc(256 * sizeof(TypeInfo));
    mt->poolLeft = 256;
  }
  TypeInfo *ti = mt->pool++;
  mt->poolLeft--;
  mt->slot[t] = ti;
  ti->r = r;
  ti->intBits = isInt ? (int32_t)(bits & 0xff) : -1;
  ti->intOff = (bits >> 8) & 0xff;
  // Clamped: any size past 32 bytes already differs from the bits / 8.
  ti->intSize = isInt ? (f->size[r] < 64 ? (int32_t)f->size[r] : 64) : 0;
  ti->intBitfield = ti->intBits >= 0 &&
                    (ti->intBits != ti->intSize * 8 || ti->intOff != 0);
  ti->pre = start;
  ti->preEnd = snips->pos;
  Access *a = r >= 0 ? (Access *)mt_access_of(mt, r, 0) : UNRESOLVED;
  whole_for(mt, a);
  ti->tail = a->tail;
  ti->tailEnd = a->tailEnd;
  ti->code = a->code0;
  ti->codeEnd = a->codeEnd;
  // Room after the snippets: types.c copies them by whole words.
  bytes_reserve(snips, 8);
  return ti;
}

/* --- Accesses and sizes --------------------------------------------------- */

void mt_bitfield(MemberTypes *mt, int32_t t, uint32_t shift, uint32_t bits,
                 Access *a, uint8_t *buf) {
  const Flat *f = mt->f;
  if (t >= 0 && bits > 0 && bits <= 64) {
    int k = f->kind[t];
    uint32_t enc = (uint32_t)f->intInfo[t] >> 16;
    if (k == K_INT && (enc & 4)) {
      bitfield_access(shift, bits, 0, 0, 1, a, buf);
      return;
    }
    if (k == K_INT || k == K_ENUM || k == K_ENUM64) {
      int wide = f->size[t] > 4 || bits > 32;
      int sign = k == K_INT ? (enc & 1) == 1 : f->flag[t];
      bitfield_access(shift, bits, sign, wide, 0, a, buf);
      return;
    }
  }
  // rawAccess((shift + bits + 7) >> 3): the caller keeps bits < 2^31 - 16.
  *a = *raw_access((shift + bits + 7) >> 3);
}

double mt_size_of_resolved(MemberTypes *mt, int32_t t, int depth) {
  if (depth > MAX_DIMS) return 0;
  const Flat *f = mt->f;
  switch (f->kind[t]) {
  case K_INT:
  case K_FLOAT:
  case K_PTR:
  case K_STRUCT:
  case K_UNION:
  case K_ENUM:
  case K_ENUM64:
    return f->size[t];
  case K_ARRAY: {
    int32_t e = mt_resolve(f, (uint32_t)f->ref[t]);
    return e >= 0 ? (double)f->len[t] * mt_size_of_resolved(mt, e, depth + 1)
                  : 0;
  }
  default:
    return 0;
  }
}

/* True when the name at `off` is "char" (the string table throws past it). */
static int is_char(const Flat *f, uint32_t off) {
  if (off == 0) return 0;
  if (off >= f->stringsLen) gen_bail();
  return off + 5 <= f->stringsLen && memcmp(f->strings + off, "char", 5) == 0;
}

static Access *compute_access(MemberTypes *mt, int32_t t, int depth) {
  const Flat *f = mt->f;
  switch (f->kind[t]) {
  case K_INT: {
    uint32_t enc = (uint32_t)f->intInfo[t] >> 16;
    uint32_t size = f->size[t];
    if ((enc & 4) && size == 1) return BOOL_ACCESS;
    return int_access(size, (enc & 1) == 1);
  }
  case K_ENUM:
  case K_ENUM64:
    return int_access(f->size[t], f->flag[t]);
  case K_PTR:
    return int_access(8, 0);
  case K_FLOAT:
    return float_access(f->size[t]);
  case K_STRUCT:
  case K_UNION: {
    const uint8_t *cls;
    uint32_t n = gen_class_of(t, &cls);
    if (!n) return raw_access(f->size[t]);
    // Its texts are the class name, in place: every class is named before
    // the first access is made, and TypeNames bytes are never freed.
    Access *a = gen_alloc(sizeof(Access));
    a->t = a->code = cls;
    a->tLen = a->codeLen = n;
    return a;
  }
  case K_ARRAY: {
    int32_t el = depth < MAX_DIMS ? mt_resolve(f, (uint32_t)f->ref[t]) : -1;
    if (el < 0) return raw_access(0);
    if (f->kind[el] == K_INT && f->size[el] == 1 &&
        ((((uint32_t)f->intInfo[el] >> 16) & 2) ||
         is_char(f, (uint32_t)f->name[el])))
      return string_access(f->len[t]);
    return array_access(f->len[t], mt_access_of(mt, el, depth + 1));
  }
  default: {
    // Every other kind's size is 0.
    return raw_access(0);
  }
  }
}

const Access *mt_access_of(MemberTypes *mt, int32_t t, int depth) {
  Access *a = mt->access[t];
  if (!a) {
    a = compute_access(mt, t, depth);
    mt->access[t] = a;
  }
  return a;
}
