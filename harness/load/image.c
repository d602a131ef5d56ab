/* Implementation of harness/load/image.h with libelf.
 *
 * The file is read into memory and handed to libelf with elf_memory. libelf
 * trusts the headers it is given (elf_getdata and elf_strptr follow section
 * offsets without checking them against the file), so every table, segment
 * and section is bounds-checked here against the file size before libelf or
 * this code follows it, and strings are read with our own bounded helper.
 * The Elf handle lives only during pv_image_open: everything useful is
 * copied into the image's plain arrays. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* State of one pv_image_open call. */
struct loader {
	const char *path;
	struct pv_image *img;
	Elf *elf;
	struct pv_error *err;
	size_t phnum, shnum, shstrndx;
};

/* true when [off, off + len) lies inside a file of n bytes (no overflow). */
static bool in_file(size_t n, uint64_t off, uint64_t len)
{
	return off <= n && len <= n - off;
}

/* true when count entries of entsize bytes from off lie inside the file. */
static bool table_in_file(size_t n, uint64_t off, uint64_t count, uint64_t entsize)
{
	return off <= n && (count == 0 || count <= (n - off) / entsize);
}

/* The NUL-terminated string at off inside [secoff, secoff + secsize), which
 * the caller has checked lies in the file; NULL when it does not fit. */
static const char *bounded_string(const struct pv_image *img, uint64_t secoff, uint64_t secsize,
                                  uint64_t off)
{
	if (off >= secsize)
		return NULL;
	const char *s = (const char *)img->bytes + secoff + off;
	return memchr(s, '\0', secsize - off) ? s : NULL;
}

static int read_file(const char *path, unsigned char **out, size_t *nout, struct pv_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pv_error_set(err, errno == ENOENT ? PV_ENOENT : PV_EIO, "%s: cannot open: %s",
		                    path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return pv_error_set(err, PV_EIO, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return pv_error_set(err, PV_EIO, "%s: not a regular file", path);
	}
	size_t size = (size_t)st.st_size;
	/* One spare byte so an empty file still gets a non-NULL buffer. */
	unsigned char *buf = malloc(size + 1);
	if (!buf) {
		close(fd);
		return pv_error_set(err, PV_ENOMEM, "%s: cannot allocate %zu bytes to read it", path,
		                    size);
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return pv_error_set(err, PV_EIO, "%s: read failed: %s", path, strerror(e));
		}
		if (r == 0)
			break; /* the file shrank while we read it: keep what is there */
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*nout = got;
	return 0;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "i386";
	case EM_ARM: return "32-bit ARM";
	case EM_AARCH64: return "AArch64";
	case EM_RISCV: return "RISC-V";
	case EM_PPC: return "PowerPC";
	case EM_PPC64: return "PowerPC64";
	case EM_S390: return "s390";
	case EM_MIPS: return "MIPS";
	case EM_SPARCV9: return "SPARC V9";
	case EM_IA_64: return "IA-64";
	case 258: return "LoongArch"; /* EM_LOONGARCH, not in every elf.h */
	case EM_NONE: return "no machine";
	default: return "an unknown machine";
	}
}

/* Checks the identification, the ELF header and the extent of both header
 * tables on the raw bytes, before libelf sees them, so the user gets a
 * precise sentence instead of libelf's "invalid ELF". */
