# Recursive Fibonacci through bpf-to-bpf calls (each call gets its own 512-byte
# stack frame; r6-r9 survive calls). fib(7) = 13, 8 frames deep at most.
	r1 = 7
	call fib
	exit
fib:
	if r1 > 1 goto recurse
	r0 = r1
	exit
recurse:
	r6 = r1
	r1 += -1
	call fib
	r7 = r0
	r1 = r6
	r1 += -2
	call fib
	r0 += r7
	exit
