/*
 * gen_config.h - `gen_config`: writes sphere-aae-chat-config.json from a Hugging Face
 * folder's config.json (+ generation_config.json) and copies its tokenizer files
 * (fields, defaults and derivations in docs/format.md).
 */
#ifndef AAE_CONVERT_GEN_CONFIG_H
#define AAE_CONVERT_GEN_CONFIG_H

#include <stdint.h>

#include "base/error.h"

#define AAE_GEN_UNSET INT64_MIN

typedef struct aae_gen_config_options {
    const char *hf_dir;
    const char *out_dir;
    const char *quantization;
    const char *conv_template;
    /* AAE_GEN_UNSET when not given */
    int64_t context_window_size, prefill_chunk_size, sliding_window_size, attention_sink_size;
    void (*note)(void *ctx, const char *msg);
    void *note_ctx;
} aae_gen_config_options;

void aae_gen_config_default_options(aae_gen_config_options *o);
aae_status aae_gen_config(const aae_gen_config_options *opt, aae_error *err);

/* The conversation template names gen_config accepts, NULL-terminated. */
extern const char *const AAE_CONV_TEMPLATES[];

#endif
