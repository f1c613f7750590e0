#define MAP_TYPE BPF_MAP_TYPE_ARRAY
#define ENTRIES (1 << 10)
#define OP_LOOKUP
#include "mapop.h"
