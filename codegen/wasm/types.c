/*
 * Port of codegen/types.ts (Generator.run) for a whole base BTF, without
 * the header and helper prelude (TypeScript writes those), `only`, split
 * BTF and `importFrom`: names, selection (every declarable, every named
 * typedef), order, TypeScript names, then the classes and enums, the
 * aliases and the $def tables.
 *
 * Names are written as their bytes: member and enumerator names that are
 * plain identifiers, C names that docText and JSON.stringify keep. A name
 * that needs a string escape (JSON.stringify, propertyKey, literalKey,
 * docText that would change it) bails, as does anything TypeScript would
 * throw on.
 */
#include "gen.h"
#include "names.gen.h"

/* n / 10 by a multiplication (clang keeps i32.div_u for wasm). */
static inline uint32_t div10(uint32_t n) {
  return (uint32_t)(((uint64_t)n * 0xCCCCCCCDu) >> 35);
}

/*
 * The decimal digits of `n` < 10000 as the bytes of a word, the first one
 * lowest (one 8-byte store writes them); *len gets their number, 0 when
 * `n` has more (then put_uint writes it).
 */
static inline uint64_t small_digits(uint32_t n, uint32_t *len) {
  if (n >= 10000) {
    *len = 0;
    return 0;
  }
  uint32_t a = div10(n), b = div10(a), c = div10(b);
  uint64_t d0 = '0' + n - a * 10, d1 = '0' + a - b * 10, d2 = '0' + b - c * 10,
           d3 = '0' + c;
  if (n < 10) {
    *len = 1;
    return d0;
  }
  if (n < 100) {
    *len = 2;
    return d1 | d0 << 8;
  }
  if (n < 1000) {
    *len = 3;
    return d2 | d1 << 8 | d0 << 16;
  }
  *len = 4;
  return d3 | d2 << 8 | d1 << 16 | d0 << 24;
}

/* The start and length of the (start, end) pair at `p`, one load. */
static inline void span(const uint32_t *p, uint32_t *start, uint32_t *len) {
  uint64_t w;
  __builtin_memcpy(&w, p, 8);
  *start = (uint32_t)w;
  *len = (uint32_t)(w >> 32) - (uint32_t)w;
}


/*
 * Writes string literal `s` at buf + p, inline; the new position. The
 * caller reserved room: a declaration's fixed text goes out with one
 * reserve and no call per piece.
 */
#define WLIT(buf, p, s)                                                        \
  (__builtin_memcpy((buf) + (p), (s), sizeof(s) - 1),                          \
   (p) + (uint32_t)(sizeof(s) - 1))

/* Deepest anonymous-member flattening (hostile BTF may nest itself). */
#define MAX_FLATTEN 16
/* Bytes of a word: all 1s, all high bits. */
#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull
/* The multiplier of the names' word hash (2^64 / golden ratio). */
#define WORD_MUL 0x9e3779b97f4a7c15ull

/*
 * Instance members of a struct view a field cannot take as a property
 * (src/btf/reserved_names.ts RESERVED_MEMBERS, through the generated
 * names.gen.h; "__proto__" is one too).
 */
static const char *const RESERVED_MEMBERS[] = {RESERVED_MEMBER_NAMES};
#define N_RESERVED (sizeof(RESERVED_MEMBERS) / sizeof(RESERVED_MEMBERS[0]))

/*
 * Low bits of the hashes of names that need a second look when they are
 * plain identifiers: view members (reserved) and `__proto__` (enum keys).
 * A hit only means "check the name"; misses are certain.
 */
static uint8_t SPECIAL[1024];

/*
 * The high bit of each byte of `w` that is not one of [0-9A-Za-z_$] (a NUL
 * is not): eight bytes tested at once. The additions work on 7-bit bytes
 * (the high bits masked off, and put back as "not" at the end), so none
 * carries into the next byte.
 */
static inline uint64_t not_ident(uint64_t w) {
  uint64_t x = w & ~HIGH;
  uint64_t y = x | 0x20 * ONES; // letters in lower case (and others moved)
  uint64_t letter = (y + (0x80 - 'a') * ONES) & ~(y + (0x7f - 'z') * ONES);
  uint64_t digit = (x + (0x80 - '0') * ONES) & ~(x + (0x7f - '9') * ONES);
  uint64_t u = x ^ '_' * ONES, d = x ^ '$' * ONES;
  // High bit set where the byte is 0, i.e. x was `_` (`$`).
  u = ~((u + 0x7f * ONES) | u);
  d = ~((d + 0x7f * ONES) | d);
  return (w | ~(letter | digit | u | d)) & HIGH;
}

