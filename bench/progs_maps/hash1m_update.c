#define MAP_TYPE BPF_MAP_TYPE_HASH
#define ENTRIES (1 << 20)
#define OP_UPDATE
#include "mapop.h"
