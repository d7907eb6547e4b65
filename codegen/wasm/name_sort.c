/*
 * Port of codegen/name_sort.ts: ids sorted by (C name, kind rank, id). As
 * TS does, names are sorted a few bytes at a time as integer keys and runs
 * of equal keys are refined by the next bytes; short runs are sorted by
 * comparisons. The order is the one total order of its `compare`, so the
 * method does not change it.
 *
 * A key is 8 name bytes from `from` on, big-endian, 0 past the end (names
 * have no NUL, so a name that is a prefix of another sorts first, as
 * strings compare; names are ASCII, naming.c, so byte order is string
 * order). Runs are split by most-significant-digit radix passes over the
 * top key bits that vary within them: no comparison calls, and the bits
 * that a run's names share (vmlinux has long common prefixes such as
 * `trace_event_raw_`) cost no pass. Against a merge sort by comparisons,
 * half the instructions; under V8's baseline compiler a third of the time.
 */
#include "gen.h"

/* Runs this short are sorted by insertion. */
#define SHORT_RUN 16
/* Bits of key per radix pass, at most (2048 buckets). */
#define MAX_BITS 11

/* Sort rank of a KIND number when names tie: struct, union, enum, the rest. */
static int32_t kind_rank(int k) {
  return k == K_STRUCT ? 0
         : k == K_UNION ? 1
         : k == K_ENUM || k == K_ENUM64 ? 2
                                        : 9;
}

/*
 * Scratch space kept from call to call (the generator sorts four lists,
 * the longest last but one): fresh wasm pages cost page faults.
 */
static uint64_t *keys, *tkeys;
static int32_t *tids;
static int32_t *stack;
static uint32_t cap;
static uint32_t count[(1 << MAX_BITS) + 1];

/* Byte-reverses `x`: a little-endian load as a big-endian number. */
static uint64_t swap64(uint64_t x) {
  x = (x & 0x00ff00ff00ff00ffull) << 8 | ((x >> 8) & 0x00ff00ff00ff00ffull);
  x = (x & 0x0000ffff0000ffffull) << 16 | ((x >> 16) & 0x0000ffff0000ffffull);
  return x << 32 | x >> 32;
}

/*
 * The key of name `id` from byte `from` on. Reads 8 bytes even when fewer
 * are left: name_table leaves 8 spare bytes after the last name, and the
 * bytes past the end are masked off.
 */
static uint64_t key_of(const CNames *names, int32_t id, int32_t from) {
  int32_t l = names->len[id] - from;
  if (l <= 0) return 0;
  uint64_t v;
  __builtin_memcpy(&v, names->out.buf + names->off[id] + from, 8);
  v = swap64(v);
  return l >= 8 ? v : v & ~(~0ull >> (8 * l));
}

/*
 * Order of ids `a` and `b` whose names agree on their first `from` bytes:
 * the rest of the names (8 bytes at a time), then kind rank, then id.
 */
static int32_t compare_from(const CNames *names, const int8_t *kind,
                            int32_t a, int32_t b, int32_t from) {
  int32_t na = names->len[a], nb = names->len[b];
  int32_t m = na < nb ? na : nb;
  const uint8_t *s = names->out.buf;
  const uint8_t *p = s + names->off[a], *q = s + names->off[b];
  for (int32_t i = from; i < m; i += 8) {
    uint64_t x, y;
    __builtin_memcpy(&x, p + i, 8);
    __builtin_memcpy(&y, q + i, 8);
    uint64_t d = x ^ y;
    if (d == 0) continue;
    /* First differing byte (little-endian: the lowest), if before m. */
    int32_t j = i + (__builtin_ctzll(d) >> 3);
    if (j >= m) break;
    return (int32_t)p[j] - (int32_t)q[j];
  }
  if (na != nb) return na - nb;
  int32_t ra = kind_rank(kind[a]), rb = kind_rank(kind[b]);
  if (ra != rb) return ra - rb;
  return a - b;
}

/*
 * Insertion sort of positions [lo, hi) of `ids` (keys at byte `from`,
 * from -1: final keys, all different).
 */
static void sort_short(int32_t *ids, int32_t lo, int32_t hi,
                       const CNames *names, const int8_t *kind, int32_t from) {
  for (int32_t i = lo + 1; i < hi; i++) {
    uint64_t k = keys[i];
    int32_t v = ids[i];
    int32_t j = i - 1;
    for (; j >= lo; j--) {
      uint64_t kj = keys[j];
      if (kj < k) break;
      if (kj == k && compare_from(names, kind, ids[j], v, from + 8) < 0) break;
      keys[j + 1] = kj;
      ids[j + 1] = ids[j];
    }
    keys[j + 1] = k;
    ids[j + 1] = v;
  }
}

/*
 * Sorts or splits the run on top of the stack (of `sp` entries), pushing
 * what is left to sort; returns the new stack size. A call per run, not
 * one loop over all of them: engines run a loop in the tier its call
 * started in (V8 has no OSR for wasm), so later runs run optimised.
 */
