/* Random eBPF memory programs (r1 = data, r2 = length) that the kernel verifier accepts
 * and whose result is fully determined by the ISA: every register and stack byte is
 * written before it is read, divisions may divide by zero, shifts by register take any
 * amount, loops have fixed trip counts, data accesses stay inside the data.
 *
 * Shape of a program: a main function and up to three bpf-to-bpf subprograms (each may
 * call the later ones, so calls form a chain of at most four frames; r1 = the data, and
 * sometimes r5 = a pointer into the caller's stack). Every function: r9 = r1 (the data
 * pointer, never written again), initialise r0..r8 (immediates, lddw, data loads; a
 * subprogram keeps some of its arguments r2..r5), initialise its stack slots, then a
 * random block of ALU/ALU32 ops (all of them, including sdiv/smod, movsx, byte swaps),
 * JMP/JMP32 conditions over inner blocks (if, if/else with ja or gotol, early exit), stack
 * loads/stores of every size, atomics on the stack (and on the data in one program of
 * six or so: the kernel runs those on a stack copy, so their data accesses are aligned),
 * data loads/stores with constant offsets, accesses through derived pointers (constant or
 * bounded variable offsets), fixed-count loops and calls; finally every register and
 * stack slot is folded into r0.
 *
 * Two kernel bugs (seen on 6.18) are steered around, see gen_atomic() in randprog.c: a
 * 32-bit cmpxchg is followed by "r0 = r0", and a fetching atomic by a byte store into its
 * 8-byte slot first. */
#ifndef SKEP_TEST_RANDPROG_H
#define SKEP_TEST_RANDPROG_H

#include <stddef.h>
#include <stdint.h>

#include "skep/insn.h"

struct randprog {
	struct skep_insn *insns;
	size_t n;
	uint8_t *mem;      /* the data the program runs on (random bytes) */
	size_t mem_len;
};

/* Generate program number index of a run seeded with seed (the same pair always gives
 * the same program). 0 or -ENOMEM. */
int randprog_gen(uint64_t seed, uint64_t index, struct randprog *p);
void randprog_free(struct randprog *p);

#endif
