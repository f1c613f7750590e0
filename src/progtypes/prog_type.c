/* A program's type: set before load, it selects the context rewrite and binds the
 * type's own helper implementations (the packet helpers need the real context). */
#include <errno.h>

#include "exec/exec.h"
#include "progtypes.h"

int skep_prog_set_type(skep_prog *p, uint32_t type)
{
	const struct skep_prog_type_desc *d = NULL;
	if (type && !(d = skep_prog_type_by_id(type)))
		return prog_fail(p, -ENOENT, "unknown program type %u", type);
	if (p->insns && type != p->type)
		return prog_fail(p, -EBUSY, "program already loaded as type %u: set the type before loading",
				 p->type);
	p->type = type;
	for (size_t i = 0; d && i < d->nbinds; i++) {
		int err = skep_prog_set_helper(p, d->binds[i].id, d->binds[i].fn);
		if (err)
			return err;
	}
	return 0;
}

uint32_t skep_prog_type(const skep_prog *p) { return p->type; }
