/*
 * Port of codegen/name_sort.ts: ids sorted by (C name, kind rank, id). TS
 * radix-sorts name prefixes and settles ties by comparisons; the order is
 * the one total order of its `compare`, so any correct sort gives it: here
 * a merge sort whose records carry the name's first 8 bytes as a
 * big-endian key (0-padded: names have no NUL, so a shorter name that is a
 * prefix sorts first, as strings compare), the rest compared on ties.
 */
#include "gen.h"

/* Short runs are sorted by insertion before merging. */
#define SHORT_RUN 12

/* Sort rank of a KIND number when names tie: struct, union, enum, the rest. */
static int32_t kind_rank(int k) {
  return k == K_STRUCT ? 0
         : k == K_UNION ? 1
         : k == K_ENUM || k == K_ENUM64 ? 2
                                        : 9;
}

typedef struct {
  uint64_t key; /* name bytes 0..7, big-endian, 0-padded */
  int32_t id;
  int32_t rank;
} Rec;

/* compare of name_sort.ts: name (names.compare), kind rank, id. */
static int32_t rec_compare(const CNames *names, const Rec *a, const Rec *b) {
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  int32_t x = a->id, y = b->id;
  if (x == y) return 0;
  /* Equal first bytes: compare the rest. */
  int32_t na = names->len[x], nb = names->len[y];
  int32_t m = na < nb ? na : nb;
  if (m > 8) {
    const uint8_t *s = names->out.buf;
    const uint8_t *p = s + names->off[x], *q = s + names->off[y];
    for (int32_t i = 8; i < m; i++)
      if (p[i] != q[i]) return (int32_t)p[i] - (int32_t)q[i];
  }
  if (na != nb) return na - nb;
  if (a->rank != b->rank) return a->rank - b->rank;
  return x - y;
}

int32_t *sort_by_name(const int32_t *ids, int32_t n, const CNames *names,
                      const int8_t *kind) {
  int32_t *out = gen_alloc(4 * (uint32_t)n + 4);
  if (n <= 1) {
    if (n == 1) out[0] = ids[0];
    return out;
  }
  Rec *a = gen_alloc(16 * (uint32_t)n);
  Rec *t = gen_alloc(16 * (uint32_t)n);
  const uint8_t *s = names->out.buf;
  for (int32_t i = 0; i < n; i++) {
    int32_t id = ids[i];
    /* Names are ASCII (naming.c): string order is byte order. */
    if (names->off[id] < 0) gen_bail(); /* TS: "each named" */
    const uint8_t *p = s + names->off[id];
    int32_t l = names->len[id];
    uint64_t key = 0;
    for (int32_t j = 0; j < 8; j++) key = key << 8 | (j < l ? p[j] : 0);
    a[i].key = key;
    a[i].id = id;
    a[i].rank = kind_rank(kind[id]);
  }
  /* Insertion sort of short runs, then bottom-up merges. */
  for (int32_t lo = 0; lo < n; lo += SHORT_RUN) {
    int32_t hi = lo + SHORT_RUN < n ? lo + SHORT_RUN : n;
    for (int32_t i = lo + 1; i < hi; i++) {
      Rec v = a[i];
      int32_t j = i - 1;
      for (; j >= lo && rec_compare(names, &a[j], &v) > 0; j--) a[j + 1] = a[j];
      a[j + 1] = v;
    }
  }
  for (int32_t w = SHORT_RUN; w < n; w *= 2) {
    for (int32_t lo = 0; lo < n; lo += 2 * w) {
      int32_t mid = lo + w < n ? lo + w : n;
      int32_t hi = lo + 2 * w < n ? lo + 2 * w : n;
      int32_t i = lo, j = mid, k = lo;
      if (mid >= hi || rec_compare(names, &a[mid - 1], &a[mid]) <= 0) {
        /* Already in order (or one run): copy. */
        memcpy(t + lo, a + lo, 16 * (uint32_t)(hi - lo));
        continue;
      }
      while (i < mid && j < hi)
        t[k++] = rec_compare(names, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
      while (i < mid) t[k++] = a[i++];
      while (j < hi) t[k++] = a[j++];
    }
    Rec *x = a;
    a = t;
    t = x;
  }
  for (int32_t i = 0; i < n; i++) out[i] = a[i].id;
  return out;
}
