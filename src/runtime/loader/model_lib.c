/* model_lib.c - model libraries: registry lookup, dlopen, and the match check (model_lib.h). */
#include "loader/model_lib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* Weak: defined only when the app links libmodel_<device>.a (and forces it in). */
extern const struct aae_model_lib_registry aae_model_lib_registry __attribute__((weak));

const struct aae_model_lib_registry *aae_model_lib_static_registry(void)
{
    return &aae_model_lib_registry ? &aae_model_lib_registry : NULL;
}

static aae_status check_registry(const struct aae_model_lib_registry *r, const char *where, aae_error *err)
{
    if (r->abi_version != AAE_MODEL_LIB_ABI_VERSION)
        return aae_error_set(err, AAE_ERR_MISMATCH,
                             "%s: model-library registry has ABI version %u; this runtime reads version %u. Rebuild "
                             "the model libraries with the sphere_aae of this runtime",
                             where, r->abi_version, AAE_MODEL_LIB_ABI_VERSION);
    return AAE_OK;
}

static const aae_model_lib *find(const struct aae_model_lib_registry *r, const char *name)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (r->libs[i] && r->libs[i]->abi_version == AAE_MODEL_LIB_ABI_VERSION && strcmp(r->libs[i]->name, name) == 0)
            return r->libs[i];
    return NULL;
}

static void list_names(const struct aae_model_lib_registry *r, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (uint32_t i = 0; r && i < r->count && n + 1 < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", r->libs[i] ? r->libs[i]->name : "?");
        if (w < 0)
            break;
        n += (size_t)w < cap - n ? (size_t)w : cap - n - 1;
    }
    if (!out[0])
        snprintf(out, cap, "(none)");
}

static int is_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 3 && strcmp(s + n - 3, ".so") == 0);
}

static aae_status open_shared(const char *path, const aae_model_lib **out, void **handle, aae_error *err)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: cannot load the model library: %s", path,
                             why ? why : "unknown error");
    }
    const struct aae_model_lib_registry *r = (const struct aae_model_lib_registry *)dlsym(h, AAE_MODEL_LIB_REGISTRY_NAME);
    aae_status st = AAE_OK;
    if (!r)
        st = aae_error_set(err, AAE_ERR_FORMAT,
                           "%s: not a model library (no %s symbol); build it with sphere_aae compile -o OUT.so", path,
                           AAE_MODEL_LIB_REGISTRY_NAME);
    else if ((st = check_registry(r, path, err)) == AAE_OK && (r->count != 1 || !r->libs[0]))
        st = aae_error_set(err, AAE_ERR_FORMAT, "%s: a model-library .so holds one library; this one lists %u", path,
                           r->count);
    if (st != AAE_OK) {
        dlclose(h);
        return st;
    }
    *out = r->libs[0];
    *handle = h;
    return AAE_OK;
}

aae_status aae_model_lib_open(const char *name_or_path, const aae_model_lib **out, void **handle, aae_error *err)
{
    *out = NULL;
    *handle = NULL;
    if (is_path(name_or_path))
        return open_shared(name_or_path, out, handle, err);
    char name[128];
    size_t n = strlen(name_or_path);
    if (n == 0 || n >= sizeof name)
        return aae_error_set(err, AAE_ERR_INVALID_ARGUMENT, "model library name '%s' is empty or too long",
                             name_or_path);
    for (size_t i = 0; i <= n; i++)
        name[i] = name_or_path[i] == '-' ? '_' : name_or_path[i];
    const struct aae_model_lib_registry *r = aae_model_lib_static_registry();
    if (r) {
        aae_status st = check_registry(r, "this program", err);
        if (st != AAE_OK)
            return st;
        if ((*out = find(r, name)) != NULL)
            return AAE_OK;
    }
    char have[1024];
    list_names(r, have, sizeof have);
    return aae_error_set(err, AAE_ERR_NOT_FOUND,
                         "model library '%s' is not linked into this program (model libraries linked: %s). Link "
                         "libmodel_<device>.a with -u aae_model_lib_registry (see docs/model_libraries.md), or give "
                         "the path of a .so",
                         name, have);
}

void aae_model_lib_close(void *handle)
{
    if (handle)
        dlclose(handle);
}

#define CMP_INT(f)                                                                                                    \
    if (lib->desc->f != d->f)                                                                                         \
    return aae_error_set(err, AAE_ERR_MISMATCH,                                                                       \
                         "model library %s does not match the weights in %s: " #f " is %ld in the library, %ld in "   \
                         "the weights' config. Compile a library for these weights (sphere_aae compile %s)",         \
                         lib->name, model_dir, (long)lib->desc->f, (long)d->f, model_dir)
#define CMP_FLOAT(f)                                                                                                  \
    if (memcmp(&lib->desc->f, &d->f, sizeof(float)) != 0)                                                            \
    return aae_error_set(err, AAE_ERR_MISMATCH,                                                                       \
                         "model library %s does not match the weights in %s: " #f " is %.9g in the library, %.9g in " \
                         "the weights' config. Compile a library for these weights (sphere_aae compile %s)",         \
                         lib->name, model_dir, (double)lib->desc->f, (double)d->f, model_dir)

aae_status aae_model_lib_check(const aae_model_lib *lib, const aae_model_desc *d, int want_plan, uint32_t cpu,
                               const char *model_dir, aae_error *err)
{
    if (lib->abi_version != AAE_MODEL_LIB_ABI_VERSION || lib->struct_size < sizeof(aae_model_lib))
        return aae_error_set(err, AAE_ERR_MISMATCH,
                             "model library %s has ABI version %u (descriptor of %u bytes); this runtime needs ABI %u. "
                             "Rebuild it with the sphere_aae of this runtime",
                             lib->name, lib->abi_version, lib->struct_size, AAE_MODEL_LIB_ABI_VERSION);
    if (lib->entry_version != AAE_MODEL_ABI_VERSION || !lib->desc || !lib->forward || !lib->plan)
        return aae_error_set(err, AAE_ERR_MISMATCH,
                             "model library %s was built against model code version %u; this runtime runs version %d. "
                             "Rebuild it with the sphere_aae of this runtime",
                             lib->name, lib->entry_version, AAE_MODEL_ABI_VERSION);
    uint32_t missing = lib->cpu_features & ~cpu;
    if (missing)
        return aae_error_set(err, AAE_ERR_UNSUPPORTED,
                             "model library %s (%s) needs CPU features this CPU lacks (%s); compile it for this "
                             "device or use the generic code",
                             lib->name, lib->target,
                             (missing & AAE_MODEL_LIB_CPU_X86_AVX2_FMA) ? "AVX2, FMA, F16C" : "unknown");
    CMP_INT(abi_version);
    CMP_INT(arch);
    CMP_INT(wtype);
    CMP_INT(hidden);
    CMP_INT(inter);
    CMP_INT(n_layers);
    CMP_INT(n_heads);
    CMP_INT(n_kv);
    CMP_INT(head_dim);
    CMP_INT(rot_dim);
    CMP_INT(vocab);
    CMP_INT(norm);
    CMP_INT(parallel);
    CMP_INT(shared_norm);
    CMP_INT(gated);
    CMP_INT(act);
    CMP_INT(tied);
    CMP_FLOAT(eps);
    CMP_FLOAT(emb_scale);
    if (want_plan) {
        CMP_INT(kv_cap);
        CMP_INT(window);
        CMP_INT(sink);
        CMP_INT(chunk);
    }
    return AAE_OK;
}
