/*
 * lib_archive.h - libmodel_<device>.a: model libraries (.tar) plus the registry, as one
 * static archive an app links. `package` calls this; tests use it too.
 *
 * Every input tar must be a model library for the same device (its model_lib.json
 * says which) and single-slice (iphone-simulator tars hold two slices: pass slice to
 * pick one; an Xcode build takes one archive per slice). The objects keep their tar
 * member names (which start with their prefix, so they never collide); the registry is
 * added as "aae_model_lib_registry.o", compiled for the device with the compiler of
 * aae_compiler_detect. The archive's own symbol table is then read back and every
 * descriptor checked to be there.
 */
#ifndef AAE_TOOLS_LIB_ARCHIVE_H
#define AAE_TOOLS_LIB_ARCHIVE_H

#include <stdio.h>

#include "base/error.h"
#include "compile/toolchain.h"

/* Reads a model-library tar's metadata: model_lib name and device (capacities
 * name_cap / device_cap). */
aae_status aae_lib_tar_info(const char *tar_path, char *model_lib, size_t name_cap, char *device, size_t device_cap,
                            aae_error *err);

/* Writes out_a from n model-library tars. slice: the slice index for multi-slice
 * devices (0 otherwise). */
aae_status aae_lib_archive_write(const char *const *tars, size_t n, const aae_device *dev, int slice,
                                 const char *out_a, FILE *diag, aae_error *err);

/* Checks that the archive's symbol table defines <name>_aae_model_lib for every name
 * and the registry; the error lists what the archive has. */
aae_status aae_lib_archive_check(const char *archive_path, const aae_device *dev, const char *const *names, size_t n,
                                 aae_error *err);

#endif
