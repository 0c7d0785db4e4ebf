/*
 * objfile_elf.c - ELF64 little-endian reader: header, machine, symbol table.
 *
 * Layout (all little-endian, ELFCLASS64, ELFDATA2LSB):
 *   Elf64_Ehdr (64 bytes): e_ident[16] ("\x7fELF", class 2, data 1, version 1),
 *     e_type u16 @16 (1 REL, 2 EXEC, 3 DYN), e_machine u16 @18 (62 x86_64, 183 aarch64),
 *     e_shoff u64 @40, e_shentsize u16 @58 (64), e_shnum u16 @60 (0 = the count is in
 *     section 0's sh_size).
 *   Elf64_Shdr (64 bytes): sh_type u32 @4 (2 SYMTAB, 11 DYNSYM), sh_offset u64 @24,
 *     sh_size u64 @32, sh_link u32 @40 (the string table's section), sh_entsize u64 @56.
 *   Elf64_Sym (24 bytes): st_name u32 @0, st_info u8 @4 (bind = info >> 4: 0 LOCAL,
 *     1 GLOBAL, 2 WEAK, 10 GNU_UNIQUE; type = info & 15, 4 FILE, 3 SECTION),
 *     st_shndx u16 @6 (0 UNDEF, 0xfff2 COMMON).
 * .symtab is read when present, else .dynsym (a stripped shared object).
 */
#include <string.h>

#include "compile/objfile.h"

#define EHDR_SIZE 64
#define SHDR_SIZE 64
#define SYM_SIZE 24
#define MAX_SECTIONS 1000000u

static int in_bounds(size_t size, uint64_t off, uint64_t len) { return off <= size && len <= size - off; }

static aae_obj_kind kind_of(uint16_t type)
{
    switch (type) {
    case 1: return AAE_OBJK_RELOCATABLE;
    case 2: return AAE_OBJK_EXECUTABLE;
    case 3: return AAE_OBJK_SHARED;
    default: return AAE_OBJK_OTHER;
    }
}

static aae_status read_symbols(const uint8_t *d, size_t size, const char *name, const uint8_t *sh,
                               const uint8_t *strsh, aae_obj_info *out, aae_error *err)
{
    uint64_t off = aae_rd64(sh + 24), len = aae_rd64(sh + 32), entsize = aae_rd64(sh + 56);
    uint64_t soff = aae_rd64(strsh + 24), slen = aae_rd64(strsh + 32);
    if (entsize != SYM_SIZE)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: symbol table entry size is %llu, expected 24", name,
                             (unsigned long long)entsize);
    if (!in_bounds(size, off, len) || !in_bounds(size, soff, slen))
        return aae_error_set(err, AAE_ERR_FORMAT,
                             "%s: symbol table (byte %llu, %llu bytes) or its strings (byte %llu, %llu bytes) "
                             "lie outside the %zu-byte file",
                             name, (unsigned long long)off, (unsigned long long)len, (unsigned long long)soff,
                             (unsigned long long)slen, size);
    const char *strs = (const char *)d + soff;
    size_t cap = 0;
    for (uint64_t i = 1; i < len / SYM_SIZE; i++) { /* entry 0 is the null symbol */
        const uint8_t *s = d + off + i * SYM_SIZE;
        uint32_t nm = aae_rd32(s);
        uint8_t bind = s[4] >> 4, type = s[4] & 15;
        uint16_t shndx = aae_rd16(s + 6);
        if (nm == 0 || type == 3 || type == 4) /* unnamed, SECTION, FILE */
            continue;
        if (nm >= slen)
            return aae_error_set(err, AAE_ERR_FORMAT,
                                 "%s: symbol %llu names string offset %u, past the %llu-byte string table", name,
                                 (unsigned long long)i, nm, (unsigned long long)slen);
        const char *p = strs + nm;
        const void *nul = memchr(p, '\0', (size_t)(slen - nm));
        if (!nul)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: symbol %llu's name is not NUL-terminated", name,
                                 (unsigned long long)i);
        int external = bind == 1 || bind == 2 || bind == 10;
        if (!aae_obj_push_symbol(out, &cap, p, (size_t)((const char *)nul - p), shndx != 0, external, bind == 2))
            return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory reading symbols", name);
    }
    return AAE_OK;
}

aae_status aae_obj_read_elf(const uint8_t *d, size_t size, const char *name, aae_obj_info *out, aae_error *err)
{
    if (size < EHDR_SIZE)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: %zu bytes is shorter than an ELF64 header (64)", name, size);
    if (d[4] != 2)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: ELF class %u at byte 4; only ELF64 (2) is supported",
                             name, d[4]);
    if (d[5] != 1)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED,
                             "%s: ELF data encoding %u at byte 5; only little-endian (1) is supported", name, d[5]);
    out->format = AAE_OBJ_ELF64;
    out->kind = kind_of(aae_rd16(d + 16));
    uint16_t machine = aae_rd16(d + 18);
    out->cpu = machine == 62 ? AAE_OBJ_CPU_X86_64 : machine == 183 ? AAE_OBJ_CPU_AARCH64 : AAE_OBJ_CPU_UNKNOWN;
    uint64_t shoff = aae_rd64(d + 40);
    uint16_t shentsize = aae_rd16(d + 58);
    uint64_t shnum = aae_rd16(d + 60);
    if (shoff == 0)
        return AAE_OK; /* no section headers: no symbols to read */
    if (shentsize != SHDR_SIZE)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: section header size %u at byte 58, expected 64", name,
                             shentsize);
    if (!in_bounds(size, shoff, SHDR_SIZE))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: section headers at byte %llu lie outside the %zu-byte file",
                             name, (unsigned long long)shoff, size);
    if (shnum == 0)
        shnum = aae_rd64(d + shoff + 32);
    if (shnum > MAX_SECTIONS || !in_bounds(size, shoff, shnum * SHDR_SIZE))
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: %llu section headers at byte %llu do not fit the file", name,
                             (unsigned long long)shnum, (unsigned long long)shoff);
    const uint8_t *symtab = NULL, *dynsym = NULL;
    for (uint64_t i = 0; i < shnum; i++) {
        const uint8_t *sh = d + shoff + i * SHDR_SIZE;
        uint32_t type = aae_rd32(sh + 4);
        if (type == 2 && !symtab)
            symtab = sh;
        else if (type == 11 && !dynsym)
            dynsym = sh;
    }
    const uint8_t *sh = symtab ? symtab : dynsym;
    if (!sh)
        return AAE_OK;
    uint32_t link = aae_rd32(sh + 40);
    if (link == 0 || link >= shnum)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: symbol table links to section %u; the file has %llu", name,
                             link, (unsigned long long)shnum);
    return read_symbols(d, size, name, sh, d + shoff + (uint64_t)link * SHDR_SIZE, out, err);
}
