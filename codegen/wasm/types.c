/* Port of codegen/types.ts: to be written. */
#include "gen.h"
void generate(const Flat *f, Bytes *out) { gen_bail(); }
