/* Memory, bytes and numbers for the wasm generator (see gen.h). */
#include "gen.h"

extern unsigned char __heap_base;
static uintptr_t heap_top;

void *gen_alloc(uint32_t n) {
  if (!heap_top) heap_top = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
  uintptr_t p = heap_top;
  uintptr_t end = p + (((uintptr_t)n + 15) & ~(uintptr_t)15);
  if (end < p) gen_bail();
  uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
  if (end > have) {
    uintptr_t pages = (end - have + 65535) / 65536;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) gen_bail();
  }
  heap_top = end;
  return (void *)p;
}

/* Bulk memory (-mbulk-memory): these become memory.copy and memory.fill. */
void *(memcpy)(void *dst, const void *src, size_t n) {
  __builtin_memcpy(dst, src, n);
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  __builtin_memmove(dst, src, n);
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  __builtin_memset(dst, c, n);
  return dst;
}

int(memcmp)(const void *a, const void *b, size_t n) {
  const uint8_t *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i]) return x[i] - y[i];
  return 0;
}

/*
 * Copies `n` bytes (no overlap); short runs by 8-byte words, the last word
 * overlapping the one before: a wasm engine runs memory.copy (what memcpy
 * becomes) as a call, dear for the short runs a field is made of. Out of
 * line: small functions are what the engines compile fast, and most of a
 * cold run runs in their first tiers.
 */
__attribute__((noinline)) void copy_bytes(uint8_t *d, const uint8_t *s,
                                          uint32_t n) {
  if (n > 64) {
    memcpy(d, s, n);
    return;
  }
  uint64_t x;
  uint32_t y;
  if (n >= 8) {
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
      __builtin_memcpy(&x, s + i, 8);
      __builtin_memcpy(d + i, &x, 8);
    }
    if (i < n) {
      __builtin_memcpy(&x, s + n - 8, 8);
      __builtin_memcpy(d + n - 8, &x, 8);
    }
  } else if (n >= 4) {
    __builtin_memcpy(&y, s, 4);
    __builtin_memcpy(d, &y, 4);
    __builtin_memcpy(&y, s + n - 4, 4);
    __builtin_memcpy(d + n - 4, &y, 4);
  } else
    for (uint32_t i = 0; i < n; i++) d[i] = s[i];
}

void bytes_init(Bytes *b, uint32_t cap) {
  b->buf = gen_alloc(cap);
  b->pos = 0;
  b->cap = cap;
}

void bytes_reserve(Bytes *b, uint32_t n) {
  if (b->pos + n <= b->cap) return;
  uint32_t cap = b->cap * 2;
  while (cap < b->pos + n) cap *= 2;
  uint8_t *next = gen_alloc(cap);
  memcpy(next, b->buf, b->pos);
  b->buf = next;
  b->cap = cap;
}

void bytes_byte(Bytes *b, uint8_t c) {
  if (b->pos >= b->cap) bytes_reserve(b, 1);
  b->buf[b->pos++] = c;
}

void bytes_put(Bytes *b, const uint8_t *src, uint32_t n) {
  bytes_room(b, n);
  copy_bytes(b->buf + b->pos, src, n);
  b->pos += n;
}

void bytes_lit(Bytes *b, const char *s) {
  bytes_put(b, (const uint8_t *)s, str_len(s));
}

/* Without a loop below 10000 (most offsets and sizes), as putUint. */
uint32_t put_uint(uint8_t *b, uint32_t p, uint32_t n) {
  if (n < 10) {
    b[p] = (uint8_t)('0' + n);
    return p + 1;
  }
  if (n < 100) {
    b[p] = (uint8_t)('0' + n / 10);
    b[p + 1] = (uint8_t)('0' + n % 10);
    return p + 2;
  }
  if (n < 1000) {
    b[p] = (uint8_t)('0' + n / 100);
    b[p + 1] = (uint8_t)('0' + n / 10 % 10);
    b[p + 2] = (uint8_t)('0' + n % 10);
    return p + 3;
  }
  if (n < 10000) {
    b[p] = (uint8_t)('0' + n / 1000);
    b[p + 1] = (uint8_t)('0' + n / 100 % 10);
    b[p + 2] = (uint8_t)('0' + n / 10 % 10);
    b[p + 3] = (uint8_t)('0' + n % 10);
    return p + 4;
  }
  uint8_t t[10];
  int i = 0;
  do {
    t[i++] = (uint8_t)('0' + n % 10);
    n /= 10;
  } while (n);
  while (i) b[p++] = t[--i];
  return p;
}

void bytes_uint(Bytes *b, uint32_t n) {
  bytes_room(b, 10);
  b->pos = put_uint(b->buf, b->pos, n);
}

const uint8_t IDENT[256] = {
    ['$'] = 1, ['_'] = 1,
    ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2,
    ['5'] = 2, ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};
