# Reads one byte past the end of its data: the checked engine refuses the access
# and names the instruction instead of touching memory.
	r0 = *(u8 *)(r1 + 0)
	r3 = r1
	r3 += r2
	r0 = *(u8 *)(r3 + 0)           # data[len]: out of bounds
	exit