__attribute__((noinline)) static int32_t sort_run(int32_t *ids, int32_t sp,
                                                  const CNames *names,
                                                  const int8_t *kind) {
  int32_t f2 = stack[--sp];
  int32_t hi = stack[--sp];
  int32_t lo = stack[--sp];
  int32_t from = f2 >> 1;
  uint64_t any = 0, all = ~0ull;
  if (f2 & 1) {
    for (int32_t p = lo; p < hi; p++) {
      any |= keys[p];
      all &= keys[p];
    }
  } else {
    for (int32_t p = lo; p < hi; p++) {
      uint64_t k = key_of(names, ids[p], from);
      keys[p] = k;
      any |= k;
      all &= k;
    }
  }
  if (hi - lo <= SHORT_RUN) {
    sort_short(ids, lo, hi, names, kind, from);
    return sp;
  }
  uint64_t diff = any ^ all;
  if (diff == 0) {
    /* All keys equal: the names agree on bytes up to from + 8. */
    int32_t ended = 1;
    for (int32_t p = lo; p < hi && ended; p++)
      ended = names->len[ids[p]] <= from + 8;
    if (!ended) {
      stack[sp++] = lo;
      stack[sp++] = hi;
      stack[sp++] = (from + 8) * 2;
    } else {
      /* Equal names: by kind rank, then id, as keys that all differ
         (`from` -1: final keys, no name bytes to compare). */
      for (int32_t p = lo; p < hi; p++)
        keys[p] = (uint64_t)kind_rank(kind[ids[p]]) << 32 | (uint32_t)ids[p];
      stack[sp++] = lo;
      stack[sp++] = hi;
      stack[sp++] = -1;
    }
    return sp;
  }
  /* One pass on the top varying bits: as many as the run needs, about. */
  int32_t m = hi - lo;
  int32_t bits = 32 - __builtin_clz((uint32_t)m);
  if (bits > MAX_BITS) bits = MAX_BITS;
  int32_t top = 64 - __builtin_clzll(diff);
  int32_t shift = top - bits > 0 ? top - bits : 0;
  uint32_t mask = (1u << bits) - 1;
  uint32_t nb = mask + 1;
  memset(count, 0, 4 * (nb + 1));
  for (int32_t p = lo; p < hi; p++) count[((keys[p] >> shift) & mask) + 1]++;
  for (uint32_t d = 1; d < nb; d++) count[d] += count[d - 1];
  for (int32_t p = lo; p < hi; p++) {
    uint64_t k = keys[p];
    uint32_t at = count[(k >> shift) & mask]++;
    tkeys[at] = k;
    tids[at] = ids[p];
  }
  memcpy(keys + lo, tkeys, 8 * (uint32_t)m);
  memcpy(ids + lo, tids, 4 * (uint32_t)m);
  /* count[d] is now the end of bucket d (relative to lo). */
  int32_t start = lo;
  for (uint32_t d = 0; d < nb; d++) {
    int32_t end = lo + (int32_t)count[d];
    if (end - start > SHORT_RUN) {
      stack[sp++] = start;
      stack[sp++] = end;
      stack[sp++] = from * 2 + 1;
    } else if (end - start > 1)
      sort_short(ids, start, end, names, kind, from);
    start = end;
  }
  return sp;
}

int32_t *sort_by_name(const int32_t *in, int32_t n, const CNames *names,
                      const int8_t *kind) {
  int32_t *ids = gen_alloc(4 * (uint32_t)n + 4);
  if (n <= 1) {
    if (n == 1) ids[0] = in[0];
    return ids;
  }
  if ((uint32_t)n > cap) {
    cap = (uint32_t)n;
    keys = gen_alloc(8 * cap);
    tkeys = gen_alloc(8 * cap);
    tids = gen_alloc(4 * cap);
    /* Runs on the stack are disjoint, each at least 2 long. */
    stack = gen_alloc(4 * (3 * (cap / 2) + 3));
  }
  for (int32_t i = 0; i < n; i++) {
    int32_t id = in[i];
    if (names->off[id] < 0) gen_bail(); /* TS: "each named" */
    ids[i] = id;
  }
  /*
   * Runs [lo, hi) to sort, their names equal up to byte `from`: as `lo`,
   * `hi`, and `from` times 2 plus 1 when keys[lo..hi) hold the keys at
   * `from` already (from -1: final keys, see below).
   */
  int32_t sp = 0;
  stack[sp++] = 0;
  stack[sp++] = n;
  stack[sp++] = 0;
  while (sp > 0) sp = sort_run(ids, sp, names, kind);
  return ids;
}

int32_t *merge_by_name(const int32_t *a, int32_t na, const int32_t *b,
                       int32_t nb, const CNames *names, const int8_t *kind) {
  int32_t *out = gen_alloc(4 * (uint32_t)(na + nb) + 4);
  int32_t i = 0, j = 0, k = 0;
  while (i < na && j < nb)
    out[k++] = compare_from(names, kind, b[j], a[i], 0) < 0 ? b[j++] : a[i++];
  while (i < na) out[k++] = a[i++];
  while (j < nb) out[k++] = b[j++];
  return out;
}
