/* Read-only facts about the verifier, for tools (skep feature probe). */
#include "skep/helpers.h"
#include "verifier.h"

const struct skep_helper_proto *skep_verify_helper_proto(uint32_t id)
{
	const struct skep_helper_proto *p = skep_helper_proto(id);
	return p ? p : kernel_helper_proto(id);
}