static int check_header(struct loader *ld)
{
	const struct pv_image *img = ld->img;
	const unsigned char *b = img->bytes;
	size_t n = img->nbytes;
	const char *path = ld->path;

	if (n < SELFMAG || memcmp(b, ELFMAG, SELFMAG) != 0)
		return pv_error_set(ld->err, PV_EFORMAT, "%s: not an ELF file", path);
	if (n < EI_NIDENT)
		return pv_error_set(ld->err, PV_EFORMAT, "%s: truncated ELF header (%zu bytes)", path,
		                    n);
	if (b[EI_CLASS] == ELFCLASS32)
		return pv_error_set(ld->err, PV_EUNSUPPORTED,
		                    "%s: 32-bit ELF; patchvet handles ELF64 x86-64 only", path);
	if (b[EI_CLASS] != ELFCLASS64)
		return pv_error_set(ld->err, PV_EFORMAT, "%s: invalid ELF class %u", path,
		                    (unsigned)b[EI_CLASS]);
	if (b[EI_DATA] == ELFDATA2MSB)
		return pv_error_set(ld->err, PV_EUNSUPPORTED,
		                    "%s: big-endian ELF; patchvet handles ELF64 x86-64 only", path);
	if (b[EI_DATA] != ELFDATA2LSB)
		return pv_error_set(ld->err, PV_EFORMAT, "%s: invalid ELF data encoding %u", path,
		                    (unsigned)b[EI_DATA]);
	Elf64_Ehdr eh;
	if (n < sizeof(eh))
		return pv_error_set(ld->err, PV_EFORMAT,
		                    "%s: truncated ELF header (%zu of %zu bytes)", path, n,
		                    sizeof(eh));
	memcpy(&eh, b, sizeof(eh)); /* little-endian, like the host */

	if (eh.e_machine != EM_X86_64)
		return pv_error_set(ld->err, PV_EUNSUPPORTED,
		                    "%s: ELF for %s (e_machine %u); patchvet handles x86-64 only",
		                    path, machine_name(eh.e_machine), (unsigned)eh.e_machine);
	switch (eh.e_type) {
	case ET_EXEC:
	case ET_DYN:
		break;
	case ET_REL:
		return pv_error_set(ld->err, PV_EUNSUPPORTED,
		                    "%s: relocatable object (ET_REL); patchvet needs a linked "
		                    "executable or shared object", path);
	case ET_CORE:
		return pv_error_set(ld->err, PV_EUNSUPPORTED,
		                    "%s: core dump (ET_CORE); patchvet needs an executable or "
		                    "shared object", path);
	default:
		return pv_error_set(ld->err, PV_EUNSUPPORTED,
		                    "%s: ELF type %u is neither an executable nor a shared object",
		                    path, (unsigned)eh.e_type);
	}

	/* Counts beyond 0xff00 live in section 0 (e_shnum 0, e_phnum PN_XNUM,
	 * e_shstrndx SHN_XINDEX); libelf reads them from there too. */
	size_t shnum = eh.e_shnum, phnum = eh.e_phnum, shstrndx = eh.e_shstrndx;
	if (eh.e_shoff == 0) {
		if (eh.e_shnum != 0)
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: %u section headers at offset 0", path,
			                    (unsigned)eh.e_shnum);
		shnum = 0;
		shstrndx = SHN_UNDEF;
	} else {
		if (eh.e_shentsize != sizeof(Elf64_Shdr))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: section header entries of %u bytes, expected %zu",
			                    path, (unsigned)eh.e_shentsize, sizeof(Elf64_Shdr));
		if (!in_file(n, eh.e_shoff, sizeof(Elf64_Shdr)))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: truncated: the section header table at offset "
			                    "0x%llx is beyond the end of the file (%zu bytes)",
			                    path, (unsigned long long)eh.e_shoff, n);
		Elf64_Shdr s0;
		memcpy(&s0, b + eh.e_shoff, sizeof(s0));
		if (shnum == 0)
			shnum = s0.sh_size;
		if (eh.e_phnum == PN_XNUM)
			phnum = s0.sh_info;
		if (eh.e_shstrndx == SHN_XINDEX)
			shstrndx = s0.sh_link;
		if (!table_in_file(n, eh.e_shoff, shnum, sizeof(Elf64_Shdr)))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: truncated: %zu section headers at offset 0x%llx "
			                    "run past the end of the file (%zu bytes)",
			                    path, shnum, (unsigned long long)eh.e_shoff, n);
		if (shstrndx != SHN_UNDEF && shstrndx >= shnum)
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: section-name table index %zu, but only %zu sections",
			                    path, shstrndx, shnum);
	}
	if (phnum > 0) {
		if (eh.e_phentsize != sizeof(Elf64_Phdr))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: program header entries of %u bytes, expected %zu",
			                    path, (unsigned)eh.e_phentsize, sizeof(Elf64_Phdr));
		if (!table_in_file(n, eh.e_phoff, phnum, sizeof(Elf64_Phdr)))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: truncated: %zu program headers at offset 0x%llx "
			                    "run past the end of the file (%zu bytes)",
			                    path, phnum, (unsigned long long)eh.e_phoff, n);
	}
	ld->img->elf_type = eh.e_type;
	ld->img->entry = eh.e_entry;
	ld->phnum = phnum;
	ld->shnum = shnum;
	ld->shstrndx = shstrndx;
	return 0;
}

