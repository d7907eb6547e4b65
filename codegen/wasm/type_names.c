/*
 * Port of codegen/type_names.ts (TypeNames): the generated module's
 * namespace as bytes with an open-addressing table over them. A class
 * claims `<Name>` and `<Name>Object`, an enum or alias `<Name>`; reserved
 * words and globals (codegen/names.ts unavailableNames()) are never handed
 * out; clashes get `_2`, `_3`... The table and the byte layout follow the
 * TS class step for step, so `at` and `n` are the same offsets.
 */
#include "gen.h"
#include "names.gen.h"

/* Flags of a name in the table. */
#define TAKEN 1
#define CLASS 2
#define STEM 4
#define UNAVAILABLE 8

/* codegen/names.ts unavailableNames(), through the generated names.gen.h. */
static const char *const UNAVAILABLE_NAMES[] = {UNAVAILABLE_NAME_LIST};

static const uint8_t OBJECT[6] = {'O', 'b', 'j', 'e', 'c', 't'};

/*
 * pascalCase's fast path by table: CASED[c] is byte `c` as it stays,
 * CASED[256 + c] as it is after `_` or at the start (upper case letters).
 * Filled by tn_init.
 */
static uint8_t CASED[512];

#define INITIAL (1u << 16)
/*
 * Slots at first: vmlinux needs about 16,400 names, which fill them to
 * half; the table grows past three quarters. Fewer slots are fewer pages
 * of wasm memory to touch (each a page fault).
 */
#define SLOTS (1u << 15)

/* Makes room for `n` more bytes (keeping those written past the end). */
static uint8_t *room(TypeNames *t, uint32_t n) {
  if (t->end + n > t->cap) {
    uint32_t cap = (t->cap + n) * 2;
    uint8_t *next = gen_alloc(cap);
    memcpy(next, t->bytes, t->cap);
    t->bytes = next;
    t->cap = cap;
  }
  return t->bytes;
}

/*
 * Hash of the `n` bytes at `b`, 4 at a time (the table's order never shows
 * in the output, so any hash will do; this one takes a quarter of the
 * steps of a byte loop).
 */
static uint32_t hash_bytes(const uint8_t *b, uint32_t n) {
  uint32_t h = n * 0x9e3779b1u, i = 0, w;
  for (; i + 4 <= n; i += 4) {
    __builtin_memcpy(&w, b + i, 4);
    h = (h ^ w) * 0x85ebca6bu;
    h ^= h >> 13;
  }
  if (i < n) {
    /* The last 1-3 bytes: the last word (overlapping), or 0-padded bytes. */
    if (n >= 4)
      __builtin_memcpy(&w, b + n - 4, 4);
    else
      for (w = 0; i < n; i++) w = w << 8 | b[i];
    h = (h ^ w) * 0x85ebca6bu;
  }
  h ^= h >> 16;
  return h * 0xc2b2ae35u;
}

/* Slot of the name of `n` bytes at `at`: where it is, or where it would go. */
static uint32_t slot(TypeNames *t, uint32_t at, uint32_t n) {
  const uint8_t *b = t->bytes;
  uint32_t h = hash_bytes(b + at, n);
  uint32_t mask = t->slots - 1;
  const int32_t *so = t->slotOff;
  for (uint32_t i = h & mask;; i = (i + 1) & mask) {
    int32_t o = so[i];
    if (o < 0) {
      t->slotHash[i] = (int32_t)h;
      return i;
    }
    if ((uint32_t)t->slotHash[i] != h || (uint32_t)t->slotLen[i] != n)
      continue;
    if (memcmp(b + o, b + at, n) == 0) return i;
  }
}

/* Flags of the name in slot `i` (0 for an empty slot). */
static uint32_t flags_at(const TypeNames *t, uint32_t i) {
  return t->slotOff[i] < 0 ? 0 : t->slotFlags[i];
}