/*
 * The length of the name at `p` when it is a plain identifier (IDENT: a
 * letter, `_` or `$`, then those or digits, then a NUL), else -1; its hash
 * goes to *hash. The scan goes by whole 8-byte words (a byte at a time is
 * two table loads and a multiply per byte in the engines' baseline tiers),
 * reading up to 7 bytes past the NUL: in the string section, whose NUL
 * ends the scan, the run's later allocations follow it.
 */
static inline int32_t ident_at(const uint8_t *p, uint32_t *hash) {
  if (IDENT[p[0]] != 1) return -1;
  uint64_t h = 0;
  for (uint32_t i = 0;; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, p + i, 8);
    uint64_t bad = not_ident(w);
    if (bad == 0) {
      h = (h ^ w) * WORD_MUL;
      continue;
    }
    // The name ends at the first byte that is not an identifier's: a NUL.
    uint32_t k = (uint32_t)__builtin_ctzll(bad) >> 3;
    if ((w >> (8 * k) & 0xff) != 0) return -1;
    h = (h ^ (w & ((1ull << (8 * k)) - 1))) * WORD_MUL;
    *hash = (uint32_t)(h >> 32);
    return (int32_t)(i + k);
  }
}

/* ident_at's hash of a NUL-terminated plain identifier (< 32 bytes). */
static uint32_t name_hash(const char *s) {
  uint8_t buf[40] = {0};
  for (uint32_t i = 0; s[i] && i < 32; i++) buf[i] = (uint8_t)s[i];
  uint32_t h = 0;
  if (ident_at(buf, &h) < 0) gen_bail();
  return h;
}

/* True when the `len` bytes at `p` are the NUL-terminated `lit`. */
static int equals(const uint8_t *p, uint32_t len, const char *lit) {
  uint32_t i = 0;
  for (; i < len; i++)
    if (!lit[i] || lit[i] != (char)p[i]) return 0;
  return lit[i] == 0;
}

static int is_reserved(const uint8_t *p, uint32_t len) {
  for (uint32_t i = 0; i < N_RESERVED; i++)
    if (equals(p, len, RESERVED_MEMBERS[i])) return 1;
  return 0;
}

/* One run of the generator (the TypeScript class's fields). */
typedef struct {
  const Flat *f;
  CNames names;
  TypeNames tn;
  int32_t *order;
  int32_t n;
  /* Per declaration (by index in order): its TypeScript name in tn.bytes. */
  int32_t *tsAt;
  int32_t *tsLen;
  /* 1 + index in order of each emitted type id; 0 for the rest. */
  int32_t *declIndex;
  MemberTypes mt;
  Bytes *o;
  /* The $def calls, written after every class is declared. */
  Bytes defs;
  /* The plain type's members of fields with reserved names (one class). */
  Bytes extra;
  /* Enumerator names taken the string way in this scope ("", "__proto__"). */
  int takenEmpty, takenProto;
  /* 1 for the ids on the current flattening path. */
  uint8_t *onPath;
  /* Saved (type, member, end, bit offset) of the outer levels. */
  int32_t stack[4 * (MAX_FLATTEN + 1)];
  /* Names taken in this class or enum: (hash, name offset), live at stamp. */
  int32_t *hStamp;
  int32_t *hHash;
  int32_t *hOff;
  uint32_t hSize;
  uint32_t hCount;
  int32_t stamp;
} Gen;

static Gen G;

uint32_t gen_class_of(int32_t id, const uint8_t **name) {
  int32_t i = G.declIndex[id];
  if (i <= 0) return 0;
  *name = G.tn.bytes + G.tsAt[i - 1];
  return (uint32_t)G.tsLen[i - 1];
}

/* Names declaration `i`: its place in tn.bytes goes to tsAt[i], tsLen[i]. */
static void claim_id(int32_t i) {
  int32_t id = G.order[i];
  int k = G.f->kind[id];
  tn_pascal(&G.tn, &G.names, id);
  tn_claim(&G.tn, is_composite_kind(k));
  G.tsAt[i] = (int32_t)G.tn.at;
  G.tsLen[i] = (int32_t)G.tn.n;
}

