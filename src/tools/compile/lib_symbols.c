/* lib_symbols.c - checks a model library's objects against the rules of lib_symbols.h. */
#include "compile/lib_symbols.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "compile/lib_plan.h"
#include "models/model_lib_abi.h"

int aae_lib_undefined_allowed(const char *n)
{
    static const char *const libc[] = {"memcpy", "memmove", "memset", "bzero", NULL};
    for (size_t i = 0; libc[i]; i++)
        if (strcmp(n, libc[i]) == 0)
            return 1;
    return strncmp(n, "__", 2) == 0 || strncmp(n, "aae_", 4) == 0;
}

static int linker_defined(const char *n)
{
    static const char *const names[] = {"_init", "_fini", "_edata", "_end", "__bss_start", "_DYNAMIC",
                                        "_GLOBAL_OFFSET_TABLE_", "__dso_handle", NULL};
    for (size_t i = 0; names[i]; i++)
        if (strcmp(n, names[i]) == 0)
            return 1;
    return 0;
}

/* Appends up to 8 names to list; counts all. */
static void note(aae_buf *list, size_t *count, const char *name)
{
    if (*count < 8)
        aae_buf_printf(list, "%s%s", *count ? ", " : "", name);
    else if (*count == 8)
        aae_buf_puts(list, ", ...");
    (*count)++;
}

aae_status aae_lib_check_object(const aae_obj_info *o, const char *objname, const aae_slice *slice,
                                aae_obj_format format, const char *prefix, int shared, int *has_desc_out,
                                aae_error *err)
{
    if (o->format != format || o->cpu != slice->cpu)
        return aae_error_set(err, AAE_ERR_MISMATCH, "%s: is %s %s; the device needs %s %s (%s)", objname,
                             aae_obj_format_name(o->format), aae_obj_cpu_name(o->cpu), aae_obj_format_name(format),
                             aae_obj_cpu_name(slice->cpu), slice->triple);
    if (format == AAE_OBJ_MACHO64 && o->macho_platform != slice->macho_platform)
        return aae_error_set(err, AAE_ERR_MISMATCH, "%s: Mach-O platform is %s (LC_BUILD_VERSION %u); expected %s",
                             objname, aae_macho_platform_name(o->macho_platform), o->macho_platform,
                             aae_macho_platform_name(slice->macho_platform));
    aae_obj_kind want = shared ? AAE_OBJK_SHARED : AAE_OBJK_RELOCATABLE;
    if (o->kind != want)
        return aae_error_set(err, AAE_ERR_MISMATCH, "%s: expected a %s", objname,
                             shared ? "shared object" : "relocatable object file");
    char desc[AAE_PREFIX_MAX + 32];
    snprintf(desc, sizeof desc, "%s%s", prefix, AAE_MODEL_LIB_SUFFIX);
    size_t plen = strlen(prefix), nbad = 0, nundef = 0;
    int has_desc = 0;
    aae_buf bad, undef;
    aae_buf_init(&bad);
    aae_buf_init(&undef);
    for (size_t i = 0; i < o->nsyms; i++) {
        const aae_obj_symbol *s = &o->syms[i];
        if (!s->external)
            continue;
        if (s->defined) {
            if (strcmp(s->c_name, desc) == 0)
                has_desc = 1;
            int ok = strncmp(s->c_name, prefix, plen) == 0;
            if (shared && !ok)
                ok = strcmp(s->c_name, AAE_MODEL_LIB_REGISTRY_NAME) == 0 || linker_defined(s->c_name);
            if (!ok)
                note(&bad, &nbad, s->c_name);
        } else if (!shared && !aae_lib_undefined_allowed(s->c_name) && strncmp(s->c_name, prefix, plen) != 0) {
            note(&undef, &nundef, s->c_name);
        }
    }
    aae_status st = AAE_OK;
    if (nbad)
        st = aae_error_set(err, AAE_ERR_MISMATCH,
                           "%s: %zu external symbol(s) do not start with the prefix '%s': %s. Every external "
                           "symbol of a model library must carry its prefix so that libraries link together",
                           objname, nbad, prefix, bad.data);
    else if (nundef)
        st = aae_error_set(err, AAE_ERR_MISMATCH,
                           "%s: references %zu symbol(s) a freestanding model library may not use: %s (allowed: "
                           "memcpy, memmove, memset, bzero, compiler-support \"__\" functions, the runtime's "
                           "\"aae_\" functions)",
                           objname, nundef, undef.data);
    else if (!has_desc && !has_desc_out)
        st = aae_error_set(err, AAE_ERR_MISMATCH, "%s: the descriptor symbol %s is missing", objname, desc);
    if (has_desc_out)
        *has_desc_out = has_desc;
    aae_buf_free(&bad);
    aae_buf_free(&undef);
    return st;
}

static int defined_in(const aae_obj_info *objs, size_t n, const char *c_name)
{
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < objs[k].nsyms; i++)
            if (objs[k].syms[i].defined && objs[k].syms[i].external && strcmp(objs[k].syms[i].c_name, c_name) == 0)
                return 1;
    return 0;
}

aae_status aae_lib_check_resolved(const aae_obj_info *objs, size_t n, const char *prefix, aae_error *err)
{
    size_t plen = strlen(prefix), nmiss = 0;
    aae_buf miss;
    aae_buf_init(&miss);
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < objs[k].nsyms; i++) {
            const aae_obj_symbol *s = &objs[k].syms[i];
            if (!s->defined && s->external && strncmp(s->c_name, prefix, plen) == 0 && !defined_in(objs, n, s->c_name))
                note(&miss, &nmiss, s->c_name);
        }
    aae_status st = AAE_OK;
    if (nmiss)
        st = aae_error_set(err, AAE_ERR_MISMATCH,
                           "the library references %zu prefixed symbol(s) none of its objects defines: %s", nmiss,
                           miss.data);
    aae_buf_free(&miss);
    return st;
}
