/* What the wasm module exports: input buffers, one run, its output. */
#include "gen.h"

static Bytes result;

/* Room for `n` input bytes (the caller copies words, offsets, strings in). */
__attribute__((export_name("input"))) void *input(uint32_t n) {
  return gen_alloc(n);
}

/*
 * Generates the module body for a base BTF: `words` (nWords, host order),
 * `offsets` (word index of each type record, ids 1..count) and the string
 * section. Returns the body's length; gen_output() gives where it is.
 */
__attribute__((export_name("run"))) uint32_t run(
    const uint32_t *words, uint32_t nWords, const uint32_t *offsets,
    uint32_t count, const uint8_t *strings, uint32_t stringsLen) {
  Flat f;
  flat_build(&f, words, nWords, offsets, count, strings, stringsLen);
  f.words = words;
  f.nWords = nWords;
  f.offsets = offsets;
  bytes_init(&result, 1 << 20);
  generate(&f, &result);
  return result.pos;
}

__attribute__((export_name("output"))) uint8_t *output(void) {
  return result.buf;
}
