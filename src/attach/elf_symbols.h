/* Symbols and USDT notes of ELF files on disk, and where they are mapped in this
 * process: what uprobes resolve "PATH:SYMBOL" with, and what `skep list` prints.
 * (The attach layer; the core loader's ELF parser is for BPF objects.) */
#ifndef SKEP_ATTACH_ELF_SYMBOLS_H
#define SKEP_ATTACH_ELF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct elfsym {
	char *name;         /* the base name: "malloc" (never with "@VERSION") */
	char *version;      /* "GLIBC_2.2.5" (from .gnu.version_d, or a "name@VER" symbol), or NULL */
	uint8_t hidden;     /* a non-default version: nm prints "name@VER" (else "name@@VER") */
	uint64_t addr;      /* st_value: the symbol's virtual address in the file */
	uint64_t size;      /* st_size */
	uint64_t offset;    /* file offset of addr (through the PT_LOAD segment holding it) */
	uint8_t type;       /* STT_FUNC, STT_GNU_IFUNC, STT_OBJECT, ... */
	uint8_t bind;       /* STB_GLOBAL, STB_WEAK, STB_LOCAL */
	uint8_t dynamic;    /* from .dynsym (else .symtab) */
};

/* Function symbols (STT_FUNC and STT_GNU_IFUNC with a non-zero address) of an ELF
 * file, from .symtab and .dynsym, duplicates (same name and address) merged, sorted by
 * address then name. 0 with a malloc'ed array (free with elfsym_free), or a negative
 * errno with err saying why ("/bin/x: not an ELF file", ...). */
int elf_func_symbols(const char *path, struct elfsym **syms, size_t *n, char *err, size_t errlen);
void elfsym_free(struct elfsym *syms, size_t n);

/* Resolve "SYMBOL", "SYMBOL+OFF" or "0xOFFSET" in the ELF file to a file offset
 * (what the kernel's uprobe_path:offset takes) and the function's size (0 when an
 * offset was given). Versioned names ("malloc@@GLIBC_2.2.5") match their base name;
 * "name@VER" / "name@@VER" pick a version. Among several addresses for one name, the
 * default version wins, then a global symbol over a weak one; still several: -EINVAL
 * (ambiguous, as libbpf). -ENOENT with err naming the symbol and file when it is not
 * there. */
int elf_resolve(const char *path, const char *symbol_or_offset, uint64_t *offset,
		uint64_t *func_size, char *err, size_t errlen);

/* One USDT probe site from .note.stapsdt. */
struct usdt_note {
	char *provider, *name;
	char *args;            /* the argument spec: "-4@%edi 8@-8(%rbp) ..." */
	uint64_t pc;           /* the probe's address in the file (link-time, after
				* adjusting for .stapsdt.base as libbpf does) */
	uint64_t pc_offset;    /* its file offset */
	uint64_t sema;         /* semaphore address (0: none) */
	uint64_t sema_offset;  /* semaphore file offset (0: none) */
};
int elf_usdt_notes(const char *path, struct usdt_note **notes, size_t *n, char *err, size_t errlen);
void usdt_notes_free(struct usdt_note *notes, size_t n);

/* Where a file is mapped in this process (from /proc/self/maps): find the mapping of
 * binary (a path, a soname matched against the mapped file's base name, or NULL for the
 * main executable) and turn a file offset into a runtime address. The resolved path is
 * copied to path_out (for opening the file). -ENOENT when the binary is not mapped. */
int proc_map_offset(const char *binary, uint64_t offset, uint64_t *addr, char *path_out,
		    size_t path_len, char *err, size_t errlen);

#endif
