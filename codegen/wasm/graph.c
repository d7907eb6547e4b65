/*
 * Port of codegen/type_graph.ts: RawGraph.buildFlat (the `Flat` arrays) and
 * RawGraph.wanted() for a base BTF (first id 1, no base), and before them
 * what rawBtf does past readHeader (src/btf/parse.ts typeWords and
 * indexTypes, the StringTable checks) for little-endian BTF: the TypeScript
 * side validates only the header, and every check that TypeScript would
 * throw on bails here, so that the TypeScript generator then runs and
 * throws the same typed error. Bounds are checked again where the Flat is
 * built so that no read leaves the type section whatever the caller passes.
 */
#include "gen.h"

/* Words a record of kind `k` with `v` members reads, or 0 when unknown. */
static uint32_t record_words(uint32_t k, uint32_t v) {
  switch (k) {
  case K_INT:
    return 4;
  case K_ARRAY:
    return 6;
  case K_STRUCT:
  case K_UNION:
  case K_ENUM64:
    return 3 + 3 * v;
  case K_ENUM:
    return 3 + 2 * v;
  default:
    return 3;
  }
}

void flat_build(Flat *f, const uint32_t *words, uint32_t nWords,
                const uint32_t *offsets, uint32_t count,
                const uint8_t *strings, uint32_t stringsLen) {
  const uint32_t *w = words;
  /* Ids are int32 everywhere (TS: MAX_TYPE bounds them far below). */
  if (count > 0x7fffffe) gen_bail();
  uint32_t n = count + 1;
  /* A member or enumerator takes at least 2 words (as buildFlat). */
  uint32_t cap = nWords >> 1;
  f->count = (int32_t)count;
  f->kind = gen_alloc(n);
  f->name = gen_alloc(4 * n);
  f->size = gen_alloc(4 * n);
  f->ref = gen_alloc(4 * n);
  f->len = gen_alloc(4 * n);
  f->vlen = gen_alloc(4 * n);
  f->flag = gen_alloc(n);
  f->intInfo = gen_alloc(4 * n);
  f->first = gen_alloc(4 * n);
  f->mName = gen_alloc(4 * cap);
  f->mType = gen_alloc(4 * cap);
  f->mBitOff = gen_alloc(4 * cap);
  f->mBitSize = gen_alloc(cap);
  f->strings = strings;
  f->stringsLen = stringsLen;
  int8_t *kind = f->kind;
  int32_t *name = f->name, *ref = f->ref, *vlen = f->vlen;
  int32_t *intInfo = f->intInfo, *first = f->first, *mName = f->mName;
  uint32_t *size = f->size, *len = f->len, *mType = f->mType;
  uint32_t *mBitOff = f->mBitOff;
  uint8_t *flag = f->flag, *mBitSize = f->mBitSize;
  kind[0] = 0;
  ref[0] = -1;
  uint32_t m = 0;
  for (uint32_t i = 0, id = 1; i < count; i++, id++) {
    uint32_t p = offsets[i];
    if (p >= nWords || nWords - p < 3) gen_bail();
    uint32_t info = w[p + 1];
    uint32_t k = (info >> 24) & 0x1f;
    uint32_t v = info & 0xffff;
    uint32_t kf = info >> 31;
    if (nWords - p < record_words(k, v)) gen_bail();
    kind[id] = (int8_t)k;
    name[id] = (int32_t)w[p];
    flag[id] = (uint8_t)kf;
    vlen[id] = (int32_t)v;
    size[id] = k == K_PTR ? 8 : w[p + 2];
    ref[id] = -1;
    switch (k) {
    case K_INT: {
      uint32_t enc = w[p + 3];
      intInfo[id] = (int32_t)((enc & 0xff) | (((enc >> 16) & 0xff) << 8) |
                              (((enc >> 24) & 0xf) << 16));
      break;
    }
    case K_ARRAY: {
      uint32_t t = w[p + 3];
      ref[id] = t <= count ? (int32_t)t : -1;
      len[id] = w[p + 5];
      break;
    }
    case K_STRUCT:
    case K_UNION:
      if (cap - m < v) gen_bail();
      first[id] = (int32_t)m;
      for (uint32_t j = 0, q = p + 3; j < v; j++, q += 3, m++) {
        mName[m] = (int32_t)w[q];
        mType[m] = w[q + 1];
        uint32_t o = w[q + 2];
        mBitOff[m] = kf ? o & 0xffffff : o;
        mBitSize[m] = kf ? (uint8_t)(o >> 24) : 0;
      }
      break;
    case K_ENUM:
    case K_ENUM64: {
      /* btf_enum: name, value; btf_enum64: name, low, high. */
      int wide = k == K_ENUM64;
      if (cap - m < v) gen_bail();
      first[id] = (int32_t)m;
      for (uint32_t j = 0, q = p + 3; j < v; j++, q += wide ? 3 : 2, m++) {
        mName[m] = (int32_t)w[q];
        mType[m] = w[q + 1];
        if (wide) mBitOff[m] = w[q + 2];
      }
      break;
    }
    default: {
      uint32_t t = w[p + 2];
      ref[id] = t <= count ? (int32_t)t : -1;
    }
    }
  }
  f->members = (int32_t)m;
}