/* libelf's own view of the counts must agree with ours, or the two parsers
 * would walk different tables. */
static int open_elf(struct loader *ld)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return pv_error_set(ld->err, PV_EINTERNAL, "%s: libelf is unusable: %s", ld->path,
		                    elf_errmsg(-1));
	ld->elf = elf_memory((char *)ld->img->bytes, ld->img->nbytes);
	if (!ld->elf || elf_kind(ld->elf) != ELF_K_ELF)
		return pv_error_set(ld->err, PV_EFORMAT, "%s: malformed ELF (libelf: %s)", ld->path,
		                    elf_errmsg(-1));
	size_t phnum, shnum, shstrndx;
	if (elf_getphdrnum(ld->elf, &phnum) != 0 || elf_getshdrnum(ld->elf, &shnum) != 0)
		return pv_error_set(ld->err, PV_EFORMAT, "%s: malformed ELF (libelf: %s)", ld->path,
		                    elf_errmsg(-1));
	if (shnum > 0 && elf_getshdrstrndx(ld->elf, &shstrndx) != 0)
		return pv_error_set(ld->err, PV_EFORMAT, "%s: malformed ELF (libelf: %s)", ld->path,
		                    elf_errmsg(-1));
	if (shnum == 0)
		shstrndx = SHN_UNDEF;
	if (phnum != ld->phnum || shnum != ld->shnum || shstrndx != ld->shstrndx)
		return pv_error_set(ld->err, PV_EFORMAT,
		                    "%s: malformed ELF: inconsistent header counts", ld->path);
	return 0;
}

static int load_segments(struct loader *ld)
{
	struct pv_image *img = ld->img;
	size_t nload = 0;
	for (size_t i = 0; i < ld->phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(ld->elf, (int)i, &ph))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: unreadable program header %zu (libelf: %s)", ld->path,
			                    i, elf_errmsg(-1));
		if (ph.p_type == PT_DYNAMIC)
			img->dynamic = true;
		if (ph.p_type == PT_LOAD)
			nload++;
	}
	img->segments = calloc(nload ? nload : 1, sizeof(*img->segments));
	if (!img->segments)
		return pv_error_set(ld->err, PV_ENOMEM, "%s: out of memory", ld->path);
	for (size_t i = 0; i < ld->phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(ld->elf, (int)i, &ph))
			return pv_error_set(ld->err, PV_EFORMAT, "%s: unreadable program header %zu",
			                    ld->path, i);
		if (ph.p_type != PT_LOAD)
			continue;
		if (!in_file(img->nbytes, ph.p_offset, ph.p_filesz))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: truncated: segment %zu (file bytes 0x%llx..0x%llx) "
			                    "runs past the end of the file (%zu bytes)",
			                    ld->path, i, (unsigned long long)ph.p_offset,
			                    (unsigned long long)(ph.p_offset + ph.p_filesz), img->nbytes);
		if (ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: malformed segment %zu (file size 0x%llx, memory size "
			                    "0x%llx at 0x%llx)",
			                    ld->path, i, (unsigned long long)ph.p_filesz,
			                    (unsigned long long)ph.p_memsz,
			                    (unsigned long long)ph.p_vaddr);
		img->segments[img->nsegments++] = (struct pv_segment){
			.vaddr = ph.p_vaddr,
			.memsz = ph.p_memsz,
			.filesz = ph.p_filesz,
			.offset = ph.p_offset,
			.align = ph.p_align,
			.flags = ph.p_flags,
		};
	}
	return 0;
}