/*
 * Gives each declaration its TypeScript name, in output order, except
 * that names starting with `_` come last: `sk_buff` is `SkBuff` and
 * `__sk_buff` (sorted before it) `SkBuff_2`. Every declarable is selected
 * here, so the order is the one sorted list. Names are kept by index in
 * the order (not by id: tables per id are written sparsely, each write a
 * fresh page).
 */
static void claim_all(void) {
  const CNames *names = &G.names;
  int32_t *later = gen_alloc((uint32_t)G.n * 4 + 4);
  int32_t nLater = 0;
  G.tsAt = gen_alloc((uint32_t)G.n * 4 + 4);
  G.tsLen = gen_alloc((uint32_t)G.n * 4 + 4);
  for (int32_t i = 0; i < G.n; i++) {
    int32_t id = G.order[i];
    G.declIndex[id] = i + 1;
    // names.get(id).startsWith("_"): every name is ASCII (see gen.h).
    if (names->off[id] >= 0 && names->len[id] > 0 &&
        names->out.buf[names->off[id]] == '_')
      later[nLater++] = i;
    else
      claim_id(i);
  }
  for (int32_t j = 0; j < nLater; j++) claim_id(later[j]);
}

/* --- Names taken in one class or enum ----------------------------------- */

static void new_scope(void) {
  if (++G.stamp == 0x7fffffff) {
    memset(G.hStamp, 0, G.hSize * 4);
    G.stamp = 1;
  }
  G.hCount = 0;
  G.takenEmpty = G.takenProto = 0;
}

/* Doubles the name table, keeping the current scope's entries. */
__attribute__((noinline, cold)) static void grow_scope(void) {
  uint32_t old = G.hSize, size = old * 2, mask = size - 1;
  int32_t *st = G.hStamp, *hh = G.hHash, *ho = G.hOff;
  G.hStamp = gen_alloc(size * 4);
  G.hHash = gen_alloc(size * 4);
  G.hOff = gen_alloc(size * 4);
  G.hSize = size;
  for (uint32_t j = 0; j < old; j++) {
    if (st[j] != G.stamp) continue;
    uint32_t i = (uint32_t)hh[j] & mask;
    while (G.hStamp[i] == G.stamp) i = (i + 1) & mask;
    G.hStamp[i] = G.stamp;
    G.hHash[i] = hh[j];
    G.hOff[i] = ho[j];
  }
}

/*
 * Takes the identifier of `len` bytes at `off` of the strings (hash `h`);
 * false when the scope already has it.
 */
static int take(uint32_t off, uint32_t len, uint32_t h) {
  const uint8_t *s = G.f->strings;
  int32_t stamp = G.stamp;
  uint32_t mask = G.hSize - 1;
  uint32_t i = h & mask;
  for (; G.hStamp[i] == stamp; i = (i + 1) & mask) {
    if (G.hHash[i] != (int32_t)h) continue;
    uint32_t o = (uint32_t)G.hOff[i];
    if (o == off) return 0;
    if (memcmp(s + o, s + off, len) == 0 && s[o + len] == 0) return 0;
  }
  G.hStamp[i] = stamp;
  G.hHash[i] = (int32_t)h;
  G.hOff[i] = (int32_t)off;
  if (++G.hCount * 2 > G.hSize) grow_scope();
  return 1;
}

/* --- Output helpers ------------------------------------------------------ */

/*
 * The C name of `id`, which goes out as its bytes in docs and as a JSON
 * string: a plain identifier, or ASCII that docText and JSON.stringify
 * both keep (no control character, `"`, `\`, `@` or `*`). Else bail.
 */
static const uint8_t *c_name(int32_t id, uint32_t *len) {
  const CNames *names = &G.names;
  if (names->off[id] < 0) gen_bail();
  const uint8_t *p = names->out.buf + names->off[id];
  uint32_t n = (uint32_t)names->len[id];
  if (!names->plain[id])
    for (uint32_t i = 0; i < n; i++) {
      uint8_t c = p[i];
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '@' ||
          c == '*')
        gen_bail();
    }
  *len = n;
  return p;
}

/* The C name of `id` for a doc comment. */
static void c_doc(Bytes *out, int32_t id) {
  uint32_t n;
  const uint8_t *p = c_name(id, &n);
  bytes_put(out, p, n);
}

/* Declaration `i`'s TypeScript name. */
static void ts_name(Bytes *out, int32_t i) {
  bytes_put(out, G.tn.bytes + G.tsAt[i], (uint32_t)G.tsLen[i]);
}