/* Little-endian 32-bit field at byte `at` (wasm is little-endian). */
static uint32_t le32(const uint8_t *b, uint32_t at) {
  uint32_t v;
  memcpy(&v, b + at, 4);
  return v;
}

/*
 * Words after a record's 12-byte header: EXTRA_FIXED[kind] + vlen *
 * EXTRA_PER_VLEN[kind] (wire.ts extraSize); 255 marks an unknown kind.
 */
static const uint8_t EXTRA_PER_VLEN[32] = {
    255, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255};
static const uint8_t EXTRA_FIXED[32] = {0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0,
                                        0, 0, 0, 1, 0, 0, 1, 0, 0};

/* MAX_TYPE of src/btf/wire.ts (BTF_MAX_TYPE). */
#define MAX_TYPE 0x000fffffu

/*
 * indexTypes: the word offset of every type record, in id order; *count
 * gets their number. Bails where it throws (a truncated record, an
 * unknown kind, more than MAX_TYPE types).
 */
static uint32_t *index_types(const uint32_t *w, uint32_t n, uint32_t *count) {
  uint32_t *offsets = gen_alloc(4 * (n / 3 + 1));
  uint32_t c = 0, pos = 0;
  while (pos < n) {
    if (n - pos < 3) gen_bail();
    uint32_t info = w[pos + 1];
    uint32_t k = (info >> 24) & 0x1f;
    uint32_t m = EXTRA_PER_VLEN[k];
    if (m == 255) gen_bail();
    /* At most 3 + 3 + 3 * 0xffff words: no overflow in 32 bits. */
    uint32_t need = 3 + EXTRA_FIXED[k] + m * (info & 0xffff);
    if (n - pos < need) gen_bail();
    offsets[c++] = pos;
    pos += need;
  }
  if (c > MAX_TYPE) gen_bail();
  *count = c;
  return offsets;
}

void flat_read(Flat *f, const uint8_t *btf, uint32_t len) {
  /* readHeader: little-endian magic 9f eb, version 1, sections in bounds. */
  if (len < 24 || btf[0] != 0x9f || btf[1] != 0xeb || btf[2] != 1) gen_bail();
  uint32_t hdrLen = le32(btf, 4), typeOff = le32(btf, 8);
  uint32_t typeLen = le32(btf, 12), strOff = le32(btf, 16);
  uint32_t strLen = le32(btf, 20);
  if (hdrLen < 24 || hdrLen > len) gen_bail();
  uint64_t body = len - hdrLen;
  if (typeOff % 4 || typeLen % 4) gen_bail();
  if ((uint64_t)typeOff + typeLen > body) gen_bail();
  if ((uint64_t)strOff + strLen > body) gen_bail();
  /* StringTable: a base BTF's strings start and end with a NUL byte. */
  const uint8_t *strings = btf + hdrLen + strOff;
  if (strLen > 0 && (strings[0] != 0 || strings[strLen - 1] != 0))
    gen_bail();
  /* typeWords: host order is little-endian; an odd header length leaves
     the section unaligned, then it is copied. */
  const uint8_t *sec = btf + hdrLen + typeOff;
  const uint32_t *words = (const uint32_t *)sec;
  uint32_t nWords = typeLen / 4;
  if ((uintptr_t)sec & 3) {
    uint32_t *copy = gen_alloc(typeLen);
    memcpy(copy, sec, typeLen);
    words = copy;
  }
  uint32_t count;
  const uint32_t *offsets = index_types(words, nWords, &count);
  flat_build(f, words, nWords, offsets, count, strings, strLen);
  f->words = words;
  f->nWords = nWords;
  f->offsets = offsets;
}

#define WANTED_MASK                                                            \
  ((1u << K_STRUCT) | (1u << K_UNION) | (1u << K_ENUM) | (1u << K_ENUM64) |    \
   (1u << K_TYPEDEF) | (1u << K_VAR))

int32_t *flat_wanted(const Flat *f, int32_t *n) {
  int32_t count = f->count, c = 0;
  int32_t *out = gen_alloc(4 * (uint32_t)count + 4);
  for (int32_t id = 1; id <= count; id++)
    if ((WANTED_MASK >> f->kind[id]) & 1) out[c++] = id;
  *n = c;
  return out;
}
