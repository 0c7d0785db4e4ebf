/* lib_archive.c - libmodel_<device>.a from model-library tars plus the registry. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "compile/lib_archive.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "compile/archive.h"
#include "compile/atomic_file.h"
#include "compile/lib_build.h"
#include "compile/registry.h"
#include "compile/tar.h"
#include "models/model_lib_abi.h"

typedef struct lib_in {
    aae_mmap map;
    aae_tar tar;
    char name[AAE_PREFIX_MAX + 1];
    char device[64];
} lib_in;

static aae_status parse_meta(const aae_tar *t, const char *path, char *name, size_t ncap, char *device, size_t dcap,
                             aae_error *err)
{
    const aae_tar_entry *e = aae_tar_find(t, AAE_MODEL_LIB_METADATA);
    if (!e)
        return aae_error_set(err, AAE_ERR_FORMAT, "%s: not a model library (no %s member); build it with sphere_aae "
                             "compile", path, AAE_MODEL_LIB_METADATA);
    aae_json_doc *doc = NULL;
    aae_status st = aae_json_parse((const char *)e->data, e->size, &doc, err);
    if (st != AAE_OK)
        return aae_error_prefix(err, "%s: %s", path, AAE_MODEL_LIB_METADATA);
    const aae_json *root = aae_json_root(doc);
    const char *lib = aae_json_str(aae_json_get(root, "model_lib"));
    const char *dev = aae_json_str(aae_json_get(root, "device"));
    int64_t abi = 0;
    aae_json_get_int64(root, "abi_version", 0, &abi);
    if (!lib || !dev)
        st = aae_error_set(err, AAE_ERR_FORMAT, "%s: %s lacks /model_lib or /device", path, AAE_MODEL_LIB_METADATA);
    else if (abi != AAE_MODEL_LIB_ABI_VERSION)
        st = aae_error_set(err, AAE_ERR_MISMATCH, "%s: built for model-library ABI %lld; this sphere_aae uses ABI %u. "
                           "Rebuild it with this sphere_aae compile", path, (long long)abi, AAE_MODEL_LIB_ABI_VERSION);
    else {
        snprintf(name, ncap, "%s", lib);
        snprintf(device, dcap, "%s", dev);
    }
    aae_json_free(doc);
    return st;
}

aae_status aae_lib_tar_info(const char *tar_path, char *model_lib, size_t name_cap, char *device, size_t device_cap,
                            aae_error *err)
{
    aae_mmap m;
    aae_status st = aae_mmap_file(tar_path, &m, err);
    if (st != AAE_OK)
        return st;
    aae_tar t;
    st = aae_tar_read(m.data, m.size, tar_path, &t, err);
    if (st == AAE_OK) {
        st = parse_meta(&t, tar_path, model_lib, name_cap, device, device_cap, err);
        aae_tar_free(&t);
    }
    aae_munmap(&m);
    return st;
}

/* The tar members of one slice: "<arch>/x.o" for multi-slice devices, else "x.o". */
static const char *slice_member(const aae_device *dev, int slice, const char *name)
{
    if (!aae_ends_with(name, ".o"))
        return NULL;
    if (dev->nslices == 1)
        return strchr(name, '/') ? NULL : name;
    size_t al = strlen(dev->slices[slice].arch);
    if (strncmp(name, dev->slices[slice].arch, al) != 0 || name[al] != '/' || strchr(name + al + 1, '/'))
        return NULL;
    return name + al + 1;
}

static void free_libs(lib_in *libs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        aae_tar_free(&libs[i].tar);
        aae_munmap(&libs[i].map);
    }
    free(libs);
}

static aae_status open_libs(const char *const *tars, size_t n, const aae_device *dev, lib_in *libs, aae_error *err)
{
    for (size_t i = 0; i < n; i++) {
        aae_status st = aae_mmap_file(tars[i], &libs[i].map, err);
        if (st == AAE_OK)
            st = aae_tar_read(libs[i].map.data, libs[i].map.size, tars[i], &libs[i].tar, err);
        if (st == AAE_OK)
            st = parse_meta(&libs[i].tar, tars[i], libs[i].name, sizeof libs[i].name, libs[i].device,
                            sizeof libs[i].device, err);
        if (st == AAE_OK && strcmp(aae_device_find(libs[i].device) ? aae_device_find(libs[i].device)->name : "",
                                   dev->name) != 0)
            st = aae_error_set(err, AAE_ERR_MISMATCH, "%s: a model library for %s, not %s; compile it with --device %s",
                               tars[i], libs[i].device, dev->name, dev->name);
        for (size_t k = 0; st == AAE_OK && k < i; k++)
            if (strcmp(libs[k].name, libs[i].name) == 0)
                st = aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "%s and %s are both model_lib %s; give each once",
                                   tars[k], tars[i], libs[i].name);
        if (st != AAE_OK)
            return st;
    }
    return AAE_OK;
}