static int load_sections(struct loader *ld)
{
	struct pv_image *img = ld->img;
	const char *path = ld->path;
	img->sections = calloc(ld->shnum ? ld->shnum : 1, sizeof(*img->sections));
	if (!img->sections)
		return pv_error_set(ld->err, PV_ENOMEM, "%s: out of memory", path);

	/* The section-name table first: every name is read from it. */
	GElf_Shdr strsh = {0};
	if (ld->shstrndx != SHN_UNDEF) {
		if (!gelf_getshdr(elf_getscn(ld->elf, ld->shstrndx), &strsh))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: unreadable section-name table (libelf: %s)", path,
			                    elf_errmsg(-1));
		if (strsh.sh_type == SHT_NOBITS || !in_file(img->nbytes, strsh.sh_offset, strsh.sh_size))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: truncated: the section-name table runs past the end "
			                    "of the file (%zu bytes)", path, img->nbytes);
	}
	for (size_t i = 0; i < ld->shnum; i++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(elf_getscn(ld->elf, i), &sh))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: unreadable section header %zu (libelf: %s)", path, i,
			                    elf_errmsg(-1));
		const char *name = "";
		if (ld->shstrndx != SHN_UNDEF) {
			name = bounded_string(img, strsh.sh_offset, strsh.sh_size, sh.sh_name);
			if (!name)
				return pv_error_set(ld->err, PV_EFORMAT,
				                    "%s: section %zu has a name outside the section-name "
				                    "table", path, i);
		}
		struct pv_section *s = &img->sections[i];
		s->name = strdup(name);
		img->nsections = i + 1;
		if (!s->name)
			return pv_error_set(ld->err, PV_ENOMEM, "%s: out of memory", path);
		s->addr = sh.sh_addr;
		s->offset = sh.sh_offset;
		s->size = sh.sh_size;
		s->type = sh.sh_type;
		s->flags = sh.sh_flags;
		s->link = sh.sh_link;
		s->info = sh.sh_info;
		s->entsize = sh.sh_entsize;
		if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL &&
		    !in_file(img->nbytes, sh.sh_offset, sh.sh_size))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: truncated: section %s (#%zu, bytes 0x%llx..0x%llx) "
			                    "runs past the end of the file (%zu bytes)",
			                    path, name, i, (unsigned long long)sh.sh_offset,
			                    (unsigned long long)sh.sh_offset +
			                            (unsigned long long)sh.sh_size,
			                    img->nbytes);
		if (sh.sh_link >= ld->shnum)
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: section %s links to section %u, but only %zu sections",
			                    path, name, (unsigned)sh.sh_link, ld->shnum);
	}
	return 0;
}

static bool is_symtab(uint32_t type)
{
	return type == SHT_SYMTAB || type == SHT_DYNSYM;
}

/* Symbols of one table, appended to img->symbols (sized by the caller). */
static int load_symtab(struct loader *ld, size_t idx)
{
	struct pv_image *img = ld->img;
	const struct pv_section *sec = &img->sections[idx];
	const struct pv_section *str = &img->sections[sec->link];
	if (str->type != SHT_STRTAB)
		return pv_error_set(ld->err, PV_EFORMAT,
		                    "%s: symbol table %s has no string table", ld->path, sec->name);
	Elf_Data *data = elf_getdata(elf_getscn(ld->elf, idx), NULL);
	if (!data)
		return pv_error_set(ld->err, PV_EFORMAT,
		                    "%s: unreadable symbol table %s (libelf: %s)", ld->path,
		                    sec->name, elf_errmsg(-1));
	size_t count = sec->size / sizeof(Elf64_Sym);
	/* The version of each dynamic symbol: a hidden one (bit 15) is an
	 * older version kept for old binaries, which a new lookup never binds. */
	Elf_Data *versym = NULL;
	for (size_t k = 0; sec->type == SHT_DYNSYM && k < img->nsections && !versym; k++)
		if (img->sections[k].type == SHT_GNU_versym && img->sections[k].link == idx &&
		    img->sections[k].size / 2 == count)
			versym = elf_getdata(elf_getscn(ld->elf, k), NULL);
	for (size_t j = 1; j < count; j++) { /* entry 0 is the null symbol */
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)j, &sym))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: unreadable symbol %zu of %s (libelf: %s)", ld->path,
			                    j, sec->name, elf_errmsg(-1));
		unsigned type = GELF_ST_TYPE(sym.st_info);
		if (type == STT_SECTION || type == STT_FILE || sym.st_name == 0)
			continue;
		const char *name = bounded_string(img, str->offset, str->size, sym.st_name);
		if (!name)
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: symbol %zu of %s has a name outside its string table",
			                    ld->path, j, sec->name);
		if (!*name)
			continue;
		struct pv_symbol *s = &img->symbols[img->nsymbols];
		s->name = strdup(name);
		if (!s->name)
			return pv_error_set(ld->err, PV_ENOMEM, "%s: out of memory", ld->path);
		img->nsymbols++;
		s->value = sym.st_value;
		s->size = sym.st_size;
		s->type = (uint8_t)type;
		s->bind = (uint8_t)GELF_ST_BIND(sym.st_info);
		s->shndx = sym.st_shndx;
		s->dynamic = sec->type == SHT_DYNSYM;
		GElf_Versym ver;
		s->hidden_version = versym && gelf_getversym(versym, (int)j, &ver) &&
		                    (ver & 0x8000);
	}
	return 0;
}

