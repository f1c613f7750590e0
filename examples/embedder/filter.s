# A request hook program (examples/embedder): refuse bodies that start with "DROP" (403),
# log POSTs from 10.0.0.0/8, accept the rest (200). Returns 1 to accept, 0 to refuse.
	r6 = r1
	r2 = *(u32 *)(r6 + 8)          # body
	r3 = *(u32 *)(r6 + 12)         # body_end
	r4 = r2
	r4 += 4
	if r4 > r3 goto check_post     # body shorter than 4 bytes
	r4 = *(u32 *)(r2 + 0)
	if r4 != 0x504f5244 goto check_post   # "DROP", little-endian
	*(u32 *)(r6 + 16) = 403        # status
	r0 = 0
	exit
check_post:
	r2 = *(u32 *)(r6 + 0)          # method
	if r2 != 2 goto accept
	r2 = *(u8 *)(r6 + 4)           # first octet of client_ip (network order)
	if r2 != 10 goto accept
	r1 = 201
	call 0x1010                    # req_log(201)
accept:
	*(u32 *)(r6 + 16) = 200
	r0 = 1
	exit
