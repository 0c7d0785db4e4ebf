/* objfile.c - dispatch between the ELF and Mach-O readers; symbol list ownership. */
#include "compile/objfile.h"

#include <stdlib.h>
#include <string.h>

#include "base/fs.h"

int aae_obj_is_object(const uint8_t *data, size_t size)
{
    if (size >= 5 && memcmp(data, "\x7f" "ELF", 4) == 0 && data[4] == 2)
        return 1;
    return size >= 4 && aae_rd32(data) == 0xfeedfacfu;
}

/* During parsing, syms[i].name points into the input and c_name holds the length
 * (cast); aae_obj_finish_strings copies them into one owned block. */
int aae_obj_push_symbol(aae_obj_info *out, size_t *cap, const char *name, size_t name_len, int defined,
                        int external, int weak)
{
    if (out->nsyms == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        aae_obj_symbol *n = realloc(out->syms, ncap * sizeof *n);
        if (!n)
            return 0;
        out->syms = n;
        *cap = ncap;
    }
    out->syms[out->nsyms++] = (aae_obj_symbol){name, (const char *)(uintptr_t)name_len, defined, external, weak};
    return 1;
}

static aae_status finish_strings(aae_obj_info *out, const char *name, aae_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < out->nsyms; i++)
        total += (size_t)(uintptr_t)out->syms[i].c_name + 1;
    out->strings = malloc(total ? total : 1);
    if (!out->strings)
        return aae_error_set(err, AAE_ERR_NOMEM, "%s: out of memory for %zu symbol names", name, out->nsyms);
    char *p = out->strings;
    for (size_t i = 0; i < out->nsyms; i++) {
        size_t len = (size_t)(uintptr_t)out->syms[i].c_name;
        memcpy(p, out->syms[i].name, len);
        p[len] = '\0';
        out->syms[i].name = p;
        out->syms[i].c_name = (out->format == AAE_OBJ_MACHO64 && p[0] == '_') ? p + 1 : p;
        p += len + 1;
    }
    return AAE_OK;
}

aae_status aae_obj_read(const uint8_t *data, size_t size, const char *name, aae_obj_info *out, aae_error *err)
{
    memset(out, 0, sizeof *out);
    aae_status st;
    if (size >= 4 && memcmp(data, "\x7f" "ELF", 4) == 0)
        st = aae_obj_read_elf(data, size, name, out, err);
    else if (size >= 4 && aae_rd32(data) == 0xfeedfacfu)
        st = aae_obj_read_macho(data, size, name, out, err);
    else if (size >= 4 && (aae_rd32(data) == 0xbebafecau || aae_rd32(data) == 0xcafebabeu))
        st = aae_error_set(err, AAE_ERR_UNSUPPORTED,
                           "%s: a universal (fat) Mach-O file; expected one architecture's object", name);
    else
        st = aae_error_set(err, AAE_ERR_FORMAT,
                           "%s: not an object file (expected the ELF magic 7f 45 4c 46 or the Mach-O 64 magic "
                           "cf fa ed fe at byte 0)",
                           name);
    if (st == AAE_OK)
        st = finish_strings(out, name, err);
    if (st != AAE_OK)
        aae_obj_free(out);
    return st;
}

aae_status aae_obj_read_file(const char *path, aae_obj_info *out, aae_error *err)
{
    aae_mmap m;
    aae_status st = aae_mmap_file(path, &m, err);
    if (st != AAE_OK)
        return st;
    st = aae_obj_read(m.data, m.size, path, out, err);
    aae_munmap(&m);
    return st;
}

void aae_obj_free(aae_obj_info *info)
{
    if (!info)
        return;
    free(info->syms);
    free(info->strings);
    memset(info, 0, sizeof *info);
}

const char *aae_obj_format_name(aae_obj_format f)
{
    switch (f) {
    case AAE_OBJ_ELF64: return "ELF64";
    case AAE_OBJ_MACHO64: return "Mach-O 64";
    default: return "unknown";
    }
}

const char *aae_obj_cpu_name(aae_obj_cpu a)
{
    switch (a) {
    case AAE_OBJ_CPU_X86_64: return "x86_64";
    case AAE_OBJ_CPU_AARCH64: return "aarch64";
    default: return "unknown";
    }
}

const char *aae_macho_platform_name(uint32_t p)
{
    switch (p) {
    case 0: return "none";
    case AAE_MACHO_PLATFORM_MACOS: return "macOS";
    case AAE_MACHO_PLATFORM_IOS: return "iOS";
    case 3: return "tvOS";
    case 4: return "watchOS";
    case 6: return "Mac Catalyst";
    case AAE_MACHO_PLATFORM_IOSSIMULATOR: return "iOS simulator";
    default: return "other";
    }
}