static void grow(TypeNames *t) {
  int32_t *oOff = t->slotOff, *oLen = t->slotLen, *oHash = t->slotHash;
  uint8_t *oFlags = t->slotFlags;
  uint32_t old = t->slots, size = old * 2, mask = size - 1;
  t->slotOff = gen_alloc(4 * size);
  memset(t->slotOff, 0xff, 4 * size);
  t->slotLen = gen_alloc(4 * size);
  t->slotHash = gen_alloc(4 * size);
  t->slotFlags = gen_alloc(size);
  t->slots = size;
  for (uint32_t j = 0; j < old; j++) {
    if (oOff[j] < 0) continue;
    uint32_t i = (uint32_t)oHash[j] & mask;
    while (t->slotOff[i] >= 0) i = (i + 1) & mask;
    t->slotOff[i] = oOff[j];
    t->slotLen[i] = oLen[j];
    t->slotHash[i] = oHash[j];
    t->slotFlags[i] = oFlags[j];
  }
}

/*
 * Adds `flags` to the name of `n` bytes at `at`, found at slot `i` (which
 * must stay in place).
 */
static void mark_at(TypeNames *t, uint32_t i, uint32_t at, uint32_t n,
                    uint32_t flags) {
  if (t->slotOff[i] >= 0) {
    t->slotFlags[i] |= (uint8_t)flags;
    return;
  }
  t->slotOff[i] = (int32_t)at;
  t->slotLen[i] = (int32_t)n;
  t->slotFlags[i] = (uint8_t)flags;
  if (++t->used * 4 > t->slots * 3) grow(t);
}

static void mark(TypeNames *t, uint32_t at, uint32_t n, uint32_t flags) {
  mark_at(t, slot(t, at, n), at, n, flags);
}

void tn_init(TypeNames *t) {
  for (uint32_t c = 0; c < 256; c++) {
    CASED[c] = (uint8_t)c;
    CASED[256 + c] = (uint8_t)(c >= 'a' && c <= 'z' ? c - 32 : c);
  }
  t->bytes = gen_alloc(INITIAL);
  t->cap = INITIAL;
  t->end = 0;
  t->at = 0;
  t->n = 0;
  t->slots = SLOTS;
  t->slotOff = gen_alloc(4 * SLOTS);
  memset(t->slotOff, 0xff, 4 * SLOTS);
  t->slotLen = gen_alloc(4 * SLOTS);
  t->slotHash = gen_alloc(4 * SLOTS);
  t->slotFlags = gen_alloc(SLOTS);
  t->used = 0;
  uint32_t count = sizeof UNAVAILABLE_NAMES / sizeof UNAVAILABLE_NAMES[0];
  for (uint32_t k = 0; k < count; k++) {
    const char *s = UNAVAILABLE_NAMES[k];
    uint32_t n = str_len(s);
    uint32_t at = t->end;
    memcpy(room(t, n) + at, s, n);
    t->end += n;
    mark(t, at, n, UNAVAILABLE);
  }
}

/* True when the name ends in `Object` and is longer. */
static int has_stem(const TypeNames *t, uint32_t at, uint32_t n) {
  if (n <= 6) return 0;
  /* Two loads, not a call per claim. */
  uint32_t a, b;
  __builtin_memcpy(&a, t->bytes + at + n - 6, 4);
  __builtin_memcpy(&b, OBJECT, 4);
  if (a != b) return 0;
  const uint8_t *e = t->bytes + at + n - 2;
  return e[0] == 'c' && e[1] == 't';
}

/* Whether the name of `n` bytes at `at`, in slot `i`, may be taken. */
static int is_free(TypeNames *t, uint32_t i, uint32_t at, uint32_t n,
                   int composite) {
  uint32_t f = flags_at(t, i);
  if (f & (TAKEN | UNAVAILABLE)) return 0;
  if (has_stem(t, at, n) && flags_at(t, slot(t, at, n - 6)) & CLASS) return 0;
  return !composite || (f & (STEM | CLASS)) == 0;
}

/* Takes the name of `n` bytes at `at`, in slot `i`. */
static void add(TypeNames *t, uint32_t i, uint32_t at, uint32_t n,
                int composite) {
  mark_at(t, i, at, n, composite ? TAKEN | CLASS : TAKEN);
  if (has_stem(t, at, n)) mark(t, at, n - 6, STEM);
  t->at = at;
  t->n = n;
  t->end = at + n;
}

