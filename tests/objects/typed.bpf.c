/* Typed maps for `skep map` and `skep btf` (tests/cli/map.sh, btf.sh): struct values
 * with nested structs, char arrays, enums, bitfields, unions, typedefs, a per-CPU hash,
 * a function pointer and a self-referencing struct (for the C dump), global data. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED = 0, GREEN = 1, BLUE = 7 };
enum { TYPED_ANON_A = 1, TYPED_ANON_B = -2 };

typedef unsigned int u32_t;

struct point { int x, y; };

struct rec {
	u32_t count;
	char name[8];
	enum color color;
	struct point at;
	unsigned int flag: 1, level: 3;
	union { __u32 word; __u8 bytes[4]; } u;
	short hist[3];
	_Bool on;
	long long big;
};

struct node;
typedef int (*visit_fn)(struct node *n, void *arg);
struct node {
	struct node *next;
	visit_fn visit;
	const char *label;
	struct { int a; char b; } inl;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct rec);
} recs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8);
	__type(key, struct point);
	__type(value, __u64);
} pc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct node);
} nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__uint(key_size, 4);
	__uint(value_size, 4);
} raw SEC(".maps");

int t_counter = 5;
const volatile char t_tag[6] = "typed";
struct point t_origin;

SEC("socket")
int typed_prog(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct rec *r = bpf_map_lookup_elem(&recs, &k);
	if (r)
		r->count++;
	struct point p = {1, 2};
	__u64 *v = bpf_map_lookup_elem(&pc, &p);
	if (v)
		(*v)++;
	struct node *n = bpf_map_lookup_elem(&nodes, &k);
	if (n && n->visit)
		return 1;
	t_counter += t_tag[0] + t_origin.x;
	return bpf_map_lookup_elem(&raw, &k) ? TYPED_ANON_A : 0;
}

char LICENSE[] SEC("license") = "GPL";
