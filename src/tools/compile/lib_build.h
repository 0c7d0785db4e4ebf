/*
 * lib_build.h - builds one model library (OUT.tar or OUT.so) from a plan.
 *
 * Sources: every .c file of src/runtime/kernels/ and src/runtime/models/ of the AAE
 * source tree (the same files libsphere_aae compiles generically), each compiled with
 *   -DAAE_SPEC -include <config.h>   (AAE_SPEC_PREFIX and AAE_SPEC_<field>; lib_desc.h)
 * so kernels/spec.h renames every external symbol to the prefix, plus a generated
 * descriptor source defining <prefix>_aae_model_lib (models/model_lib_abi.h).
 * Every object is read back (objfile.h) and checked (lib_symbols.h).
 *
 * OUT.tar: the objects ("<prefix>_<source>.o"; "<arch>/..." per slice for multi-slice
 *   devices) and "model_lib.json" (docs/model_libraries.md), for static linking.
 * OUT.so (linux devices): the objects and a one-entry registry linked with
 *   clang -shared -fuse-ld=lld; the runtime dlopens it and reads aae_model_lib_registry.
 * The output is written atomically (temporary file, rename).
 */
#ifndef AAE_TOOLS_LIB_BUILD_H
#define AAE_TOOLS_LIB_BUILD_H

#include <stdio.h>

#include "compile/lib_plan.h"
#include "compile/toolchain.h"

#define AAE_MODEL_LIB_METADATA "model_lib.json"

typedef struct aae_lib_build_args {
    const aae_lib_plan *plan;
    const aae_device *device;
    const aae_compiler *cc;
    const char *source_root; /* the AAE source tree */
    int opt_level;           /* 0-3 */
    const char *out_path;    /* ends in .tar or .so */
    const char *jit_key;     /* recorded in the metadata when not NULL */
    FILE *diag;              /* compiler output and notes (stderr when NULL) */
} aae_lib_build_args;

aae_status aae_lib_build(const aae_lib_build_args *a, aae_error *err);

/* The AAE source tree compile uses: $SPHERE_AAE_SOURCE_DIR, else the tree this
 * program was built from. Checked to hold the model code. */
aae_status aae_lib_source_root(const char *explicit_dir, char *out, size_t cap, aae_error *err);

/* SHA-256 over the names and contents of every file a build reads from the source
 * tree (kernels/ and models/ sources and headers): part of the JIT key. */
aae_status aae_lib_sources_digest(const char *source_root, char hex[65], aae_error *err);

/* 1 if path ends with suffix. */
int aae_ends_with(const char *path, const char *suffix);

#endif
