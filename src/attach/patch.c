/* Code patching for uprobes: writing text, syncing cores, memory near a site, and
 * relocating the instructions a jump displaces (decoded with Zydis). */
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

#include "uprobe.h"

#define PAGE 4096ul

/* Text is written through /proc/self/mem: the kernel writes with FOLL_FORCE into a
 * private copy of the page without ever changing its protection, so no other thread
 * sees the page writable+executable (or, worse, briefly not executable as an mprotect
 * to RW would do) and W^X policies (SELinux execmod) are not tripped. Where /proc is
 * not there, mprotect to RWX for the write and back to R-X (code pages are R-X). Both
 * are called under the attach lock only. */
int text_write(uint64_t addr, const void *buf, size_t n)
{
	static int fd = -2;
	static pid_t fd_pid;   /* a forked child must not write through its parent's mem */
	if (fd == -2 || fd_pid != getpid()) {
		if (fd >= 0 && fd_pid != getpid())
			close(fd);
		fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		fd_pid = getpid();
	}
	if (fd >= 0 && pwrite(fd, buf, n, (off_t)addr) == (ssize_t)n)
		return 0;
	uint64_t lo = addr & ~(PAGE - 1), hi = (addr + n + PAGE - 1) & ~(PAGE - 1);
	if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC))
		return -errno;
	memcpy((void *)addr, buf, n);
	return mprotect((void *)lo, hi - lo, PROT_READ | PROT_EXEC) ? -errno : 0;
}

/* Make every core drop stale prefetched instructions before the next step of a patch:
 * membarrier's SYNC_CORE (registered once) IPIs the cores running this process. Where
 * it is missing, an mprotect of a private page shoots down TLBs on the same cores,
 * and the IPI's return to user space is serializing too. */
void sync_cores(void)
{
	static int mode = -1;   /* 1 membarrier, 0 mprotect */
	static void *page;
	if (mode < 0) {
		long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
		mode = q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
		       !syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
		if (!mode) {
			page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (page != MAP_FAILED)
				*(volatile char *)page = 1;
		}
	}
	if (mode == 1 && !syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0))
		return;
	if (page && page != MAP_FAILED) {
		mprotect(page, PAGE, PROT_READ);
		mprotect(page, PAGE, PROT_READ | PROT_WRITE);
	}
}

/* Anonymous pages within +-1 GiB of addr (so rel32 jumps both ways and the RIP-relative
 * operands of displaced instructions reach), found by trying hints around it. */
uint8_t *near_alloc(uint64_t addr, size_t size)
{
	const uint64_t step = 1ul << 20, range = 1ul << 30;
	for (uint64_t d = step; d < range; d += step)
		for (int sgn = -1; sgn <= 1; sgn += 2) {
			uint64_t h = sgn < 0 ? addr - d : addr + d;
			if (sgn < 0 && addr < d)
				continue;
			h &= ~(PAGE - 1);
			void *p = mmap((void *)h, size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED)
				continue;
			uint64_t a = (uint64_t)p, dist = a > addr ? a - addr : addr - a;
			if (dist < range)
				return p;
			munmap(p, size);
		}
	return NULL;
}

/* Is [addr, addr+len) in executable mappings of this process (/proc/self/maps)? */
int addr_executable(uint64_t addr, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int ok = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[2] != 'x')
			continue;
		if (addr >= lo && addr < hi) {
			if (addr + len <= hi) {
				ok = 1;
				break;
			}
			len -= hi - addr;   /* continues in the next mapping */
			addr = hi;
		}
	}
	if (f)
		fclose(f);
	return ok;
}

int code_seal(uint8_t *page, size_t size)
{
	return mprotect(page, size, PROT_READ | PROT_EXEC) ? -errno : 0;
}

static int fits32(int64_t v) { return v == (int32_t)v; }

static void put32(uint8_t *p, int64_t v)
{
	int32_t x = (int32_t)v;
	memcpy(p, &x, 4);
}

static ZydisDecoder *decoder(void)
{
	static ZydisDecoder d;
	static int init;
	if (!init) {
		ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		init = 1;
	}
	return &d;
}

/* The target of a relative branch or RIP-relative memory operand of insn, 0 if none. */
static uint64_t rel_target(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
			   uint64_t ip, int *is_mem)
{
	if (!(in->attributes & ZYDIS_ATTRIB_IS_RELATIVE))
		return 0;
	for (unsigned i = 0; i < in->operand_count; i++) {
		const ZydisDecodedOperand *o = &ops[i];
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->mem.base == ZYDIS_REGISTER_RIP) {
			*is_mem = 1;
			return ip + in->length + (uint64_t)o->mem.disp.value;
		}
		if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && o->imm.is_relative) {
			*is_mem = 0;
			return ip + in->length + (uint64_t)o->imm.value.s;
		}
	}
	return 0;
}

