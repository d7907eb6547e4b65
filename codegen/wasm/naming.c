/* Port of codegen/naming.ts: to be written. */
#include "gen.h"
