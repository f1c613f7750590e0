/* Shared by every benchmark program. Each progs/NAME.c defines
 *     INLINE u64 bench_fn(u8 *m)
 * computing over the 1 KiB input at m[0..1023] (m[1024..2047] is scratch), and
 * BENCH_DESC. The same file is compiled three ways (see ../Makefile): by
 * clang -target bpf into Skep's memory program and into the kernel's XDP program,
 * and by gcc -O2 into native code. Every access is masked into the buffer so the
 * kernel verifier can prove it in bounds; all three builds carry the same masks. */
#ifndef BENCH_PROG_H
#define BENCH_PROG_H

typedef __UINT8_TYPE__  u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
/* Aligned, aliasing-safe views of the buffer (offsets below are multiples of the size). */
typedef u16 __attribute__((may_alias, aligned(2))) u16a;
typedef u32 __attribute__((may_alias, aligned(4))) u32a;
typedef u64 __attribute__((may_alias, aligned(8))) u64a;

#define INLINE   static inline __attribute__((always_inline))
#define IN_SIZE  1024   /* input bytes */
#define MEM_SIZE 2048   /* input + scratch */

#define LD8(m, i)     ((m)[(i) & 1023])
#define LD16(m, i)    (*(const u16a *)((m) + ((i) & 1022)))
#define LD32(m, i)    (*(const u32a *)((m) + ((i) & 1020)))
#define LD64(m, i)    (*(const u64a *)((m) + ((i) & 1016)))
/* The scratch half. */
#define SLD64(m, i)   (*(const u64a *)((m) + IN_SIZE + ((i) & 1016)))
#define SST64(m, i, v) (*(u64a *)((m) + IN_SIZE + ((i) & 1016)) = (v))

/* The kernel's test run returns 32 bits: every build compares this fold. */
INLINE u32 fold32(u64 x) { return (u32)(x ^ (x >> 32)); }

#endif
