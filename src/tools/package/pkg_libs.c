/*
 * pkg_libs.c - model libraries for `package` (see pkg_libs.h), over compile's JIT
 * cache (compile/jit.h), its plan (compile/lib_plan.h) and its archive writer and
 * symbol-table reader (compile/lib_archive.h).
 *
 * Compiler output: with --verbose it goes to stderr as it comes; otherwise it is kept
 * in a temporary file and shown in full only when something fails (never swallowed).
 */
#include "package/pkg_libs.h"

#include <stdio.h>
#include <string.h>

#include "base/fs.h"
#include "compile/jit.h"
#include "compile/lib_archive.h"
#include "compile/lib_plan.h"
#include "compile/toolchain.h"
#include "format/chat_config.h"
#include "package/pkg_util.h"


static void to_overrides(const aae_pkg_overrides *ov, aae_overrides *o)
{
    aae_overrides_init(o);
    if (ov->context_window_size != AAE_PKG_UNSET)
        o->context_window_size = ov->context_window_size;
    if (ov->prefill_chunk_size != AAE_PKG_UNSET)
        o->prefill_chunk_size = ov->prefill_chunk_size;
    if (ov->sliding_window_size != AAE_PKG_UNSET)
        o->sliding_window_size = ov->sliding_window_size;
    if (ov->attention_sink_size != AAE_PKG_UNSET)
        o->attention_sink_size = ov->attention_sink_size;
    if (ov->max_batch_size != AAE_PKG_UNSET)
        o->max_batch_size = ov->max_batch_size;
}

/* Where compiler output goes: stderr (verbose) or a temporary file shown on failure. */
static FILE *diag_open(int verbose) { return verbose ? stderr : tmpfile(); }

static void diag_close(FILE *diag, int verbose, int failed)
{
    if (!diag || diag == stderr)
        return;
    if (failed && !verbose) {
        rewind(diag);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, diag)) > 0)
            fwrite(buf, 1, n, stderr);
    }
    fclose(diag);
}

static const aae_device *find_device(const char *device, aae_error *err)
{
    const aae_device *d = aae_device_find(device);
    if (!d)
        aae_error_set(err, AAE_ERR_UNSUPPORTED, "device \"%s\" is not known to the compiler (known: %s)", device,
                      aae_device_list());
    return d;
}

aae_status aae_pkg_lib_jit(const char *device, const char *model_dir, const aae_pkg_overrides *ov,
                           const char *prefix, const char *source_dir, int verbose, aae_pkg_lib *out,
                           aae_error *err)
{
    aae_overrides o;
    to_overrides(ov, &o);
    FILE *diag = diag_open(verbose);
    aae_jit_request req = {.model = model_dir,
                           .device = device,
                           .overrides = &o,
                           .prefix = prefix,
                           .opt_level = -1,
                           .ext = "tar",
                           .source_root = source_dir,
                           .policy = -1,
                           .diag = diag ? diag : stderr};
    aae_jit_result res;
    memset(&res, 0, sizeof res);
    aae_status st = aae_jit_get_library(&req, &res, err);
    diag_close(diag, verbose, st != AAE_OK);
    if (st != AAE_OK)
        return st;
    memset(out, 0, sizeof *out);
    aae_pkg_sfmt(out->model_lib, sizeof out->model_lib, "%s", res.model_lib);
    aae_pkg_sfmt(out->path, sizeof out->path, "%s", res.path);
    out->compiled = res.compiled;
    return AAE_OK;
}

aae_status aae_pkg_lib_memory(const char *model_dir, const aae_pkg_overrides *ov, aae_pkg_memory *out,
                              aae_error *err)
{
    aae_chat_config *cc = NULL;
    aae_status st = aae_chat_config_load(model_dir, &cc, err);
    if (st != AAE_OK)
        return st;
    aae_overrides o;
    to_overrides(ov, &o);
    aae_lib_plan plan;
    memset(&plan, 0, sizeof plan);
    st = aae_lib_plan_make(cc, model_dir, &o, NULL, NULL, &plan, err);
    if (st == AAE_OK) {
        memset(out, 0, sizeof *out);
        out->weights = (int64_t)plan.memory.weights_bytes;
        out->kv_cache = (int64_t)plan.memory.kv_cache_bytes;
        out->activations = (int64_t)plan.memory.activation_bytes;
        out->total = out->weights + out->kv_cache + out->activations;
        out->context_window = plan.context_window_size;
        out->prefill_chunk = plan.prefill_chunk_size;
        out->kv_len = plan.kv_capacity;
        aae_lib_plan_free(&plan);
    }
    aae_chat_config_free(cc);
    return st;
}

aae_status aae_pkg_lib_check_prepared(const char *path, const char *device, const char *model_lib,
                                      aae_error *err)
{
    char name[256], dev[64];
    aae_status st = aae_lib_tar_info(path, name, sizeof name, dev, sizeof dev, err);
    if (st != AAE_OK)
        return aae_error_prefix(err, "%s is not a model library made by `sphere_aae compile` (a .tar)", path);
    const aae_device *want = find_device(device, err), *have = aae_device_find(dev);
    if (!want)
        return AAE_ERR_UNSUPPORTED;
    if (!have || strcmp(want->name, have->name) != 0)
        return aae_error_set(err, AAE_ERR_MISMATCH, "%s was compiled for device \"%s\", but the config's device is "
                                                    "\"%s\"; rebuild it with `sphere_aae compile ... --device %s`",
                             path, dev, device, device);
    if (strcmp(name, model_lib) != 0)
        return aae_error_set(err, AAE_ERR_MISMATCH, "%s holds the model library \"%s\", not \"%s\"; rebuild it with "
                                                    "`sphere_aae compile ... --system-lib-prefix %s` or fix the key",
                             path, name, model_lib, model_lib);
    return AAE_OK;
}

aae_status aae_pkg_libmodel_write(const char *out_path, const char *device, const aae_pkg_lib *libs, size_t n,
                                  aae_error *err)
{
    const aae_device *dev = find_device(device, err);
    if (!dev)
        return AAE_ERR_UNSUPPORTED;
    const char *tars[256];
    if (n > sizeof tars / sizeof tars[0])
        return aae_error_set(err, AAE_ERR_LIMIT, "more than %zu model libraries", sizeof tars / sizeof tars[0]);
    for (size_t i = 0; i < n; i++)
        tars[i] = libs[i].path;
    FILE *diag = diag_open(0);
    aae_status st = aae_lib_archive_write(tars, n, dev, AAE_LIB_ALL_SLICES, out_path, diag ? diag : stderr, err);
    diag_close(diag, 0, st != AAE_OK);
    return st;
}

aae_status aae_pkg_libmodel_validate(const char *path, const char *device, const char *const *model_libs,
                                     size_t n, aae_error *err)
{
    const aae_device *dev = find_device(device, err);
    if (!dev)
        return AAE_ERR_UNSUPPORTED;
    aae_status st = aae_lib_archive_check(path, dev, model_libs, n, err);
    if (st != AAE_OK && err)
        err->status = AAE_ERR_MISMATCH;
    return st != AAE_OK ? AAE_ERR_MISMATCH : AAE_OK;
}
