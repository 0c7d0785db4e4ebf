/*
 * lib_archive.h - libmodel_<device>.a: model libraries (.tar) plus the registry, as one
 * static archive an app links. `package` calls this; tests use it too.
 *
 * Every input tar must be a model library for the same device (its model_lib.json
 * says which). Multi-slice devices (iphone-simulator: arm64 + x86_64) get one archive
 * per slice inside a Mach-O universal file (macho_fat.h), as Xcode links one library
 * per platform; or, with an explicit slice index, one plain archive of that slice. The objects keep their tar
 * member names (which start with their prefix, so they never collide); the registry is
 * added as "aae_model_lib_registry.o", compiled for the device with the compiler of
 * aae_compiler_detect. The archive's own symbol table is then read back (every slice
 * of a universal file) and every descriptor checked to be there, and every object
 * member checked to be for the slice's CPU and platform.
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

#define AAE_LIB_ALL_SLICES (-1)

/* Writes out_a from n model-library tars. slice: AAE_LIB_ALL_SLICES (every slice; a
 * universal file when the device has several), or one slice's index. */
aae_status aae_lib_archive_write(const char *const *tars, size_t n, const aae_device *dev, int slice,
                                 const char *out_a, FILE *diag, aae_error *err);

/* Checks an archive written with AAE_LIB_ALL_SLICES (for a multi-slice device, a
 * universal file with exactly one archive per slice): each archive's objects are
 * for its slice, and its symbol table defines <name>_aae_model_lib for every name
 * and the registry; the error lists what the archive has. */
aae_status aae_lib_archive_check(const char *archive_path, const aae_device *dev, const char *const *names, size_t n,
                                 aae_error *err);

/* The same for a plain archive of one slice of dev. */
aae_status aae_lib_archive_check_slice(const char *archive_path, const aae_device *dev, int slice,
                                       const char *const *names, size_t n, aae_error *err);

#endif
