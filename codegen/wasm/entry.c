/* What the wasm module exports: an input buffer, one run, its output. */
#include "gen.h"

/* The body's two ranges: (address, length) of the declarations, then of
   the tables (the $def calls and the lines around them; length 0: none). */
static uint32_t ranges[4];

/* Room for `n` input bytes (the caller copies the BTF blob in). */
__attribute__((export_name("input"))) void *input(uint32_t n) {
  return gen_alloc(n);
}

/*
 * Generates the module body for a little-endian base BTF blob of `len`
 * bytes (header, type and string sections). Returns where its ranges are:
 * four words, the declarations' address and length, then the tables'.
 * They are written in buffers of their own, side by side, so the tables
 * (vmlinux: 2 MB) are never copied after the declarations.
 */
__attribute__((export_name("run"))) uint32_t *run(const uint8_t *btf,
                                                  uint32_t len) {
  Flat f;
  Bytes decls, tables;
  flat_read(&f, btf, len);
  generate(&f, &decls, &tables);
  ranges[0] = (uint32_t)(uintptr_t)decls.buf;
  ranges[1] = decls.pos;
  ranges[2] = (uint32_t)(uintptr_t)tables.buf;
  ranges[3] = tables.pos;
  return ranges;
}
