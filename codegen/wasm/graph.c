/*
 * Port of codegen/type_graph.ts: RawGraph.buildFlat (the `Flat` arrays) and
 * RawGraph.wanted() for a base BTF (first id 1, no base), and with them
 * what rawBtf does past readHeader (src/btf/parse.ts typeWords and
 * indexTypes, the StringTable checks) for little-endian BTF: the TypeScript
 * side validates only the header, and every check that TypeScript would
 * throw on bails here, so that the TypeScript generator then runs and
 * throws the same typed error. One pass over the type section indexes the
 * records and fills the arrays.
 */
#include "gen.h"

/* MAX_TYPE of src/btf/wire.ts (BTF_MAX_TYPE). */
#define MAX_TYPE 0x000fffffu

/*
 * Words after a record's 12-byte header: EXTRA_FIXED[kind] + vlen *
 * EXTRA_PER_VLEN[kind] (wire.ts extraSize); 255 marks an unknown kind.
 */
static const uint8_t EXTRA_PER_VLEN[32] = {
    255, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255};
static const uint8_t EXTRA_FIXED[32] = {0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0,
                                        0, 0, 0, 1, 0, 0, 1, 0, 0};

/* Kinds RawGraph.wanted() lists. */
#define WANTED_MASK                                                            \
  ((1u << K_STRUCT) | (1u << K_UNION) | (1u << K_ENUM) | (1u << K_ENUM64) |    \
   (1u << K_TYPEDEF) | (1u << K_VAR))

/* Little-endian 32-bit field at byte `at` (wasm is little-endian). */
static uint32_t le32(const uint8_t *b, uint32_t at) {
  uint32_t v;
  memcpy(&v, b + at, 4);
  return v;
}

/* Records per index_chunk call. */
#define CHUNK 1024

/* Where indexing is: the pass's state between index_chunk calls. */
typedef struct {
  Flat *f;
  const uint32_t *w;
  uint32_t n, cap;
  uint32_t id, m, p, nw;
  uint32_t *offsets;
  int32_t *wanted;
} Index;

/*
 * indexTypes and buildFlat for up to CHUNK records from x->p on: the
 * offset of every record (bailing where indexTypes throws: a truncated
 * record, an unknown kind) and its arrays' entries. A call per chunk, not
 * one loop over all records: engines run a loop in the tier its call
 * started in (V8 has no OSR for wasm), so the later chunks run compiled
 * by the faster tiers.
 */
__attribute__((noinline)) static void index_chunk(Index *x) {
  Flat *f = x->f;
  const uint32_t *w = x->w;
  uint32_t n = x->n, cap = x->cap;
  uint32_t *offsets = x->offsets;
  int8_t *kind = f->kind;
  int32_t *name = f->name;
  uint32_t *size = f->size;
  int32_t *ref = f->ref;
  uint32_t *len = f->len;
  int32_t *vlen = f->vlen;
  uint8_t *flag = f->flag;
  int32_t *intInfo = f->intInfo;
  int32_t *first = f->first;
  int32_t *mName = f->mName;
  uint32_t *mType = f->mType;
  uint32_t *mBitOff = f->mBitOff;
  uint8_t *mBitSize = f->mBitSize;
  int32_t *wanted = x->wanted;
  uint32_t id = x->id, m = x->m, p = x->p, nw = x->nw;
  for (uint32_t c = 0; c < CHUNK && p < n; c++) {
    if (n - p < 3) gen_bail();
    uint32_t info = w[p + 1];
    uint32_t k = (info >> 24) & 0x1f;
    uint32_t v = info & 0xffff;
    uint32_t per = EXTRA_PER_VLEN[k];
    if (per == 255) gen_bail();
    /* At most 3 + 3 + 3 * 0xffff words: no overflow in 32 bits. */
    uint32_t need = 3 + EXTRA_FIXED[k] + per * v;
    if (n - p < need) gen_bail();
    uint32_t kf = info >> 31;
    offsets[id++] = p;
    kind[id] = (int8_t)k;
    name[id] = (int32_t)w[p];
    flag[id] = (uint8_t)kf;
    vlen[id] = (int32_t)v;
    size[id] = k == K_PTR ? 8 : w[p + 2];
    if ((WANTED_MASK >> k) & 1) wanted[nw++] = (int32_t)id;
    /* A reference as it is (ids past the count become -1 later), or -1. */
    int32_t r = -1;
    switch (k) {
    case K_INT: {
      uint32_t enc = w[p + 3];
      intInfo[id] = (int32_t)((enc & 0xff) | (((enc >> 16) & 0xff) << 8) |
                              (((enc >> 24) & 0xf) << 16));
      break;
    }
    case K_ARRAY:
      r = (int32_t)w[p + 3];
      len[id] = w[p + 5];
      break;
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
      /* btf_enum: name, value. */
      if (cap - m < v) gen_bail();
      first[id] = (int32_t)m;
      for (uint32_t j = 0, q = p + 3; j < v; j++, q += 2, m++) {
        mName[m] = (int32_t)w[q];
        mType[m] = w[q + 1];
      }
      break;
    case K_ENUM64:
      /* btf_enum64: name, low, high. */
      if (cap - m < v) gen_bail();
      first[id] = (int32_t)m;
      for (uint32_t j = 0, q = p + 3; j < v; j++, q += 3, m++) {
        mName[m] = (int32_t)w[q];
        mType[m] = w[q + 1];
        mBitOff[m] = w[q + 2];
      }
      break;
    default:
      r = (int32_t)w[p + 2];
    }
    ref[id] = r;
    p += need;
  }
  x->id = id;
  x->m = m;
  x->p = p;
  x->nw = nw;
}