/* A value of an enumerator as String(n) gives it for a negative int32. */
static void put_int32(Bytes *out, int32_t v) {
  if (v < 0) {
    bytes_byte(out, '-');
    bytes_uint(out, (uint32_t)0 - (uint32_t)v);
  } else
    bytes_uint(out, (uint32_t)v);
}

/* A 64-bit value in decimal, as String(bigint) (signed or not). */
static void put_64(Bytes *out, uint64_t v, int sign) {
  if (sign && (int64_t)v < 0) {
    bytes_byte(out, '-');
    v = (uint64_t)0 - v;
  }
  uint8_t t[20];
  int i = 0;
  do {
    t[i++] = (uint8_t)('0' + v % 10);
    v /= 10;
  } while (v);
  bytes_reserve(out, 20);
  while (i) out->buf[out->pos++] = t[--i];
}

/* --- Enums --------------------------------------------------------------- */

/* The doc and first line of enum declaration `i`. */
static void enum_head(int32_t i) {
  Bytes *o = G.o;
  int32_t id = G.order[i];
  uint32_t cl, tl = (uint32_t)G.tsLen[i];
  const uint8_t *cn = c_name(id, &cl);
  bytes_room(o, cl + tl + 64);
  uint8_t *b = o->buf;
  uint32_t p = WLIT(b, o->pos, "/** `enum ");
  copy_over(b + p, cn, cl);
  p = WLIT(b, p + cl, "` (");
  p = put_uint(b, p, G.f->size[id]);
  p = WLIT(b, p, " bytes). */\nexport const ");
  copy_over(b + p, G.tn.bytes + G.tsAt[i], tl);
  o->pos = WLIT(b, p + tl, " = {\n");
}

/* The end of enum declaration `i` and its value type. */
static void enum_foot(int32_t i) {
  Bytes *o = G.o;
  uint32_t cl, tl = (uint32_t)G.tsLen[i];
  const uint8_t *cn = c_name(G.order[i], &cl);
  const uint8_t *tn = G.tn.bytes + G.tsAt[i];
  bytes_room(o, cl + 3 * tl + 96);
  uint8_t *b = o->buf;
  uint32_t p = WLIT(b, o->pos, "} as const;\n/** A value of `enum ");
  copy_over(b + p, cn, cl);
  p = WLIT(b, p + cl, "`. */\nexport type ");
  copy_over(b + p, tn, tl);
  p = WLIT(b, p + tl, " = (typeof ");
  copy_over(b + p, tn, tl);
  p = WLIT(b, p + tl, ")[keyof typeof ");
  copy_over(b + p, tn, tl);
  o->pos = WLIT(b, p + tl, "];\n\n");
}

/* One enumerator the general way: any value; names "" and "__proto__". */
__attribute__((noinline, cold)) static void
enumerator(int32_t id, int32_t m, uint32_t off, int32_t len, uint32_t h) {
  const Flat *f = G.f;
  const uint8_t *s = f->strings;
  Bytes *o = G.o;
  if (len > 0 && !(SPECIAL[h & 1023] && equals(s + off, (uint32_t)len,
                                               "__proto__"))) {
    // First wins, as in C a name can only be declared once.
    if (!take(off, (uint32_t)len, h)) return;
    LIT(o, "  ");
    bytes_put(o, s + off, (uint32_t)len);
  } else {
    // g.enumName: "" (no name, or an empty one), "__proto__", else bail.
    int empty;
    if (len > 0)
      empty = 0;
    else if (off == 0)
      empty = 1;
    else if (off < f->stringsLen && s[off] == 0)
      empty = 1;
    else
      gen_bail();
    if (empty) {
      if (G.takenEmpty) return;
      G.takenEmpty = 1;
      LIT(o, "  \"\"");
    } else {
      if (G.takenProto) return;
      G.takenProto = 1;
      LIT(o, "  [\"__proto__\"]");
    }
  }
  LIT(o, ": ");
  uint32_t lo = f->mType[m];
  uint32_t hi = f->mBitOff[m];
  if (f->kind[id] == K_ENUM) {
    if (f->flag[id] == 1 && lo >= 0x80000000u)
      put_int32(o, (int32_t)lo);
    else
      bytes_uint(o, lo);
  } else if (hi == 0)
    bytes_uint(o, lo);
  else
    put_64(o, (uint64_t)hi << 32 | lo, f->flag[id] == 1);
  bytes_lit(o, f->kind[id] == K_ENUM64 || f->size[id] == 8 ? "n,\n" : ",\n");
}

