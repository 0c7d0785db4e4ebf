/*
 * convert.h - `convert_weight`: a Hugging Face safetensors checkpoint in, an AAE
 * converted-model folder out (tensor-cache.json + params_shard_*.bin, per
 * docs/format.md). Streams tensor by tensor; the checkpoint is memory-mapped.
 */
#ifndef AAE_CONVERT_CONVERT_H
#define AAE_CONVERT_CONVERT_H

#include <stdint.h>

#include "base/error.h"

typedef struct aae_convert_options {
    const char *hf_dir;
    const char *out_dir;
    const char *quantization; /* q0f32 q0f16 q4f16_1 q4f32_1 q3f16_1 */
    int threads;              /* 0: one per online CPU */
    /* Notes for the user (unused tensors, ...); may be NULL. */
    void (*note)(void *ctx, const char *msg);
    void *note_ctx;
    /* Called after each tensor with the input bytes done and in total; may be NULL. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
} aae_convert_options;

typedef struct aae_convert_stats {
    uint64_t input_bytes;  /* bytes of the HF tensors read */
    uint64_t output_bytes; /* bytes of tensors written */
    uint64_t params;       /* HF parameters (elements) read */
    size_t tensors, shards;
} aae_convert_stats;

aae_status aae_convert_weight(const aae_convert_options *opt, aae_convert_stats *stats, aae_error *err);

#endif
