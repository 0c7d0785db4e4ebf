/*
 * model_lib.h - finding, checking and using a compiled model library
 * (models/model_lib_abi.h) in place of the generic model code.
 *
 * Finding (aae_model_lib_open):
 *  - a NAME (a model_lib, e.g. "llama_q4f16_1_d7a8eb76"; '-' is read as '_') is looked
 *    up in the registry a statically linked app carries (aae_model_lib_registry,
 *    from libmodel_<device>.a). The runtime references the registry weakly, so an app
 *    without model libraries links as before; an app with them forces the registry in
 *    with the linker flag -u aae_model_lib_registry (Mach-O: -u _aae_model_lib_registry),
 *    which the pkg-config file and app templates that `package` writes carry: no
 *    -all_load or --whole-archive;
 *  - a PATH (contains '/' or ends in .so) is dlopen'ed and its own one-entry registry
 *    read.
 * Checking (aae_model_lib_check): the ABI and entry versions, the CPU features the
 * library was compiled for, and every field of the model descriptor built from the
 * weights against the library's compiled-in one; a mismatch is refused with a message
 * naming the field and both values.
 */
#ifndef AAE_LOADER_MODEL_LIB_H
#define AAE_LOADER_MODEL_LIB_H

#include <stdint.h>

#include "base/error.h"
#include "models/model.h"
#include "models/model_lib_abi.h"

/* *handle is the dlopen handle (NULL for a registry entry); close it with
 * aae_model_lib_close after the last use of *out. */
aae_status aae_model_lib_open(const char *name_or_path, const aae_model_lib **out, void **handle, aae_error *err);
void aae_model_lib_close(void *handle);

/* The registry linked into this program, or NULL. */
const struct aae_model_lib_registry *aae_model_lib_static_registry(void);

/* Checks lib for the weights in model_dir, whose descriptor (with the plan fields
 * kv_cap, window, sink and chunk as the caller would choose them; want_plan = 0 to
 * accept the library's plan) is d. cpu: the running CPU's AAE_CPU_* features. */
aae_status aae_model_lib_check(const aae_model_lib *lib, const aae_model_desc *d, int want_plan, uint32_t cpu,
                               const char *model_dir, aae_error *err);

#endif