int reloc_insns(uint64_t addr, size_t need, uint64_t func_end, uint64_t new_addr,
		struct reloc *r, char *why, size_t whylen)
{
	memset(r, 0, sizeof *r);
	memset(r->map, 0xff, sizeof r->map);
	size_t off = 0;
	while (off < need) {
		ZydisDecodedInstruction in;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		uint64_t ip = addr + off;
		if (func_end && ip >= func_end) {
			snprintf(why, whylen, "the function is %zu bytes, shorter than the %zu-byte jump",
				 off, need);
			return -EINVAL;
		}
		if (ZYAN_FAILED(ZydisDecoderDecodeFull(decoder(), (const void *)ip, 15, &in, ops))) {
			snprintf(why, whylen, "undecodable instruction at +%zu", off);
			return -EINVAL;
		}
		if (off + in.length > PATCH_MAX || r->size + 32 > sizeof r->code) {
			snprintf(why, whylen, "instructions too long to displace");
			return -EINVAL;
		}
		r->map[off] = (uint8_t)r->size;
		uint8_t *o = r->code + r->size;
		uint64_t at = new_addr + r->size;
		int is_mem = 0;
		uint64_t t = rel_target(&in, ops, ip, &is_mem);
		if (!(in.attributes & ZYDIS_ATTRIB_IS_RELATIVE)) {
			memcpy(o, (const void *)ip, in.length);
			r->size += in.length;
		} else if (is_mem) {
			/* same bytes, displacement rebased on the new address */
			memcpy(o, (const void *)ip, in.length);
			int64_t d = (int64_t)(t - (at + in.length));
			if (!fits32(d) || in.raw.disp.size != 32) {
				snprintf(why, whylen, "RIP-relative operand out of reach at +%zu", off);
				return -EINVAL;
			}
			put32(o + in.raw.disp.offset, d);
			r->size += in.length;
		} else if (!fits32((int64_t)(t - (at + 8))) || !fits32((int64_t)(t - (at + 25)))) {
			snprintf(why, whylen, "branch target out of reach at +%zu", off);
			return -EINVAL;
		} else if (in.mnemonic == ZYDIS_MNEMONIC_JMP) {
			o[0] = 0xe9;
			put32(o + 1, (int64_t)(t - (at + 5)));
			r->size += 5;
		} else if (in.mnemonic == ZYDIS_MNEMONIC_CALL) {
			/* push the original return address, then jmp: the callee returns to the
			 * original code, as unwinders and return probes expect. lea keeps flags. */
			static const uint8_t pre[] = {0x48, 0x8d, 0x64, 0x24, 0xf8,   /* lea rsp,[rsp-8] */
						      0xc7, 0x04, 0x24, 0, 0, 0, 0,    /* mov dword [rsp],lo */
						      0xc7, 0x44, 0x24, 0x04, 0, 0, 0, 0}; /* [rsp+4],hi */
			uint64_t ra = ip + in.length;
			if (off + in.length < need) {
				snprintf(why, whylen, "a call at +%zu would return into the patched bytes", off);
				return -EINVAL;
			}
			memcpy(o, pre, sizeof pre);
			memcpy(o + 8, &ra, 4);
			memcpy(o + 16, (const uint8_t *)&ra + 4, 4);
			o[20] = 0xe9;
			put32(o + 21, (int64_t)(t - (at + 25)));
			r->size += 25;
		} else if (in.meta.category == ZYDIS_CATEGORY_COND_BR &&
			   in.mnemonic != ZYDIS_MNEMONIC_JRCXZ && in.mnemonic != ZYDIS_MNEMONIC_JECXZ &&
			   in.mnemonic != ZYDIS_MNEMONIC_LOOP && in.mnemonic != ZYDIS_MNEMONIC_LOOPE &&
			   in.mnemonic != ZYDIS_MNEMONIC_LOOPNE) {
			o[0] = 0x0f;
			o[1] = 0x80 | (in.opcode & 0x0f);
			put32(o + 2, (int64_t)(t - (at + 6)));
			r->size += 6;
		} else {
			snprintf(why, whylen, "cannot relocate %s at +%zu",
				 ZydisMnemonicGetString(in.mnemonic), off);
			return -EINVAL;
		}
		off += in.length;
		/* no fall-through after ret, jmp or a relocated call (it returns to addr+len) */
		int term = in.mnemonic == ZYDIS_MNEMONIC_RET || in.mnemonic == ZYDIS_MNEMONIC_JMP;
		r->ends = term || (in.mnemonic == ZYDIS_MNEMONIC_CALL && !is_mem &&
				   (in.attributes & ZYDIS_ATTRIB_IS_RELATIVE));
		if (term && off < need && !func_end) {
			snprintf(why, whylen, "the function ends (%s) %zu bytes in, before the %zu-byte jump",
				 ZydisMnemonicGetString(in.mnemonic), off, need);
			return -EINVAL;
		}
	}
	r->len = (uint8_t)off;
	return 0;
}

int no_jumps_into(uint64_t fstart, uint64_t fend, uint64_t addr, size_t len, char *why,
		  size_t whylen)
{
	for (uint64_t ip = fstart; ip < fend;) {
		ZydisDecodedInstruction in;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		size_t avail = fend - ip < 15 ? fend - ip : 15;
		if (ZYAN_FAILED(ZydisDecoderDecodeFull(decoder(), (const void *)ip, avail, &in, ops))) {
			snprintf(why, whylen, "undecodable instruction at +%lu of the function",
				 (unsigned long)(ip - fstart));
			return -1;
		}
		int is_mem = 0;
		uint64_t t = rel_target(&in, ops, ip, &is_mem);
		if (t > addr && t < addr + len) {
			snprintf(why, whylen, "%s at +%lu of the function targets the patched bytes",
				 ZydisMnemonicGetString(in.mnemonic), (unsigned long)(ip - fstart));
			return 0;
		}
		ip += in.length;
	}
	return 1;
}