/*
 * The emitters of one declaration stay functions of their own (noinline):
 * a wasm engine moves a function to its optimizing tier between calls, not
 * in the middle of one (V8 has no OSR for wasm), and emit_all's one call
 * lasts the whole run.
 */
__attribute__((noinline)) static void emit_enum(int32_t i) {
  const Flat *f = G.f;
  const uint8_t *s = f->strings;
  uint32_t slen = f->stringsLen;
  Bytes *o = G.o;
  int32_t id = G.order[i];
  enum_head(i);
  new_scope();
  int32_t first = f->first[id];
  int sign = f->flag[id] == 1;
  int plainValues = f->kind[id] == K_ENUM;
  // The end of each line, "n,\n" or ",\n", as a word stored whole.
  int big = f->kind[id] == K_ENUM64 || f->size[id] == 8;
  uint32_t tail = big ? 'n' | ',' << 8 | '\n' << 16 : ',' | '\n' << 8;
  uint32_t tailLen = big ? 3 : 2;
  for (int32_t m = first, end = first + f->vlen[id]; m < end; m++) {
    int32_t soff = f->mName[m];
    uint32_t off = (uint32_t)soff;
    int32_t len = -1;
    uint32_t h = 0;
    if (soff > 0 && off < slen) len = ident_at(s + off, &h);
    uint32_t lo = f->mType[m];
    // A plain name and a 32-bit value (as most are), else the general way.
    if (len > 0 && !SPECIAL[h & 1023] && plainValues &&
        !(sign && lo >= 0x80000000u)) {
      // First wins, as in C a name can only be declared once.
      if (!take(off, (uint32_t)len, h)) continue;
      // "  ", the name (by words: up to 7 bytes over), ": ", at most 10
      // digits, the end word.
      bytes_room(o, (uint32_t)len + 24);
      uint8_t *b = o->buf;
      uint32_t p = o->pos;
      b[p++] = ' ';
      b[p++] = ' ';
      copy_over(b + p, s + off, (uint32_t)len);
      p += (uint32_t)len;
      b[p++] = ':';
      b[p++] = ' ';
      uint32_t numLen;
      uint64_t num = small_digits(lo, &numLen);
      if (numLen) {
        __builtin_memcpy(b + p, &num, 8);
        p += numLen;
      } else
        p = put_uint(b, p, lo);
      __builtin_memcpy(b + p, &tail, 4);
      o->pos = p + tailLen;
    } else
      enumerator(id, m, off, len, h);
  }
  enum_foot(i);
}

/* --- Classes ------------------------------------------------------------- */

/*
 * A field the general way: a name that may be reserved, or a bitfield
 * (`len` > 0: only plain names come here). `taken`: the name was already
 * checked for a clash. Adds the plain type's member of a reserved name to
 * G.extra.
 */
