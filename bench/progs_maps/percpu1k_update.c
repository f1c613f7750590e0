#define MAP_TYPE BPF_MAP_TYPE_PERCPU_HASH
#define ENTRIES (1 << 10)
#define OP_UPDATE
#include "mapop.h"
