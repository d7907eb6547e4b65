/* Port of codegen/type_graph.ts (RawGraph.buildFlat): to be written. */
#include "gen.h"
void flat_build(Flat *f, const uint32_t *words, uint32_t nWords,
                const uint32_t *offsets, uint32_t count,
                const uint8_t *strings, uint32_t stringsLen) {
  gen_bail();
}
