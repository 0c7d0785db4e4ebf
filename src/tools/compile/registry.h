/*
 * registry.h - the generated registry that lets a statically linked app find model
 * libraries by name.
 *
 * The registry is a small C source, compiled per device slice, defining
 *   const aae_model_lib_registry aae_model_lib_registry = {ABI, count, libs};
 * where libs lists &<name>_aae_model_lib for every library, sorted by name. The app
 * (through the runtime) references aae_model_lib_registry; the linker then pulls the
 * registry object out of libmodel_<device>.a, and the registry's references pull every
 * library's object: no -all_load or --whole-archive needed. `package` puts it into
 * libmodel_<device>.a; `compile` puts a one-entry registry into every .so.
 */
#ifndef AAE_TOOLS_REGISTRY_H
#define AAE_TOOLS_REGISTRY_H

#include <stdio.h>

#include "base/buf.h"
#include "base/error.h"
#include "compile/toolchain.h"

/* Appends the registry's C source for the given model_lib names (prefixes, each
 * already a valid C identifier; duplicates are an error) to out. */
aae_status aae_registry_source(const char *const *names, size_t n, aae_buf *out, aae_error *err);

/* Writes the source beside obj_path (obj_path with ".c") and compiles it for one slice
 * of a device into obj_path. */
aae_status aae_registry_build(const aae_compiler *cc, const aae_slice *slice, const char *const *names, size_t n,
                              const char *obj_path, FILE *diag, aae_error *err);

#endif