__attribute__((noinline, cold)) static void
odd_field(int32_t mi, int64_t bitOffset, uint32_t off, uint32_t len,
          uint32_t h, int taken) {
  const Flat *f = G.f;
  const uint8_t *s = f->strings;
  Bytes *o = G.o;
  Bytes *defs = &G.defs;
  // First wins, as in the runtime views.
  int reserved = 0;
  if (!taken && !take(off, len, h)) return;
  if (SPECIAL[h & 1023]) reserved = is_reserved(s + off, len);
  uint32_t t = f->mType[mi];
  if (!(t <= (uint32_t)f->count && f->kind[t] >= 0)) t = (uint32_t)f->count + 1;
  TypeInfo *ti = mt_info(&G.mt, t);
  int32_t r = ti->r;
  int32_t intBits = ti->intBits;
  uint32_t bitSize = f->mBitSize[mi];
  int64_t bits = bitOffset;
  // Without kind_flag, BTF encodes a bitfield in the int type itself.
  if (intBits >= 0 && !bitSize) {
    if (intBits != ti->intSize * 8 || ti->intOff) {
      bitSize = (uint32_t)intBits;
      bits += ti->intOff;
    }
  }
  uint32_t byte = (uint32_t)(bits / 8);
  int bitfield = bitSize > 0 || bits % 8 != 0;
  Access bf;
  uint8_t bfBuf[48];
  const Access *a;
  uint32_t width = 0;
  if (bitfield) {
    if (bitSize)
      width = bitSize;
    else if (r >= 0) {
      double w = mt_size_of_resolved(&G.mt, r, 0) * 8;
      // Keeps (shift + width + 7) >> 3 and the doc's number plain.
      if (!(w < 2147483000.0)) gen_bail();
      width = (uint32_t)w;
    }
    mt_bitfield(&G.mt, r, (uint32_t)(bits % 8), width, &bf, bfBuf);
    a = &bf;
  } else
    a = r >= 0 ? mt_access_of(&G.mt, r, 0) : mt_access_of(&G.mt, 0, 0);
  const uint8_t *snips = G.mt.snips.buf;
  if (!reserved) {
    bytes_put(o, snips + ti->pre, ti->preEnd - ti->pre);
    bytes_uint(o, byte);
    if (bitfield) {
      LIT(o, ", bit offset ");
      bytes_uint(o, (uint32_t)bits);
      LIT(o, ", ");
      bytes_uint(o, width);
      LIT(o, " bits");
    }
    LIT(o, " */ declare ");
    bytes_put(o, s + off, len);
    if (!bitfield)
      bytes_put(o, snips + ti->tail, ti->tailEnd - ti->tail);
    else {
      LIT(o, ": ");
      bytes_put(o, a->t, a->tLen);
      LIT(o, ";\n");
    }
  }
  bytes_byte(defs, '"');
  bytes_put(defs, s + off, len);
  bytes_byte(defs, '"');
  bytes_byte(defs, ',');
  bytes_uint(defs, byte);
  bytes_byte(defs, ',');
  if (!bitfield)
    bytes_put(defs, snips + ti->code, ti->codeEnd - ti->code);
  else {
    bytes_put(defs, a->code, a->codeLen);
    bytes_byte(defs, ',');
  }
  if (reserved) {
    Bytes *x = &G.extra;
    LIT(x, " \"");
    bytes_put(x, s + off, len);
    LIT(x, "\": $PlainOf<");
    bytes_put(x, a->t, a->tLen);
    LIT(x, ">;");
  }
}

/*
 * Writes the members of struct/union `top`, flattening anonymous ones
 * (with an explicit stack: one loop over every member reached); the plain
 * type's members of reserved names go to G.extra.
 */
