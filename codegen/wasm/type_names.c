/* Port of codegen/type_names.ts: to be written. */
#include "gen.h"
