/* pkg_libs.c - model libraries for `package` (see pkg_libs.h). */
#include "package/pkg_libs.h"

#include "base/fs.h"

aae_status aae_pkg_lib_jit(const char *device, const char *model_dir, const aae_pkg_overrides *ov,
                           const char *prefix, int verbose, aae_pkg_lib *out, aae_error *err)
{
    (void)ov;
    (void)prefix;
    (void)verbose;
    (void)out;
    return aae_error_set(err, AAE_ERR_UNSUPPORTED, "compiling a model library for %s (%s) is not available in this "
                                                   "build; give a prepared library in "
                                                   "model_lib_path_for_prepare_libs", model_dir, device);
}

aae_status aae_pkg_lib_check_prepared(const char *path, const char *device, const char *model_lib,
                                      aae_error *err)
{
    (void)device;
    (void)model_lib;
    if (!aae_is_file(path))
        return aae_error_set(err, AAE_ERR_NOT_FOUND, "%s: not found", path);
    return AAE_OK;
}

aae_status aae_pkg_libmodel_write(const char *out_path, const char *device, const aae_pkg_lib *libs, size_t n,
                                  aae_error *err)
{
    (void)device;
    (void)libs;
    (void)n;
    return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: writing model archives is not available in this build",
                         out_path);
}

aae_status aae_pkg_libmodel_validate(const char *path, const char *device, const char *const *model_libs,
                                     size_t n, aae_error *err)
{
    (void)device;
    (void)model_libs;
    (void)n;
    return aae_error_set(err, AAE_ERR_UNSUPPORTED, "%s: validation is not available in this build", path);
}
