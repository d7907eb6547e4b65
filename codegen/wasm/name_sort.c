/* Port of codegen/name_sort.ts: to be written. */
#include "gen.h"