static void fields(int32_t top) {
  const Flat *f = G.f;
  const int32_t *first = f->first, *vlen = f->vlen, *mName = f->mName;
  const uint32_t *mType = f->mType, *mBitOff = f->mBitOff;
  const uint8_t *mBitSize = f->mBitSize;
  uint32_t count = (uint32_t)f->count;
  const uint8_t *s = f->strings;
  uint32_t slen = f->stringsLen;
  Bytes *o = G.o;
  Bytes *defs = &G.defs;
  uint8_t *onPath = G.onPath;
  int32_t *stack = G.stack;
  int32_t cur = top;
  int32_t m = first[top];
  int32_t end = m + vlen[top];
  int64_t base = 0;
  int depth = 0;
  onPath[top] = 1;
  for (;;) {
    if (m >= end) {
      onPath[cur] = 0;
      if (depth == 0) break;
      int q = 4 * --depth;
      cur = stack[q];
      m = stack[q + 1];
      end = stack[q + 2];
      base = stack[q + 3];
      continue;
    }
    int32_t mi = m++;
    int32_t soff = mName[mi];
    uint32_t off = (uint32_t)soff;
    // A plain identifier is copied from the string bytes (len > 0); else
    // the member is anonymous (len 0) or its name is not plain (bail).
    int32_t len = -1;
    uint32_t h = 0;
    if (soff == 0)
      len = 0;
    else if (soff > 0 && off < slen)
      len = s[off] == 0 ? 0 : ident_at(s + off, &h); // "": memberName's ""
    if (len < 0) gen_bail(); // memberName: a string, or a throw
    int64_t bitOffset = base + mBitOff[mi];
    // Past 2^31 the saved offsets would wrap (an Int32Array stack).
    if (bitOffset >= 0x80000000ll) gen_bail();
    if (len == 0) {
      int32_t inner = mt_resolve(f, mType[mi]);
      int k = inner < 0 ? -1 : f->kind[inner];
      if (is_composite_kind(k) && depth < MAX_FLATTEN &&
          onPath[inner] == 0) {
        int q = 4 * depth++;
        stack[q] = cur;
        stack[q + 1] = m;
        stack[q + 2] = end;
        stack[q + 3] = (int32_t)base;
        onPath[inner] = 1;
        cur = inner;
        m = first[inner];
        end = m + vlen[inner];
        base = bitOffset;
      }
      continue;
    }
    if (SPECIAL[h & 1023]) {
      odd_field(mi, bitOffset, off, (uint32_t)len, h, 0);
      continue;
    }
    // First wins, as in the runtime views.
    if (!take(off, (uint32_t)len, h)) continue;
    uint32_t t = mType[mi];
    if (!(t <= count && f->kind[t] >= 0)) t = count + 1;
    TypeInfo *ti = mt_info(&G.mt, t);
    if (mBitSize[mi] != 0 || bitOffset % 8 != 0 || ti->intBitfield) {
      // A bitfield.
      odd_field(mi, bitOffset, off, (uint32_t)len, h, 1);
      continue;
    }
    // The common field, copied straight into the buffers.
    uint32_t byte = (uint32_t)(bitOffset / 8);
    const uint8_t *snips = G.mt.snips.buf;
    // Each (start, end) pair loaded as one word (see TypeInfo).
    uint32_t pre, preLen, tail, tailLen, code, codeLen;
    span(&ti->pre, &pre, &preLen);
    span(&ti->tail, &tail, &tailLen);
    span(&ti->code, &code, &codeLen);
    bytes_room(o, preLen + tailLen + (uint32_t)len + 48);
    uint8_t *ob = o->buf;
    // The offset's digits, worked out once for both buffers.
    uint32_t numLen;
    uint64_t num = small_digits(byte, &numLen);
    uint32_t p = o->pos;
    copy_over(ob + p, snips + pre, preLen);
    p += preLen;
    if (numLen) {
      __builtin_memcpy(ob + p, &num, 8);
      p += numLen;
    } else
      p = put_uint(ob, p, byte);
    p = WLIT(ob, p, " */ declare ");
    copy_over(ob + p, s + off, (uint32_t)len);
    p += (uint32_t)len;
    copy_over(ob + p, snips + tail, tailLen);
    o->pos = p + tailLen;
    bytes_room(defs, codeLen + (uint32_t)len + 48);
    uint8_t *db = defs->buf;
    p = defs->pos;
    db[p++] = '"';
    copy_over(db + p, s + off, (uint32_t)len);
    p += (uint32_t)len;
    db[p++] = '"';
    db[p++] = ',';
    if (numLen) {
      __builtin_memcpy(db + p, &num, 8);
      p += numLen;
    } else
      p = put_uint(db, p, byte);
    db[p++] = ',';
    copy_over(db + p, snips + code, codeLen);
    defs->pos = p + codeLen;
  }
}

__attribute__((noinline)) static void emit_class(int32_t i) {
  const Flat *f = G.f;
  Bytes *o = G.o;
  Bytes *defs = &G.defs;
  int32_t id = G.order[i];
  uint32_t size = f->size[id];
  uint32_t cl, tl = (uint32_t)G.tsLen[i];
  const uint8_t *cn = c_name(id, &cl);
  const uint8_t *tn = G.tn.bytes + G.tsAt[i];
  bytes_room(o, cl + tl + 80);
  uint8_t *b = o->buf;
  uint32_t p = f->kind[id] == K_UNION ? WLIT(b, o->pos, "/** `union ")
                                      : WLIT(b, o->pos, "/** `struct ");
  copy_over(b + p, cn, cl);
  p = WLIT(b, p + cl, "`, ");
  p = put_uint(b, p, size);
  p = WLIT(b, p, " bytes. */\nexport class ");
  copy_over(b + p, tn, tl);
  o->pos = WLIT(b, p + tl, " extends $Struct {\n");
  bytes_room(defs, cl + tl + 48);
  b = defs->buf;
  p = WLIT(b, defs->pos, "$def(");
  copy_over(b + p, tn, tl);
  p = WLIT(b, p + tl, ", ");
  p = put_uint(b, p, size);
  p = WLIT(b, p, ", \"");
  copy_over(b + p, cn, cl);
  uint32_t mark = defs->pos = WLIT(b, p + cl, "\", [");
  new_scope();
  G.extra.pos = 0;
  fields(id);
  // Each entry ends with a comma: the last one becomes the bracket.
  if (defs->pos > mark) defs->pos--;
  LIT(defs, "]);\n");
  bytes_room(o, 3 * tl + 80);
  b = o->buf;
  p = WLIT(b, o->pos, "}\n/** {@link ");
  copy_over(b + p, tn, tl);
  p = WLIT(b, p + tl, "} as plain data. */\nexport type ");
  copy_over(b + p, tn, tl);
  p = WLIT(b, p + tl, "Object = $Plain<");
  copy_over(b + p, tn, tl);
  p += tl;
  b[p++] = '>';
  o->pos = p;
  if (G.extra.pos) {
    LIT(o, " & {");
    bytes_put(o, G.extra.buf, G.extra.pos);
    LIT(o, " }");
  }
  LIT(o, ";\n\n");
}

