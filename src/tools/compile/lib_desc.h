/*
 * lib_desc.h - the model descriptor (models/model.h) a library is specialised to, and
 * the compile-time constants that specialise it (kernels/spec.h's AAE_SPEC scheme).
 */
#ifndef AAE_TOOLS_LIB_DESC_H
#define AAE_TOOLS_LIB_DESC_H

#include "base/buf.h"
#include "compile/lib_plan.h"
#include "models/model.h"

/* Fills d from a plan: dimensions and switches from the chat config, kv_cap, window,
 * sink and chunk from the plan. wtype is the linear weights' storage type. */
void aae_lib_desc_fill(const aae_lib_plan *p, int32_t wtype, aae_model_desc *d);

/* The linear weights' storage type for a quantization mode (q0f32 -> float32, ...). */
int32_t aae_lib_wtype_for(aae_quant q);

/* Appends the -include header of a specialised build: AAE_SPEC_PREFIX (prefix + "_")
 * and one AAE_SPEC_<field> per field of aae_model_desc. */
void aae_lib_desc_config_header(const aae_model_desc *d, const char *prefix, aae_buf *out);

/* Appends a C initializer list ".hidden = AAE_SPEC_hidden, ..." of every field. */
void aae_lib_desc_initializer(aae_buf *out);

#endif
