/* What the wasm module exports: an input buffer, one run, its output. */
#include "gen.h"

static Bytes result;

/* Room for `n` input bytes (the caller copies the BTF blob in). */
__attribute__((export_name("input"))) void *input(uint32_t n) {
  return gen_alloc(n);
}

/*
 * Generates the module body for a little-endian base BTF blob of `len`
 * bytes (header, type and string sections). Returns the body's length;
 * output() gives where it is.
 */
__attribute__((export_name("run"))) uint32_t run(const uint8_t *btf,
                                                 uint32_t len) {
  Flat f;
  flat_read(&f, btf, len);
  bytes_init(&result, 1 << 20);
  generate(&f, &result);
  return result.pos;
}

__attribute__((export_name("output"))) uint8_t *output(void) {
  return result.buf;
}