/* Every declaration's class or enum. */
static void emit_all(void) {
  const int8_t *kind = G.f->kind;
  for (int32_t i = 0; i < G.n; i++) {
    int k = kind[G.order[i]];
    if (is_composite_kind(k))
      emit_class(i);
    else
      emit_enum(i);
  }
}

/* `export { Foo as FooT }` for typedefs of emitted types, where free. */
static void emit_aliases(void) {
  const CNames *names = &G.names;
  TypeNames *tn = &G.tn;
  Bytes *o = G.o;
  int32_t *emitted = gen_alloc((uint32_t)names->nTypedefs * 4 + 4);
  int32_t ne = 0;
  for (int32_t i = 0; i < names->nTypedefs; i++) {
    int32_t td = names->typedefs[i];
    int32_t target = mt_resolve(G.f, (uint32_t)td);
    if (target >= 0 && G.declIndex[target] > 0) emitted[ne++] = td;
  }
  int32_t *sorted = sort_by_name(emitted, ne, names, G.f->kind);
  int any = 0;
  for (int32_t i = 0; i < ne; i++) {
    int32_t td = sorted[i];
    int32_t target = mt_resolve(G.f, (uint32_t)td);
    if (cnames_same(names, target, td)) continue;
    tn_pascal(tn, names, td);
    if (!tn_try_claim(tn)) continue;
    uint32_t at = tn->at, n = tn->n;
    LIT(o, "/** `typedef ");
    mt_spelling_or_unknown(&G.mt, target, o);
    bytes_byte(o, ' ');
    c_doc(o, td);
    LIT(o, "`. */\nexport { ");
    ts_name(o, G.declIndex[target] - 1);
    LIT(o, " as ");
    bytes_put(o, tn->bytes + at, n);
    LIT(o, " };\n");
    any = 1;
  }
  if (any) bytes_byte(o, '\n');
}

/* The line before the $def calls. */
static const char DEFS_HEAD[] =
    "// Sizes, C names and field tables ((name, byte offset, spec) triples); "
    "see $def.\n";

void generate(const Flat *f, Bytes *out, Bytes *tables) {
  // The string section ends with a NUL (rawBtf checks it): name scans stop.
  if (f->stringsLen == 0 || f->strings[f->stringsLen - 1] != 0) gen_bail();
  for (uint32_t i = 0; i < N_RESERVED; i++)
    SPECIAL[name_hash(RESERVED_MEMBERS[i]) & 1023] = 1;
  G.f = f;
  G.o = out;
  // Room up front (vmlinux: 8 MB of declarations, 2 MB of tables from 3 MB
  // of type words): growing by doubling would copy and touch twice as
  // much. Room never written costs nothing. The tables stay in a buffer
  // of their own, which the caller hands on after `out` (not copied).
  bytes_init(out, f->nWords * 16 + (1 << 16));
  bytes_init(&G.defs, f->nWords * 4 + (1 << 16));
  LIT(&G.defs, DEFS_HEAD);
  bytes_init(&G.extra, 256);
  G.declIndex = gen_alloc(((uint32_t)f->count + 1) * 4);
  G.onPath = gen_alloc((uint32_t)f->count + 1);
  G.hSize = 1024;
  G.hStamp = gen_alloc(G.hSize * 4);
  G.hHash = gen_alloc(G.hSize * 4);
  G.hOff = gen_alloc(G.hSize * 4);
  mt_init(&G.mt, f);
  tn_init(&G.tn);
  name_table(f, &G.names);
  G.n = G.names.nDeclarable;
  G.order = G.names.order; /* name_table sorted them */
  claim_all();
  // Memory past every name copied by words (copy_over reads up to 7 bytes
  // over their ends): the string section, the C and TypeScript names.
  gen_alloc(16);
  emit_all();
  emit_aliases();
  // Any $def: the tables follow the declarations; else nothing does.
  if (G.defs.pos > sizeof(DEFS_HEAD) - 1)
    LIT(&G.defs, "$install();\n");
  else
    G.defs.pos = 0;
  *tables = G.defs;
}
