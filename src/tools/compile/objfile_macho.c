/*
 * objfile_macho.c - Mach-O 64 little-endian reader: header, platform, LC_SYMTAB.
 *
 * Layout (little-endian):
 *   mach_header_64 (32 bytes): magic u32 0xfeedfacf, cputype u32 @4 (0x0100000c arm64,
 *     0x01000007 x86_64), cpusubtype @8, filetype u32 @12 (1 OBJECT, 2 EXECUTE, 6 DYLIB),
 *     ncmds u32 @16, sizeofcmds u32 @20, flags @24, reserved @28.
 *   load commands follow: cmd u32, cmdsize u32 (>= 8, a multiple of 8 for 64-bit).
 *     LC_SYMTAB (0x2): symoff u32 @8, nsyms u32 @12, stroff u32 @16, strsize u32 @20.
 *     LC_BUILD_VERSION (0x32): platform u32 @8 (1 macOS, 2 iOS, 7 iOS simulator),
 *       minos u32 @12 (X.Y.Z as xxxx.yy.zz), sdk @16, ntools @20.
 *     LC_VERSION_MIN_IPHONEOS (0x25): version u32 @8 (older objects; platform iOS).
 *   nlist_64 (16 bytes): n_strx u32 @0, n_type u8 @4, n_sect u8 @5, n_desc u16 @6,
 *     n_value u64 @8. n_type: N_STAB mask 0xe0 (debug entries, skipped), N_PEXT 0x10,
 *     N_TYPE mask 0x0e (0 UNDF, 2 ABS, 0xe SECT, 0xa INDR), N_EXT 0x01. An undefined
 *     external with n_value != 0 is a common symbol (a definition). n_desc 0x80 is
 *     N_WEAK_DEF for definitions and 0x40 N_WEAK_REF for references.
 */
#include <string.h>

#include "compile/objfile.h"

#define HDR_SIZE 32
#define NLIST_SIZE 16

static aae_obj_kind kind_of(uint32_t t)
{
    switch (t) {
    case 1: return AAE_OBJK_RELOCATABLE;
    case 2: return AAE_OBJK_EXECUTABLE;
    case 6: return AAE_OBJK_SHARED;
    default: return AAE_OBJK_OTHER;
    }
}

static aae_status read_symtab(const uint8_t *d, size_t size, const char *name, const uint8_t *lc,
                              aae_obj_info *out, aae_error *err)
{
    uint64_t symoff = aae_rd32(lc + 8), nsyms = aae_rd32(lc + 12);
    uint64_t stroff = aae_rd32(lc + 16), strsize = aae_rd32(lc + 20);
    if (symoff > size || nsyms * NLIST_SIZE > size - symoff || stroff > size || strsize > size - stroff)
        return aae_error_set(err, AAE_ERR_FORMAT,
                             "%s: LC_SYMTAB (%llu symbols at byte %llu, %llu string bytes at byte %llu) lies "
                             "outside the %zu-byte file",
                             name, (unsigned long long)nsyms, (unsigned long long)symoff,
                             (unsigned long long)strsize, (unsigned long long)stroff, size);
    const char *strs = (const char *)d + stroff;
    size_t cap = 0;
    for (uint64_t i = 0; i < nsyms; i++) {
        const uint8_t *s = d + symoff + i * NLIST_SIZE;
        uint32_t strx = aae_rd32(s);
        uint8_t type = s[4];
        uint16_t desc = aae_rd16(s + 6);
        uint64_t value = aae_rd64(s + 8);
        if ((type & 0xe0) || strx == 0) /* debug (stab) entries; unnamed */
            continue;
        if (strx >= strsize)
            return aae_error_set(err, AAE_ERR_FORMAT,
                                 "%s: symbol %llu names string offset %u, past the %llu-byte string table", name,
                                 (unsigned long long)i, strx, (unsigned long long)strsize);
        const char *p = strs + strx;
        const void *nul = memchr(p, '\0', (size_t)(strsize - strx));
        if (!nul)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: symbol %llu's name is not NUL-terminated", name,
                                 (unsigned long long)i);
        int ext = (type & 0x01) != 0, pext = (type & 0x10) != 0;
        int undef = (type & 0x0e) == 0;
        int defined = !undef || (ext && value != 0); /* common */
        int weak = defined ? (desc & 0x80) != 0 : (desc & 0x40) != 0;
        if (!aae_obj_push_symbol(out, &cap, p, (size_t)((const char *)nul - p), defined, ext || pext, weak))
            return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory reading symbols", name);
    }
    return AAE_OK;
}

aae_status aae_obj_read_macho(const uint8_t *d, size_t size, const char *name, aae_obj_info *out, aae_error *err)
{
    if (size < HDR_SIZE)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: %zu bytes is shorter than a Mach-O 64 header (32)", name,
                             size);
    out->format = AAE_OBJ_MACHO64;
    uint32_t cpu = aae_rd32(d + 4);
    out->cpu = cpu == 0x0100000cu ? AAE_OBJ_CPU_AARCH64 : cpu == 0x01000007u ? AAE_OBJ_CPU_X86_64 : AAE_OBJ_CPU_UNKNOWN;
    out->kind = kind_of(aae_rd32(d + 12));
    uint32_t ncmds = aae_rd32(d + 16), sizeofcmds = aae_rd32(d + 20);
    if (sizeofcmds > size - HDR_SIZE)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: load commands (%u bytes) do not fit the %zu-byte file", name,
                             sizeofcmds, size);
    const uint8_t *symtab = NULL;
    size_t off = HDR_SIZE, end = HDR_SIZE + (size_t)sizeofcmds;
    for (uint32_t i = 0; i < ncmds; i++) {
        if (end - off < 8)
            return aae_error_set(err, AAE_ERR_FORMAT, "%s: load command %u at byte %zu runs past sizeofcmds (%u)",
                                 name, i, off, sizeofcmds);
        uint32_t cmd = aae_rd32(d + off), cmdsize = aae_rd32(d + off + 4);
        if (cmdsize < 8 || cmdsize % 8 != 0 || cmdsize > end - off)
            return aae_error_set(err, AAE_ERR_FORMAT,
                                 "%s: load command %u (0x%x) at byte %zu has size %u (expected a multiple of 8 "
                                 "within the %u bytes of load commands)",
                                 name, i, cmd, off, cmdsize, sizeofcmds);
        if (cmd == 0x2 && cmdsize >= 24)
            symtab = d + off;
        else if (cmd == 0x32 && cmdsize >= 24) {
            out->macho_platform = aae_rd32(d + off + 8);
            out->macho_minos = aae_rd32(d + off + 12);
        } else if (cmd == 0x25 && cmdsize >= 16 && !out->macho_platform) {
            out->macho_platform = AAE_MACHO_PLATFORM_IOS;
            out->macho_minos = aae_rd32(d + off + 8);
        }
        off += cmdsize;
    }
    return symtab ? read_symtab(d, size, name, symtab, out, err) : AAE_OK;
}
