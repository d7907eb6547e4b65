/* Port of codegen/member_types.ts: to be written. */
#include "gen.h"