static int load_symbols(struct loader *ld)
{
	struct pv_image *img = ld->img;
	size_t total = 0;
	for (size_t i = 0; i < img->nsections; i++) {
		const struct pv_section *sec = &img->sections[i];
		if (!is_symtab(sec->type))
			continue;
		if (sec->entsize != sizeof(Elf64_Sym))
			return pv_error_set(ld->err, PV_EFORMAT,
			                    "%s: symbol table %s has entries of %llu bytes, expected %zu",
			                    ld->path, sec->name, (unsigned long long)sec->entsize,
			                    sizeof(Elf64_Sym));
		total += sec->size / sizeof(Elf64_Sym); /* bounded by the file size */
	}
	img->symbols = calloc(total ? total : 1, sizeof(*img->symbols));
	if (!img->symbols)
		return pv_error_set(ld->err, PV_ENOMEM, "%s: out of memory", ld->path);
	/* .symtab before .dynsym, as image.h promises, whatever the file order. */
	for (int pass = 0; pass < 2; pass++) {
		uint32_t want = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
		for (size_t i = 0; i < img->nsections; i++) {
			if (img->sections[i].type != want)
				continue;
			int rc = load_symtab(ld, i);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Looks for NT_GNU_BUILD_ID in note data; true when found. */
static bool scan_notes(struct loader *ld, Elf_Data *data)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;
	while (data && off < data->d_size &&
	       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *base = data->d_buf;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == sizeof(ELF_NOTE_GNU) &&
		    memcmp(base + name_off, ELF_NOTE_GNU, sizeof(ELF_NOTE_GNU)) == 0 &&
		    nh.n_descsz > 0 && nh.n_descsz <= sizeof(ld->img->build_id) &&
		    desc_off <= data->d_size && nh.n_descsz <= data->d_size - desc_off) {
			memcpy(ld->img->build_id, base + desc_off, nh.n_descsz);
			ld->img->build_id_len = nh.n_descsz;
			return true;
		}
		off = next;
	}
	return false;
}

/* The build-id from a SHT_NOTE section, else from a PT_NOTE segment (files
 * without section headers). A malformed note is skipped, not fatal: the
 * build-id only labels reports. */
static void load_build_id(struct loader *ld)
{
	struct pv_image *img = ld->img;
	for (size_t i = 0; i < img->nsections; i++) {
		if (img->sections[i].type != SHT_NOTE)
			continue;
		if (scan_notes(ld, elf_getdata(elf_getscn(ld->elf, i), NULL)))
			return;
	}
	for (size_t i = 0; i < ld->phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(ld->elf, (int)i, &ph) || ph.p_type != PT_NOTE ||
		    !in_file(img->nbytes, ph.p_offset, ph.p_filesz))
			continue;
		Elf_Type t = ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR;
		if (scan_notes(ld, elf_getdata_rawchunk(ld->elf, (int64_t)ph.p_offset, ph.p_filesz, t)))
			return;
	}
}