/*
 * pascalCase (codegen/names.ts) of an ASCII name, the slow way: `_`
 * dropped (the next letter upper case), other characters that are not
 * letters or digits as `$` and their hex code, `T` before a name that does
 * not start with a capital, `Anon` for an empty one. Written at `start`;
 * returns its end.
 */
static uint32_t pascal_slow(TypeNames *t, uint32_t start, const uint8_t *src,
                            uint32_t len) {
  static const char HEX[] = "0123456789abcdef";
  /* One spare byte in front for the `T`. */
  uint8_t *b = room(t, 3 * len + 5);
  uint32_t p = start + 1;
  int upper = 1;
  for (uint32_t i = 0; i < len; i++) {
    uint8_t c = src[i];
    if (c == '_') {
      upper = 1;
      continue;
    }
    int lower = c >= 'a' && c <= 'z';
    if (lower || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      b[p++] = upper && lower ? (uint8_t)(c - 32) : c;
    } else {
      if (c >= 0x80) gen_bail(); /* names are ASCII here: cannot happen */
      b[p++] = '$';
      if (c >= 16) b[p++] = (uint8_t)HEX[c >> 4];
      b[p++] = (uint8_t)HEX[c & 15];
    }
    upper = 0;
  }
  if (p == start + 1) {
    memcpy(b + start, "Anon", 4);
    return start + 4;
  }
  uint8_t first = b[start + 1];
  if (first >= 'A' && first <= 'Z') {
    memmove(b + start, b + start + 1, p - start - 1);
    return p - 1;
  }
  b[start] = 'T';
  return p;
}

void tn_pascal(TypeNames *t, const CNames *names, int32_t id) {
  int32_t o = names->off[id];
  uint32_t len = (uint32_t)names->len[id];
  const uint8_t *src = names->out.buf;
  uint8_t *b = room(t, len + 1);
  uint32_t start = t->end;
  uint32_t p = start;
  int plain = names->plain[id] == 1;
  if (plain) {
    /*
     * No branch per byte: each byte is written (a lower case letter after
     * `_` or at the start as upper case) and kept unless it is `_`; a `$`
     * (plain, but not a letter or digit) sends the name the slow way.
     */
    const uint8_t *s = src + o;
    uint32_t upper = 1, odd = 0;
    for (uint32_t i = 0; i < len; i++) {
      uint8_t c = s[i];
      b[p] = CASED[upper << 8 | c];
      upper = c == '_';
      p += upper ^ 1;
      odd |= c == '$';
    }
    plain = !odd;
  }
  /* Empty, or starting with a digit, or with other characters: the slow way. */
  if (!plain || p == start || b[start] > 'Z' || b[start] < 'A') {
    p = pascal_slow(t, start, o >= 0 ? src + o : src, o >= 0 ? len : 0);
  }
  t->at = start;
  t->n = p - start;
}

/* claim for a name seen before (or ending in `Object`). */
static void claim_taken(TypeNames *t, int composite) {
  uint32_t at = t->at;
  uint32_t base = t->n;
  uint32_t n = base;
  uint32_t i = slot(t, at, n);
  if (flags_at(t, i) & UNAVAILABLE) {
    room(t, n + 1)[at + n] = '_';
    n++;
    i = slot(t, at, n);
  }
  for (uint32_t k = 2; !is_free(t, i, at, n, composite); k++) {
    uint8_t *b = room(t, base + 11);
    b[at + base] = '_';
    n = put_uint(b, at + base + 1, k) - at;
    i = slot(t, at, n);
  }
  add(t, i, at, n, composite);
}

void tn_claim(TypeNames *t, int composite) {
  uint32_t at = t->at;
  uint32_t n = t->n;
  uint32_t i = slot(t, at, n);
  /* Unseen, and no `Object` companion to check: the name is free. */
  if (t->slotOff[i] < 0 && !has_stem(t, at, n)) {
    mark_at(t, i, at, n, composite ? TAKEN | CLASS : TAKEN);
    t->end = at + n;
  } else
    claim_taken(t, composite);
}

int tn_try_claim(TypeNames *t) {
  uint32_t i = slot(t, t->at, t->n);
  if (!is_free(t, i, t->at, t->n, 0)) return 0;
  add(t, i, t->at, t->n, 0);
  return 1;
}