/* References to ids past the count, among ids [lo, hi), become -1. */
__attribute__((noinline)) static void clear_refs(int32_t *ref, uint32_t lo,
                                                 uint32_t hi, uint32_t count) {
  for (uint32_t i = lo; i < hi; i++)
    if ((uint32_t)ref[i] > count) ref[i] = -1;
}

/*
 * indexTypes and buildFlat in one pass over the `n` words (in chunks):
 * the record offsets, the arrays, and RawGraph.wanted() as the records go
 * by (no second pass over the ids); more than MAX_TYPE types bail.
 */
static void index_and_fill(Flat *f, const uint32_t *w, uint32_t n) {
  /* Every record is at least 3 words, a member or enumerator 2. */
  uint32_t ids = n / 3 + 2, cap = n >> 1;
  Index x = {f, w, n, cap, 0, 0, 0, 0, 0, 0};
  x.offsets = gen_alloc(4 * ids);
  f->kind = gen_alloc(ids);
  f->name = gen_alloc(4 * ids);
  f->size = gen_alloc(4 * ids);
  f->ref = gen_alloc(4 * ids);
  f->len = gen_alloc(4 * ids);
  f->vlen = gen_alloc(4 * ids);
  f->flag = gen_alloc(ids);
  f->intInfo = gen_alloc(4 * ids);
  f->first = gen_alloc(4 * ids);
  f->mName = gen_alloc(4 * cap);
  f->mType = gen_alloc(4 * cap);
  f->mBitOff = gen_alloc(4 * cap);
  f->mBitSize = gen_alloc(cap);
  x.wanted = gen_alloc(4 * ids);
  f->kind[0] = 0;
  f->ref[0] = -1;
  while (x.p < n) index_chunk(&x);
  uint32_t id = x.id;
  if (id > MAX_TYPE) gen_bail();
  for (uint32_t lo = 1; lo <= id; lo += 8 * CHUNK)
    clear_refs(f->ref, lo, id + 1 - lo > 8 * CHUNK ? lo + 8 * CHUNK : id + 1,
               id);
  f->count = (int32_t)id;
  f->members = (int32_t)x.m;
  f->offsets = x.offsets;
  f->wanted = x.wanted;
  f->nWanted = (int32_t)x.nw;
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
  f->strings = strings;
  f->stringsLen = strLen;
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
  f->words = words;
  f->nWords = nWords;
  index_and_fill(f, words, nWords);
}


const int32_t *flat_wanted(const Flat *f, int32_t *n) {
  *n = f->nWanted;
  return f->wanted;
}