aae_status aae_lib_archive_write(const char *const *tars, size_t n, const aae_device *dev, int slice,
                                 const char *out_a, FILE *diag, aae_error *err)
{
    if (slice < 0 || slice >= dev->nslices)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "slice %d: %s has %d", slice, dev->name, dev->nslices);
    lib_in *libs = calloc(n + 1, sizeof *libs);
    const char **names = calloc(n + 1, sizeof *names);
    aae_ar_input *members = NULL;
    size_t nm = 0, cap = 0;
    char work[4096] = "", reg[4200] = "", reg_c[4300] = "";
    aae_mmap reg_map = {0};
    aae_compiler cc;
    memset(&cc, 0, sizeof cc);
    aae_status st = libs && names ? open_libs(tars, n, dev, libs, err) : aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == AAE_OK && i < n; i++) {
        names[i] = libs[i].name;
        for (size_t k = 0; k < libs[i].tar.n; k++) {
            const char *mname = slice_member(dev, slice, libs[i].tar.entries[k].name);
            if (!mname)
                continue;
            if (nm + 1 >= cap) {
                cap = cap ? cap * 2 : 32;
                aae_ar_input *nmem = realloc(members, cap * sizeof *nmem);
                if (!nmem) {
                    st = aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
                    break;
                }
                members = nmem;
            }
            members[nm++] = (aae_ar_input){mname, libs[i].tar.entries[k].data, libs[i].tar.entries[k].size};
        }
    }
    const char *tmpdir = getenv("TMPDIR");
    if (st == AAE_OK) {
        aae_pathf(work, sizeof work, "%s/aae_archive_XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
        if (!mkdtemp(work))
            st = aae_error_set(err, AAE_ERR_IO, "cannot create a work folder (%s)", work);
    }
    if (st == AAE_OK) {
        aae_pathf(reg, sizeof reg, "%s/aae_model_lib_registry.o", work);
        aae_pathf(reg_c, sizeof reg_c, "%s.c", reg);
        if ((st = aae_compiler_detect(&cc, err)) == AAE_OK &&
            (st = aae_registry_build(&cc, &dev->slices[slice], names, n, reg, diag, err)) == AAE_OK &&
            (st = aae_mmap_file(reg, &reg_map, err)) == AAE_OK) {
            aae_ar_input *grown = nm + 1 > cap ? realloc(members, (nm + 1) * sizeof *members) : members;
            if (!grown)
                st = aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
            else {
                members = grown;
                members[nm++] = (aae_ar_input){"aae_model_lib_registry.o", reg_map.data, reg_map.size};
                st = aae_ar_write_file(out_a, dev->ar_kind, members, nm, err);
            }
        }
    }
    if (st == AAE_OK)
        st = aae_lib_archive_check(out_a, dev, names, n, err);
    aae_munmap(&reg_map);
    if (reg[0]) {
        unlink(reg);
        unlink(reg_c);
    }
    if (work[0])
        rmdir(work);
    aae_compiler_free(&cc);
    free(members);
    free(names);
    if (libs)
        free_libs(libs, n);
    return st;
}

aae_status aae_lib_archive_check(const char *path, const aae_device *dev, const char *const *names, size_t n,
                                 aae_error *err)
{
    aae_archive ar;
    aae_status st = aae_ar_read_file(path, &ar, err);
    if (st != AAE_OK)
        return st;
    const char *us = dev->format == AAE_OBJ_MACHO64 ? "_" : "";
    aae_buf missing, have;
    aae_buf_init(&missing);
    aae_buf_init(&have);
    char sym[256];
    snprintf(sym, sizeof sym, "%s%s", us, AAE_MODEL_LIB_REGISTRY_NAME);
    if (!aae_ar_find_symbol(&ar, sym))
        aae_buf_printf(&missing, "%s%s", missing.len ? ", " : "", AAE_MODEL_LIB_REGISTRY_NAME);
    for (size_t i = 0; i < n; i++) {
        snprintf(sym, sizeof sym, "%s%s%s", us, names[i], AAE_MODEL_LIB_SUFFIX);
        if (!aae_ar_find_symbol(&ar, sym))
            aae_buf_printf(&missing, "%s%s", missing.len ? ", " : "", names[i]);
    }
    if (missing.len) {
        size_t sl = strlen(AAE_MODEL_LIB_SUFFIX);
        for (size_t i = 0; i < ar.nsyms; i++) {
            const char *s = ar.syms[i].name + strlen(us);
            size_t len = strlen(s);
            if (len > sl && strcmp(s + len - sl, AAE_MODEL_LIB_SUFFIX) == 0)
                aae_buf_printf(&have, "%s%.*s", have.len ? ", " : "", (int)(len - sl), s);
        }
        st = aae_error_set(err, AAE_ERR_MISMATCH,
                           "%s: the archive's symbol table lacks %s; the model libraries it has: %s", path,
                           missing.data, have.len ? have.data : "(none)");
    }
    aae_buf_free(&missing);
    aae_buf_free(&have);
    aae_ar_free(&ar);
    return st;
}