int pv_image_open(const char *path, struct pv_image **out, struct pv_error *err)
{
	*out = NULL;
	struct pv_image *img = calloc(1, sizeof(*img));
	if (!img)
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", path);
	img->path = strdup(path);
	if (!img->path) {
		free(img);
		return pv_error_set(err, PV_ENOMEM, "%s: out of memory", path);
	}
	struct loader ld = {.path = path, .img = img, .err = err};
	int rc = read_file(path, &img->bytes, &img->nbytes, err);
	if (!rc)
		rc = check_header(&ld);
	if (!rc)
		rc = open_elf(&ld);
	if (!rc)
		rc = load_segments(&ld);
	if (!rc)
		rc = load_sections(&ld);
	if (!rc)
		rc = load_symbols(&ld);
	if (!rc)
		load_build_id(&ld);
	if (ld.elf)
		elf_end(ld.elf);
	if (rc) {
		pv_image_close(img);
		return rc;
	}
	*out = img;
	return 0;
}

void pv_image_close(struct pv_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->nsections; i++)
		free(img->sections[i].name);
	for (size_t i = 0; i < img->nsymbols; i++)
		free(img->symbols[i].name);
	free(img->sections);
	free(img->symbols);
	free(img->segments);
	free(img->bytes);
	free(img->path);
	free(img);
}

static bool is_function(const struct pv_symbol *s)
{
	return s->type == STT_FUNC || s->type == STT_GNU_IFUNC;
}

/* The rule of pv_image_find_symbol, optionally restricted to functions. A
 * symbol in both .symtab and .dynsym is one definition: globals are taken
 * first-found, and locals count as distinct only when their values differ. */
static const struct pv_symbol *find(const struct pv_image *img, const char *name,
                                    bool functions_only, bool *ambiguous)
{
	const struct pv_symbol *weak = NULL, *local = NULL;
	bool several = false;
	if (ambiguous)
		*ambiguous = false;
	for (size_t i = 0; i < img->nsymbols; i++) {
		const struct pv_symbol *s = &img->symbols[i];
		if (s->shndx == SHN_UNDEF || (functions_only && !is_function(s)) ||
		    strcmp(s->name, name) != 0)
			continue;
		if (s->bind == STB_LOCAL) {
			if (!local)
				local = s;
			else if (local->value != s->value)
				several = true;
		} else if (s->bind == STB_WEAK) {
			if (!weak)
				weak = s;
		} else {
			return s; /* STB_GLOBAL or STB_GNU_UNIQUE */
		}
	}
	if (weak)
		return weak;
	if (several) {
		if (ambiguous)
			*ambiguous = true;
		return NULL;
	}
	return local;
}

const struct pv_symbol *pv_image_find_symbol(const struct pv_image *img, const char *name,
                                             bool *ambiguous)
{
	return find(img, name, false, ambiguous);
}

int pv_image_find_function(const struct pv_image *img, const char *name,
                           const struct pv_symbol **out, struct pv_error *err)
{
	bool ambiguous;
	*out = find(img, name, true, &ambiguous);
	if (*out)
		return 0;
	if (ambiguous)
		return pv_error_set(err, PV_ENOENT,
		                    "%s: several local functions are called '%s'; patchvet cannot "
		                    "tell which one is meant", img->path, name);
	return pv_error_set(err, PV_ENOENT, "%s: no function '%s' is defined", img->path, name);
}

const unsigned char *pv_image_at(const struct pv_image *img, uint64_t vaddr, size_t *avail)
{
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct pv_segment *s = &img->segments[i];
		if (vaddr < s->vaddr || vaddr - s->vaddr >= s->filesz)
			continue;
		uint64_t delta = vaddr - s->vaddr;
		if (avail)
			*avail = (size_t)(s->filesz - delta);
		return img->bytes + s->offset + delta; /* in the file: checked at open */
	}
	if (avail)
		*avail = 0;
	return NULL;
}

const struct pv_section *pv_image_section_at(const struct pv_image *img, uint64_t vaddr)
{
	for (size_t i = 0; i < img->nsections; i++) {
		const struct pv_section *s = &img->sections[i];
		if (!(s->flags & SHF_ALLOC) || s->size == 0)
			continue;
		/* .tbss takes no address space: its range belongs to what follows. */
		if ((s->flags & SHF_TLS) && s->type == SHT_NOBITS)
			continue;
		if (vaddr >= s->addr && vaddr - s->addr < s->size)
			return s;
	}
	return NULL;
}

