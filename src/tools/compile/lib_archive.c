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
#include "common/fsutil.h"
#include "compile/lib_build.h"
#include "compile/macho_fat.h"
#include "compile/objfile.h"
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

/* Builds one slice's archive bytes into out: the slice's objects of every library
 * plus the registry compiled for that slice. */
static aae_status build_slice(const lib_in *libs, const char *const *names, size_t n, const aae_device *dev, int slice,
                              FILE *diag, aae_buf *out, aae_error *err)
{
    aae_ar_input *members = NULL;
    size_t nm = 0, cap = 0;
    char work[4096] = "", reg[4200] = "", reg_c[4300] = "";
    aae_mmap reg_map = {0};
    aae_compiler cc;
    memset(&cc, 0, sizeof cc);
    aae_status st = AAE_OK;
    for (size_t i = 0; st == AAE_OK && i < n; i++) {
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
        if (!mkdtemp(work)) {
            st = aae_error_set(err, AAE_ERR_IO, "cannot create a work folder (%s)", work);
            work[0] = '\0';
        }
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
                st = aae_ar_build(dev->ar_kind, members, nm, out, err);
            }
        }
    }
    aae_munmap(&reg_map);
    if (reg[0]) {
        unlink(reg);
        unlink(reg_c);
    }
    if (work[0])
        rmdir(work);
    aae_compiler_free(&cc);
    free(members);
    return st;
}

static uint32_t macho_cputype(aae_obj_cpu cpu)
{
    return cpu == AAE_OBJ_CPU_X86_64 ? AAE_MACHO_CPU_X86_64 : AAE_MACHO_CPU_ARM64;
}

/* A universal file of every slice's archive (multi-slice devices). */
static aae_status write_universal(const lib_in *libs, const char *const *names, size_t n, const aae_device *dev,
                                  const char *out_a, FILE *diag, aae_error *err)
{
    aae_buf parts[AAE_DEVICE_MAX_SLICES], fat;
    aae_fat_slice slices[AAE_DEVICE_MAX_SLICES];
    aae_buf_init(&fat);
    aae_status st = AAE_OK;
    for (int s = 0; s < dev->nslices; s++)
        aae_buf_init(&parts[s]);
    for (int s = 0; st == AAE_OK && s < dev->nslices; s++) {
        st = build_slice(libs, names, n, dev, s, diag, &parts[s], err);
        uint32_t cpu = macho_cputype(dev->slices[s].cpu);
        slices[s] = (aae_fat_slice){cpu, cpu == AAE_MACHO_CPU_X86_64 ? AAE_MACHO_SUBTYPE_X86_64_ALL
                                                                    : AAE_MACHO_SUBTYPE_ARM64_ALL,
                                    (const uint8_t *)parts[s].data, parts[s].len, 0};
    }
    if (st == AAE_OK)
        st = aae_fat_build(slices, (size_t)dev->nslices, &fat, err);
    if (st == AAE_OK)
        st = aae_write_file_atomic(out_a, fat.data, fat.len, 0644, err);
    for (int s = 0; s < dev->nslices; s++)
        aae_buf_free(&parts[s]);
    aae_buf_free(&fat);
    return st;
}

aae_status aae_lib_archive_write(const char *const *tars, size_t n, const aae_device *dev, int slice,
                                 const char *out_a, FILE *diag, aae_error *err)
{
    if (slice == AAE_LIB_ALL_SLICES && dev->nslices == 1)
        slice = 0;
    if (slice != AAE_LIB_ALL_SLICES && (slice < 0 || slice >= dev->nslices))
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "slice %d: %s has %d", slice, dev->name, dev->nslices);
    lib_in *libs = calloc(n + 1, sizeof *libs);
    const char **names = calloc(n + 1, sizeof *names);
    aae_status st = libs && names ? open_libs(tars, n, dev, libs, err) : aae_error_set(err, AAE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == AAE_OK && i < n; i++)
        names[i] = libs[i].name;
    if (st == AAE_OK && slice == AAE_LIB_ALL_SLICES) {
        st = write_universal(libs, names, n, dev, out_a, diag, err);
    } else if (st == AAE_OK) {
        aae_buf b;
        aae_buf_init(&b);
        st = build_slice(libs, names, n, dev, slice, diag, &b, err);
        if (st == AAE_OK)
            st = aae_write_file_atomic(out_a, b.data, b.len, 0644, err);
        aae_buf_free(&b);
    }
    if (st == AAE_OK)
        st = slice == AAE_LIB_ALL_SLICES ? aae_lib_archive_check(out_a, dev, names, n, err)
                                         : aae_lib_archive_check_slice(out_a, dev, slice, names, n, err);
    free(names);
    if (libs)
        free_libs(libs, n);
    return st;
}

/* Checks one slice's archive bytes: every object member is for the slice's CPU (and
 * platform, for Mach-O), and the symbol table defines the registry and every
 * <name>_aae_model_lib. what: the file (and slice) in messages. */
