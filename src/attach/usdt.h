/* USDT argument specs as libbpf 1.1's usdt.c parses them and as its usdt.bpf.h reads
 * them (struct __bpf_usdt_spec in the __bpf_usdt_specs map). x86-64 only. */
#ifndef SKEP_ATTACH_USDT_H
#define SKEP_ATTACH_USDT_H

#include <stddef.h>
#include <stdint.h>

#define USDT_MAX_ARG_CNT 12   /* BPF_USDT_MAX_ARG_CNT */

enum usdt_arg_type { USDT_ARG_CONST, USDT_ARG_REG, USDT_ARG_REG_DEREF };

/* struct __bpf_usdt_arg_spec, byte for byte */
struct usdt_arg_spec {
	uint64_t val_off;      /* the constant, or the offset from the register */
	uint32_t arg_type;     /* enum usdt_arg_type */
	int16_t reg_off;       /* offsetof(struct pt_regs, reg) */
	uint8_t arg_signed;
	int8_t arg_bitshift;   /* 64 - 8 * size */
};

/* struct __bpf_usdt_spec */
struct usdt_spec {
	struct usdt_arg_spec args[USDT_MAX_ARG_CNT];
	uint64_t usdt_cookie;
	int16_t arg_cnt;
};

/* Parse a note's argument string ("-4@%edi 8@-8(%rbp) 4@$5"): 0, or -EINVAL / -E2BIG /
 * -ENOENT (unknown register) with err naming the argument and why. */
int usdt_parse_spec(const char *args, uint64_t cookie, struct usdt_spec *spec, char *err, size_t errlen);

/* offsetof(struct pt_regs, reg) for a register name as USDT specs write it ("rax",
 * "eax", "ax", "al", "r8d", ...), or -1. */
int usdt_reg_off(const char *name);

#endif
