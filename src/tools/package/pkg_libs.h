/*
 * pkg_libs.h - model libraries for `package`: getting one per model (the JIT
 * cache of `compile`, or a prepared file from model_lib_path_for_prepare_libs),
 * combining them into dist/lib/libmodel_<device>.a with the generated registry,
 * and validating that archive by reading its own symbol table.
 */
#ifndef AAE_PKG_LIBS_H
#define AAE_PKG_LIBS_H

#include <stddef.h>

#include "base/error.h"
#include "package/pkg_config.h"
#include "package/pkg_manifest.h"

typedef struct aae_pkg_lib {
    char model_lib[AAE_PKG_NAME_MAX]; /* the symbol prefix */
    char path[AAE_PKG_PATH_MAX];      /* the library (.tar) */
    int compiled;                     /* compiled in this run (a JIT cache miss) */
    int prepared;                     /* from model_lib_path_for_prepare_libs */
} aae_pkg_lib;

/* The library for the model in model_dir, for device, with the overrides, through
 * the JIT cache ($SPHERE_AAE_JIT_POLICY). prefix: the entry's model_lib, or NULL
 * for the default prefix, which out->model_lib then names. */
aae_status aae_pkg_lib_jit(const char *device, const char *model_dir, const aae_pkg_overrides *ov,
                           const char *prefix, const char *source_dir, int verbose, aae_pkg_lib *out,
                           aae_error *err);

/* The memory the model's library plan needs (weights, KV cache at the context
 * window after overrides, activations at the prefill chunk): compile's own plan,
 * so what is printed is what the library allocates. */
aae_status aae_pkg_lib_memory(const char *model_dir, const aae_pkg_overrides *ov, aae_pkg_memory *out,
                              aae_error *err);

/* Checks a prepared library: a model-library archive for device whose symbols
 * carry model_lib's prefix and whose descriptor is present. */
aae_status aae_pkg_lib_check_prepared(const char *path, const char *device, const char *model_lib,
                                      aae_error *err);

/* Writes out_path (libmodel_<device>.a): every object of every library plus the
 * registry object that lets the runtime find each by model_lib. */
aae_status aae_pkg_libmodel_write(const char *out_path, const char *device, const aae_pkg_lib *libs, size_t n,
                                  aae_error *err);

/* Reads out_path's own symbol table (no host nm/ar): every model_lib must have
 * its descriptor symbol, else AAE_ERR_MISMATCH with a message listing what is there. */
aae_status aae_pkg_libmodel_validate(const char *path, const char *device, const char *const *model_libs,
                                     size_t n, aae_error *err);

#endif
