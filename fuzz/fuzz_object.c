/* libFuzzer target: an ELF object from memory, opened and walked as a user of the object
 * API would (programs with their instructions, line and function info, maps, BTF
 * types and members).  Nothing is loaded: open must refuse bad input with a message and
 * never read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "skep/btf.h"
#include "skep/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skep_object *obj = NULL;
	struct skep_object_open_opts o = {.sz = sizeof o, .object_name = "fuzz"};
	if (skep_object_open_mem(data, size, &o, &obj)) {
		if (!*skep_object_error(NULL))
			abort();  /* a refusal always says why */
		return 0;
	}
	volatile uint64_t sink = 0;
	for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p)) {
		size_t n, nl, nf;
		const struct skep_insn *in = skep_program_insns(p, &n);
		for (size_t i = 0; i < n; i++)
			sink += in[i].code + (uint32_t)in[i].imm;
		const struct skep_line_info *l = skep_program_line_info(p, &nl);
		for (size_t i = 0; i < nl; i++)
			sink += l[i].insn + strlen(l[i].file) + strlen(l[i].text);
		const struct skep_func_info *f = skep_program_func_info(p, &nf);
		for (size_t i = 0; i < nf; i++)
			sink += f[i].insn + strlen(f[i].name);
		sink += strlen(skep_program_section_name(p)) + skep_program_type(p);
	}
	for (skep_object_map *m = skep_object_next_map(obj, NULL); m; m = skep_object_next_map(obj, m)) {
		size_t sz = 0;
		uint8_t *v = skep_object_map_initial_value(m, &sz);
		/* both ends of the image: a mutated .bss may ask for hundreds of MiB (the
		 * kernel allows array values up to 2 GiB), too many to read on every input */
		for (size_t i = 0; v && i < sz && i < 4096; i++)
			sink += v[i] + v[sz - 1 - i];
		sink += strlen(skep_object_map_name(m)) + skep_object_map_value_size(m);
	}
	const struct skep_btf *btf = skep_object_btf(obj);
	for (uint32_t id = 0; btf && id < skep_btf_type_cnt(btf); id++) {
		struct skep_btf_type t;
		struct skep_btf_member mb;
		if (skep_btf_type(btf, id, &t))
			abort();
		sink += strlen(t.name) + (uint64_t)skep_btf_type_size(btf, id) + skep_btf_resolve(btf, id);
		for (uint32_t i = 0; i < t.vlen && i < 64; i++)
			if (!skep_btf_member(btf, id, i, &mb))
				sink += mb.type + (mb.name ? strlen(mb.name) : 0);
	}
	(void)sink;
	skep_object_close(obj);
	return 0;
}
