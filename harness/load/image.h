/* An ELF64 x86-64 file on disk (target or patch), read with libelf.
 *
 * The whole file is read into memory once; segments, sections, symbols
 * (.symtab and .dynsym, local symbols included) and the build-id are parsed
 * into plain arrays owned by the image. Nothing is mapped or executed. */
#ifndef PV_HARNESS_IMAGE_H
#define PV_HARNESS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>
#include "../util/must_check.h"

struct pv_segment {
	uint64_t vaddr;   /* p_vaddr */
	uint64_t memsz;   /* p_memsz */
	uint64_t filesz;  /* p_filesz */
	uint64_t offset;  /* p_offset */
	uint64_t align;   /* p_align */
	uint32_t flags;   /* PF_R | PF_W | PF_X */
};

struct pv_section {
	char *name;       /* owned */
	uint64_t addr;    /* sh_addr (0 for non-allocated sections) */
	uint64_t offset;  /* sh_offset */
	uint64_t size;    /* sh_size */
	uint32_t type;    /* SHT_* */
	uint64_t flags;   /* SHF_* */
	uint32_t link;    /* sh_link (a symbol table's string table, a relocation
	                     section's symbol table), checked < nsections */
	uint32_t info;    /* sh_info */
	uint64_t entsize; /* sh_entsize */
};

struct pv_symbol {
	char *name;       /* owned, never empty */
	uint64_t value;   /* st_value (link-time address for ET_EXEC/ET_DYN) */
	uint64_t size;    /* st_size */
	uint8_t type;     /* STT_FUNC, STT_OBJECT, ... */
	uint8_t bind;     /* STB_LOCAL, STB_GLOBAL, STB_WEAK */
	uint16_t shndx;   /* SHN_UNDEF when the symbol is undefined */
	bool dynamic;     /* from .dynsym rather than .symtab */
	bool hidden_version; /* a non-default version (name@VER, not name@@VER) */
};

struct pv_image {
	char *path;                   /* as given to pv_image_open, owned */
	unsigned char *bytes;         /* the whole file, owned */
	size_t nbytes;
	uint16_t elf_type;            /* ET_EXEC or ET_DYN */
	bool dynamic;                 /* has a PT_DYNAMIC segment */
	uint64_t entry;               /* e_entry */
	unsigned char build_id[64];   /* NT_GNU_BUILD_ID descriptor */
	size_t build_id_len;          /* 0 when the file has none */
	struct pv_segment *segments;  /* PT_LOAD segments only, in file order */
	size_t nsegments;
	struct pv_section *sections;  /* every section, index = ELF section index */
	size_t nsections;
	struct pv_symbol *symbols;    /* named symbols of .symtab then .dynsym */
	size_t nsymbols;
};

/* Reads and parses path. Errors (each with the file name in err->msg):
 * PV_ENOENT no such file, PV_EIO unreadable or not a regular file,
 * PV_EFORMAT not ELF or truncated/malformed, PV_EUNSUPPORTED 32-bit,
 * big-endian, not x86-64, or not ET_EXEC/ET_DYN. */
PV_MUST_CHECK int pv_image_open(const char *path, struct pv_image **out, struct pv_error *err);

/* Frees everything the image owns; NULL is fine. */
void pv_image_close(struct pv_image *img);

/* The defined symbol called name that best identifies it: a global or weak
 * .symtab/.dynsym definition first, else a unique local one. NULL when there
 * is none or when several local symbols share the name (then *ambiguous,
 * when given, is set to true). */
const struct pv_symbol *pv_image_find_symbol(const struct pv_image *img, const char *name,
                                             bool *ambiguous);

/* Like pv_image_find_symbol but only STT_FUNC (or STT_GNU_IFUNC) symbols;
 * PV_ENOENT with a sentence naming the function and the file when absent or
 * ambiguous (several local functions of that name). */
int pv_image_find_function(const struct pv_image *img, const char *name,
                           const struct pv_symbol **out, struct pv_error *err);

/* A pointer to the file bytes that back link-time address vaddr, and in
 * *avail how many contiguous file-backed bytes follow (within one segment).
 * NULL when vaddr is not file-backed (outside every segment, or in .bss). */
const unsigned char *pv_image_at(const struct pv_image *img, uint64_t vaddr, size_t *avail);

/* The section whose allocated range holds vaddr, or NULL. */
const struct pv_section *pv_image_section_at(const struct pv_image *img, uint64_t vaddr);

/* The section called name, or NULL. */
const struct pv_section *pv_image_section(const struct pv_image *img, const char *name);

/* The NUL-terminated string at offset off of section strtab (a string
 * table), or NULL when the index, the offset or the terminator lies outside
 * that section's bytes in the file. */
const char *pv_image_string(const struct pv_image *img, size_t strtab, uint64_t off);

/* The GOT slots through which the image's code reaches function `name`
 * (link-time address `addr`): link-time addresses of 8-byte words into
 * out[0..max), how many in *n (may exceed max). A slot is
 * - the target of an R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT or
 *   R_X86_64_64 relocation against a symbol called name (imports, and the
 *   interposable definitions of a shared object),
 * - a word of .got or .got.plt with an R_X86_64_RELATIVE relocation whose
 *   addend is addr (a PIE's slot for its own function), or
 * - in an image without dynamic relocations (a static executable), a word
 *   of .got or .got.plt that holds addr.
 * Words elsewhere (a table of function pointers in .data) are not GOT
 * slots: rewriting them changes the program's data. 0, or PV_EFORMAT when a
 * relocation section is malformed. */
int pv_image_got_slots(const struct pv_image *img, const char *name, uint64_t addr,
                       uint64_t *out, size_t max, size_t *n, struct pv_error *err);

/* The build-id as lowercase hex into buf (at least 129 bytes); "" when none. */
void pv_image_build_id_hex(const struct pv_image *img, char *buf, size_t len);

#endif