const struct pv_section *pv_image_section(const struct pv_image *img, const char *name)
{
	for (size_t i = 0; i < img->nsections; i++)
		if (strcmp(img->sections[i].name, name) == 0)
			return &img->sections[i];
	return NULL;
}

const char *pv_image_string(const struct pv_image *img, size_t strtab, uint64_t off)
{
	if (strtab >= img->nsections)
		return NULL;
	const struct pv_section *s = &img->sections[strtab];
	if (s->type == SHT_NOBITS || s->type == SHT_NULL)
		return NULL;
	return bounded_string(img, s->offset, s->size, off);
}

void pv_image_build_id_hex(const struct pv_image *img, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (len == 0)
		return;
	size_t o = 0;
	for (size_t i = 0; i < img->build_id_len && o + 2 < len; i++) {
		buf[o++] = hex[img->build_id[i] >> 4];
		buf[o++] = hex[img->build_id[i] & 15];
	}
	buf[o] = '\0';
}

static bool in_got(const struct pv_image *img, uint64_t vaddr)
{
	const struct pv_section *s = pv_image_section_at(img, vaddr);
	return s && (!strcmp(s->name, ".got") || !strcmp(s->name, ".got.plt"));
}

static void got_add(uint64_t slot, uint64_t *out, size_t max, size_t *n)
{
	for (size_t i = 0; i < *n && i < max; i++)
		if (out[i] == slot)
			return;
	if (*n < max)
		out[*n] = slot;
	(*n)++;
}

int pv_image_got_slots(const struct pv_image *img, const char *name, uint64_t addr,
                       uint64_t *out, size_t max, size_t *n, struct pv_error *err)
{
	*n = 0;
	bool relocated = false;
	for (size_t i = 0; i < img->nsections; i++) {
		const struct pv_section *rs = &img->sections[i];
		if (rs->type != SHT_RELA || !(rs->flags & SHF_ALLOC))
			continue;
		relocated = true;
		if (rs->link >= img->nsections || rs->offset > img->nbytes ||
		    rs->size > img->nbytes - rs->offset || rs->size % sizeof(Elf64_Rela))
			return pv_error_set(err, PV_EFORMAT, "%s: relocation section %s is malformed",
			                    img->path, rs->name);
		const struct pv_section *sym = &img->sections[rs->link];
		for (uint64_t off = 0; off < rs->size; off += sizeof(Elf64_Rela)) {
			Elf64_Rela r;
			memcpy(&r, img->bytes + rs->offset + off, sizeof(r));
			uint32_t type = (uint32_t)ELF64_R_TYPE(r.r_info);
			if (type == R_X86_64_RELATIVE) {
				if ((uint64_t)r.r_addend == addr && in_got(img, r.r_offset))
					got_add(r.r_offset, out, max, n);
				continue;
			}
			if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT &&
			    type != R_X86_64_64)
				continue;
			uint64_t si = ELF64_R_SYM(r.r_info);
			if (!si || sym->type == SHT_NULL || sym->offset > img->nbytes ||
			    (si + 1) * sizeof(Elf64_Sym) > sym->size ||
			    sym->size > img->nbytes - sym->offset)
				continue;
			Elf64_Sym es;
			memcpy(&es, img->bytes + sym->offset + si * sizeof(Elf64_Sym), sizeof(es));
			const char *sn = pv_image_string(img, sym->link, es.st_name);
			if (sn && !strcmp(sn, name) && r.r_offset % 8 == 0)
				got_add(r.r_offset, out, max, n);
		}
	}
	if (relocated)
		return 0;
	/* A static executable: the linker filled the GOT itself. */
	for (size_t i = 0; i < img->nsections; i++) {
		const struct pv_section *gs = &img->sections[i];
		if (gs->type != SHT_PROGBITS ||
		    (strcmp(gs->name, ".got") && strcmp(gs->name, ".got.plt")))
			continue;
		for (uint64_t a = (gs->addr + 7) & ~7ull; a + 8 <= gs->addr + gs->size; a += 8) {
			size_t avail = 0;
			const unsigned char *p = pv_image_at(img, a, &avail);
			uint64_t v;
			if (!p || avail < 8)
				continue;
			memcpy(&v, p, 8);
			if (v == addr)
				got_add(a, out, max, n);
		}
	}
	return 0;
}