static aae_status check_archive(const uint8_t *data, size_t size, const char *what, const aae_device *dev,
                                const aae_slice *sl, const char *const *names, size_t n, aae_error *err)
{
    aae_archive ar;
    aae_status st = aae_ar_read(data, size, what, &ar, err);
    if (st != AAE_OK)
        return st;
    for (size_t i = 0; st == AAE_OK && i < ar.nmembers; i++) {
        const aae_ar_member *m = &ar.members[i];
        aae_obj_info info;
        if (!aae_obj_is_object(data + m->data_offset, m->size))
            continue;
        if ((st = aae_obj_read(data + m->data_offset, m->size, m->name, &info, err)) != AAE_OK)
            break;
        if (info.format != dev->format || info.cpu != sl->cpu ||
            (sl->macho_platform && info.macho_platform && info.macho_platform != sl->macho_platform))
            st = aae_error_set(err, AAE_ERR_MISMATCH, "%s: member %s is a %s object for another CPU or platform "
                               "(platform %u) than %s (%s); rebuild the archive", what, m->name,
                               aae_obj_format_name(info.format), info.macho_platform, dev->name, sl->triple);
        aae_obj_free(&info);
    }
    const char *us = dev->format == AAE_OBJ_MACHO64 ? "_" : "";
    aae_buf missing, have;
    aae_buf_init(&missing);
    aae_buf_init(&have);
    char sym[256];
    snprintf(sym, sizeof sym, "%s%s", us, AAE_MODEL_LIB_REGISTRY_NAME);
    if (st == AAE_OK && !aae_ar_find_symbol(&ar, sym))
        aae_buf_printf(&missing, "%s%s", missing.len ? ", " : "", AAE_MODEL_LIB_REGISTRY_NAME);
    for (size_t i = 0; st == AAE_OK && i < n; i++) {
        snprintf(sym, sizeof sym, "%s%s%s", us, names[i], AAE_MODEL_LIB_SUFFIX);
        if (!aae_ar_find_symbol(&ar, sym))
            aae_buf_printf(&missing, "%s%s", missing.len ? ", " : "", names[i]);
    }
    if (missing.len) {
        size_t sl_len = strlen(AAE_MODEL_LIB_SUFFIX);
        for (size_t i = 0; i < ar.nsyms; i++) {
            const char *s = ar.syms[i].name + strlen(us);
            size_t len = strlen(s);
            if (len > sl_len && strcmp(s + len - sl_len, AAE_MODEL_LIB_SUFFIX) == 0)
                aae_buf_printf(&have, "%s%.*s", have.len ? ", " : "", (int)(len - sl_len), s);
        }
        st = aae_error_set(err, AAE_ERR_MISMATCH,
                           "%s: the archive's symbol table lacks %s; the model libraries it has: %s", what,
                           missing.data, have.len ? have.data : "(none)");
    }
    aae_buf_free(&missing);
    aae_buf_free(&have);
    aae_ar_free(&ar);
    return st;
}

/* A universal file: exactly one slice per device slice (by CPU type), each checked. */
static aae_status check_universal(const aae_mmap *m, const char *path, const aae_device *dev, const char *const *names,
                                  size_t n, aae_error *err)
{
    aae_fat_slice fs[AAE_FAT_MAX_ARCHS];
    size_t nfs = 0;
    aae_status st = aae_fat_read(m->data, m->size, path, fs, &nfs, err);
    if (st != AAE_OK)
        return st;
    if (nfs != (size_t)dev->nslices)
        return aae_error_set(err, AAE_ERR_MISMATCH, "%s: %zu slices in the universal file; %s needs %d (%s%s%s)", path,
                             nfs, dev->name, dev->nslices, dev->slices[0].arch, dev->nslices > 1 ? ", " : "",
                             dev->nslices > 1 ? dev->slices[1].arch : "");
    for (int s = 0; st == AAE_OK && s < dev->nslices; s++) {
        const aae_fat_slice *hit = NULL;
        for (size_t k = 0; k < nfs; k++)
            if (fs[k].cputype == macho_cputype(dev->slices[s].cpu))
                hit = &fs[k];
        char what[4200];
        aae_pathf(what, sizeof what, "%s (%s slice)", path, dev->slices[s].arch);
        if (!hit)
            st = aae_error_set(err, AAE_ERR_MISMATCH, "%s: no %s slice in the universal file", path,
                               dev->slices[s].arch);
        else
            st = check_archive(hit->data, hit->size, what, dev, &dev->slices[s], names, n, err);
    }
    return st;
}

aae_status aae_lib_archive_check_slice(const char *path, const aae_device *dev, int slice, const char *const *names,
                                       size_t n, aae_error *err)
{
    if (slice < 0 || slice >= dev->nslices)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "slice %d: %s has %d", slice, dev->name, dev->nslices);
    aae_mmap m;
    aae_status st = aae_mmap_file(path, &m, err);
    if (st != AAE_OK)
        return st;
    st = check_archive(m.data, m.size, path, dev, &dev->slices[slice], names, n, err);
    aae_munmap(&m);
    return st;
}

aae_status aae_lib_archive_check(const char *path, const aae_device *dev, const char *const *names, size_t n,
                                 aae_error *err)
{
    aae_mmap m;
    aae_status st = aae_mmap_file(path, &m, err);
    if (st != AAE_OK)
        return st;
    int fat = aae_fat_is_fat(m.data, m.size);
    if (dev->nslices > 1 && !fat)
        st = aae_error_set(err, AAE_ERR_MISMATCH, "%s: not a universal (fat) file; %s needs one slice per CPU (%s, "
                           "%s)", path, dev->name, dev->slices[0].arch, dev->slices[1].arch);
    else if (fat && dev->format != AAE_OBJ_MACHO64)
        st = aae_error_set(err, AAE_ERR_MISMATCH, "%s: a Mach-O universal file, but %s uses ELF", path, dev->name);
    else if (fat)
        st = check_universal(&m, path, dev, names, n, err);
    else
        st = check_archive(m.data, m.size, path, dev, &dev->slices[0], names, n, err);
    aae_munmap(&m);
    return st;
}
